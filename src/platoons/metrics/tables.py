"""What every run can tell, as tidy tables (columns of equal length).

contracts        every contract let: who won it (kind and size band), when, at what price
supply_chains    each year and role: providers named, how many received no referrals, referrals
payments         the commissioner's payments by type and need group
yearly           each year and need group: referrals, outcomes and the flow outcome rate
cohorts          each referral cohort and need group: referrals, outcomes so far, outcome rate
provider_flows   each year, kind and last role: providers entering, failing and closing
exits            every hand-back, withdrawal, insolvency and closure: who, role, kind, size band, month, cause, people
stewardship      what the commissioner did for each lot left without a holder, when, why it had none, and what it cost
transitions      each lot that changed hands: when, from and to whom, people moved, what it cost the incoming holder
diagnostics      each lot of each tender: teams, credible bidders and the bidders teams expected
                 (their prices shade by it), teams eligible, present, able to absorb it, expecting a margin, funded by investors, able to carry
                 the risk and bidding; for a lot not let, the binding reason; for every lot no team led by a
                 small provider bid for, the test that stopped them (platoons.market.diagnostics)
affordability    before the tender, each need group: what the payment table pays and what delivery typically costs
                 per referral, the share of providers that would cover their costs, expected spend and the budget

What the published evaluations measured (built in platoons.metrics.record; defined in docs/model.md):

contract_years        each contract each year: holder at signing, bid price and outcome rate, delivered rate, review, profit
named_subcontractors  each subcontractor named in a winning bid, each year: referrals the bid gave it and referrals it got
referral_cohorts      each referral cohort and need group: outcome rate within 12 and within 24 months of referral
payments_by_year      the commissioner's payments by programme year, posting kind and need group
spend_by_group        providers' delivery costs per person referred, against what the winning bids expected to spend
effort                each year, role and need group: person-months served and the mean effort given (parking)
exits_by_quarter      exits counted by quarter, kind of exit, provider kind, tier and size band
participation         each year and size band: providers, the share holding a contract or subcontract, income
capacity_grants       grant recipients by size band: how many later won a contract or a place in a supply chain
tender_rounds         after each month contracts were signed: contracts standing and distinct holders
tender_outcomes       bids and wins by value of what was bid for and bidder size band
"""

from __future__ import annotations

import numpy as np

from platoons.ledger import Kind, Role
from platoons.metrics.record import record_tables
from platoons.population import KINDS, SIZE_BANDS

# Each table's columns and their types ("int", "float", "text", "flag"), in order.
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "contracts": (("contract", "int"), ("lots", "text"), ("start_month", "int"), ("end_month", "int"),
                  ("holder_kind", "text"), ("holder_size_band", "text"), ("members", "int"),
                  ("price_ratio", "float"), ("active_at_end", "flag")),
    "supply_chains": (("year", "int"), ("role", "text"), ("named", "int"), ("with_no_referrals", "int"), ("referrals", "int")),
    "payments": (("kind", "text"), ("group", "text"), ("amount_gbp", "float")),
    "yearly": (("year", "int"), ("group", "text"), ("referrals", "int"), ("outcomes", "int"), ("outcome_rate", "float")),
    "cohorts": (("cohort", "int"), ("group", "text"), ("referrals", "int"), ("outcomes", "int"), ("outcome_rate", "float")),
    "provider_flows": (("year", "int"), ("kind", "text"), ("last_role", "text"), ("entries", "int"),
                       ("failures", "int"), ("closures", "int")),
    "exits": (("provider", "text"), ("exit", "text"), ("role", "text"), ("kind", "text"), ("size_band", "text"),
              ("month", "int"), ("cause", "text"), ("people", "int")),
    "stewardship": (("lot", "text"), ("month", "int"), ("action", "text"), ("cause", "text"), ("cost_gbp", "float")),
    "transitions": (("lot", "text"), ("month", "int"), ("from_providers", "text"), ("to_providers", "text"),
                    ("people", "int"), ("cost_gbp", "float")),
    "diagnostics": (("lot", "text"), ("month", "int"), ("round", "int"), ("relaxed", "flag"), ("set_aside", "flag"),
                    ("teams", "int"), ("credible", "int"), ("expected_bidders", "float"),
                    ("eligible", "int"), ("present", "int"), ("absorb", "int"), ("margin", "int"),
                    ("funded", "int"), ("risk", "int"), ("bid", "int"), ("let", "flag"), ("reason", "text"), ("needed_gbp", "float"),
                    ("best_gbp", "float"), ("small_reason", "text"), ("small_needed_gbp", "float"), ("small_best_gbp", "float")),
    "affordability": (("group", "text"), ("paid_per_referral_gbp", "float"), ("cost_per_referral_gbp", "float"),
                      ("covered_share", "float"), ("referrals_per_year", "float"), ("expected_spend_gbp_per_year", "float"),
                      ("budget_gbp_per_year", "float")),
}

