"""Effort and parking: providers choose how hard to work for each group from what an outcome pays them."""

import numpy as np

from platoons import simulate
from platoons.ledger import Role
from platoons.market import effort
from platoons.market.engine import step
from platoons.scenario.schema import MISSION_GBP_PER_OUTCOME
from platoons.simulate import _start
from small_world import small

NO_MISSION = {kind: 0.0 for kind in ("national_firm", "regional_firm", "major_charity", "large_charity", "medium_charity",
                                      "small_charity", "community_group", "public_body")}
# One price for everyone, paid only on outcomes, no sustainment and no lost jobs: the sums are short.
GROUPS = ("job_ready", "moderate", "complex")
NOTHING = {"attachment_fee_gbp": 0.0, "outcome_fee_gbp": 0.0, "sustainment_gbp": 0.0, "sustainment_payments": 0}  # mappings merge
FLAT = {group: {**NOTHING, "outcome_fee_gbp": 20000.0} for group in GROUPS}
SIMPLE = {"design.payment.by_group": FLAT, "design.payment.by_year": [], "sector.effort.mission_gbp_per_outcome": NO_MISSION,
          "sector.effort.variable_cost_share": 0.5, "sector.effort.floor": 0.1}


def simple_world(changes=None):
    scenario = small({**SIMPLE, **(changes or {})})
    groups = [g.model_copy(update={"relapse_rate": 0.0, "cost_to_serve_gbp_per_month": 100.0}) for g in scenario.world.need_groups]
    return scenario.model_copy(update={"world": scenario.world.model_copy(update={"need_groups": tuple(groups)})})


def started(scenario, months=1, seed=1):
    market = _start(scenario, seed)
    for _ in range(months):
        step(market, lambda *_: None)
    return market


def test_effort_is_where_an_outcome_s_worth_meets_the_cost_of_effort():
    market = started(simple_world({"design.delivery.model": "direct"}))
    added = np.full((len(market.placements), 3), 0.0025)  # one in 400 more start each month at full effort
    ratio = np.array([c.price_ratio for c in market.contracts])[market.placements.contract]
    # worth 20,000 x ratio, times 0.0025, over 2 x 0.5 x GBP 100: half the winner's price ratio.
    expected = np.clip(0.5 * ratio, 0.1, 1.0)
    assert np.allclose(effort.choose(market, added), expected[:, None])
    assert np.allclose(effort.choose(market, added * 4), np.clip(2.0 * ratio, 0.1, 1.0)[:, None])  # capped at full effort


def test_flat_prices_park_the_hardest_and_differential_prices_reduce_it():
    flat = simulate(simple_world({"design.delivery.model": "direct"}), 2)
    assert flat.metrics["effort_hardest"] < flat.metrics["effort_easiest"] - 0.1
    differential = {**FLAT, "complex": {**NOTHING, "outcome_fee_gbp": 60000.0}}
    fairer = simulate(simple_world({"design.delivery.model": "direct", "design.payment.by_group": differential}), 2)
    assert fairer.metrics["effort_hardest"] > flat.metrics["effort_hardest"] + 0.1
    assert fairer.metrics["effort_hardest"] > fairer.metrics["effort_easiest"] - 0.05  # the gap is closed


def test_payment_that_ignores_outcomes_buys_only_the_minimum_service_from_firms():
    fee_only = {group: {**NOTHING, "fee_gbp_per_month": 150.0} for group in GROUPS}
    market = started(simple_world({"design.delivery.model": "direct", "design.payment.by_group": fee_only}), months=2)
    added = np.full((len(market.placements), 3), 0.01)
    assert np.allclose(effort.choose(market, added), 0.1)  # no pay and no mission on an outcome: the floor


