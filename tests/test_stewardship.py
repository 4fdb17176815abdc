"""The commissioner's stewardship of lots without a holder, what a change of holder costs, and the
commissioner's yearly costs: each on a small world whose answer is worked out by hand."""

import numpy as np
import pytest

from platoons import simulate
from platoons.ledger import Account, Kind
from platoons.market.commissioning import month_of_yearly_pence
from platoons.market.engine import _mobilising, step
from platoons.simulate import _start
from small_world import small

NOBODY_CAN_BID = 1e11  # a turnover threshold no provider meets (the schema's largest)
LIST_PRICES = {"job_ready": (400, 1200, 140), "moderate": (400, 1200, 250), "complex": (600, 3500, 370)}  # default preset


def run(market, months):
    for _ in range(months):
        step(market, lambda *_: None)


def at_half_price():
    """Every list price halved: no provider can bid at or below list price any more."""
    changes = {}
    for group, (attachment, outcome, sustainment) in LIST_PRICES.items():
        changes[f"design.payment.by_group.{group}.attachment_fee_gbp"] = attachment / 2
        changes[f"design.payment.by_group.{group}.outcome_fee_gbp"] = outcome / 2
        changes[f"design.payment.by_group.{group}.sustainment_gbp"] = sustainment / 2
    return changes


def with_threshold(market, min_turnover_gbp):
    scenario = market.scenario
    market.scenario = scenario.model_copy(update={"design": scenario.design.model_copy(update={
        "eligibility": scenario.design.eligibility.model_copy(update={"min_turnover_gbp": min_turnover_gbp})})})


def test_a_lot_nobody_is_eligible_for_is_re_let_with_the_threshold_lifted_and_stays_held():
    scenario = small({"design.eligibility.min_turnover_gbp": NOBODY_CAN_BID,
                      "design.stewardship.policy": ["relax_and_relet", "last_resort"]})
    result = simulate(scenario, 1)
    # The tender at month 0 finds nobody eligible; the relaxed re-let the same month lifts the
    # threshold and lets both lots. Their contracts run 24 months; the re-tender at month 24 again
    # finds nobody eligible and the relaxed re-let lets them again until the run ends.
    rounds = result.tables["diagnostics"]
    relaxed = np.array(rounds["relaxed"])
    assert list(rounds["month"]) == [0, 0, 0, 0, 24, 24, 24, 24]
    assert list(relaxed) == [False, False, True, True] * 2
    assert not any(np.array(rounds["eligible"])[~relaxed]) and not any(np.array(rounds["let"])[~relaxed])
    assert all(np.array(rounds["eligible"])[relaxed] > 0) and all(np.array(rounds["let"])[relaxed])
    rows = result.tables["stewardship"]
    assert rows["action"] == ["relax_and_relet"] * 4 and rows["month"] == [0, 0, 24, 24]
    # Its cost is the re-let's tender: 2 lots x procurement + the bids it drew x evaluation, shared by the lots.
    costs = scenario.design.commissioning_costs
    for month in (0, 24):
        bids = sum(b for b, m, r in zip(rounds["bid"], rounds["month"], relaxed) if m == month and r)
        paid = sum(c for c, m in zip(rows["cost_gbp"], rows["month"]) if m == month)
        assert paid == 2 * costs.procurement_gbp_per_lot + bids * costs.evaluation_gbp_per_bid
    contracts = result.tables["contracts"]
    assert contracts["start_month"] == [0, 0, 24, 24] and contracts["end_month"] == [24, 24, 36, 36]
    assert all(0 < r <= scenario.design.stewardship.relax_price_cap for r in contracts["price_ratio"])
    assert result.metrics["referrals_unserved"] == 0
    assert result.metrics["unserved_lot_months"] == 0


@pytest.mark.parametrize("cap", [1.0, 3.0])
def test_a_relaxed_re_let_accepts_bids_above_list_price_up_to_its_cap(cap):
    scenario = small({**at_half_price(), "design.eligibility.min_turnover_gbp": 0,
                      "design.stewardship.policy": ["relax_and_relet", "last_resort"],
                      "design.stewardship.relax_price_cap": cap})
    market = _start(scenario, 1)
    run(market, 1)
    first, relaxed = market.diagnostics[:2], market.diagnostics[2:]
    assert [r["reason"] for r in first] == ["no_margin", "no_margin"]  # every bid needs more than list price
    contracts = [c for c in market.contracts if c.active]
    if cap == 1.0:  # a cap at list price relaxes nothing that mattered here: the in-house service takes both
        assert not any(r["let"] for r in relaxed)
        assert [r["action"] for r in market.stewardship] == ["last_resort", "last_resort"]
        assert all(c.in_house for c in contracts)
    else:
        assert all(r["let"] for r in relaxed)
        assert [r["action"] for r in market.stewardship] == ["relax_and_relet", "relax_and_relet"]
        assert len(contracts) == 2 and all(not c.in_house and 1.0 < c.price_ratio <= cap for c in contracts)


