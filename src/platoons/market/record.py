"""What a run keeps for the record tables (platoons.metrics.record): the evaluations' measures.

The engine calls these at the moments the figures exist: bids when a tender is awarded, named
supply chains when contracts are signed, money as it is settled, and each year's referrals,
outcomes and reviews before the year end resets them. Nothing here changes what happens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from platoons.ledger import Role

SUBCONTRACT_ROLES = (Role.TIER1, Role.TIER2, Role.MEMBER, Role.ALLIANCE)


@dataclass
class Record:
    """Running totals and rows; one per market."""

    bids: list[dict] = field(default_factory=list)  # month, lot value, bidder's size band, won
    named: list[dict] = field(default_factory=list)  # contract, provider, role, referrals a month the bid promised
    contract_years: list[dict] = field(default_factory=list)  # contract, year, referrals, outcomes, review, profit
    sub_years: list[dict] = field(default_factory=list)  # contract, provider, year, referrals got
    participation: list[dict] = field(default_factory=list)  # year, size band, providers, holding, income
    holder_profit_gbp: dict[int, float] = field(default_factory=dict)  # contract -> holder's profit so far
    payments: dict[int, np.ndarray] = field(default_factory=dict)  # programme year -> [posting kind, group] GBP
    spent_by_group: np.ndarray | None = None  # [group] providers' delivery costs, GBP
    effort: dict[int, dict[int, tuple]] = field(default_factory=dict)  # year -> role -> ([group] person-months, effort x person-months)
    cohort_outcomes: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)  # (cohort, month) -> [group]
    reviews: dict[tuple[int, int], dict] = field(default_factory=dict)  # (contract, year) -> minimum, met, action
    profit_reported: dict[int, float] = field(default_factory=dict)  # contract -> profit in its latest row


def of(market) -> Record:
    if market.record is None:
        market.record = Record()
    return market.record


def bids(market, bid_value_gbp: list[float], bidder: list[str], bidder_band: list[str], won: list[bool]) -> None:
    """One row per bid of a tender: the value it bid for at the reserve price, who bid, whether it won."""
    rows = of(market).bids
    for value, who, band, w in zip(bid_value_gbp, bidder, bidder_band, won):
        rows.append({"month": market.month, "lot_value_gbp": float(value), "bidder": who, "bidder_size_band": band, "won": bool(w)})


def signed(market, fresh) -> None:
    """The subcontractors each new contract names, with the referrals a month its bid gave them."""
    rows = of(market).named
    expected = (market.lots.referrals[fresh.lot] * fresh.share).sum(axis=1)
    for i in np.flatnonzero(np.isin(fresh.role, SUBCONTRACT_ROLES)):
        rows.append({"contract": int(fresh.contract[i]), "provider": int(fresh.provider[i]),
                     "role": Role(int(fresh.role[i])).name.lower(), "per_month": float(expected[i])})


def holder_money(market, contracts: np.ndarray, amount_gbp: np.ndarray) -> None:
    """Add money [placement] to the profit of each placement's contract."""
    totals = np.bincount(contracts, weights=amount_gbp, minlength=len(market.contracts)) if len(contracts) else []
    record = of(market)
    for c in np.flatnonzero(totals):
        record.holder_profit_gbp[int(c)] = record.holder_profit_gbp.get(int(c), 0.0) + float(totals[c])


def holder_costs(market, costs_gbp: np.ndarray) -> None:
    """Delivery costs [placement] borne by the contract's own holder, against its profit."""
    pl = market.placements
    account = np.array([c.account for c in market.contracts], dtype=np.int64)[pl.contract]
    own = market.providers.account[pl.provider] == account
    holder_money(market, pl.contract[own], -costs_gbp[own])


