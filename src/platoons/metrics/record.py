"""The record tables: what the published evaluations of real programmes measured, read off a run.

Each builder returns columns (platoons.metrics.tables.COLUMNS declares them); docs/model.md
defines each table. The figures come from platoons.market.record, the contracts, the exits
table and the ledger's journal.
"""

from __future__ import annotations

import numpy as np

from platoons.ledger import Kind, Role
from platoons.market.record import Record
from platoons.population import KINDS, SIZE_BANDS

# Lot value at the commissioner's reserve over the whole contract (GBP): bands for tender outcomes.
LOT_VALUE_BANDS = ((1e6, "under_1m"), (10e6, "1m_10m"), (50e6, "10m_50m"), (100e6, "50m_100m"), (float("inf"), "100m_plus"))
NO_PROFIT_MODELS = ("alliance", "outcomes_finance")  # holders not paid by the commissioner through the contract


def record_tables(market) -> dict[str, dict[str, list]]:
    record = market.record or Record()
    return {
        "contract_years": contract_years(market, record),
        "named_subcontractors": named_subcontractors(market, record),
        "referral_cohorts": referral_cohorts(market, record),
        "payments_by_year": payments_by_year(market, record),
        "spend_by_group": spend_by_group(market, record),
        "effort": effort(market, record),
        "exits_by_quarter": exits_by_quarter(market),
        "participation": participation(record),
        "capacity_grants": capacity_grants(market),
        "tender_rounds": tender_rounds(market, record),
        "tender_outcomes": tender_outcomes(record),
    }


def _columns(rows: list[dict], names: tuple[str, ...]) -> dict[str, list]:
    return {name: [row[name] for row in rows] for name in names}


def contract_years(market, record: Record) -> dict[str, list]:
    """Each contract in each year it stood: what it bid, what it delivered, how it was reviewed."""
    p = market.providers
    model = market.scenario.design.delivery.model
    rows = []
    for entry in record.contract_years:
        c, year = entry["contract"], entry["year"]
        contract = market.contracts[c]
        lead = contract.holder
        review = record.reviews.get((c, year))
        ended_this_year = not contract.active and contract.end_month // 12 == year
        rows.append({
            "contract": c, "year": year, "contract_year": year - contract.start_month // 12,
            "holder": f"p{lead}" if lead >= 0 else f"centre{contract.account}",
            "holder_kind": KINDS[p.kind[lead]] if lead >= 0 else model,
            "holder_size_band": SIZE_BANDS[contract.holder_size_band] if contract.holder_size_band >= 0 else "mixed",
            "price_ratio": float(contract.price_ratio),
            "bid_outcome_rate": _bid_rate(market, contract),
            "referrals": entry["referrals"], "outcomes": entry["outcomes"],
            "outcome_rate": entry["outcomes"] / entry["referrals"] if entry["referrals"] else float("nan"),
            "outcome_rate_to_date": entry["outcomes_to_date"] / entry["referrals_to_date"] if entry["referrals_to_date"] else float("nan"),
            "minimum_rate": review["minimum"] if review else float("nan"),
            "review": ("met" if review["met"] else "below") if review else "not_reviewed",
            "action": review["action"] if review else "none",
            "ended_by": contract.ended_by if ended_this_year else "",
            "profit_to_date_gbp": float("nan") if model in NO_PROFIT_MODELS or contract.in_house else entry["profit_to_date_gbp"],
        })
    return _columns(rows, CONTRACT_YEAR_COLUMNS)


CONTRACT_YEAR_COLUMNS = ("contract", "year", "contract_year", "holder", "holder_kind", "holder_size_band", "price_ratio", "bid_outcome_rate",
                         "referrals", "outcomes", "outcome_rate", "outcome_rate_to_date", "minimum_rate", "review", "action",
                         "ended_by", "profit_to_date_gbp")


def _bid_rate(market, contract) -> float:
    """The outcomes per referral the winning bid expected, over its lots' referral mix."""
    if contract.bid_outcome_rate is None:
        return float("nan")  # a direct award or an in-house service: no bid
    mix = market.lots.referrals[list(contract.lots)].sum(axis=0)
    return float(contract.bid_outcome_rate @ mix / mix.sum()) if mix.sum() else float("nan")


