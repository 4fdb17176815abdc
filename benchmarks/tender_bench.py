"""How fast `platoons.tender.award` solves tenders, against the same model in PuLP with CBC.

Run: ``.venv/bin/python benchmarks/tender_bench.py [--repeats N] [--quick]``. Needs PuLP
(``pip install pulp``), which brings its own CBC binary.

With ``--cats [DIR ...]`` it runs instead every CATS instance (``*.txt``) in ``../shared/cats/``
beside the repository, when that folder exists, and in each DIR given: ``award()`` in each mode
(``--modes``, default ``highs,cpsat,race``) on the tender that ``platoons.tender.cats`` makes of
the instance, against SCIP (PySCIPOpt, one thread) and CP-SAT (OR-Tools, one worker) on the
instance as CATS states it (set packing over all goods, written here independently), all capped
at ``--cap`` seconds, in the same run. It prints the times, the ratios reference time / award()
time where both proved optimality, and where some solver did not: its incumbent as a share of
the best found and its gap to the best proven bound; then the median ratio per CATS family.
It exits 1 if two solvers that both proved optimality disagree on the objective. Needs the
``bench`` extra (``pip install -e '.[bench]'``).

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
import math
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

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


# --- CATS instances: award() in each mode against SCIP and CP-SAT -------------------------------

CATS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "cats"
MODES = ("highs", "cpsat", "race")
REFERENCES = ("SCIP", "CP-SAT")


@dataclass
class Run:
    seconds: float
    objective: float
    proven: bool
    bound: float  # best proven upper bound on the objective (== objective when proven)


def cats_files(folders: list[Path]) -> list[Path]:
    files: list[Path] = []
    for folder in folders:
        if folder.is_dir():
            files += sorted(path for path in folder.iterdir() if path.suffix == ".txt" and path.name != "README.txt")
        elif folder.is_file():
            files.append(folder)
    return list(dict.fromkeys(files))


def cats_bids(path: Path) -> list[tuple[float, list[int]]]:
    """The bids as CATS states them: value and goods (dummy goods included)."""
    bids = []
    for line in path.read_text().splitlines():
        words = line.split()
        if words and words[-1] == "#":
            bids.append((float(words[1]), [int(word) for word in words[2:-1]]))
    return bids


def run_ours(path: Path, mode: str, cap: float) -> Run:
    from platoons.tender.cats import read_cats

    tender = read_cats(path)
    rules = replace(tender.rules, solver=mode, time_limit_s=cap)
    started = time.perf_counter()
    result = award(tender.lots, tender.bids, rules)
    seconds = time.perf_counter() - started
    bound = result.objective if result.optimal else result.objective / (1 - result.gap) if result.gap < 1 else math.inf
    return Run(seconds, result.objective, result.optimal, bound)


def run_scip(bids: list[tuple[float, list[int]]], cap: float) -> Run:
    """Set packing over the goods, as an analyst would write it in PySCIPOpt; SCIP on one thread."""
    import pyscipopt

    started = time.perf_counter()
    model = pyscipopt.Model()
    model.hideOutput()
    model.setParam("limits/gap", 0.0)
    model.setParam("limits/time", cap)
    model.setParam("parallel/maxnthreads", 1)
    x = [model.addVar(vtype="B", obj=value) for value, _ in bids]
    by_good: dict[int, list[int]] = {}
    for i, (_, goods) in enumerate(bids):
        for good in goods:
            by_good.setdefault(good, []).append(i)
    for members in by_good.values():
        if len(members) > 1:
            model.addCons(pyscipopt.quicksum(x[i] for i in members) <= 1)
    model.setMaximize()
    model.optimize()
    seconds = time.perf_counter() - started
    objective = model.getObjVal() if model.getNSols() else 0.0
    proven = model.getStatus() == "optimal"
    return Run(seconds, objective, proven, objective if proven else model.getDualbound())


def warm_up(path: Path, modes: tuple[str, ...]) -> None:
    """Solve one instance untimed with everything, so no timing includes a library's import."""
    for mode in modes:
        run_ours(path, mode, 5.0)
    run_scip(cats_bids(path), 5.0)
    run_cpsat(cats_bids(path), 5.0)