def payments(market, by_group: dict) -> None:
    """The commissioner's payments this month, by posting kind and need group, into the programme year."""
    record = of(market)
    groups = len(market.world.group_names)
    year = record.payments.setdefault(market.month // 12, np.zeros((max(int(k) for k in by_group) + 1, groups)))
    for kind, amounts in by_group.items():
        year[int(kind)] += amounts.sum(axis=0)


def spending(market, month, costs: dict) -> None:
    """Providers' delivery costs by need group (each placement's costs split by its staff cost per group),
    and the effort each role gave each group, weighted by the people served."""
    record = of(market)
    staff = month.staff_cost_gbp(market.world, market.scenario.sector.effort.variable_cost_share)  # [placement, group]
    _add_effort(market, month)
    weights = staff / np.maximum(staff.sum(axis=1, keepdims=True), 1e-12)
    total = sum(costs.values())
    spent = (weights * total[:, None]).sum(axis=0)
    record.spent_by_group = spent if record.spent_by_group is None else record.spent_by_group + spent


def _add_effort(market, month) -> None:
    roles = market.placements.role
    totals = of(market).effort.setdefault(market.month // 12, {})
    for role in np.unique(roles[month.served.sum(axis=1) > 0]):
        rows = roles == role
        served, given = totals.get(int(role), (0.0, 0.0))
        totals[int(role)] = (served + month.served[rows].sum(axis=0), given + (month.served[rows] * month.effort[rows]).sum(axis=0))


def outcomes(market, cohort: np.ndarray, counts: np.ndarray) -> None:
    """Outcomes [placement, group] paid this month, by the referral cohort they came from."""
    record = of(market)
    for k in np.unique(cohort[counts.sum(axis=1) > 0]):
        key = (int(k), market.month)
        record.cohort_outcomes[key] = record.cohort_outcomes.get(key, 0) + counts[cohort == k].sum(axis=0)


def review(market, contract: int, minimum: float, met: bool, action: str) -> None:
    of(market).reviews[(contract, market.month // 12)] = {"minimum": minimum, "met": met, "action": action}


def close_year(market) -> None:
    """Before the year end resets them: each contract's and subcontractor's year, and who took part."""
    record, pl = of(market), market.placements
    year = market.month // 12
    referred = pl.referred_this_year.sum(axis=1)
    by_contract_ref, by_contract_out = _by_contract(market, referred), _by_contract(market, pl.outcomes_this_year.sum(axis=1))
    total_ref, total_out = _by_contract(market, pl.referred_total.sum(axis=1)), _by_contract(market, pl.outcomes_total.sum(axis=1))
    for c, contract in enumerate(market.contracts):
        ended_before = not contract.active and contract.end_month < year * 12
        profit = record.holder_profit_gbp.get(c, 0.0)
        moved = by_contract_ref[c] or by_contract_out[c] or profit != record.profit_reported.get(c)
        if contract.start_month > market.month or (ended_before and not moved):
            continue  # a contract that ended earlier appears while its run-off is paid
        record.profit_reported[c] = profit
        record.contract_years.append({
            "contract": c, "year": year, "referrals": int(by_contract_ref[c]), "outcomes": int(by_contract_out[c]),
            "referrals_to_date": int(total_ref[c]), "outcomes_to_date": int(total_out[c]),
            "profit_to_date_gbp": profit,
        })
    _subcontractor_year(market, year, referred)
    _participation(market, year)


def _by_contract(market, values: np.ndarray) -> np.ndarray:
    """Placement values [placement] summed by contract."""
    return np.bincount(market.placements.contract, weights=values, minlength=len(market.contracts)).astype(float)


def _subcontractor_year(market, year: int, referred: np.ndarray) -> None:
    record, pl = of(market), market.placements
    seen = {(row["contract"], row["provider"]) for row in record.named}
    if not seen or len(pl) == 0:
        return
    sums: dict[tuple[int, int], int] = {}
    for c, q, r in zip(pl.contract.tolist(), pl.provider.tolist(), referred.tolist()):
        if (c, q) in seen:
            sums[(c, q)] = sums.get((c, q), 0) + int(r)
    for (c, q), r in sums.items():
        record.sub_years.append({"contract": c, "provider": q, "year": year, "referrals": r})


def _participation(market, year: int) -> None:
    """Providers in each size band (at this year's turnover), how many hold a contract or subcontract, their income."""
    record, p, pl = of(market), market.providers, market.placements
    from platoons.population import SIZE_BANDS

    bands = p.size_band(market.scenario.sector.size_band_edges_gbp)
    holding = np.zeros(len(p), bool)
    holding[pl.provider[pl.live(market)]] = True
    holding[np.array([c.holder for c in market.contracts if c.active and c.holder >= 0], dtype=np.int64)] = True
    income = p.service_income_pence / 100.0
    for b, band in enumerate(SIZE_BANDS):
        mine = p.active & (bands == b)
        record.participation.append({"year": year, "size_band": band, "providers": int(mine.sum()),
                                     "holding": int((mine & holding).sum()), "income_gbp": float(income[bands == b].sum())})
