"""Award a tender exactly: choose the winning bids that give the most value for money.

The problem, as solved. Each bid b names a package of lots (all or nothing) at a price p_b
with a quality score q_b in [0, 1]. With quality weight W, its *surplus* is

    s_b = (sum of the reserve prices of b's lots) - p_b * (1 - W * q_b)

and the award maximises the total surplus of the winning bids subject to:

- each lot is awarded at most once;
- at most one bid of each XOR group wins;
- each bidder wins at most its cap of lots (lots are counted, not bids);
- a set-aside lot only goes to a bidder listed as small.

Bids that cannot win in any award are screened out before the solve: those with a surplus of
zero or less, those naming a set-aside lot when their bidder is not small, and packages larger
than their bidder's cap. The rest become one binary variable each in a mixed-integer programme.
Bids that share no lot, XOR group or binding cap cannot affect each other, so the programme is
split into its independent components (``platoons.tender.decompose``) and each is solved alone; a
bid in a component of its own wins without a solve. A component is solved by HiGHS
(``platoons.tender.highs``), by CP-SAT (``platoons.tender.cpsat``, the ``solvers`` extra) or by
both at once, the first proven optimum winning (``rules.solver = "race"``,
``platoons.tender.portfolio``); each runs with gap zero, one thread and a fixed random seed.
Prices and reserve prices above ``MAX_AMOUNT`` are refused, so no sum reaches what a solver reads
as infinity.

Determinism and ties. The model lists the bids in input order and HiGHS runs on one thread with
a fixed seed, so the same input always gives the same award. When awards tie, earlier bids are
preferred in this sense: after the solve, the candidates are scanned in input order, and a losing
bid takes the place of the winners it conflicts with (same lot or same XOR group) when all of them
come later in the input, its surplus equals theirs combined (to one part in 10^9) and its bidder
stays within its cap; the scan repeats until nothing moves. So of two equal bids for the same
lots the earlier one wins, and a package ties with the later single-lot bids it covers. Ties
between different combinations that no such swap links (two earlier bids against one later
package, say) are left as the solver's deterministic search found them: the same input and
solver give the same award, but HiGHS and CP-SAT may pick different awards of equal surplus. The
race settles such ties before this rule, the same way whichever solver finished first
(``platoons.tender.portfolio``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

DEFAULT_QUALITY_WEIGHT = 0.3
NO_BID = "no bid"
NO_ACCEPTABLE_BID = "no acceptable bid"
LOST_TO_A_PACKAGE = "lost to a package"

# Surpluses that differ by no more than this fraction count as equal when breaking ties.
TIE_RELATIVE = 1e-9
# The largest price or reserve price accepted, GBP (a trillion): sums over any tender stay far
# below the 1e20 that solvers read as infinity, and never overflow to inf.
MAX_AMOUNT = 1e12


@dataclass(frozen=True, slots=True)
class Lot:
    """A part of the contract that can be awarded on its own."""

    lot_id: str
    reserve_price: float  # GBP, >= 0: the most the buyer would pay for this lot
    set_aside: bool = False  # True: only small bidders may win it


@dataclass(frozen=True, slots=True)
class Bid:
    """An offer for a package of lots, all or nothing."""

    bid_id: str
    bidder_id: str
    lots: tuple[str, ...]  # the package
    price: float  # GBP, >= 0, for the whole package
    quality: float  # in [0, 1]
    xor_group: str | None = None  # bids sharing a group: at most one wins


@dataclass(frozen=True, slots=True)
class AwardRules:
    """The buyer's rules for scoring bids and spreading lots."""

    quality_weight: float = DEFAULT_QUALITY_WEIGHT  # W in [0, 1]: share of the price a perfect quality score takes off
    max_lots: Mapping[str, int] = field(default_factory=dict)  # per bidder cap on lots won
    default_max_lots: int | None = None  # cap for bidders not in max_lots; None = no cap
    small_bidders: frozenset[str] = frozenset()  # bidders that may win set-aside lots
    time_limit_s: float | None = None  # seconds; None = solve to proven optimality
    solver: str = "highs"  # "highs" | "cpsat" (needs OR-Tools) | "race": both, first proven optimum
    decompose: bool = True  # solve each independent component alone (same optimum, less work)


