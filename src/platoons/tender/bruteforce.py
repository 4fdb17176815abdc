"""Award a small tender by trying every set of bids: the check on the MILP in ``award``.

It is written from the problem's statement, not from the solver's code: it shares only the
data types and the surplus formula, enumerates every subset of the bids and keeps the best
feasible one. Between awards of equal surplus (to one part in 10^9) it returns the one whose
winning bids, listed by input position, come first. ``award`` returns the same award whenever
the tie is one its swap rule settles (see ``platoons.tender.award``), and the same objective
always. Up to ``MAX_BIDS`` bids.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from itertools import combinations

from platoons.tender.award import (
    LOST_TO_A_PACKAGE,
    NO_ACCEPTABLE_BID,
    NO_BID,
    Award,
    AwardRules,
    Bid,
    Lot,
    LotAward,
    UnawardedLot,
    cap_for,
    surplus,
)

MAX_BIDS = 12


def award_exhaustively(lots: Sequence[Lot], bids: Sequence[Bid], rules: AwardRules = AwardRules()) -> Award:
    """The best award, found by trying every subset of ``bids``."""
    if len(bids) > MAX_BIDS:
        raise ValueError(f"bids must number at most {MAX_BIDS} for exhaustive search (got {len(bids)})")
    started = time.perf_counter()
    lot_ids = {lot.lot_id for lot in lots}
    for bid in bids:
        for lot_id in bid.lots:
            if lot_id not in lot_ids:
                raise ValueError(f"bid {bid.bid_id!r}: lots must be known lot ids (got {lot_id!r})")
    reserve = {lot.lot_id: lot.reserve_price for lot in lots}
    gains = [surplus(bid, reserve, rules.quality_weight) for bid in bids]
    n = len(bids)

    best: tuple[float, tuple[int, ...]] | None = None
    for size in range(n + 1):
        for chosen in combinations(range(n), size):
            if not is_feasible(lots, [bids[i] for i in chosen], rules):
                continue
            if any(gains[i] <= 0.0 for i in chosen):
                continue
            objective = math.fsum(gains[i] for i in chosen)
            key = (objective, chosen)
            if best is None or _better(key, best):
                best = key
    assert best is not None  # the empty award is always feasible
    objective, chosen = best

    acceptable_lots = set()
    for i, bid in enumerate(bids):
        if is_feasible(lots, [bid], rules) and gains[i] > 0.0:
            acceptable_lots.update(bid.lots)
    named = {lot_id for bid in bids for lot_id in bid.lots}
    winner_of = {lot_id: bids[i] for i in chosen for lot_id in bids[i].lots}
    awards = []
    unawarded = []
    for lot in lots:
        if lot.lot_id in winner_of:
            bid = winner_of[lot.lot_id]
            awards.append(LotAward(lot.lot_id, bid.bid_id, bid.bidder_id))
        elif lot.lot_id not in named:
            unawarded.append(UnawardedLot(lot.lot_id, NO_BID))
        elif lot.lot_id not in acceptable_lots:
            unawarded.append(UnawardedLot(lot.lot_id, NO_ACCEPTABLE_BID))
        else:
            unawarded.append(UnawardedLot(lot.lot_id, LOST_TO_A_PACKAGE))
    return Award(
        awards=tuple(awards),
        unawarded=tuple(unawarded),
        winning_bids=tuple(bids[i].bid_id for i in chosen),
        objective=objective,
        optimal=True,
        gap=0.0,
        solve_seconds=time.perf_counter() - started,
    )


def is_feasible(lots: Sequence[Lot], chosen: Sequence[Bid], rules: AwardRules) -> bool:
    """Whether awarding exactly the bids ``chosen`` keeps every rule of the tender."""
    set_aside = {lot.lot_id for lot in lots if lot.set_aside}
    taken: set[str] = set()
    groups: set[str] = set()
    won: dict[str, int] = {}
    for bid in chosen:
        if not taken.isdisjoint(bid.lots):
            return False
        taken.update(bid.lots)
        if bid.xor_group is not None:
            if bid.xor_group in groups:
                return False
            groups.add(bid.xor_group)
        if bid.bidder_id not in rules.small_bidders and not set_aside.isdisjoint(bid.lots):
            return False
        won[bid.bidder_id] = won.get(bid.bidder_id, 0) + len(bid.lots)
    return all(cap_for(bidder, rules) is None or count <= cap_for(bidder, rules) for bidder, count in won.items())


def _better(key: tuple[float, tuple[int, ...]], best: tuple[float, tuple[int, ...]]) -> bool:
    """Higher surplus first; between equal surpluses, the winners that come first in the input."""
    objective, chosen = key
    best_objective, best_chosen = best
    tie = 1e-9 * max(abs(objective), abs(best_objective))
    if abs(objective - best_objective) > tie:
        return objective > best_objective
    return chosen < best_chosen
