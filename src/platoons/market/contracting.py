"""Turning tender wins into contracts and placements, and moving people when holders change."""

from __future__ import annotations

import numpy as np

from platoons.ledger import Account
from platoons.market.prices import expected_path, stage_depths
from platoons.market.state import Contract, Market, Placements
from platoons.population import monthly_hazard
from platoons.market.bidding import Win, let_contracts


def let_lots(market: Market, lot_ids: np.ndarray, end_month: int) -> None:
    """Tender `lot_ids`, sign the winners' contracts, and hand the lots' people to them."""
    wins = let_contracts(market, lot_ids)
    market.count("tenders")
    old = market.placements
    new_contracts = [_sign(market, win, end_month) for win in wins]
    first = len(market.contracts)
    market.contracts.extend(new_contracts)
    fresh = _placements(market, wins, first)
    fresh.cohort[:] = cohort_of(market)
    market.providers.last_role[fresh.provider] = fresh.role
    let = np.array(sorted({int(l) for win in wins for l in win.lots}), dtype=np.int64)
    # People of a lot that found no new holder stay where they are, waiting for the next re-let.
    keep = ~np.isin(old.lot, let)
    moving = _subset(old, ~keep)
    if len(moving):
        fresh = _hand_over(market, moving, fresh)
    market.placements = _concat(_subset(old, keep), fresh)
    market.count("lots_unlet", len(set(int(l) for l in lot_ids) - set(let.tolist())))


def _sign(market: Market, win: Win, end_month: int) -> Contract:
    team = win.team
    if team.lead >= 0:
        holder, account = team.lead, int(market.providers.account[team.lead])
    elif market.scenario.design.delivery.model == "alliance":
        holder, account = -1, int(Account.COMMISSIONER)  # members and commissioner share one budget
    else:
        holder, account = -1, int(market.ledger.open_accounts(1)[0])  # the consortium's centre
    market.count("contracts_let")
    p = market.providers
    band = int(p.size_band(market.scenario.sector.size_band_edges_gbp)[team.lead]) if team.lead >= 0 else -1
    return Contract(
        lots=win.lots, holder=holder, account=account, price_ratio=win.price_ratio,
        start_month=market.month, end_month=end_month, risk_fee_gbp=win.risk_fee_gbp, members=team.providers,
        fee_per_referral_gbp=win.fee_per_referral_gbp, budget_gbp_per_year=win.budget_gbp_per_year,
        replacements=list(win.replacements), holder_size_band=band,
    )


def _placements(market: Market, wins: list[Win], first_contract: int) -> Placements:
    world, p = market.world, market.providers
    depth = _depth(market)
    rows = {"contract": [], "lot": [], "provider": [], "role": [], "share": [], "capacity": []}
    headroom = 1.0 + market.scenario.sector.dynamics.capacity_headroom
    for c, win in enumerate(wins, start=first_contract):
        m = win.team.providers
        quality = 1.0 - market.scenario.sector.dynamics.staff_turnover_effect * p.staff_turnover[m]
        hazard = world.no_support_hazard[None, :] + monthly_hazard(p.effectiveness[m]) * quality[:, None]
        months_on_caseload = expected_path(world, hazard, market.prices).caseload_months  # [member, group]
        for lot in win.lots:
            inflow = market.lots.referrals[lot]  # [group] per month
            for i, provider in enumerate(m):
                rows["contract"].append(c)
                rows["lot"].append(lot)
                rows["provider"].append(provider)
                rows["role"].append(win.team.roles[i])
                rows["share"].append(win.team.shares[i])
                rows["capacity"].append(headroom * float((win.team.shares[i] * inflow * months_on_caseload[i]).sum()))
    if not rows["contract"]:
        return Placements.empty(len(world.group_names), depth)
    return Placements.new(rows["contract"], rows["lot"], rows["provider"], rows["role"],
                          np.array(rows["share"]), rows["capacity"], depth)


def _depth(market: Market) -> tuple[int, int, int]:
    return stage_depths(market.world, market.prices)