def test_an_incoming_holder_mobilises_at_reduced_quality_for_its_months_and_pays_for_it():
    quality, months, mobilise_gbp = 0.25, 3, 40_000.0
    scenario = small({"design.delivery.model": "direct", "design.contract.length_months": 12,
                      "design.stewardship.policy": ["relax_and_relet", "last_resort"],
                      "design.transitions.mobilisation_months": months, "design.transitions.mobilisation_quality": quality,
                      "design.transitions.mobilisation_gbp_per_lot": mobilise_gbp})
    market = _start(scenario, 1)
    run(market, 12)
    with_threshold(market, NOBODY_CAN_BID)  # the re-tender at month 12 fails; the relaxed re-let finds new holders
    first = len(market.contracts)
    run(market, 1)
    incoming = market.contracts[first:]
    assert [r["action"] for r in market.stewardship] == ["relax_and_relet", "relax_and_relet"]
    assert len(market.transitions) == 2 and all(c.mobilising_until == 12 + months for c in incoming)
    # Each incoming holder pays the mobilisation of its lot, from its own account, at month 12.
    j = market.ledger.journal()
    paid = (j["kind"] == Kind.MOBILISATION) & (j["month"] == 12)
    assert sorted(j["payer"][paid]) == sorted(c.account for c in incoming)
    assert (j["payee"][paid] == Account.TRANSITION).all()
    assert (j["amount_pence"][paid] == mobilise_gbp * 100).all()
    # Reduced quality in months 13 and 14 (month 12 was the first), full quality from month 15;
    # the placements of contracts that did not change hands never mobilise.
    for month in (13, 14, 15, 16):
        rows = market.placements.contract >= first
        q = _mobilising(market)
        assert (q[rows] == (quality if month < 12 + months else 1.0)).all()
        assert (q[~rows] == 1.0).all()
        run(market, 1)


def _incoming_starts_in_the_first_month(quality):
    scenario = small({"design.delivery.model": "direct", "design.contract.length_months": 12,
                      "design.stewardship.policy": ["relax_and_relet", "last_resort"],
                      "design.transitions.mobilisation_quality": quality})
    market = _start(scenario, 1)
    run(market, 12)
    with_threshold(market, NOBODY_CAN_BID)
    first = len(market.contracts)
    run(market, 1)
    pl = market.placements
    rows = pl.contract >= first
    waiting = (pl.caseload[rows].sum(axis=2) + pl.in_work[rows][:, :, 0]).sum(axis=0)  # [group] before the month's starts
    return pl.in_work[rows][:, :, 0].sum(), float(waiting @ market.world.no_support_hazard)


def test_mobilisation_quality_scales_what_the_incoming_holder_adds():
    # At quality 0 the incoming holder adds nothing in its first month: its people find work at the
    # no-support rate alone (about 8 of 2,500); at full quality several times as many do.
    starts_at_zero, no_support = _incoming_starts_in_the_first_month(0.0)
    starts_at_full, _ = _incoming_starts_in_the_first_month(1.0)
    assert abs(starts_at_zero - no_support) <= 4 * np.sqrt(no_support)
    assert starts_at_full > 3 * starts_at_zero


def test_outcomes_finance_evaluation_costs_the_yearly_amount_per_contract_evaluated():
    per_year = 50_000.0  # does not divide into whole pence by twelve: the twelfths must still add to it
    for seed, evaluated in ((1, 2), (2, 1)):  # seed 2: one lot goes to the in-house service, which is not evaluated
        scenario = small({"design.delivery.model": "outcomes_finance", "design.eligibility.min_turnover_gbp": 0,
                          "design.commissioning_costs.outcomes_evaluation_gbp_per_year": per_year})
        market = _start(scenario, seed)
        run(market, 36)
        assert sum(not c.in_house for c in market.contracts if c.active) == evaluated  # standing all 36 months
        j = market.ledger.journal()
        posted = j["kind"] == Kind.EVALUATION
        assert (j["payer"][posted] == Account.COMMISSIONER).all() and (j["payee"][posted] == Account.COMMISSIONING).all()
        by_year = np.bincount(j["month"][posted] // 12, weights=j["amount_pence"][posted])
        assert list(by_year) == [per_year * 100 * evaluated] * 3
    direct = _start(small({"design.delivery.model": "direct"}), 1)
    run(direct, 12)
    assert not (direct.ledger.journal()["kind"] == Kind.EVALUATION).any()  # only outcomes finance is evaluated


def test_twelve_monthly_twelfths_make_the_yearly_cost_exactly():
    for per_year in (50_000.0, 20_000.0, 0.07, 1_234_567.89):
        twelfths = [month_of_yearly_pence(per_year, month) for month in range(5, 17)]
        assert sum(twelfths) == round(per_year * 100)
        assert max(twelfths) - min(twelfths) <= 1


@pytest.mark.parametrize("every", [3, 6, 5])
def test_a_lot_left_unserved_is_tendered_again_every_relet_every_months(every):
    scenario = small({"design.eligibility.min_turnover_gbp": NOBODY_CAN_BID, "design.stewardship.policy": ["leave_unserved"],
                      "design.stewardship.relet_every_months": every})
    result = simulate(scenario, 1)
    months = sorted(set(result.tables["diagnostics"]["month"]))
    assert months == list(range(0, 36, every))  # the first tender, then a re-let in each multiple of `every`
    assert result.tables["diagnostics"]["month"].count(every) == 2  # both lots each time
    # Each re-let costs the commissioner the procurement of two lots (no bids to evaluate).
    assert result.metrics["commissioning_cost_gbp"] == len(months) * 2 * scenario.design.commissioning_costs.procurement_gbp_per_lot
    assert result.metrics["unserved_lot_months"] == 2 * 36


def test_a_relaxed_re_let_that_fails_is_retried_every_relet_every_months():
    scenario = small({**at_half_price(), "design.eligibility.min_turnover_gbp": 0,
                      "design.stewardship.policy": ["relax_and_relet", "leave_unserved"],
                      "design.stewardship.relax_price_cap": 1.0, "design.stewardship.relet_every_months": 6})
    result = simulate(scenario, 1)
    rounds = result.tables["diagnostics"]
    relaxed_months = sorted({m for m, r in zip(rounds["month"], rounds["relaxed"]) if r})
    assert relaxed_months == [0, 6, 12, 18, 24, 30]
    assert not any(rounds["let"]) and result.metrics["unserved_lot_months"] == 2 * 36
