"""Known answers for why a lot is not let: each test breaks one link of the bidders' funnel."""

import math

from small_world import small

from platoons import simulate
from platoons.market.diagnostics import REASONS, run_warnings

# A direct design with a lot per area, no turnover threshold, and lots nobody takes left unserved,
# so that the first tender's rows show what stops bidders and nothing else steps in.
OPEN = {"design.delivery.model": "direct", "design.lots.structure": "area", "design.eligibility.min_turnover_gbp": 0,
        "design.stewardship.policy": ["leave_unserved"]}


def first_tender(scenario, seed=3):
    result = simulate(scenario, seed)
    table = result.tables["diagnostics"]
    rows = [dict(zip(table, values)) for values in zip(*table.values())]
    return [r for r in rows if r["round"] == 0], result


def test_an_open_tender_lets_every_lot_and_says_nothing_is_wrong():
    rows, result = first_tender(small(OPEN))
    assert rows and all(r["let"] and r["reason"] == "" for r in rows)
    assert all(r["teams"] >= r["eligible"] >= r["present"] >= r["absorb"] >= r["margin"] >= r["risk"] >= r["bid"] >= 1 for r in rows)
    assert not [key for key, _ in run_warnings(result.tables, result.metrics) if key.startswith("never_let")]


def test_a_turnover_threshold_nobody_meets_is_the_binding_reason():
    rows, result = first_tender(small({**OPEN, "design.eligibility.min_turnover_gbp": 1e11}))
    assert {r["reason"] for r in rows} == {"turnover_threshold"}
    assert all(r["eligible"] == 0 and r["needed_gbp"] == 1e11 and 0 < r["best_gbp"] < 1e11 for r in rows)
    words = dict(run_warnings(result.tables, result.metrics))
    assert "turnover threshold" in words["never_let:A1"] and "GBP 100,000.0m" in words["never_let:A1"]
    assert "unserved" in words


def test_lots_too_big_for_any_bidder_to_absorb():
    rows, result = first_tender(small({**OPEN, "sector.dynamics.max_contract_to_turnover": 1e-6}))
    assert {r["reason"] for r in rows} == {"absorbability"}
    assert all(r["present"] > 0 and r["absorb"] == 0 and r["best_gbp"] < r["needed_gbp"] for r in rows)
    assert "can absorb" in dict(run_warnings(result.tables, result.metrics))["never_let:B1"]


def test_reserves_that_cannot_carry_the_risk():
    # Outcome payments only: every bidder is out of pocket until its first outcomes are paid.
    no_fees = {f"design.payment.by_group.{g}.attachment_fee_gbp": 0 for g in ("job_ready", "moderate", "complex")}
    rows, _ = first_tender(small({**OPEN, **no_fees, "design.bidding.risk_appetite": 1e-9}))
    assert {r["reason"] for r in rows} == {"reserves"}
    assert all(r["margin"] > 0 and r["risk"] == 0 and r["needed_gbp"] > r["best_gbp"] for r in rows)


def test_prices_scaled_to_a_small_budget_leave_no_margin_and_are_flagged_before_the_tender():
    scenario = small({**OPEN, "design.budget_gbp_per_year": 500_000, "design.scale_to_budget": True})
    rows, result = first_tender(scenario)
    assert {r["reason"] for r in rows} == {"no_margin"}
    assert all(r["absorb"] > 0 and r["margin"] == 0 and r["best_gbp"] > 1 for r in rows)
    afford = result.tables["affordability"]
    assert math.isclose(sum(afford["expected_spend_gbp_per_year"]), 500_000, rel_tol=1e-6)
    assert all(paid < cost for paid, cost in zip(afford["paid_per_referral_gbp"], afford["cost_per_referral_gbp"]))
    keys = [key for key, _ in run_warnings(result.tables, result.metrics)]
    assert [k for k in keys if k.startswith("below_cost:")] and "unaffordable" not in keys  # scaled: it fits


def test_an_unscaled_table_over_budget_is_flagged_and_spend_is_measured_against_the_budget():
    _, result = first_tender(small({**OPEN, "design.budget_gbp_per_year": 500_000}))
    words = dict(run_warnings(result.tables, result.metrics))
    assert "more than the GBP 500k budget" in words["unaffordable"]
    years = result.scenario.run.months / 12
    assert math.isclose(result.metrics["spend_vs_budget"], result.metrics["spend_gbp"] / (500_000 * years))