def _hand_over(market: Market, moving: Placements, fresh: Placements) -> Placements:
    """People of re-let lots move to the new holders, by referral share, each cohort kept apart.

    The current cohort joins the fresh placements; earlier cohorts get placements of their own
    with the same providers that take no referrals, so cohort outcomes stay traceable.
    """
    carried = []
    for cohort in np.unique(moving.cohort):
        into = fresh if cohort == cohort_of(market) else _copy(fresh, int(cohort))
        _move_by_lot(market, _subset(moving, moving.cohort == cohort), into)
        if into is not fresh:
            into.share[:] = 0.0
            carried.append(_subset(into, into.people() > 0))
    for part in carried:
        fresh = _concat(fresh, part)
    return fresh


def _copy(rows: Placements, cohort: int) -> Placements:
    copy = Placements.new(rows.contract, rows.lot, rows.provider, rows.role, rows.share.copy(), rows.capacity.copy(),
                          (rows.caseload.shape[2], rows.in_work.shape[2], rows.sustaining.shape[2]))
    copy.cohort[:] = cohort
    return copy


def _move_by_lot(market: Market, moving: Placements, into: Placements) -> None:
    for lot in np.unique(moving.lot):
        source = moving.lot == lot
        target = np.flatnonzero(into.lot == lot)
        people = int(moving.people()[source].sum())
        if people == 0:
            continue
        if set(moving.provider[source].tolist()) != set(into.provider[target].tolist()):
            market.count("people_transferred", people)
        for stock in ("caseload", "in_work", "sustaining"):
            pooled = getattr(moving, stock)[source].sum(axis=0)  # [group, depth]
            getattr(into, stock)[target] += split(pooled, into.share[target], market.rng["routing"])


def split(pooled: np.ndarray, shares: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Whole people [group, depth] divided at random among placements by share [placement, group].

    Each cell is divided by a multinomial draw, as referrals are; rounding each small cell down
    and giving the remainders to the largest share would hand nearly everyone to one placement.
    """
    weights = shares.astype(float).copy()
    weights[0, weights.sum(axis=0) <= 0] = 1.0  # a group nobody takes goes to the first placement
    weights /= weights.sum(axis=0, keepdims=True)
    draws = rng.multinomial(pooled, weights.T[:, None, :])  # [group, depth, placement]
    return np.moveaxis(draws, -1, 0)


def cohort_of(market: Market) -> int:
    return market.month // market.scenario.run.cohort_months


def open_cohort_if_due(market: Market) -> None:
    """At each cohort boundary, new referrals go to fresh placements, so that each referral cohort
    is followed on its own (cohort outcome rates; outcomes finance pays by cohort)."""
    if market.month == 0 or market.month % market.scenario.run.cohort_months:
        return
    pl = market.placements
    taking = np.flatnonzero((pl.share.sum(axis=1) > 0) & (pl.cohort < cohort_of(market)))
    if len(taking) == 0:
        return
    add_placements(market, taking, cohort=cohort_of(market))
    market.placements.share[taking] = 0.0


def add_placements(market: Market, template: np.ndarray, provider: np.ndarray | None = None, cohort: int | None = None) -> np.ndarray:
    """New empty placements copying rows `template` (optionally for other providers or a new cohort)."""
    pl = market.placements
    fresh = Placements.new(pl.contract[template], pl.lot[template],
                           pl.provider[template] if provider is None else provider, pl.role[template],
                           pl.share[template].copy(), pl.capacity[template].copy(), _depth(market))
    fresh.cohort[:] = pl.cohort[template] if cohort is None else cohort
    first = len(pl)
    market.placements = _concat(pl, fresh)
    return np.arange(first, first + len(template))


def move_people(market: Market, source: np.ndarray, target: int) -> None:
    """Move everyone in placements `source` to placement `target`."""
    pl = market.placements
    for stock in ("caseload", "in_work", "sustaining"):
        array = getattr(pl, stock)
        array[target] += array[source].sum(axis=0)
        array[source] = 0


def _subset(pl: Placements, mask: np.ndarray) -> Placements:
    return Placements(**{name: getattr(pl, name)[mask] for name in pl.__dataclass_fields__})


def _concat(a: Placements, b: Placements) -> Placements:
    return Placements(**{name: np.concatenate([getattr(a, name), getattr(b, name)]) for name in a.__dataclass_fields__})

