"""Providers walk away with notice, the commissioner steps in, and changing provider costs
something: each submodel on a small world whose answer is known."""

import numpy as np

from platoons import simulate
from platoons.ledger import Account, Kind, Role
from platoons.market import exits, stewardship
from platoons.market.commissioning import month_of_yearly_pence
from platoons.market.engine import step
from platoons.simulate import PEOPLE_STATES, _start
from small_world import small

NOBODY_CAN_BID = 1e11  # a turnover threshold no provider meets (the schema's largest)


def run(market, months):
    for _ in range(months):
        step(market, lambda *_: None)


def test_a_loss_making_subcontractor_gives_notice_and_leaves_with_its_people_moved():
    scenario = small({"design.delivery.prime.tier1_per_contract": 1, "sector.exits.review_every_months": 6,
                      "sector.exits.notice_months": 2, "sector.exits.bearable_loss_share": 0.0})
    market = _start(scenario, 1)
    run(market, 5)
    pl = market.placements
    sub = int(pl.provider[np.flatnonzero((pl.role == Role.TIER1) & pl.live(market))[0]])
    market.providers.effectiveness[sub] = 0.0  # it now knows it adds nothing: every referral loses money
    people_before = int(pl.people().sum())
    run(market, 1)  # month 5: the review
    notice = [n for n in market.notices if n[0] == sub]
    assert notice and notice[0][2] == 5 + 2
    assert market.placements.share[market.placements.provider == sub].sum() > 0  # still delivering during notice
    run(market, 2)  # months 6 and 7: the notice runs out at month 7
    pl = market.placements
    mine = pl.provider == sub
    assert pl.share[mine].sum() == 0 and pl.caseload[mine].sum() == 0
    row = next(r for r in market.exits if r["provider"] == f"p{sub}")
    assert row["exit"] == "withdrawal" and row["month"] == 7 and "expected loss" in row["cause"]
    assert market.providers.active[sub]  # it walked away before insolvency
    assert int(pl.people().sum()) >= people_before - 1_000  # people moved, not lost (outcomes leave as usual)


def test_a_lot_nobody_bids_for_goes_to_the_provider_of_last_resort():
    result = simulate(small({"design.eligibility.min_turnover_gbp": NOBODY_CAN_BID,
                             "design.stewardship.policy": ["last_resort"]}), 1)
    assert result.metrics["referrals_unserved"] == 0
    assert result.metrics["outcomes"] > 0
    in_house = result.providers["account"][-1]
    assert result.balances[in_house] == 0  # paid exactly its costs: it never fails
    assert set(result.tables["stewardship"]["action"]) == {"last_resort"}


def test_leave_unserved_keeps_the_old_behaviour_and_counts_the_lot_months():
    scenario = small({"design.eligibility.min_turnover_gbp": NOBODY_CAN_BID, "design.stewardship.policy": ["leave_unserved"]})
    result = simulate(scenario, 1)
    assert result.metrics["referrals_unserved"] == result.timeseries["referrals"].sum()
    assert result.metrics["unserved_lot_months"] == 2 * scenario.run.months  # two regional lots, every month


def test_an_expired_contract_nobody_replaces_is_extended():
    scenario = small({"design.delivery.model": "direct", "design.contract.length_months": 12,
                      "design.stewardship.policy": ["extend", "leave_unserved"], "design.stewardship.extend_months": 6})
    market = _start(scenario, 2)
    run(market, 12)
    market.scenario = scenario.model_copy(update={"design": scenario.design.model_copy(update={
        "eligibility": scenario.design.eligibility.model_copy(update={"min_turnover_gbp": NOBODY_CAN_BID})})})
    first = [c for c in market.contracts if c.start_month == 0]
    run(market, 1)  # month 12: they expire, nobody can bid, the incumbents carry on
    assert all(c.active and c.end_month == 18 for c in first)
    assert len(market.contracts) == len(first)
    assert {(r["action"], r["cause"]) for r in market.stewardship} == {("extend", "expired")}


def test_a_direct_award_goes_to_the_best_eligible_provider_at_list_price():
    scenario = small({"design.delivery.model": "direct", "design.bidding.bid_budget_share": 0.0,
                      "design.stewardship.policy": ["direct_award", "leave_unserved"]})
    market = _start(scenario, 3)
    run(market, 1)
    awards = [c for c in market.contracts if c.active]
    assert awards and all(c.price_ratio == 1.0 and len(c.members) == 1 for c in awards)
    assert {r["action"] for r in market.stewardship} == {"direct_award"}
    for contract in awards:
        net = exits.net_per_month(market, contract.holder, market.lots.referrals[contract.lots[0]], 1.0, 1)
        assert net >= 0  # it took the lot only because it expects not to lose on it