def named_subcontractors(market, record: Record) -> dict[str, list]:
    """Each subcontractor named in a winning bid, each year its contract stood: referrals the bid gave
    it (its share of the lots' referrals, over the months the contract stood and took referrals) and
    the referrals it got."""
    promised: dict[tuple[int, int], list] = {}
    for row in record.named:
        entry = promised.setdefault((row["contract"], row["provider"]), [row["role"], 0.0])
        entry[1] += row["per_month"]
    referral_end = market.scenario.world.referral_months or market.scenario.run.months
    rows = []
    for entry in record.sub_years:
        key = (entry["contract"], entry["provider"])
        if key not in promised:
            continue
        contract = market.contracts[entry["contract"]]
        first, last = max(entry["year"] * 12, contract.start_month), min(entry["year"] * 12 + 12, contract.end_month, referral_end)
        role, per_month = promised[key]
        rows.append({"contract": entry["contract"], "provider": f"p{entry['provider']}", "role": role, "year": entry["year"],
                     "expected_referrals": per_month * max(0, last - first), "referrals": entry["referrals"]})
    return _columns(rows, ("contract", "provider", "role", "year", "expected_referrals", "referrals"))


def referral_cohorts(market, record: Record) -> dict[str, list]:
    """Outcomes within 12 and 24 months of referral, by referral cohort and need group.

    A cohort's referrals are dated at its middle month; an outcome counts when it is paid within
    the window after that month. A window that runs past the end of the run leaves the rate missing."""
    span = market.scenario.run.cohort_months
    months = market.scenario.run.months
    groups = market.world.group_names
    rows = []
    for cohort in sorted(market.cohort_referrals):
        referred = market.cohort_referrals[cohort]
        start = cohort * span
        middle = start + span // 2
        within = {}
        for window in (12, 24):
            paid = [v for (k, month), v in record.cohort_outcomes.items() if k == cohort and month <= middle + window]
            within[window] = (np.sum(paid, axis=0) if paid else np.zeros(len(groups)), middle + window < months)
        for g, group in enumerate(groups):
            row = {"cohort": cohort, "start_month": start, "months": span, "group": group, "referrals": int(referred[g])}
            for window, (paid, complete) in within.items():
                row[f"outcomes_{window}m"] = int(paid[g])
                row[f"outcome_rate_{window}m"] = paid[g] / referred[g] if referred[g] and complete else float("nan")
            rows.append(row)
    return _columns(rows, ("cohort", "start_month", "months", "group", "referrals", "outcomes_12m", "outcome_rate_12m",
                           "outcomes_24m", "outcome_rate_24m"))


def payments_by_year(market, record: Record) -> dict[str, list]:
    """The commissioner's payments to contract holders by programme year, posting kind and need group."""
    rows = []
    for year in sorted(record.payments):
        table = record.payments[year]
        for k in range(table.shape[0]):
            for g, group in enumerate(market.world.group_names):
                if table[k, g] > 0:
                    rows.append({"year": year, "kind": Kind(k).name.lower(), "group": group, "amount_gbp": float(table[k, g])})
    return _columns(rows, ("year", "kind", "group", "amount_gbp"))


def spend_by_group(market, record: Record) -> dict[str, list]:
    """Providers' delivery costs per person referred to them, against what the winning bids expected to spend."""
    pl = market.placements
    groups = market.world.group_names
    referred = pl.referred_total.sum(axis=0) if len(pl) else np.zeros(len(groups))
    spent = record.spent_by_group if record.spent_by_group is not None else np.zeros(len(groups))
    bid_total, bid_referred = np.zeros(len(groups)), np.zeros(len(groups))
    for c, contract in enumerate(market.contracts):
        if contract.bid_spend_gbp is None:
            continue
        mine = pl.referred_total[pl.contract == c].sum(axis=0)
        bid_total += contract.bid_spend_gbp * mine
        bid_referred += mine
    rows = [{"group": group, "referrals": int(referred[g]), "spent_gbp": float(spent[g]),
             "spent_per_referral_gbp": float(spent[g] / referred[g]) if referred[g] else float("nan"),
             "bid_per_referral_gbp": float(bid_total[g] / bid_referred[g]) if bid_referred[g] else float("nan")}
            for g, group in enumerate(groups)]
    return _columns(rows, ("group", "referrals", "spent_gbp", "spent_per_referral_gbp", "bid_per_referral_gbp"))


def effort(market, record: Record) -> dict[str, list]:
    """Each year, role and need group: person-months served and the mean effort they were given."""
    rows = []
    for year, by_role in sorted(record.effort.items()):
        for role, (served, given) in sorted(by_role.items()):
            for g, group in enumerate(market.world.group_names):
                if served[g] > 0:
                    rows.append({"year": year, "role": Role(role).name.lower(), "group": group,
                                 "person_months": float(served[g]), "mean_effort": float(given[g] / served[g])})
    return _columns(rows, ("year", "role", "group", "person_months", "mean_effort"))


