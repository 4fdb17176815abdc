"""How fast `platoons.tender.award` solves tenders, against the same model in PuLP with CBC.

Run: ``.venv/bin/python benchmarks/tender_bench.py [--repeats N] [--quick]``. Needs PuLP
(``pip install pulp``), which brings its own CBC binary.

Instances follow two distributions of the Combinatorial Auction Test Suite (CATS; Leyton-Brown,
Pearson and Shoham, 2000), simplified and turned round for procurement: bids are offers to
*supply* a package of lots at a price, and packages are cheaper than their parts.

What is implemented, exactly:

- Lots. ``n_lots`` lots, each with a common cost ``c_j ~ U(10000, 100000)`` GBP. The reserve
  price is ``1.1 * c_j``. One lot in ten (chosen at random) is set aside for small bidders.
- Bidders. Each bidder is small with probability 0.4, has a quality score ``U(0.3, 1)`` for all
  its bids, and a private cost factor ``f_ij ~ U(0.8, 1.2)`` for each lot it prices. Bidders are
  drawn until there are ``n_bids`` bids; a bidder makes one to five bids (uniform), and when it
  makes more than one they share an XOR group (CATS's substitutable bids, which CATS encodes
  with dummy goods). Every bidder may win at most ``default_max_lots = 12`` lots.
- Packages. A bidder's first bid starts at a random lot; each further bid starts at a random
  lot of the first bid's package (CATS's substitutes are built around the same region). A
  package grows one lot at a time while a coin with probability 0.6 comes up heads (CATS's
  ``additional location`` probability is 0.55 in ``regions``), to at most 8 lots:
  - ``regions``: lots lie on a square grid (16 x 16 for 256 lots), each joined to its four
    neighbours and, with probability 0.1, to one diagonal neighbour (CATS adds random extra
    edges to its planar graph). The next lot is a uniformly chosen neighbour of the package.
  - ``arbitrary``: there is no grid; each pair of lots has a random affinity ``w_jk ~ U(0, 1)``
    and the next lot is drawn with probability proportional to the sum of its affinities with
    the lots already in the package (CATS's ``arbitrary`` relationship distribution).
- Price. ``sum_j f_ij * c_j * (1 - 0.05 * (size - 1))``: five per cent off per extra lot (CATS
  models complementarity as a bonus that grows with the bundle; here it is a package discount).

Not implemented from CATS: its budget and resale-value constraints on substitutable bids, the
pruning of dominated bids, and its normalisation of prices.

Sizes: 100 bids over 64 lots, then 1,000, 2,000 (the goal case) and 10,000 bids over 256 lots.
For each, the award problem is solved by ``award()`` and by a PuLP model written as an analyst
would write it (one binary per bid, ``lpSum`` per lot, XOR group and capped bidder; bids that
may not win fixed to zero; CBC with a relative gap of 0 on one thread), each timed end to end
from the lots and bids to the winners, in alternation, ``--repeats`` times. Medians are printed;
where both prove optimality their objectives must agree, or the script exits 1. Each solve is
capped at ``--cap`` seconds (``time_limit_s`` for ``award()``, ``timeLimit`` for CBC).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, replace

import numpy as np

from platoons.tender import AwardRules, Bid, Lot, award

QUALITY_WEIGHT = 0.3
DEFAULT_MAX_LOTS = 12


@dataclass(frozen=True)
class Instance:
    name: str
    lots: list[Lot]
    bids: list[Bid]
    rules: AwardRules


def generate(distribution: str, n_bids: int, n_lots: int, seed: int) -> Instance:
    """A CATS-style instance; see the module docstring for exactly what is drawn."""
    rng = np.random.default_rng(seed)
    cost = rng.uniform(10_000, 100_000, n_lots)
    set_aside = np.zeros(n_lots, dtype=bool)
    set_aside[rng.choice(n_lots, size=max(1, n_lots // 10), replace=False)] = True
    lots = [Lot(f"L{j:04d}", round(1.1 * cost[j], 2), bool(set_aside[j])) for j in range(n_lots)]
    grow = _grid_grower(n_lots, rng) if distribution == "regions" else _affinity_grower(n_lots, rng)

    bids: list[Bid] = []
    small: set[str] = set()
    bidder = 0
    while len(bids) < n_bids:
        bidder_id = f"B{bidder:05d}"
        bidder += 1
        if rng.random() < 0.4:
            small.add(bidder_id)
        quality = round(float(rng.uniform(0.3, 1.0)), 3)
        factor = rng.uniform(0.8, 1.2, n_lots)
        n_own = min(int(rng.integers(1, 6)), n_bids - len(bids))
        group = bidder_id if n_own > 1 else None
        first: list[int] = []
        for k in range(n_own):
            start = int(rng.integers(n_lots)) if k == 0 else int(rng.choice(first))
            package = grow(start)
            if k == 0:
                first = package
            price = float(np.sum(factor[package] * cost[package])) * (1 - 0.05 * (len(package) - 1))
            bids.append(
                Bid(
                    f"{bidder_id}-{k}",
                    bidder_id,
                    tuple(lots[j].lot_id for j in package),
                    round(price, 2),
                    quality,
                    group,
                )
            )
    rules = AwardRules(
        quality_weight=QUALITY_WEIGHT, default_max_lots=DEFAULT_MAX_LOTS, small_bidders=frozenset(small)
    )
    return Instance(f"{distribution} {n_bids:,} bids x {n_lots} lots", lots, bids, rules)


def _grid_grower(n_lots: int, rng: np.random.Generator):
    side = int(np.ceil(np.sqrt(n_lots)))
    neighbours: list[set[int]] = [set() for _ in range(n_lots)]
    for j in range(n_lots):
        row, col = divmod(j, side)
        for d_row, d_col in ((0, 1), (1, 0)):
            r, c = row + d_row, col + d_col
            k = r * side + c
            if r < side and c < side and k < n_lots:
                neighbours[j].add(k)
                neighbours[k].add(j)
        if rng.random() < 0.1:
            r, c = row + 1, col + (1 if rng.random() < 0.5 else -1)
            k = r * side + c
            if r < side and 0 <= c < side and k < n_lots:
                neighbours[j].add(k)
                neighbours[k].add(j)

    def grow(start: int) -> list[int]:
        package = [start]
        while len(package) < 8 and rng.random() < 0.6:
            frontier = sorted(set().union(*(neighbours[j] for j in package)) - set(package))
            if not frontier:
                break
            package.append(int(rng.choice(frontier)))
        return package

    return grow


def _affinity_grower(n_lots: int, rng: np.random.Generator):
    affinity = rng.uniform(0, 1, (n_lots, n_lots))
    affinity = (affinity + affinity.T) / 2
    np.fill_diagonal(affinity, 0.0)

    def grow(start: int) -> list[int]:
        package = [start]
        pull = affinity[start].copy()
        while len(package) < 8 and rng.random() < 0.6:
            weights = pull.copy()
            weights[package] = 0.0
            nxt = int(rng.choice(n_lots, p=weights / weights.sum()))
            package.append(nxt)
            pull += affinity[nxt]
        return package

    return grow


def solve_with_pulp(instance: Instance, time_limit_s: float) -> tuple[float, bool]:
    """The award problem as an analyst would write it in PuLP, solved by its bundled CBC.

    Returns the objective of the winners CBC found and whether CBC proved them optimal.
    """
    import pulp

    lots, bids, rules = instance.lots, instance.bids, instance.rules
    W = rules.quality_weight
    reserve = {lot.lot_id: lot.reserve_price for lot in lots}
    set_aside = {lot.lot_id for lot in lots if lot.set_aside}
    value = {b.bid_id: sum(reserve[l] for l in b.lots) - b.price * (1 - W * b.quality) for b in bids}

    prob = pulp.LpProblem("tender", pulp.LpMaximize)
    x = pulp.LpVariable.dicts("x", [b.bid_id for b in bids], cat="Binary")
    prob += pulp.lpSum(value[b.bid_id] * x[b.bid_id] for b in bids)
    for lot in lots:
        on_lot = [x[b.bid_id] for b in bids if lot.lot_id in b.lots]
        if on_lot:
            prob += pulp.lpSum(on_lot) <= 1, f"lot_{lot.lot_id}"
    groups: dict[str, list[Bid]] = {}
    for b in bids:
        if b.xor_group is not None:
            groups.setdefault(b.xor_group, []).append(b)
    for name, members in groups.items():
        prob += pulp.lpSum(x[b.bid_id] for b in members) <= 1, f"xor_{name}"
    by_bidder: dict[str, list[Bid]] = {}
    for b in bids:
        by_bidder.setdefault(b.bidder_id, []).append(b)
    for bidder_id, members in by_bidder.items():
        cap = rules.max_lots.get(bidder_id, rules.default_max_lots)
        if cap is not None:
            prob += pulp.lpSum(len(b.lots) * x[b.bid_id] for b in members) <= cap, f"cap_{bidder_id}"
    for b in bids:
        barred = b.bidder_id not in rules.small_bidders and any(l in set_aside for l in b.lots)
        if value[b.bid_id] <= 0 or barred:
            prob += x[b.bid_id] == 0, f"bar_{b.bid_id}"
    prob.solve(pulp.PULP_CBC_CMD(msg=False, gapRel=0, threads=1, timeLimit=time_limit_s))
    winners = [b.bid_id for b in bids if (x[b.bid_id].value() or 0) > 0.5]
    return sum(value[w] for w in winners), prob.sol_status == pulp.LpSolutionOptimal


SIZES = ((100, 64), (1_000, 256), (2_000, 256), (10_000, 256))
GOAL = (2_000, 256)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each solver per size (default 3)")
    parser.add_argument("--cap", type=float, default=60.0, help="time limit per solve, seconds (default 60)")
    parser.add_argument("--quick", action="store_true", help="skip the 10,000-bid size")
    args = parser.parse_args(argv)
    try:
        import pulp  # noqa: F401
    except ImportError:
        print("The benchmark compares against PuLP with CBC, which is not installed: pip install pulp", file=sys.stderr)
        return 1

    sizes = [size for size in SIZES if not (args.quick and size[0] > 2_000)]
    header = f"{'instance':<32} {'award() s':>10} {'PuLP/CBC s':>11} {'speed-up':>9}  {'same objective':<15} note"
    print(header)
    print("-" * len(header))
    goal: list[str] = []
    agree = True
    for distribution in ("regions", "arbitrary"):
        for n_bids, n_lots in sizes:
            instance = generate(distribution, n_bids, n_lots, seed=n_bids + n_lots)
            ours: list[float] = []
            theirs: list[float] = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                result = award(instance.lots, instance.bids, replace(instance.rules, time_limit_s=args.cap))
                ours.append(time.perf_counter() - started)
                started = time.perf_counter()
                their_objective, their_optimal = solve_with_pulp(instance, args.cap)
                theirs.append(time.perf_counter() - started)
                if not (result.optimal and their_optimal):
                    break  # a capped solve is not worth repeating
            mine, other = statistics.median(ours), statistics.median(theirs)
            notes = []
            if not result.optimal:
                notes.append(f"award() stopped at the cap, gap {result.gap:.2%}")
            if not their_optimal:
                notes.append("CBC stopped at the cap")
            both = result.optimal and their_optimal
            same = abs(result.objective - their_objective) <= 1e-6 * max(1.0, abs(their_objective))
            agree &= same or not both
            print(
                f"{instance.name:<32} {_seconds(mine, result.optimal, args.cap):>10} "
                f"{_seconds(other, their_optimal, args.cap):>11} "
                f"{(f'{other / mine:.1f}x' if both else '-'):>9}  "
                f"{('yes' if same else 'NO' if both else '-'):<15} {'; '.join(notes)}"
            )
            if (n_bids, n_lots) == GOAL:
                verdict = "met" if result.optimal and mine < 5.0 else "missed"
                goal.append(f"{distribution}: {mine:.2f} s, {verdict}")
    print(f"\nMedian of {args.repeats} runs (one when a solver hit the {args.cap:g} s cap); speed-up = CBC time / award() time.")
    print(f"Goal, optimal on 2,000 bids x 256 lots in < 5 s: {'; '.join(goal)}")
    return 0 if agree else 1


def _seconds(value: float, optimal: bool, cap: float) -> str:
    return f"{value:.3f}" if optimal else f">{cap:g}"


if __name__ == "__main__":
    raise SystemExit(main())