@dataclass(frozen=True, slots=True)
class LotAward:
    lot_id: str
    bid_id: str
    bidder_id: str


@dataclass(frozen=True, slots=True)
class UnawardedLot:
    lot_id: str
    reason: str  # "no bid" | "no acceptable bid" | "lost to a package"


@dataclass(frozen=True, slots=True)
class Award:
    awards: tuple[LotAward, ...]  # in the order the lots were given
    unawarded: tuple[UnawardedLot, ...]  # in the order the lots were given
    winning_bids: tuple[str, ...]  # bid ids, in input order
    objective: float  # total surplus of the winning bids, GBP
    optimal: bool  # proven optimal (False only when a time limit stopped the search)
    gap: float  # (best bound - objective) / best bound; 0 when optimal
    solve_seconds: float


def surplus(bid: Bid, reserve_by_lot: Mapping[str, float], quality_weight: float) -> float:
    """What the buyer gains by taking ``bid`` rather than paying the reserve prices, GBP."""
    reserve = sum(reserve_by_lot[lot_id] for lot_id in bid.lots)
    return reserve - bid.price * (1.0 - quality_weight * bid.quality)


def adjusted_price(bid: Bid, quality_weight: float) -> float:
    """The price after the quality discount: ``price * (1 - W * quality)``, GBP."""
    return bid.price * (1.0 - quality_weight * bid.quality)


def cap_for(bidder_id: str, rules: AwardRules) -> int | None:
    """The most lots ``bidder_id`` may win, or None for no cap."""
    return rules.max_lots.get(bidder_id, rules.default_max_lots)


def award(lots: Sequence[Lot], bids: Sequence[Bid], rules: AwardRules = AwardRules()) -> Award:
    """Choose the winning bids that maximise total surplus under ``rules``; see the module doc."""
    started = time.perf_counter()
    _check(lots, bids, rules)
    reserve_by_lot = {lot.lot_id: lot.reserve_price for lot in lots}
    set_aside = {lot.lot_id for lot in lots if lot.set_aside}
    weight = rules.quality_weight

    candidates: list[int] = []  # positions of bids that can win in some award
    gains: list[float] = []
    for position, bid in enumerate(bids):
        gain = surplus(bid, reserve_by_lot, weight)
        if gain <= 0.0:
            continue
        if set_aside and bid.bidder_id not in rules.small_bidders and not set_aside.isdisjoint(bid.lots):
            continue
        cap = cap_for(bid.bidder_id, rules)
        if cap is not None and len(bid.lots) > cap:
            continue
        candidates.append(position)
        gains.append(gain)

    if candidates:
        chosen, bound = _solve(bids, candidates, gains, rules, started)
        chosen = _prefer_earlier(bids, candidates, gains, chosen, rules)
    else:
        chosen, bound = [], None
    objective = math.fsum(gains[k] for k in chosen)
    optimal = bound is None
    if optimal or bound <= 0.0:
        gap = 0.0
    elif math.isinf(bound):
        gap = 1.0
    else:
        gap = max(bound - objective, 0.0) / bound
    winners = sorted(candidates[k] for k in chosen)
    return _assemble(lots, bids, candidates, winners, objective, optimal, gap, started)