def test_a_re_let_pays_outcomes_of_earlier_work_to_the_provider_that_did_it():
    scenario = small({"design.delivery.model": "direct", "design.contract.length_months": 12,
                      "design.stewardship.policy": ["last_resort"]})
    market = _start(scenario, 4)
    run(market, 12)
    market.scenario = scenario.model_copy(update={"design": scenario.design.model_copy(update={
        "eligibility": scenario.design.eligibility.model_copy(update={"min_turnover_gbp": NOBODY_CAN_BID})})})
    outgoing = {int(c.holder) for c in market.contracts if c.active}
    pl = market.placements
    in_work = int(pl.in_work[np.isin(pl.provider, list(outgoing))].sum())
    assert in_work > 0
    run(market, 8)  # the lots go to the in-house service; people in work stay with their old provider
    j = market.ledger.journal()
    accounts = market.providers.account[list(outgoing)]
    late_outcomes = j["amount_pence"][(j["kind"] == Kind.OUTCOME) & np.isin(j["payee"], accounts) & (j["month"] >= 12)].sum()
    assert late_outcomes > 0
    assert not any(c.active and c.holder in outgoing for c in market.contracts)


def test_moving_people_costs_the_incoming_holder_mobilisation_and_transfers():
    scenario = small({"design.delivery.model": "direct", "design.contract.length_months": 12,
                      "design.stewardship.policy": ["last_resort"], "design.transitions.mobilisation_gbp_per_lot": 10_000,
                      "design.transitions.transfer_gbp_per_person": 100})
    market = _start(scenario, 4)
    run(market, 12)
    market.scenario = scenario.model_copy(update={"design": scenario.design.model_copy(update={
        "eligibility": scenario.design.eligibility.model_copy(update={"min_turnover_gbp": NOBODY_CAN_BID})})})
    run(market, 1)
    rows = market.transitions
    assert rows
    j = market.ledger.journal()
    transfers = j["amount_pence"][(j["kind"] == Kind.TRANSFER) & (j["month"] == 12)].sum()
    mobilisation = j["amount_pence"][(j["kind"] == Kind.MOBILISATION) & (j["month"] == 12)].sum()
    assert transfers == 100_00 * sum(r["people"] for r in rows)
    assert mobilisation == 10_000_00 * len(rows)


def test_procurement_cost_scales_with_the_lots_let():
    costs = {}
    for lots_per_area in (1, 4):
        market = _start(small({"design.delivery.model": "direct", "design.lots.structure": "area",
                               "design.eligibility.min_turnover_gbp": 0, "design.lots.lots_per_area": lots_per_area}), 1)
        run(market, 1)
        j = market.ledger.journal()
        paid = j["amount_pence"][j["kind"] == Kind.PROCUREMENT].sum() / 100
        design = market.scenario.design.commissioning_costs
        assert paid == design.procurement_gbp_per_lot * len(market.lots) + design.evaluation_gbp_per_bid * market.events["bids"]
        costs[lots_per_area] = paid
    assert costs[4] > costs[1]


def test_contract_management_is_paid_each_month_for_each_standing_contract():
    market = _start(small({"design.delivery.model": "direct"}), 1)
    run(market, 3)
    j = market.ledger.journal()
    standing = sum(c.active for c in market.contracts)
    per_year = market.scenario.design.commissioning_costs.contract_management_gbp_per_year
    month2 = j["amount_pence"][(j["kind"] == Kind.CONTRACT_MANAGEMENT) & (j["month"] == 2)].sum()
    assert month2 == standing * month_of_yearly_pence(per_year, 2)
    assert abs(month2 - per_year / 12 * standing * 100) <= standing  # a twelfth, to the penny
    assert (j["payer"][j["kind"] == Kind.CONTRACT_MANAGEMENT] == Account.COMMISSIONER).all()


def test_the_payment_table_follows_the_programme_year_unless_the_design_says_otherwise():
    from platoons.market.engine import _payment_years

    for rule, expected in (("programme_year", 2), ("contract_year", 1)):
        market = _start(small({"design.transitions.taper_by": rule}), 1)
        market.month = 26
        assert _payment_years(market, np.array([12]))[0] == expected


def test_stewardship_keeps_everyone_accounted_for():
    result = simulate(small({"design.delivery.model": "consortium", "design.eligibility.min_turnover_gbp": 0,
                             "design.contract.length_months": 12}), 5)
    ts = result.timeseries
    assert (np.cumsum(ts["referrals"]) == sum(ts[s] for s in PEOPLE_STATES)).all()
    assert (ts["ledger_total_pence"] == 0).all()
    assert stewardship.ACTIONS.keys() >= set(result.scenario.design.stewardship.policy)