# What the published evaluations measured (platoons.metrics.record).
COLUMNS.update({
    "contract_years": (("contract", "int"), ("year", "int"), ("contract_year", "int"), ("holder", "text"), ("holder_kind", "text"),
                       ("holder_size_band", "text"), ("price_ratio", "float"), ("bid_outcome_rate", "float"),
                       ("referrals", "int"), ("outcomes", "int"), ("outcome_rate", "float"), ("outcome_rate_to_date", "float"),
                       ("minimum_rate", "float"), ("review", "text"), ("action", "text"), ("ended_by", "text"),
                       ("profit_to_date_gbp", "float")),
    "named_subcontractors": (("contract", "int"), ("provider", "text"), ("role", "text"), ("year", "int"),
                             ("expected_referrals", "float"), ("referrals", "int")),
    "referral_cohorts": (("cohort", "int"), ("start_month", "int"), ("months", "int"), ("group", "text"), ("referrals", "int"),
                         ("outcomes_12m", "int"), ("outcome_rate_12m", "float"), ("outcomes_24m", "int"), ("outcome_rate_24m", "float")),
    "payments_by_year": (("year", "int"), ("kind", "text"), ("group", "text"), ("amount_gbp", "float")),
    "spend_by_group": (("group", "text"), ("referrals", "int"), ("spent_gbp", "float"), ("spent_per_referral_gbp", "float"),
                       ("bid_per_referral_gbp", "float")),
    "effort": (("year", "int"), ("role", "text"), ("group", "text"), ("person_months", "float"), ("mean_effort", "float")),
    "exits_by_quarter": (("quarter", "int"), ("exit", "text"), ("kind", "text"), ("role", "text"), ("size_band", "text"),
                         ("exits", "int"), ("people", "int")),
    "participation": (("year", "int"), ("size_band", "text"), ("providers", "int"), ("holding", "int"), ("share_holding", "float"),
                      ("income_gbp", "float"), ("income_share", "float")),
    "capacity_grants": (("size_band", "text"), ("recipients", "int"), ("won_contract", "int"), ("won_chain_place", "int"),
                        ("share_won", "float")),
    "tender_rounds": (("month", "int"), ("bidders", "int"), ("contracts_signed", "int"), ("contracts_standing", "int"), ("distinct_holders", "int")),
    "tender_outcomes": (("lot_value_band", "text"), ("bidder_size_band", "text"), ("bids", "int"), ("wins", "int"), ("win_rate", "float")),
})


def run_tables(market, result) -> dict[str, dict[str, list]]:
    return {
        "contracts": _contracts(market),
        "supply_chains": _columns(market.yearly_chains, ("year", "role", "named", "with_no_referrals", "referrals")),
        "payments": _payments(market),
        "yearly": _yearly(result),
        "cohorts": _cohorts(market),
        "provider_flows": _provider_flows(market),
        **{name: _columns(getattr(market, name), tuple(column for column, _ in COLUMNS[name]))
           for name in ("exits", "stewardship", "transitions", "diagnostics", "affordability")},
        **record_tables(market),
    }