def test_a_lot_where_no_provider_works():
    scenario = small(OPEN)
    data = scenario.model_dump(mode="json")
    # A remote area with almost no referrals: providers work only where they are based, and none is based there.
    data["world"]["regions"].append({"name": "R3", "areas": [{"name": "Z1", "referrals_per_month": 0.001}]})
    for band in data["sector"]["bands"]:
        band["reach"] = "area"
    data["design"]["lots"] = {"structure": "explicit", "explicit": [{"name": "Remote", "areas": ["Z1"]}, {"name": "Near", "areas": ["A1"]}]}
    from platoons.scenario.schema import Scenario

    rows, _ = first_tender(Scenario.model_validate(data))
    remote = next(r for r in rows if r["lot"] == "Remote")
    assert remote["eligible"] > 0 and remote["present"] == 0 and remote["reason"] == "not_present"
    assert next(r for r in rows if r["lot"] == "Near")["let"]


def test_a_set_aside_lot_counts_only_small_providers_and_says_none_can_absorb_it():
    rows, result = first_tender(small({**OPEN, "design.lots.structure": "regional", "design.lots.set_aside_share": 0.5}))
    reserved = [r for r in rows if r["set_aside"]]
    open_ = [r for r in rows if not r["set_aside"]]
    assert reserved and open_ and reserved[0]["teams"] < open_[0]["teams"] and open_[0]["let"]
    assert {r["reason"] for r in reserved} == {"absorbability"}
    sentence = dict(run_warnings(result.tables, result.metrics))[f"never_let:{reserved[0]['lot']}"]
    assert "no small provider can absorb" in sentence and "the largest small provider's limit is" in sentence


def test_set_asides_chosen_by_name_by_area_and_smallest_first():
    from platoons.market.lots import build_lots
    from platoons.population import build_world

    def reserved(**plan):
        scenario = small({**OPEN, **{f"design.lots.{k}": v for k, v in plan.items()}})
        lots = build_lots(scenario, build_world(scenario))
        return [name for name, flag in zip(lots.names, lots.set_aside) if flag]

    assert reserved() == []
    assert reserved(set_aside_share=0.25) == ["A1"]  # spread through the list: the first, the largest
    assert reserved(set_aside_share=0.25, set_aside_by="smallest") == ["A2"]  # 40 referrals a month
    assert reserved(set_aside_share=0.5, set_aside_by="smallest") == ["A2", "B1"]  # ties in list order
    assert reserved(set_aside_lots=["B2"]) == ["B2"]
    assert reserved(set_aside_areas=["B1"]) == ["B1"]


def test_set_asides_must_name_known_lots_and_areas():
    import pytest

    from platoons.errors import InputError

    with pytest.raises(InputError, match="set_aside_lots must name lots of the design"):
        small({**OPEN, "design.lots.set_aside_lots": ["Nowhere"]})
    with pytest.raises(InputError, match="set_aside_areas must name known areas"):
        small({**OPEN, "design.lots.set_aside_areas": ["Nowhere"]})


def test_an_insolvency_says_how_far_short_the_provider_fell_and_what_it_was_delivering():
    result = simulate(small({**OPEN, "design.stewardship.policy": ["last_resort"]}), 1)
    exits = result.tables["exits"]
    causes = [c for c, kind in zip(exits["cause"], exits["exit"]) if kind == "insolvency"]
    assert causes and all(c.startswith("its reserves ran out, GBP ") and " short" in c for c in causes)
    assert any("while delivering contract(s)" in c and "(lots " in c for c in causes)


def _chains(*rows):
    return {"supply_chains": {key: [row[k] for row in rows] for k, key in enumerate(("role", "named", "with_no_referrals", "referrals"))}}


def test_subcontractors_sent_almost_nothing_are_called_bid_candy_and_the_warning_says_why():
    tables = _chains(("prime", 2, 0, 990), ("tier1", 2, 1, 2), ("tier2", 8, 8, 8))
    sentence = dict(run_warnings(tables, {}, "prime"))["bid_candy"]
    assert "Primes delivered 99% of referrals themselves" in sentence
    assert "sent 1.0%" in sentence and "90% of subcontractor-years" in sentence  # 9 of 10 named had none
    assert "fee" in sentence and "compliance cost" in sentence


