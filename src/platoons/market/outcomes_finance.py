"""Outcomes finance: social investors fund delivery and carry the outcome risk.

Investors pay providers a fee for each person referred (their working capital), whatever the
outcomes. Referrals are grouped into cohorts; once a cohort has had time to reach and sustain
its outcomes, it is compared with a matched comparison group drawn at the no-support rates.
If its outcomes beat the comparison by the cohort threshold, the commissioner pays the
investors for each outcome above the comparison; at the last evaluation, cohorts not yet paid
are paid if all cohorts together beat the pooled threshold.
"""

from __future__ import annotations

import numpy as np

from platoons.ledger import Account, Kind, Role, to_pence
from platoons.market.prices import expected_path
from platoons.market.state import Market


def fund(market: Market, month) -> None:
    """Investors pay each provider its fee for every person referred to it this month."""
    pl = market.placements
    groups = len(market.world.group_names)
    # The in-house provider of last resort is paid by the commissioner, not by investors.
    fee = np.array([np.zeros(groups) if c.fee_per_referral_gbp is None else c.fee_per_referral_gbp
                    for c in market.contracts])[pl.contract]  # [placement, group]
    pence = to_pence((month.referred * fee).sum(axis=1))
    market.ledger.post(Account.INVESTORS, market.providers.account[pl.provider], pence, Kind.FEE, Role.DIRECT)
    market.add_income(pl.provider, pence)


def evaluate_cohorts(market: Market) -> None:
    rules = market.scenario.design.delivery.outcomes_finance
    world, pl = market.world, market.placements
    last_month = market.month == market.scenario.run.months - 1
    follow_up = int(world.max_months.max() + world.sustain_months.max()) + 1
    for c, contract in enumerate(market.contracts):
        if contract.in_house:
            continue
        rows = pl.contract == c
        for cohort in np.unique(pl.cohort[rows]):
            due = (cohort + 1) * market.scenario.run.cohort_months + follow_up
            if cohort in contract.comparison or (market.month < due and not last_month):
                continue
            mine = rows & (pl.cohort == cohort)
            contract.comparison[int(cohort)] = market.rng["evaluation"].binomial(pl.referred_total[mine].sum(axis=0), _no_support_outcome_chance(market))
            if _gain(pl.outcomes_total[mine].sum(axis=0), contract.comparison[int(cohort)]) >= rules.cohort_threshold:
                _pay(market, contract, int(cohort), mine)
        if last_month:
            _pay_pooled(market, c, contract)


def _pay_pooled(market: Market, c: int, contract) -> None:
    rules = market.scenario.design.delivery.outcomes_finance
    pl = market.placements
    rows = pl.contract == c
    cohorts = sorted(contract.comparison)
    outcomes = sum(pl.outcomes_total[rows & (pl.cohort == k)].sum(axis=0) for k in cohorts)
    comparison = sum(contract.comparison[k] for k in cohorts)
    if cohorts and _gain(outcomes, comparison) >= rules.pooled_threshold:
        for k in cohorts:
            if k not in contract.paid_cohorts:
                _pay(market, contract, k, rows & (pl.cohort == k))


def _gain(outcomes: np.ndarray, comparison: np.ndarray) -> float:
    """Relative gain of the cohort's outcomes over the comparison group's."""
    base = float(np.sum(comparison))
    return (float(np.sum(outcomes)) - base) / max(base, 1.0)


def _pay(market: Market, contract, cohort: int, rows: np.ndarray) -> None:
    """The commissioner pays investors for each outcome above the comparison group."""
    rules = market.scenario.design.delivery.outcomes_finance
    prices = market.prices
    value = prices.outcome + prices.sustainment * prices.sustainment_payments  # a sustained outcome, at list prices
    extra = np.maximum(0, market.placements.outcomes_total[rows].sum(axis=0) - contract.comparison[cohort])
    amount = float((extra * value).sum())
    if rules.max_payments_gbp is not None:
        amount = min(amount, max(0.0, rules.max_payments_gbp - market.events.get("outcome_payments_gbp", 0.0)))
    market.ledger.post(Account.COMMISSIONER, Account.INVESTORS, to_pence(amount), Kind.OUTCOME)
    by_group = extra * value
    market.payments_by_group[int(Kind.OUTCOME)] += by_group * (amount / by_group.sum() if by_group.sum() else 0.0)
    market.count("outcome_payments_gbp", amount)
    contract.paid_cohorts.add(cohort)


def _no_support_outcome_chance(market: Market) -> np.ndarray:
    """Chance a referral reaches a paid outcome with no support [group]: the comparison group's."""
    return expected_path(market.world, market.world.no_support_hazard, market.prices).outcomes.sum(axis=-1)
