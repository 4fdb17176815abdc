"""Investor participation: social investors fund an outcomes-finance contract only when the return
they expect clears their hurdle (platoons.market.investors)."""

import math

import numpy as np

from platoons import simulate
from platoons.market import bidding, investors
from platoons.market.engine import step
from platoons.market.prices import expected_path
from platoons.simulate import _start
from small_world import small

OF = "design.delivery.outcomes_finance."


def outcomes_finance(threshold, **changes):
    return small({"design.delivery.model": "outcomes_finance", "design.lots.structure": "area", OF + "cohort_threshold": threshold,
                  OF + "pooled_threshold": threshold, OF + "investor_hurdle": -0.15, **changes})


def test_the_expected_return_is_the_outcome_pay_over_the_fees_compounded_over_the_wait():
    market = _start(outcomes_finance(0.0, **{"run.cohort_months": 12}), 1)
    world, prices = market.world, market.prices
    referrals = np.array([[1000.0, 1000.0, 1000.0]])  # a large cohort: it clears a zero threshold for sure
    no_support = expected_path(world, world.no_support_hazard, prices).outcomes.sum(-1)
    rate = no_support[None, :] + 0.1
    fee = np.full((1, 3), 500.0)
    value = prices.outcome + prices.sustainment * prices.sustainment_payments
    years = (6 + world.max_months.max() + world.sustain_months.max() + 1) / 12
    by_hand = (0.1 * value.sum() / 1500.0) ** (1 / years) - 1
    assert math.isclose(investors.expected_yearly_return(market, referrals, fee, rate)[0, 0], by_hand, rel_tol=1e-9)


def test_a_threshold_beyond_the_expected_gain_leaves_nothing_to_earn():
    market = _start(outcomes_finance(50.0), 1)
    no_support = expected_path(market.world, market.world.no_support_hazard, market.prices).outcomes.sum(-1)
    rate = no_support[None, :] * 2  # a 100% gain, far below a 5,000% threshold
    assert investors.expected_yearly_return(market, np.full((1, 3), 100.0), np.full((1, 3), 500.0), rate)[0, 0] < -0.99


def test_the_hurdle_blocks_funding_when_thresholds_are_high():
    run = simulate(outcomes_finance(6.0), 1)
    rows = run.tables["diagnostics"]
    first = [i for i, month in enumerate(rows["month"]) if month == 0]
    assert all(rows["reason"][i] == "no_investor" for i in first)
    assert all(rows["margin"][i] > 0 and rows["funded"][i] == 0 for i in first)


def test_higher_thresholds_mean_fewer_funded_contracts():
    def funded(threshold):
        rows = simulate(outcomes_finance(threshold), 1).tables["diagnostics"]
        return sum(let for month, let in zip(rows["month"], rows["let"]) if month == 0)

    low, middling, high = funded(0.1), funded(4.0), funded(6.0)
    assert low == 4 and middling < low and high == 0  # four area lots


def test_investors_who_lost_money_fund_no_more():
    market = _start(outcomes_finance(0.1), 1)
    for _ in range(3):
        step(market, lambda *_: None)
    assert not investors.burned(market)
    contract = next(c for c in market.contracts if c.fee_per_referral_gbp is not None)
    contract.comparison[0] = np.zeros(3)  # cohort 0 evaluated, and nothing paid for it
    assert investors.burned(market)
    terms = bidding.TenderTerms.of(market, False)
    teams = bidding.form_teams(market, terms)
    offers = bidding._price(market, teams, np.arange(len(market.lots)), terms)
    assert not offers["funded"].any()
