"""Mechanisms on small cases whose answer is known by hand."""

import numpy as np

from platoons import load_scenario, simulate
from platoons.ledger import Account, Kind, Role
from platoons.market.engine import handle_failures
from platoons.simulate import _start
from platoons.market.bidding import _prime_shares, let_contracts
from platoons.market.engine import step
from small_world import small


def started(scenario, seed=1, months=1):
    market = _start(scenario, seed)
    for _ in range(months):
        step(market, lambda *_: None)
    return market


def test_turnover_threshold_leaves_only_large_providers_eligible():
    market = _start(small({"design.delivery.model": "direct"}), 1)
    assert (market.providers.turnover_gbp < 20e6).any()
    wins = let_contracts(market, np.arange(len(market.lots)))
    assert wins
    assert all(market.providers.turnover_gbp[w.team.lead] >= 20e6 for w in wins)


def test_prime_with_20_percent_fee_passes_on_80_percent_of_outcome_payments():
    # Every referral goes to tier-1 subcontractors, who carry all the outcome risk.
    scenario = small({"design.delivery.prime.in_house_share": 0.0, "design.delivery.prime.tier2_share": 0.0,
                      "design.delivery.prime.tier1_per_contract": 2, "design.delivery.prime.risk_passed_down": 1.0,
                      "design.delivery.prime.management_fee": 0.2,
                      # Deep reserves, so that no subcontractor fails and is moved in house.
                      **{f"sector.bands.{i}.reserves_months": 36 for i in range(8)}})
    market = started(scenario, months=12)
    assert market.events.get("failures", 0) == 0  # so no one was moved in house
    j = market.ledger.journal()
    outcome = j["kind"] == Kind.OUTCOME
    paid_to_prime = j["amount_pence"][outcome & (j["payer"] == Account.COMMISSIONER)].sum()
    passed_down = j["amount_pence"][outcome & (j["role"] == Role.TIER1)].sum()
    assert paid_to_prime > 0
    assert abs(passed_down - 0.8 * paid_to_prime) <= (outcome.sum())  # at most a penny per posting of rounding


def test_creaming_gives_subcontractors_a_harder_mix_than_fair():
    def sub_mix(policy):
        market = _start(small({"design.delivery.prime.referral_policy": policy}), 1)
        roles = np.array([Role.PRIME, Role.TIER1, Role.TIER1, Role.TIER2, Role.TIER2], dtype=np.int8)
        shares = _prime_shares(market, roles)
        inflow = market.lots.referrals.sum(axis=0)
        to_subs = (shares[1:] * inflow).sum(axis=0)
        return to_subs[-1] / to_subs.sum()  # share of the hardest group among subcontractors' referrals

    assert sub_mix("cream") > sub_mix("fair") + 0.05


def test_starving_tier2_cuts_their_referrals():
    market = _start(small(), 1)
    roles = np.array([Role.PRIME, Role.TIER1, Role.TIER2], dtype=np.int8)
    fair = _prime_shares(market, roles)
    market.scenario = small({"design.delivery.prime.referral_policy": "starve_tier2"})
    starved = _prime_shares(market, roles)
    assert np.allclose(starved[2], fair[2] * 0.1)
    assert np.allclose(starved.sum(axis=0), 1.0)


def test_provider_whose_reserves_run_out_fails_and_its_people_move():
    market = started(small({"design.delivery.prime.tier1_per_contract": 2}), months=3)
    pl = market.placements
    subs = np.flatnonzero((pl.role == Role.TIER1) & (pl.people() > 0))
    row = subs[0]
    victim = int(pl.provider[row])
    people_before = int(pl.people().sum())
    moved = int(pl.people()[row])
    account = market.providers.account[victim]
    market.ledger.post(account, Account.OVERHEADS, int(market.ledger.balances[account]) + 100, Kind.OVERHEAD)
    handle_failures(market)
    assert market.providers.failed[victim] and not market.providers.active[victim]
    assert pl.people()[row] == 0
    assert int(pl.people().sum()) == people_before
    assert market.events["people_disrupted"] >= moved
    assert market.ledger.balances[account] == 0  # the deficit was written off to creditors
    assert market.ledger.total() == 0


def joint_liability_case(liability):
    market = started(small({"design.delivery.model": "consortium", "design.eligibility.min_turnover_gbp": 0,
                            "design.delivery.consortium.joint_liability": liability}), months=1)
    contract = next(c for c in market.contracts if c.active and len(c.members) > 2)
    victim, others = int(contract.members[0]), contract.members[1:]
    accounts = market.providers.account
    before = market.ledger.balances[accounts[others]].sum()
    deficit = 1_000_00
    market.ledger.post(accounts[victim], Account.OVERHEADS, int(market.ledger.balances[accounts[victim]]) + deficit, Kind.OVERHEAD)
    handle_failures(market)
    cause = next(e["cause"] for e in market.exits if e["provider"] == f"p{victim}")
    return before - market.ledger.balances[accounts[others]].sum(), deficit, cause


def test_joint_liability_spreads_a_members_loss():
    spread, deficit, cause = joint_liability_case(True)
    assert spread == deficit
    assert cause.startswith("its reserves ran out, GBP 1,000 short, paid by its fellow members under joint liability")
    spread, _, cause = joint_liability_case(False)
    assert spread == 0
    assert cause.startswith("its reserves ran out, GBP 1,000 short while delivering")


def test_capacity_grants_raise_small_providers_bids():
    # In the default world an area lot is worth about GBP 3m a year: large charities sit at the
    # edge of what they can absorb, and the management capacity a grant buys moves some over it.
    # Grants go to providers under the small line; it is drawn at GBP 10m here so that it takes in
    # the large charities at that edge.
    line = {"sector.small_max_turnover_gbp": 10_000_000}
    without = started(load_scenario("local-lots", line), months=1)
    with_grants = started(load_scenario("local-lots", {**line, "design.capacity_grants.budget_gbp_per_year": 20_000_000}), months=1)
    assert with_grants.events["grants"] > 0
    assert with_grants.events["bids_by_small"] > without.events["bids_by_small"]


def test_a_grant_costs_the_commissioner_exactly_its_amount():
    market = started(small({"design.capacity_grants.budget_gbp_per_year": 170_000}), months=1)
    j = market.ledger.journal()
    grants = j["amount_pence"][j["kind"] == Kind.GRANT]
    assert list(grants) == [85_000_00, 85_000_00]


def test_local_lots_give_small_providers_a_larger_share_of_spend_than_regional_lots():
    # The small world's area lots are too big for providers under GBP 1m; the line is drawn at GBP 10m here.
    regional = {"design.lots.structure": "regional", "design.delivery.model": "direct", "design.eligibility.min_turnover_gbp": 0,
                "sector.small_max_turnover_gbp": 10_000_000}
    local = {**regional, "design.lots.structure": "area"}
    shares = [np.mean([simulate(small(d), seed).metrics["small_share_of_spend"] for seed in range(5)]) for d in (regional, local)]
    assert shares[1] > shares[0]