def test_working_capital_still_needed_is_the_fall_of_the_cash_position_ahead():
    # One referral a month costing 2 in its first month and paying 1 in each of the next three:
    # monthly cash flow -2, -1, 0, 1, 1, ... and running position -2, -3, -3, -2, -1, 0, ...
    net = np.array([-2.0, 1.0, 1.0, 1.0])
    assert exits.cash_still_needed(net, 0, 12) == 3.0  # before the start: the whole trough
    assert exits.cash_still_needed(net, 1, 12) == 1.0  # at -2, the trough is 1 further down
    assert exits.cash_still_needed(net, 3, 12) == 0.0  # the trough is behind it
    assert exits.cash_still_needed(net, 1, 2) == 1.0  # a contract that ends at the trough
    assert exits.cash_still_needed(net, 1, 1) == 0.0  # a contract already over


def test_a_provider_funds_the_working_capital_of_all_its_contracts_from_one_purse():
    market = _start(small(), 1)
    # Two contracts needing 60 and 50 from 100 of reserves: notice on the one that needs most, and
    # then the other fits; with 200 neither; with 40 both.
    for reserves, expected in ((100.0, [7]), (200.0, []), (40.0, [7, 8])):
        market.notices = []
        exits._hand_back_what_it_cannot_fund(market, 3, [(50.0, 8, 12), (60.0, 7, 12)], reserves)
        assert [c for _, c, _, _ in market.notices] == expected
        assert all("working capital" in cause for *_, cause in market.notices)


def _starved_subcontractor(weigh: bool):
    """A tier-1 subcontractor left with half the working capital its share still needs, at its first review."""
    scenario = small({"design.delivery.prime.tier1_per_contract": 1, "sector.exits.review_every_months": 6,
                      "sector.exits.notice_months": 1, "sector.exits.bearable_loss_share": 10.0,
                      "sector.exits.weigh_working_capital": weigh})
    market = _start(scenario, 1)
    run(market, 5)
    pl = market.placements
    row = np.flatnonzero((pl.role == Role.TIER1) & pl.live(market) & (pl.share.sum(axis=1) > 0))[0]
    sub, contract = int(pl.provider[row]), int(pl.contract[row])
    market.month = 5  # the review month: what it still needs after this month
    rows = np.flatnonzero((pl.provider == sub) & (pl.contract == contract) & (pl.share.sum(axis=1) > 0))
    need = exits.working_capital_ahead(market, sub, contract, rows)
    assert need > 0
    account = int(market.providers.account[sub])
    market.ledger.post(account, Account.OVERHEADS, int(market.ledger.balances[account]) - round(need * 50), Kind.OVERHEAD)
    return market, sub


def test_a_subcontractor_that_cannot_fund_the_working_capital_ahead_leaves_with_notice_before_its_cash_runs_out():
    market, sub = _starved_subcontractor(weigh=True)
    run(market, 1)  # month 5: the review
    notice = [n for n in market.notices if n[0] == sub]
    assert notice and notice[0][2] == 6 and "working capital" in notice[0][3]
    run(market, 1)  # month 6: it leaves, with cash still in hand
    row = next(r for r in market.exits if r["provider"] == f"p{sub}")
    assert row["exit"] == "withdrawal" and market.providers.active[sub]
    assert market.ledger.balances[market.providers.account[sub]] > 0
    # Without weighing working capital it stays, for its expected loss is within what it can bear.
    market, sub = _starved_subcontractor(weigh=False)
    run(market, 1)
    assert not [n for n in market.notices if n[0] == sub]


def test_a_provider_that_walked_away_is_never_heir_to_a_fellow_leaving_after_it():
    from platoons.market.contracting import reassign

    scenario = small({"design.delivery.model": "consortium", "design.eligibility.min_turnover_gbp": 0})
    market = _start(scenario, 1)
    run(market, 5)
    pl = market.placements
    contract = next(c for c in range(len(market.contracts)) if market.contracts[c].active and market.contracts[c].holder < 0)
    rows = np.flatnonzero((pl.contract == contract) & pl.live(market))
    lot = pl.lot[rows[0]]
    rows = rows[pl.lot[rows] == lot]
    gone, leaving = int(pl.provider[rows[0]]), int(pl.provider[rows[1]])
    reassign(market, gone, rows[:1], "handed_back")  # the first walks away: no share, no people, still active
    pl.capacity[rows[0]] = 1e9  # and would have by far the most room
    people = int(pl.people()[rows[1]])
    assert people > 0
    reassign(market, leaving, rows[1:2], "handed_back")
    assert pl.people()[rows[0]] == 0  # not handed back to the one that walked away
    assert pl.people()[rows[2:]].sum() >= people


