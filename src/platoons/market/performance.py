"""Minimum performance levels: a contract whose yearly outcome rate falls short loses referrals.

Each year end, a contract's flow outcome rate (outcomes in the year over referrals in the year)
in each measured group is set against the group's no-support rate plus the minimum's points
(fewer in the contract's first year). A contract below it in any measured group loses a share
of its areas' referrals to the other contracts that cover the same areas (the market-share
shift); after enough years below in a row it is terminated, and its referrals and people go to
those competitors, or the lot is re-let when it has none.
"""

from __future__ import annotations

import numpy as np

from platoons.market import record
from platoons.market.contracting import move_people
from platoons.market.state import Market


def review(market: Market) -> None:
    rules = market.scenario.design.performance
    if rules.min_points is None:
        return
    groups = _measured_groups(market)
    pl = market.placements
    for c, contract in enumerate(market.contracts):
        rows = pl.contract == c
        referred = pl.referred_this_year[rows].sum(axis=0)[groups]
        if not contract.active or referred.sum() == 0:
            continue
        first_year = market.month - contract.start_month < 12
        points = rules.first_year_points if first_year else rules.min_points
        rate = pl.outcomes_this_year[rows].sum(axis=0)[groups] / np.maximum(referred, 1)
        floor = market.scenario.world.need_groups
        minimum = np.array([floor[g].no_support_outcome_rate for g in groups]) + points
        measured = float(minimum[referred > 0].max())
        if (rate[referred > 0] >= minimum[referred > 0]).all():
            contract.years_below_minimum = 0
            record.review(market, c, measured, True, "none")
            continue
        contract.years_below_minimum += 1
        market.count("years_below_minimum")
        shifts = market.events.get("share_shifts", 0.0)
        if rules.terminate_after is not None and contract.years_below_minimum >= rules.terminate_after:
            _terminate(market, c)
            record.review(market, c, measured, False, "termination")
        else:
            _shift_share(market, c, rules.share_shift)
            record.review(market, c, measured, False, "share_shift" if market.events.get("share_shifts", 0.0) > shifts else "none")


def _measured_groups(market: Market) -> np.ndarray:
    names = market.world.group_names
    chosen = market.scenario.design.performance.groups or names
    return np.array([names.index(g) for g in chosen], dtype=np.int64)


def _competitors(market: Market, c: int) -> np.ndarray:
    """Lots held by other active contracts that cover any of this contract's areas."""
    lots = np.array(market.contracts[c].lots)
    areas = (market.area_share[lots] > 0).any(axis=0)
    holder = market.lot_contract()
    others = np.flatnonzero((market.area_share[:, areas] > 0).any(axis=1) & (holder >= 0) & (holder != c))
    return others


def _shift_share(market: Market, c: int, amount: float) -> None:
    lots = np.array(market.contracts[c].lots)
    rivals = _competitors(market, c)
    if len(rivals) == 0:
        return
    moved = np.minimum(market.area_share[lots], amount) * _covered(market, rivals)[None, :]
    market.area_share[lots] -= moved
    _hand_to(market, rivals, moved.sum(axis=0))
    market.count("share_shifts")


def _covered(market: Market, rivals: np.ndarray) -> np.ndarray:
    return (market.area_share[rivals] > 0).any(axis=0)


def _hand_to(market: Market, rivals: np.ndarray, share_by_area: np.ndarray) -> None:
    """Divide each area's released share equally among the rivals that cover the area."""
    cover = market.area_share[rivals] > 0
    market.area_share[rivals] += cover * (share_by_area / np.maximum(cover.sum(axis=0), 1))[None, :]


def _terminate(market: Market, c: int) -> None:
    contract = market.contracts[c]
    rivals = _competitors(market, c)
    contract.end("terminated", market.month)
    market.count("terminations")
    if len(rivals) == 0:
        return  # the lot is re-let like any other without a holder
    lots = np.array(contract.lots)
    covered = _covered(market, rivals)
    released = market.area_share[lots].sum(axis=0) * covered
    market.area_share[lots] *= ~covered  # areas no rival covers stay with the lot, which is re-let
    _hand_to(market, rivals, released)
    pl = market.placements
    heirs = np.flatnonzero(np.isin(pl.lot, rivals) & (pl.share.sum(axis=1) > 0))
    leaving = np.flatnonzero(pl.contract == c)
    if len(heirs):
        target = heirs[np.argmax(pl.capacity[heirs])]
        market.count("people_transferred", int(pl.people()[leaving].sum()))
        move_people(market, leaving, int(target))
