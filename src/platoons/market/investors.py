"""Investor participation: social investors fund an outcomes-finance contract only when the return
they expect clears their hurdle, and stop funding once their record shows a loss.

Before a contract is signed the investors look at each bid's lot as the evaluation will: each
cohort of the lot's referrals is compared with a matched comparison group at the no-support
chances, and paid for the outcomes above it if it beats the comparison by the cohort threshold,
or, at the last evaluation, if all cohorts together beat the pooled threshold. They take the
provider's own (possibly optimistic) expected outcomes per referral, treat a cohort's outcomes
and its comparison as independent binomial counts (normal approximation), so that the chance a
cohort clears a threshold falls as the threshold rises, cap what the lot can earn at its share of
the commissioner's most, and compare what they expect back with the fees they pay, compounded over
the months between paying the fees (mid-cohort) and the cohort's evaluation. A bid whose lot they
would not fund is not made; the lot's binding reason reads "no_investor" (platoons.market.diagnostics).
"""

from __future__ import annotations

import math

import numpy as np

from platoons.market.prices import expected_path


def willing(market, lot_ids: np.ndarray, referrals: np.ndarray, fee: np.ndarray, believed_rate: np.ndarray) -> np.ndarray:
    """[team, lot being let] whether investors would fund each team for each lot.

    `referrals` [lot being let, group] per month; `fee` [team, group] what investors pay the
    provider per referral; `believed_rate` [team, group] the provider's expected outcomes per referral."""
    if burned(market):
        return np.zeros((len(fee), len(lot_ids)), bool)
    rules = market.scenario.design.delivery.outcomes_finance
    return expected_yearly_return(market, referrals, fee, believed_rate) >= rules.investor_hurdle


def expected_yearly_return(market, referrals: np.ndarray, fee: np.ndarray, believed_rate: np.ndarray) -> np.ndarray:
    """[team, lot being let] the yearly return investors expect on the fees they pay."""
    scenario, world, prices = market.scenario, market.world, market.prices
    rules = scenario.design.delivery.outcomes_finance
    cohort_months = scenario.run.cohort_months
    cohort = referrals * cohort_months  # [lot, group] people in one cohort
    no_support = expected_path(world, world.no_support_hazard, prices).outcomes.sum(axis=-1)  # [group]
    value = prices.outcome + prices.sustainment * prices.sustainment_payments  # [group] a sustained outcome at list prices
    rate = believed_rate[:, None, :]  # [team, 1, group]
    expected = (cohort[None] * rate).sum(-1)  # [team, lot]
    comparison = np.maximum((cohort * no_support).sum(-1), 1.0)[None, :]
    spread = np.sqrt((cohort[None] * (rate * (1 - rate) + no_support * (1 - no_support))).sum(-1)) / comparison
    gain = (expected - comparison) / comparison
    months = min(scenario.design.contract.length_months, scenario.run.months - market.month)
    cohorts = max(months // cohort_months, 1)
    clears_cohort = _normal_cdf((gain - rules.cohort_threshold) / np.maximum(spread, 1e-12))
    clears_pooled = _normal_cdf((gain - rules.pooled_threshold) / np.maximum(spread / math.sqrt(cohorts), 1e-12))
    paid = clears_cohort + (1 - clears_cohort) * clears_pooled
    earned = paid * (cohort[None] * np.maximum(rate - no_support, 0.0) * value).sum(-1) * cohorts  # [team, lot] over the contract
    if rules.max_payments_gbp is not None:
        share = referrals.sum(-1) / max(market.lots.referrals.sum(), 1e-12)  # the lot's part of the commissioner's most
        earned = np.minimum(earned, rules.max_payments_gbp * share[None, :])
    outlay = (cohort[None] * fee[:, None, :]).sum(-1) * cohorts
    follow_up = int(world.max_months.max() + world.sustain_months.max()) + 1
    years = (cohort_months / 2 + follow_up) / 12
    with np.errstate(divide="ignore", invalid="ignore"):
        multiple = np.where(outlay > 0, earned / outlay, np.inf)
    return np.where(multiple > 0, multiple ** (1 / years) - 1, -1.0)


def burned(market) -> bool:
    """Whether investors have lost money on the cohorts evaluated so far: the outcome payments they
    received fall short of the fees they paid for those cohorts. Investors so burned fund no more."""
    pl = market.placements
    paid_for = 0.0
    for c, contract in enumerate(market.contracts):
        if contract.fee_per_referral_gbp is None or not contract.comparison:
            continue
        evaluated = (pl.contract == c) & np.isin(pl.cohort, list(contract.comparison))
        paid_for += float((pl.referred_total[evaluated] * contract.fee_per_referral_gbp).sum())
    received = market.events.get("outcome_payments_gbp", 0.0)
    return paid_for > 0 and received < paid_for


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(z) / math.sqrt(2.0)))