def test_each_stewardship_row_says_how_its_lot_came_to_be_without_a_holder():
    from platoons.market.diagnostics import run_warnings
    from platoons.market.engine import _fail

    never = simulate(small({"design.eligibility.min_turnover_gbp": NOBODY_CAN_BID, "design.stewardship.policy": ["last_resort"]}), 1)
    rows = never.tables["stewardship"]
    # Month 0: nobody can bid, so the in-house service takes the lots; month 24: its contracts expire
    # at the re-tender, which nobody can bid for either.
    assert {(m, c) for m, c in zip(rows["month"], rows["cause"])} == {(0, "never_let"), (24, "expired")}
    assert "as no tender let them" in dict(run_warnings(never.tables, never.metrics))["stewardship:last_resort:never_let"]

    market = _start(small({"design.delivery.model": "direct", "design.stewardship.policy": ["last_resort"]}), 1)
    run(market, 3)
    holder = market.contracts[0].holder
    held = {market.lots.names[lot] for c in market.contracts if c.active and c.holder == holder for lot in c.lots}
    _fail(market, holder)  # its reserves ran out: its contracts end, and the commissioner steps in next month
    run(market, 1)
    rows = [r for r in market.stewardship if r["month"] == 3]
    assert {r["lot"] for r in rows} == held and {r["cause"] for r in rows} == {"failed"}


def _consortium_lot(market):
    """A standing consortium contract and its placements in one lot, one row a member."""
    pl = market.placements
    contract = next(c for c in range(len(market.contracts)) if market.contracts[c].active and market.contracts[c].holder < 0)
    rows = np.flatnonzero((pl.contract == contract) & pl.live(market))
    return contract, rows[pl.lot[rows] == pl.lot[rows[0]]]


def test_when_the_last_member_in_the_chain_leaves_the_contract_ends_rather_than_return_to_those_who_walked_away():
    from platoons.market.contracting import reassign

    market = _start(small({"design.delivery.model": "consortium", "design.eligibility.min_turnover_gbp": 0}), 1)
    run(market, 5)
    contract, rows = _consortium_lot(market)
    assert len(rows) >= 2
    for row in rows[:-1]:  # all but one walk away: no share, no people, still active
        reassign(market, int(market.placements.provider[row]), np.array([row]), "handed_back")
    last = rows[-1]
    assert market.contracts[contract].active and market.placements.people()[last] > 0
    reassign(market, int(market.placements.provider[last]), np.array([last]), "failed")
    assert not market.contracts[contract].active and market.contracts[contract].ended_by == "failed"
    assert market.placements.people()[rows[:-1]].sum() == 0  # nobody was handed back to a member that left


def test_a_member_that_left_is_not_liable_for_a_fellow_that_fails_after_it():
    from platoons.market.contracting import reassign
    from platoons.market.engine import _share_loss

    market = _start(small({"design.delivery.model": "consortium", "design.eligibility.min_turnover_gbp": 0}), 1)
    run(market, 5)
    _, rows = _consortium_lot(market)
    assert len(rows) >= 3
    p, pl, ledger = market.providers, market.placements, market.ledger
    gone, failing = int(pl.provider[rows[0]]), int(pl.provider[rows[1]])
    staying = [int(q) for q in pl.provider[rows[2:]]]
    reassign(market, gone, rows[:1], "handed_back")
    ledger.post(p.account[failing], Account.CREDITORS, ledger.balances[p.account[failing]] + 1_000_000, Kind.OVERHEAD)  # GBP 10,000 short
    before = ledger.balances[p.account].copy()
    assert _share_loss(market, failing)
    after = ledger.balances[p.account]
    assert after[gone] == before[gone]  # it left with notice: what is lost after is not its
    assert after[failing] == 0 and (before[staying] - after[staying]).sum() == 1_000_000


def test_members_left_in_a_consortium_review_at_once_when_a_fellow_leaves():
    scenario = small({"design.delivery.model": "consortium", "design.eligibility.min_turnover_gbp": 0,
                      "sector.exits.notice_months": 1, "sector.exits.review_every_months": 12})
    market = _start(scenario, 1)
    run(market, 2)
    contract, rows = _consortium_lot(market)
    leaver, heir = (int(market.placements.provider[r]) for r in rows[:2])
    exits._give_notice(market, leaver, contract, "test")  # due at month 3, which is no review month
    market.providers.effectiveness[heir] = 0.0  # it now knows every referral loses money
    run(market, 2)
    assert not market.placements.share[market.placements.provider == leaver].any()  # it left
    assert any(q == heir and c == contract for q, c, _, _ in market.notices)  # and its heir gave notice at once
