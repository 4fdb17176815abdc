"""Strategic supply chains: primes route referrals by their own profit, named subcontractors may
get none (bid candy), a ring-fence guarantees them a share, and a prime may keep attachment fees.
Known answers on hand-built routing problems and small worlds."""

import numpy as np
import pytest

from platoons import apply_changes, load_scenario, simulate
from platoons.ledger import Account, Kind, Role
from platoons.market import routing
from platoons.market.engine import step
from platoons.simulate import _start
from small_world import small

PROFIT = {"design.delivery.prime.referral_policy": "profit"}


def chain(value, margin=None, room=(1e12, 1e12, 1e12), fixed=(0.0, 0.0, 0.0)) -> routing.Offers:
    """Prime (row 0) and two subcontractors, two need groups: easy, hard."""
    value = np.array(value, float)
    margin = np.full(value.shape, 100.0) if margin is None else np.array(margin, float)
    return routing.Offers(value, margin, np.full(value.shape, 1_000.0), np.array(room, float), np.array(fixed, float))


def test_the_prime_keeps_the_group_that_pays_it_in_house_and_sends_the_hard_group_down():
    # In house the easy group earns the prime GBP 300 a referral, more than the fee of 170 a
    # subcontractor would bring; the hard group loses it 800 in house, and a subcontractor earns it 45.
    offers = chain([[300.0, -800.0], [170.0, 45.0], [150.0, 40.0]])
    shares = routing.route(offers, np.array([100.0, 20.0]), floor=0.0)
    assert shares[:, 0] == pytest.approx([1.0, 0.0, 0.0])
    assert shares[:, 1] == pytest.approx([0.0, 1.0, 0.0])


def test_a_full_subcontractor_passes_the_rest_to_the_next_and_a_losing_one_is_left_out():
    # Room for 5 hard referrals a month at GBP 1,000 of yearly value each: the first sub takes 5 of
    # 20, the second the other 15. A sub that would lose on its referrals takes none of them.
    offers = chain([[300.0, -800.0], [170.0, 45.0], [150.0, 40.0]], room=(1e12, 5_000.0, 1e12))
    shares = routing.route(offers, np.array([100.0, 20.0]), floor=0.0)
    assert shares[:, 1] == pytest.approx([0.0, 0.25, 0.75])
    losing = chain([[300.0, -800.0], [170.0, 45.0], [150.0, 40.0]], margin=[[0, 0], [100, -50], [100, 10]])
    assert routing.route(losing, np.array([100.0, 20.0]), floor=0.0)[:, 1] == pytest.approx([0.0, 0.0, 1.0])
    # Nor one whose referrals would not cover its monthly compliance cost.
    fixed = chain([[300.0, -800.0], [170.0, 45.0], [150.0, 40.0]], margin=[[0, 0], [100, 10], [100, 10]], fixed=(0.0, 500.0, 0.0))
    assert routing.route(fixed, np.array([100.0, 20.0]), floor=0.0)[:, 1] == pytest.approx([0.0, 0.0, 1.0])


def test_a_subcontractor_takes_loss_making_referrals_only_as_far_as_its_others_cover_them():
    # The first sub earns GBP 200 on each easy referral and loses 50 on each hard one. Sent 2 easy
    # a month it covers the loss on 8 hard referrals (2 x 200 = 8 x 50); the other 12 go to the next.
    offers = chain([[100.0, -800.0], [170.0, 45.0], [150.0, 40.0]], margin=[[0, 0], [200, -50], [100, 100]])
    shares = routing.route(offers, np.array([2.0, 20.0]), floor=0.0)
    assert shares[:, 0] == pytest.approx([0.0, 1.0, 0.0])
    assert shares[:, 1] == pytest.approx([0.0, 0.4, 0.6])
    # Sent 10 easy a month, its GBP 2,000 covers the loss on all 20 hard referrals.
    assert routing.route(offers, np.array([10.0, 20.0]), floor=0.0)[:, 1] == pytest.approx([0.0, 1.0, 0.0])


def test_named_subcontractors_get_nothing_when_the_prime_earns_more_in_house_unless_ring_fenced():
    offers = chain([[300.0, 200.0], [170.0, 45.0], [150.0, 40.0]])
    flow = np.array([100.0, 20.0])
    assert routing.route(offers, flow, floor=0.0)[1:].sum() == 0.0
    fenced = routing.route(offers, flow, floor=0.05)
    assert fenced[1:] == pytest.approx(np.full((2, 2), 0.05))
    assert fenced.sum(axis=0) == pytest.approx([1.0, 1.0])