def test_mission_keeps_charities_working_where_pay_does_not_reach():
    fee_only = {group: {**NOTHING, "fee_gbp_per_month": 150.0} for group in GROUPS}
    mission = {**NO_MISSION, "small_charity": 5000.0, "medium_charity": 5000.0}
    market = started(simple_world({"design.delivery.model": "direct", "design.payment.by_group": fee_only,
                                   "sector.effort.mission_gbp_per_outcome": mission}), months=2)
    added = np.full((len(market.placements), 3), 0.01)
    chosen = effort.choose(market, added)
    kinds = market.providers.kind[market.placements.provider]
    from platoons.population import KINDS
    charity = np.isin(kinds, [KINDS.index("small_charity"), KINDS.index("medium_charity")])
    assert np.allclose(chosen[charity], 0.5) and np.allclose(chosen[~charity], 0.1)


def test_a_subcontractor_works_for_what_the_prime_passes_down():
    market = started(simple_world({"design.delivery.model": "prime", "design.delivery.prime.management_fee": 0.2,
                                   "design.delivery.prime.risk_passed_down": 0.5}))
    pl = market.placements
    added = np.full((len(pl), 3), 0.0025)
    ratio = np.array([c.price_ratio for c in market.contracts])[pl.contract]
    chosen = effort.choose(market, added)[:, 0]
    sub = np.isin(pl.role, [Role.TIER1, Role.TIER2])
    assert sub.any() and (~sub).any()
    assert np.allclose(chosen[sub], np.clip(0.5 * ratio * 0.8 * 0.5, 0.1, 1.0)[sub])
    assert np.allclose(chosen[~sub], np.clip(0.5 * ratio, 0.1, 1.0)[~sub])


def test_the_alliance_share_changes_how_hard_members_work():
    def alliance(share):
        return started(simple_world({"design.delivery.model": "alliance", "design.delivery.alliance.commissioner_share": share,
                                     "sector.effort.mission_gbp_per_outcome": {**NO_MISSION, "small_charity": 2000.0}}))
    low, high = alliance(0.2), alliance(0.8)
    for market, borne in ((low, 0.8), (high, 0.2)):
        assert np.allclose(effort.cost_borne(market), borne)
    # A member bearing less of each pound it spends works harder for the same mission.
    charity = lambda m: m.providers.kind[m.placements.provider] == 5  # noqa: E731  small_charity
    for market in (low, high):
        added = np.full((len(market.placements), 3), 0.01)
        chosen = effort.choose(market, added)
        borne = effort.cost_borne(market)
        assert np.allclose(chosen[charity(market)], np.clip(2000 * 0.01 / (100 * borne[charity(market)]), 0.1, 1.0)[:, None])
    effort_of = lambda share: simulate(simple_world({  # noqa: E731
        "design.delivery.model": "alliance", "design.delivery.alliance.commissioner_share": share,
        "sector.effort.mission_gbp_per_outcome": MISSION_GBP_PER_OUTCOME}), 3)
    assert effort_of(0.9).metrics["effort_easiest"] > effort_of(0.1).metrics["effort_easiest"]


def test_less_effort_costs_less_and_finds_fewer_jobs():
    on = simulate(simple_world({"design.delivery.model": "direct"}), 4)
    off = simulate(simple_world({"design.delivery.model": "direct", "sector.effort.enabled": False}), 4)
    assert off.metrics["effort_hardest"] == 1.0 and off.metrics["effort_easiest"] == 1.0
    spent = lambda r: sum(r.tables["spend_by_group"]["spent_gbp"])  # noqa: E731
    assert spent(on) < spent(off)
    assert on.metrics["outcomes"] < off.metrics["outcomes"]


def test_the_effort_table_weights_by_people_served():
    result = simulate(simple_world({"design.delivery.model": "direct"}), 5)
    table = result.tables["effort"]
    assert set(table) == {"year", "role", "group", "person_months", "mean_effort"}
    assert all(0.1 - 1e-12 <= e <= 1.0 + 1e-12 for e in table["mean_effort"])
    assert np.isclose(sum(table["person_months"]), result.timeseries["served"].sum())