def _columns(rows: list[dict], names: tuple[str, ...]) -> dict[str, list]:
    return {name: [row[name] for row in rows] for name in names}


def _contracts(market) -> dict[str, list]:
    p = market.providers
    model = market.scenario.design.delivery.model
    bands = p.size_band(market.scenario.sector.size_band_edges_gbp)
    rows = []
    for c, contract in enumerate(market.contracts):
        lead = contract.holder
        rows.append({
            "contract": c,
            "lots": ";".join(market.lots.names[l] for l in contract.lots),
            "start_month": contract.start_month,
            "end_month": contract.end_month,
            "holder_kind": KINDS[p.kind[lead]] if lead >= 0 else model,
            "holder_size_band": SIZE_BANDS[min(bands[lead], len(SIZE_BANDS) - 1)] if lead >= 0 else "mixed",
            "members": len(contract.members),
            "price_ratio": float(contract.price_ratio),
            "active_at_end": bool(contract.active),
        })
    names = ("contract", "lots", "start_month", "end_month", "holder_kind", "holder_size_band", "members", "price_ratio", "active_at_end")
    return _columns(rows, names)


def _payments(market) -> dict[str, list]:
    rows = [
        {"kind": Kind(k).name.lower(), "group": group, "amount_gbp": float(market.payments_by_group[k, g])}
        for k in range(len(Kind)) for g, group in enumerate(market.world.group_names)
        if market.payments_by_group[k, g] > 0
    ]
    return _columns(rows, ("kind", "group", "amount_gbp"))


def _yearly(result) -> dict[str, list]:
    ts = result.timeseries
    years = (ts["month"] // 12).astype(int)
    rows = []
    for group in [g.name for g in result.scenario.world.need_groups]:
        referred = np.bincount(years, weights=ts[f"referrals_{group}"])
        outcomes = np.bincount(years, weights=ts[f"outcomes_{group}"])
        for year in range(len(referred)):
            rate = outcomes[year] / referred[year] if referred[year] else float("nan")
            rows.append({"year": year, "group": group, "referrals": int(referred[year]), "outcomes": int(outcomes[year]),
                         "outcome_rate": float(rate)})
    return _columns(rows, ("year", "group", "referrals", "outcomes", "outcome_rate"))


def _cohorts(market) -> dict[str, list]:
    rows = []
    for cohort in sorted(market.cohort_referrals):
        referred = market.cohort_referrals[cohort]
        outcomes = market.cohort_outcomes.get(cohort, np.zeros_like(referred))
        for g, group in enumerate(market.world.group_names):
            rate = outcomes[g] / referred[g] if referred[g] else float("nan")
            rows.append({"cohort": cohort, "group": group, "referrals": int(referred[g]),
                         "outcomes": int(outcomes[g]), "outcome_rate": float(rate)})
    return _columns(rows, ("cohort", "group", "referrals", "outcomes", "outcome_rate"))


def _provider_flows(market) -> dict[str, list]:
    p = market.providers
    role = [Role(int(r)).name.lower() if r else "none" for r in p.last_role]
    events = {}
    for i in range(len(p)):
        if p.entered_month[i] > 0:
            key = (int(p.entered_month[i] // 12), KINDS[p.kind[i]], role[i])
            events.setdefault(key, [0, 0, 0])[0] += 1
        if p.exit_month[i] >= 0:
            key = (int(p.exit_month[i] // 12), KINDS[p.kind[i]], role[i])
            events.setdefault(key, [0, 0, 0])[1 if p.failed[i] else 2] += 1
    rows = [{"year": y, "kind": k, "last_role": r, "entries": e, "failures": f, "closures": c}
            for (y, k, r), (e, f, c) in sorted(events.items())]
    return _columns(rows, ("year", "kind", "last_role", "entries", "failures", "closures"))