def _named_tier2(result) -> tuple[int, int]:
    """Tier-2 subcontractor-years named, and those with no referrals, from the run table of supply chains."""
    table = result.tables["supply_chains"]
    tier2 = np.array(table["role"]) == "tier2"
    return int(np.array(table["named"])[tier2].sum()), int(np.array(table["with_no_referrals"])[tier2].sum())


# A generous service fee makes every group pay in house, and with no management fee a referral
# passed down earns the prime nothing: a prime routing by profit (with places to spare) sends none.
IN_HOUSE_PAYS = {"design.delivery.prime.management_fee": 0.0, "design.bidding.risk_appetite": 5.0,
                 **{f"design.payment.by_group.{g}.fee_gbp_per_month": 200.0 for g in ("job_ready", "moderate", "complex")}}


def test_profit_routing_leaves_named_tier2_idle_and_a_ring_fence_feeds_them():
    fixed = simulate(small({**IN_HOUSE_PAYS, "design.delivery.prime.referral_policy": "fair"}), 1)
    routed = simulate(small({**IN_HOUSE_PAYS, **PROFIT}), 1)
    fenced = simulate(small({**IN_HOUSE_PAYS, **PROFIT, "design.delivery.prime.minimum_named_share": 0.05}), 1)
    assert fixed.events["tier2_years"] > 0 and fixed.metrics["bid_candy"] == 0.0
    assert routed.events["tier2_years"] > 0 and routed.metrics["bid_candy"] == 1.0
    named, idle = _named_tier2(routed)
    assert named > 0 and idle == named
    assert fenced.events["tier2_years"] > 0 and fenced.metrics["bid_candy"] == 0.0


def test_a_ring_fence_gives_each_named_subcontractor_at_least_its_share():
    market = _start(small({**PROFIT, "design.delivery.prime.minimum_named_share": 0.04}), 1)
    for _ in range(12):
        step(market, lambda *_: None)  # the year-end review sets next year's shares
    pl = market.placements
    named = pl.named & pl.live(market) & np.isin(pl.role, [Role.TIER1, Role.TIER2])
    assert named.any()
    assert pl.share[named].min() >= 0.04 - 1e-9


def test_outcome_only_pass_down_moves_attachment_fees_from_subcontractors_to_the_prime():
    base = small({"design.delivery.prime.in_house_share": 0.2, "design.delivery.prime.tier2_share": 0.3})
    keeping = apply_changes(base, {"design.delivery.prime.pass_down": "outcome_only"})
    markets = {}
    for name, scenario in (("all", base), ("outcome_only", keeping)):
        market = _start(base, 2)
        step(market, lambda *_: None)  # month 0: the same tender and the same chains
        market.scenario = scenario  # from month 1 the prime passes down by the rule
        for _ in range(2):
            step(market, lambda *_: None)
        assert market.ledger.total() == 0  # every pound is somewhere: money conserved to the penny
        markets[name] = market

    def attachment(market, down: bool) -> int:
        j = market.ledger.journal()
        chosen = (j["kind"] == Kind.ATTACHMENT) & (j["month"] >= 1) & ((j["payer"] != Account.COMMISSIONER) == down)
        return int(j["amount_pence"][chosen].sum())

    # The commissioner pays the same attachment fees either way (the same referrals to the same chains).
    assert attachment(markets["all"], down=False) == attachment(markets["outcome_only"], down=False) > 0
    passed = attachment(markets["all"], down=True)
    assert passed > 0 and attachment(markets["outcome_only"], down=True) == 0
    # What subcontractors no longer receive, their primes keep, to the penny.
    def balances(market, primes: bool) -> int:
        holders = np.array(sorted({c.account for c in market.contracts}))
        accounts = holders if primes else np.setdiff1d(market.providers.account, holders)
        return int(market.ledger.balances[accounts].sum())

    assert balances(markets["outcome_only"], primes=True) - balances(markets["all"], primes=True) == passed
    assert balances(markets["all"], primes=False) - balances(markets["outcome_only"], primes=False) == passed


def test_in_the_work_programme_named_tier2_go_idle_and_primes_keep_the_bulk_in_house():
    # Two replicates: named tier-2 subcontractors with no referrals in a year (bid candy), primes
    # delivering most referrals themselves and earning a margin on what they keep and pass on.
    for seed in (0, 1):
        result = simulate(load_scenario("work-programme-2011"), seed)
        named, idle = _named_tier2(result)
        assert result.metrics["bid_candy"] > 0.2 and idle > 0
        table = result.tables["supply_chains"]
        by_role = {role: sum(n for r, n in zip(table["role"], table["referrals"]) if r == role) for role in set(table["role"])}
        assert by_role["prime"] > by_role.get("tier1", 0) + by_role.get("tier2", 0)
        assert result.metrics["margin_prime"] > 0.1