def run_cpsat(bids: list[tuple[float, list[int]]], cap: float) -> Run:
    """The same set packing in OR-Tools CP-SAT, one worker, the values in millionths (CATS values
    have at most six decimals, and CP-SAT is faster on an integer objective than on floats)."""
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(len(bids))]
    by_good: dict[int, list[int]] = {}
    for i, (_, goods) in enumerate(bids):
        for good in goods:
            by_good.setdefault(good, []).append(i)
    for members in by_good.values():
        if len(members) > 1:
            model.add_at_most_one(x[i] for i in members)
    model.maximize(sum(round(value * 1e6) * x[i] for i, (value, _) in enumerate(bids)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = cap
    status = solver.solve(model)
    seconds = time.perf_counter() - started
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    objective = sum(value for i, (value, _) in enumerate(bids) if solver.boolean_value(x[i])) if found else 0.0
    proven = status == cp_model.OPTIMAL
    bound = objective if proven else solver.best_objective_bound / 1e6 if found else math.inf
    return Run(seconds, objective, proven, bound)


def bench_cats(folders: list[Path], cap: float, repeats: int, modes: tuple[str, ...]) -> int:
    files = cats_files(folders)
    if not files:
        print(f"No CATS files (*.txt) in {', '.join(map(str, folders))}", file=sys.stderr)
        return 1
    header = (f"{'instance':<26}" + "".join(f"{name:>12}" for name in (*modes, *REFERENCES))
              + "  " + "  ".join(f"{ref}/{mode}" for mode in modes for ref in REFERENCES) + "  note")
    warm_up(min(files, key=lambda path: path.stat().st_size), modes)
    print(header)
    print("-" * len(header))
    ratios: dict[tuple[str, str, str], list[float]] = {}  # (family, mode, reference) -> ratios
    unproven: dict[str, list[str]] = {}
    agree = True
    for path in files:
        bids = cats_bids(path)
        runs: dict[str, list[Run]] = {name: [] for name in (*modes, *REFERENCES)}
        for _ in range(repeats):
            for mode in modes:
                runs[mode].append(run_ours(path, mode, cap))
            runs["SCIP"].append(run_scip(bids, cap))
            runs["CP-SAT"].append(run_cpsat(bids, cap))
            if not all(run[-1].proven for run in runs.values()):
                break  # a capped solve is not worth repeating
        best = {name: min(group, key=lambda run: run.seconds) for name, group in runs.items()}
        seconds = {name: statistics.median(run.seconds for run in group) for name, group in runs.items()}
        family = path.stem.split("_g")[0]
        known = max(run.objective for run in best.values())
        bound = min(run.bound for run in best.values())
        cells, notes = [], []
        for name in (*modes, *REFERENCES):
            run = best[name]
            cells.append(f"{seconds[name]:.3f}" if run.proven else f">{cap:g}")
        pairs = []
        for mode in modes:
            for ref in REFERENCES:
                if best[mode].proven and best[ref].proven:
                    ratio = seconds[ref] / seconds[mode]
                    ratios.setdefault((family, mode, ref), []).append(ratio)
                    pairs.append(f"{ratio:.2f}")
                    same = math.isclose(best[mode].objective, best[ref].objective, rel_tol=1e-6, abs_tol=1e-6)
                    if not same:
                        agree = False
                        notes.append(f"OBJECTIVES DIFFER: {mode} {best[mode].objective} vs {ref} {best[ref].objective}")
                else:
                    pairs.append("-")
        for name, run in best.items():
            if not run.proven:
                gap = (bound - run.objective) / bound if 0 < bound < math.inf else 1.0
                quality = run.objective / known if known > 0 else 1.0
                notes.append(f"{name}: {quality:.2%} of best found, gap {gap:.2%} to the best bound")
                unproven.setdefault(family, []).append(name)
        print(f"{path.stem:<26}" + "".join(f"{cell:>12}" for cell in cells) + "  "
              + "  ".join(f"{pair:>{len(ref) + 1 + len(mode)}}" for pair, (mode, ref) in
                          zip(pairs, [(m, r) for m in modes for r in REFERENCES]))
              + "  " + "; ".join(notes), flush=True)

    print(f"\nMedian ratio per family (reference time / award() time; > 1: award() faster), "
          f"over instances both proved within {cap:g} s:")
    families = sorted({family for family, _, _ in ratios} | set(unproven))
    head = f"{'family':<12}" + "".join(f"{f'{ref}/{mode}':>16}" for mode in modes for ref in REFERENCES)
    print(head)
    for family in families:
        row = [ratios.get((family, mode, ref)) for mode in modes for ref in REFERENCES]
        print(f"{family:<12}" + "".join(f"{(f'{statistics.median(r):.2f} ({len(r)})' if r else '-'):>16}" for r in row))
    print("(n) = instances in the median; '-' = none proved by both. Times are end to end, model building included.")
    return 0 if agree else 1


SIZES = ((100, 64), (1_000, 256), (2_000, 256), (10_000, 256))
GOAL = (2_000, 256)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each solver per size (default 3)")
    parser.add_argument("--cap", type=float, default=60.0, help="time limit per solve, seconds (default 60)")
    parser.add_argument("--quick", action="store_true", help="skip the 10,000-bid size")
    parser.add_argument(
        "--cats", nargs="*", type=Path, default=None, metavar="DIR",
        help=f"run the CATS instances in {CATS_DIR} (when present) and in each DIR, against SCIP and CP-SAT",
    )
    parser.add_argument("--modes", default=",".join(MODES), help="award() solver modes for --cats (default all)")
    args = parser.parse_args(argv)
    if args.cats is not None:
        try:
            import pyscipopt  # noqa: F401
            from ortools.sat.python import cp_model  # noqa: F401
        except ImportError:
            print("--cats compares against SCIP and CP-SAT: pip install 'platoons[bench]'", file=sys.stderr)
            return 1
        folders = ([CATS_DIR] if CATS_DIR.is_dir() else []) + list(args.cats)
        return bench_cats(folders, args.cap, args.repeats, tuple(args.modes.split(",")))
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