def _solve(
    bids: Sequence[Bid],
    candidates: list[int],
    gains: list[float],
    rules: AwardRules,
    started: float,
) -> tuple[list[int], float | None]:
    """Solve the award over the candidate bids, one independent component at a time.

    Returns the chosen candidates (indices into ``candidates``) and, when the search stopped
    before proving optimality, the best bound on the objective; None when proven optimal.
    """
    from platoons.tender.decompose import build_rows, split
    from platoons.tender.portfolio import solve

    # Rows: one per lot, XOR group and capped bidder that two or more candidates share
    # (a row with one member is implied by the variable's upper bound of 1).
    lot_members: dict[str, list[int]] = {}
    group_members: dict[str, list[int]] = {}
    bidder_members: dict[str, list[int]] = {}
    for k, position in enumerate(candidates):
        bid = bids[position]
        for lot_id in bid.lots:
            lot_members.setdefault(lot_id, []).append(k)
        if bid.xor_group is not None:
            group_members.setdefault(bid.xor_group, []).append(k)
        bidder_members.setdefault(bid.bidder_id, []).append(k)
    packing = [members for members in lot_members.values() if len(members) > 1]
    packing += [members for members in group_members.values() if len(members) > 1]
    capped = []
    for bidder_id, members in bidder_members.items():
        cap = cap_for(bidder_id, rules)
        if cap is None:
            continue
        sizes = [float(len(bids[candidates[k]].lots)) for k in members]
        if sum(sizes) > cap:
            capped.append((members, sizes, float(cap)))

    chosen: list[int] = []
    bounds: list[float] = []
    proven = True
    for component in split(np.asarray(gains, dtype=np.float64), *build_rows(packing, capped), rules.decompose):
        members = component.members.tolist()
        if len(members) == 1:  # shares no row: it wins alone
            chosen.extend(members)
            bounds.append(gains[members[0]])
            continue
        left = None if rules.time_limit_s is None else rules.time_limit_s - (time.perf_counter() - started)
        picked, bound = solve(component.model, rules.solver, left)
        chosen.extend(members[j] for j in picked)
        proven &= bound is None
        bounds.append(math.fsum(gains[members[j]] for j in picked) if bound is None else bound)
    return sorted(chosen), None if proven else math.fsum(bounds)


def _check(lots: Sequence[Lot], bids: Sequence[Bid], rules: AwardRules) -> None:
    """Reject input that has no meaning; the file layer reports the same faults by line."""
    from platoons.tender.portfolio import check_solver

    check_solver(rules.solver)
    if not 0.0 <= rules.quality_weight <= 1.0:
        raise ValueError(f"quality_weight must be in [0, 1] (got {rules.quality_weight!r})")
    if rules.time_limit_s is not None and not rules.time_limit_s > 0:
        raise ValueError(f"time_limit_s must be > 0 (got {rules.time_limit_s!r})")
    caps = list(rules.max_lots.values())
    if rules.default_max_lots is not None:
        caps.append(rules.default_max_lots)
    if any(cap < 0 for cap in caps):
        raise ValueError(f"lot caps must be >= 0 (got {min(caps)!r})")
    lot_ids = set()
    for lot in lots:
        if lot.lot_id in lot_ids:
            raise ValueError(f"lot_id must be unique (got {lot.lot_id!r} twice)")
        if not 0.0 <= lot.reserve_price <= MAX_AMOUNT:
            raise ValueError(f"lot {lot.lot_id!r}: reserve_price must be >= 0 and <= {MAX_AMOUNT:g} (got {lot.reserve_price!r})")
        lot_ids.add(lot.lot_id)
    bid_ids = set()
    for bid in bids:
        if bid.bid_id in bid_ids:
            raise ValueError(f"bid_id must be unique (got {bid.bid_id!r} twice)")
        bid_ids.add(bid.bid_id)
        if not bid.lots:
            raise ValueError(f"bid {bid.bid_id!r}: lots must name at least one lot")
        if len(set(bid.lots)) != len(bid.lots):
            raise ValueError(f"bid {bid.bid_id!r}: lots must not repeat (got {list(bid.lots)!r})")
        unknown = [lot_id for lot_id in bid.lots if lot_id not in lot_ids]
        if unknown:
            raise ValueError(f"bid {bid.bid_id!r}: lots must be known lot ids (got {unknown[0]!r})")
        if not 0.0 <= bid.price <= MAX_AMOUNT:
            raise ValueError(f"bid {bid.bid_id!r}: price must be >= 0 and <= {MAX_AMOUNT:g} (got {bid.price!r})")
        if not 0.0 <= bid.quality <= 1.0:
            raise ValueError(f"bid {bid.bid_id!r}: quality must be in [0, 1] (got {bid.quality!r})")


