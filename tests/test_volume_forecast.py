"""Volume and mix forecasts (platoons.market.forecasts): lots are let on a forecast that arrivals
miss by volume_bias, winners hire fixed staff on their forecast, and a volume band reconciles pay."""

import numpy as np

from platoons import load_scenario, simulate, apply_changes
from platoons.ledger import Account, Kind, Role
from platoons.market import forecasts
from platoons.market.engine import step
from platoons.simulate import _start
from small_world import small

SHORTFALL = {"design.bidding.volume_bias": -0.3, "sector.dynamics.fixed_cost_share": 0.5}


def one_direct_contract(changes):
    """The small world let as one national lot to one provider, delivering it directly."""
    return small({"design.lots.structure": "national", "design.delivery.model": "direct", "design.contract.retender": False,
                  "design.contract.length_months": 36, **changes})


def run(market, months):
    for _ in range(months):
        step(market, lambda *_: None)


def holder_net_gbp(market) -> float:
    """What the contract's holder took in less what it paid out, bar its opening reserves."""
    j = market.ledger.journal()
    account = market.contracts[0].account
    received = j["amount_pence"][(j["payee"] == account) & (j["kind"] != Kind.OPENING)].sum()
    return (received - j["amount_pence"][j["payer"] == account].sum()) / 100


def test_bidders_forecast_the_published_volume_that_arrivals_miss_by_the_bias():
    market = _start(one_direct_contract({"design.bidding.volume_bias": -0.3}), 1)
    assert np.allclose(forecasts.contracted(market), market.lots.referrals / 0.7)
    assert np.allclose(forecasts.bidders_forecasts(market, 3, np.array([0]))[:, 0], market.lots.referrals[0] / 0.7)
    scattered = _start(one_direct_contract({"design.bidding.volume_error": 0.2, "design.bidding.mix_error": 0.2}), 1)
    drawn = forecasts.bidders_forecasts(scattered, 4000, np.array([0]))[:, 0]  # [team, group]
    assert np.isclose(drawn.sum(-1).mean(), scattered.lots.referrals[0].sum(), rtol=0.02)  # mean one
    assert drawn.sum(-1).std() > 0.15 * scattered.lots.referrals[0].sum()


def test_a_volume_shortfall_without_a_band_costs_the_holder():
    def net(changes, seed):
        market = _start(one_direct_contract(changes), seed)
        run(market, 36)
        assert market.ledger.total() == 0  # money conserved to the penny
        return holder_net_gbp(market)

    for seed in (1, 2):
        planned = net({"sector.dynamics.fixed_cost_share": 0.5}, seed)
        short = net(SHORTFALL, seed)
        assert short < planned - 0.1 * abs(planned)
        assert net({"design.bidding.volume_bias": -0.3}, seed) > short  # with no fixed staff, less is lost


def test_the_fixed_part_of_staff_cost_is_paid_on_the_places_planned():
    market = _start(one_direct_contract(SHORTFALL), 1)
    run(market, 1)
    pl = market.placements
    planned = pl.capacity[0] / (1 + market.scenario.sector.dynamics.capacity_headroom)
    served = np.zeros_like(pl.caseload.sum(axis=2)).astype(float)
    served[0] = [10, 10, 10]  # far fewer than planned
    variable = float((served[0] * market.world.cost_to_serve_gbp).sum())
    by_hand = 0.5 * variable + 0.5 * planned * variable / 30
    at_full_effort = served * market.world.cost_to_serve_gbp
    assert np.isclose(forecasts.staff_cost(market, served, at_full_effort)[0], by_hand)


def test_a_volume_band_tops_the_year_up_to_the_band_floor_through_the_ledger():
    market = _start(one_direct_contract({**SHORTFALL, "design.contract.volume_band": 0.1}), 1)
    run(market, 11)  # months 0-10
    contract = market.contracts[0]
    step(market, lambda *_: None)  # month 11: settles, then the year end reconciles
    j = market.ledger.journal()
    year = j["month"] == 11
    reconciled = j["amount_pence"][(j["kind"] == Kind.RECONCILIATION) & (j["payer"] == Account.COMMISSIONER)].sum()
    paid = j["amount_pence"][np.isin(j["kind"], [Kind.BLOCK, Kind.FEE, Kind.ATTACHMENT]) & (j["payee"] == contract.account)].sum()
    referred = market.events["referrals"] - market.events.get("referrals_unserved", 0)
    floor = 0.9 * forecasts.contracted(market)[0].sum() * 12
    assert referred < floor  # 30% short of the contracted volume: below the band
    assert reconciled > 0 and abs(reconciled / 100 - paid / 100 * (floor / referred - 1)) < 1.0  # to the pound (pence rounding)
    assert market.ledger.total() == 0
    assert contract.volume_pay_gbp == 0.0  # the next year starts afresh


def test_no_band_no_reconciliation_and_a_band_protects_the_holder():
    short = simulate(one_direct_contract(SHORTFALL), 1)
    banded = simulate(one_direct_contract({**SHORTFALL, "design.contract.volume_band": 0.1}), 1)
    assert (short.journal["kind"] == Kind.RECONCILIATION).sum() == 0
    assert (banded.journal["kind"] == Kind.RECONCILIATION).sum() > 0
    assert banded.metrics["spend_gbp"] > short.metrics["spend_gbp"]


def test_transforming_rehabilitation_owners_lose_money_on_the_volume_shortfall():
    """Let on the areas' volumes, with 0.71 of them arriving [NAO HC 676, 2017]: the owners make far
    less than had the lots been let on what arrives, and some lose money."""
    def owners(changes):
        r = simulate(apply_changes(load_scenario("transforming-rehabilitation-2014"), changes), 1)
        j = r.journal
        holders = np.unique(j["payee"][(j["payer"] == Account.COMMISSIONER) & (j["role"] == Role.PRIME)])
        return np.array([(j["amount_pence"][(j["payee"] == a) & (j["kind"] != Kind.OPENING)].sum()
                          - j["amount_pence"][j["payer"] == a].sum()) / 100 for a in holders])

    as_let, on_what_arrives = owners({}), owners({"design.bidding.volume_bias": 0.0})
    assert (as_let < 0).any()
    # Paid mostly by fees, owners give the minimum service (platoons.market.effort), which cuts what a
    # shortfall costs them; still a fifth or more of their profit goes.
    assert as_let.sum() < 0.8 * on_what_arrives.sum()