def exits_by_quarter(market) -> dict[str, list]:
    """The exits table counted by quarter, kind of exit, provider kind, tier and size band."""
    counts: dict[tuple, list[int]] = {}
    for row in market.exits:
        key = (row["month"] // 3, row["exit"], row["kind"], row["role"], row["size_band"])
        entry = counts.setdefault(key, [0, 0])
        entry[0] += 1
        entry[1] += row["people"]
    rows = [{"quarter": q, "exit": e, "kind": k, "role": r, "size_band": b, "exits": n, "people": people}
            for (q, e, k, r, b), (n, people) in sorted(counts.items())]
    return _columns(rows, ("quarter", "exit", "kind", "role", "size_band", "exits", "people"))


def participation(record: Record) -> dict[str, list]:
    """Each year and size band: providers operating, the share holding a contract or subcontract, income."""
    income_by_year: dict[int, float] = {}
    for row in record.participation:
        income_by_year[row["year"]] = income_by_year.get(row["year"], 0.0) + row["income_gbp"]
    rows = [{**row, "share_holding": row["holding"] / row["providers"] if row["providers"] else float("nan"),
             "income_share": row["income_gbp"] / income_by_year[row["year"]] if income_by_year[row["year"]] else float("nan")}
            for row in record.participation]
    return _columns(rows, ("year", "size_band", "providers", "holding", "share_holding", "income_gbp", "income_share"))


def capacity_grants(market) -> dict[str, list]:
    """Grant recipients by size band at their first grant: how many later held a contract or a place in one."""
    p = market.providers
    j = market.ledger.journal()
    provider_of = {int(a): i for i, a in enumerate(p.account)}
    first_grant: dict[int, int] = {}
    for payee, month in zip(j["payee"][j["kind"] == Kind.GRANT].tolist(), j["month"][j["kind"] == Kind.GRANT].tolist()):
        q = provider_of.get(int(payee))
        if q is not None and q not in first_grant:
            first_grant[q] = int(month)
    won, placed = set(), set()
    for contract in market.contracts:
        for q, month in first_grant.items():
            if contract.start_month < month:
                continue
            if contract.holder == q:
                won.add(q)
            elif q in set(int(m) for m in contract.members):
                placed.add(q)
    bands = p.size_band(market.scenario.sector.size_band_edges_gbp, p.entry_turnover_gbp)
    rows = []
    for b, band in enumerate(SIZE_BANDS):
        recipients = [q for q in first_grant if bands[q] == b]
        later = [q for q in recipients if q in won or q in placed]
        rows.append({"size_band": band, "recipients": len(recipients), "won_contract": sum(q in won for q in recipients),
                     "won_chain_place": sum(q in placed and q not in won for q in recipients),
                     "share_won": len(later) / len(recipients) if recipients else float("nan")})
    return _columns(rows, ("size_band", "recipients", "won_contract", "won_chain_place", "share_won"))


def tender_rounds(market, record: Record) -> dict[str, list]:
    """After each month in which contracts were signed: bidders, contracts signed and distinct holders of standing contracts."""
    bidders: dict[int, set] = {}
    for row in record.bids:
        bidders.setdefault(row["month"], set()).add(row["bidder"])
    rows = []
    for month in sorted({c.start_month for c in market.contracts}):
        standing = [c for c in market.contracts if c.start_month <= month < c.end_month or (c.start_month <= month and c.active)]
        holders = {c.holder if c.holder >= 0 else f"centre{c.account}" for c in standing}
        rows.append({"month": month, "bidders": len(bidders.get(month, ())), "contracts_signed": sum(c.start_month == month for c in market.contracts),
                     "contracts_standing": len(standing), "distinct_holders": len(holders)})
    return _columns(rows, ("month", "bidders", "contracts_signed", "contracts_standing", "distinct_holders"))


def tender_outcomes(record: Record) -> dict[str, list]:
    """Bids and wins by the value of what was bid for (at the reserve, over the contract) and the bidder's size band."""
    counts: dict[tuple[str, str], list[int]] = {}
    order = {name: i for i, (_, name) in enumerate(LOT_VALUE_BANDS)}
    for row in record.bids:
        value_band = next(name for edge, name in LOT_VALUE_BANDS if row["lot_value_gbp"] < edge)
        entry = counts.setdefault((value_band, row["bidder_size_band"]), [0, 0])
        entry[0] += 1
        entry[1] += int(row["won"])
    rows = [{"lot_value_band": v, "bidder_size_band": b, "bids": n, "wins": w,
             "win_rate": w / n if n else float("nan")}
            for (v, b), (n, w) in sorted(counts.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))]
    return _columns(rows, ("lot_value_band", "bidder_size_band", "bids", "wins", "win_rate"))