def _prefer_earlier(
    bids: Sequence[Bid],
    candidates: list[int],
    gains: list[float],
    chosen: list[int],
    rules: AwardRules,
) -> list[int]:
    """Let a losing bid displace the later winners it conflicts with when that loses nothing.

    Candidates are scanned in input order; a losing bid whose every rival (a winner sharing one
    of its lots or its XOR group) comes later in the input, whose surplus is at least theirs
    combined (to one part in 10^9) and whose bidder stays within its cap, takes their place.
    Each swap makes the list of winners lexicographically earlier, so the scan ends.
    """
    winners = set(chosen)
    holder: dict[str, int] = {}
    group_holder: dict[str, int] = {}
    won: dict[str, int] = {}

    def take(k: int) -> None:
        bid = bids[candidates[k]]
        winners.add(k)
        for lot_id in bid.lots:
            holder[lot_id] = k
        if bid.xor_group is not None:
            group_holder[bid.xor_group] = k
        won[bid.bidder_id] = won.get(bid.bidder_id, 0) + len(bid.lots)

    def release(k: int) -> None:
        bid = bids[candidates[k]]
        winners.discard(k)
        for lot_id in bid.lots:
            del holder[lot_id]
        if bid.xor_group is not None:
            del group_holder[bid.xor_group]
        won[bid.bidder_id] -= len(bid.lots)

    for k in chosen:
        take(k)
    swapped = True
    while swapped:
        swapped = False
        for k, position in enumerate(candidates):
            if k in winners:
                continue
            bid = bids[position]
            rivals = {holder[lot_id] for lot_id in bid.lots if lot_id in holder}
            if bid.xor_group is not None and bid.xor_group in group_holder:
                rivals.add(group_holder[bid.xor_group])
            if not rivals or min(rivals) < k:
                continue
            given_up = math.fsum(gains[r] for r in rivals)
            if gains[k] < given_up - TIE_RELATIVE * max(given_up, gains[k]):
                continue
            cap = cap_for(bid.bidder_id, rules)
            if cap is not None:
                freed = sum(len(bids[candidates[r]].lots) for r in rivals if bids[candidates[r]].bidder_id == bid.bidder_id)
                if won.get(bid.bidder_id, 0) - freed + len(bid.lots) > cap:
                    continue
            for r in rivals:
                release(r)
            take(k)
            swapped = True
    return sorted(winners)


def _assemble(
    lots: Sequence[Lot],
    bids: Sequence[Bid],
    candidates: list[int],
    winners: list[int],
    objective: float,
    optimal: bool,
    gap: float,
    started: float,
) -> Award:
    winner_of: dict[str, Bid] = {}
    for position in winners:
        bid = bids[position]
        for lot_id in bid.lots:
            winner_of[lot_id] = bid
    named = {lot_id for bid in bids for lot_id in bid.lots}
    acceptable = {lot_id for position in candidates for lot_id in bids[position].lots}
    awards: list[LotAward] = []
    unawarded: list[UnawardedLot] = []
    for lot in lots:
        bid = winner_of.get(lot.lot_id)
        if bid is not None:
            awards.append(LotAward(lot.lot_id, bid.bid_id, bid.bidder_id))
        elif lot.lot_id not in named:
            unawarded.append(UnawardedLot(lot.lot_id, NO_BID))
        elif lot.lot_id not in acceptable:
            unawarded.append(UnawardedLot(lot.lot_id, NO_ACCEPTABLE_BID))
        else:
            unawarded.append(UnawardedLot(lot.lot_id, LOST_TO_A_PACKAGE))
    return Award(
        awards=tuple(awards),
        unawarded=tuple(unawarded),
        winning_bids=tuple(bids[position].bid_id for position in winners),
        objective=objective,
        optimal=optimal,
        gap=gap,
        solve_seconds=time.perf_counter() - started,
    )