def test_a_supply_chain_sent_a_fair_share_raises_no_warning():
    tables = _chains(("prime", 2, 0, 900), ("tier1", 2, 0, 60), ("tier2", 8, 4, 40))
    assert "bid_candy" not in dict(run_warnings(tables, {}, "prime"))
    assert "bid_candy" not in dict(run_warnings(_chains(("member", 3, 0, 500)), {}, "consortium"))


def test_subcontractors_all_sent_something_are_not_said_to_have_had_none():
    sentence = dict(run_warnings(_chains(("prime", 2, 0, 970), ("tier1", 3, 0, 30)), {}, "prime"))["bid_candy"]
    assert "sent 3.0%." in sentence and "had no referral" not in sentence


def _effort(*rows):
    return {"effort": {key: [row[k] for row in rows] for k, key in enumerate(("role", "person_months", "mean_effort"))}}


def test_effort_below_half_is_explained_by_the_delivery_model():
    # 100 person-months at 0.2 and 300 at 0.4: 0.35 on average
    tables = _effort(("alliance", 100.0, 0.2), ("alliance", 300.0, 0.4))
    sentence = dict(run_warnings(tables, {}, "alliance"))["low_effort"]
    assert "gave 35% of full effort" in sentence and "paid their costs whatever the outcomes" in sentence
    assert "outcome prices" in dict(run_warnings(tables, {}, "direct"))["low_effort"]
    assert "low_effort" not in dict(run_warnings(_effort(("direct", 100.0, 0.2), ("direct", 300.0, 0.6)), {}, "direct"))


def test_prices_above_typical_cost_that_most_providers_still_cannot_cover_are_not_called_below_cost():
    row = {"group": "moderate", "paid_per_referral_gbp": 1471.0, "cost_per_referral_gbp": 1327.0, "covered_share": 0.48,
           "referrals_per_year": 100.0, "expected_spend_gbp_per_year": 147_100.0, "budget_gbp_per_year": math.nan}
    table = {"affordability": {key: [value] for key, value in row.items()}}
    sentence = dict(run_warnings(table, {}))["below_cost:moderate"]
    assert sentence.startswith("Most providers would not cover their costs for moderate")
    assert "above the typical cost of GBP 1,327" in sentence and "only 48% of providers" in sentence
    table["affordability"]["paid_per_referral_gbp"] = [1200.0]
    assert dict(run_warnings(table, {}))["below_cost:moderate"].startswith("Prices are below cost for most providers")


def test_small_providers_shut_out_are_told_what_stopped_them_in_the_first_tender():
    def row(lot, round_, reason, needed=math.nan, best=math.nan):
        return {"lot": lot, "round": round_, "let": True, "set_aside": False, "small_reason": reason, "small_needed_gbp": needed,
                "small_best_gbp": best}

    rows = [row("A", 0, "absorbability", 3_200_000.0, 352_000.0), row("B", 0, "absorbability", 2_000_000.0, 352_000.0),
            row("C", 0, "no_margin", best=1.2), row("D", 0, ""), row("A", 1, "no_margin", best=1.1)]
    table = {"diagnostics": {key: [r[key] for r in rows] for key in rows[0]}}
    sentence = dict(run_warnings(table, {"small_share_of_spend": 0.004}))["small_shut_out"]
    # The first tender only (round 0): three of its four lots drew no small bidder, two for want of size.
    assert sentence.startswith("Small providers received 0.4% of providers' income.")
    assert "no small provider bid for 3 of 4 lots" in sentence and "(2 lots), at lot A" in sentence
    assert "can absorb GBP 3.2m a year; the largest small provider's limit is GBP 352k" in sentence
    assert "small_shut_out" not in dict(run_warnings(table, {"small_share_of_spend": 0.05}))


def test_each_lot_says_why_no_small_provider_bid_or_that_one_did():
    rows, _ = first_tender(small(OPEN))
    assert all("small_reason" in r for r in rows)
    for r in rows:
        assert (r["small_reason"] == "") or r["small_reason"] in {"no_team", "turnover_threshold", "reserves_threshold",
                                                                    *REASONS.values()}
