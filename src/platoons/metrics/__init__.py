"""The metric registry: every measure a run reports, with its unit and which way is better.

Money is read from the ledger's journal; people from the monthly series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from platoons.ledger import COMMISSIONER_PAYMENTS, COMMISSIONING_COSTS, Account, Kind, Role
from platoons.population import SIZE_BANDS

Better = Literal["higher", "lower", "neither"]


@dataclass(frozen=True)
class Metric:
    name: str  # the identifier, as in stores and --json
    unit: str  # the unit's identifier: "share" values are fractions, shown as percentages
    better: Better
    description: str
    label: str = ""  # what people read: "Cost per outcome"
    unit_text: str = ""  # the unit as people read it: "%", "GBP", "people"
    definition: str = ""  # one sentence that names the denominator


REGISTRY: dict[str, Metric] = {}


def _metric(name: str, unit: str, better: Better, description: str) -> None:
    REGISTRY[name] = _worded(Metric(name, unit, better, description))


def _worded(metric: Metric) -> Metric:
    """The metric with its label, readable unit and definition (see platoons.metrics.words)."""
    from dataclasses import replace

    from platoons.metrics.words import UNIT_TEXT, words

    label, definition = words(metric.name)
    return replace(metric, label=label, unit_text=UNIT_TEXT.get(metric.unit, metric.unit),
                   definition=definition or metric.description)


_metric("outcomes", "people", "higher", "Sustained outcomes paid over the run.")
_metric("outcome_rate", "share", "higher", "Outcomes over the run divided by everyone referred over the run, served or not (flow measure).")
_metric("outcome_rate_served", "share", "higher", "Outcomes over the run divided by the referrals that reached a provider (excludes people turned away).")
_metric("spend_gbp", "GBP", "neither", "Commissioner's payments to contract holders, capacity grants and its own costs of tendering, managing and evaluating contracts, less overspend paid back.")
_metric("commissioning_cost_gbp", "GBP", "lower", "The commissioner's own costs: procurement per lot and bid, contract management, evaluation.")
_metric("unserved_lot_months", "lot-months", "lower", "Months in which a lot had no holder, summed over lots.")
_metric("hand_backs", "contracts", "lower", "Contracts handed back by their holders with notice before insolvency.")
_metric("withdrawals", "providers", "lower", "Subcontractors and members that left a supply chain with notice.")
_metric("cost_per_outcome_gbp", "GBP/outcome", "lower", "Commissioner spend per sustained outcome.")
_metric("front_line_share", "share", "higher", "Front-line staff pay divided by the whole cost of delivery (commissioner spend, investors' net loss and providers' subsidy).")
_metric("provider_subsidy_gbp", "GBP", "lower", "Providers' own money spent on the service: reserves consumed by those that lost money, plus debts written off when providers failed.")
_metric("investor_net_loss_gbp", "GBP", "lower", "What social investors paid in less what they were paid back, when that is a loss (outcomes finance; 0 otherwise).")
_metric("whole_cost_gbp", "GBP", "lower", "Commissioner spend plus investors' net loss plus providers' subsidy: what the service really cost everyone.")
_metric("whole_cost_per_outcome_gbp", "GBP/outcome", "lower", "Whole cost of delivery divided by outcomes.")
_metric("failures", "providers", "lower", "Providers whose reserves ran out.")
_metric("people_disrupted", "people", "lower", "People on a caseload, or started and waiting for their outcome to be confirmed, whose delivering provider failed; counted once per failure (a person whose provider fails twice counts twice).")
_metric("small_share_of_spend", "share", "higher", "Share of all providers' service income received by small providers (turnover under GBP 1m at the time).")
_metric("share_of_spend_1m_10m", "share", "higher", "Share of all providers' service income received by providers with turnover of GBP 1m-10m at the time.")
_metric("small_providers_delivering", "providers", "higher", "Small providers (under GBP 1m) with people on a caseload, mean over the months of the last referral year.")
_metric("small_providers_active", "providers", "higher", "Small providers (under GBP 1m) still operating at the end.")
_metric("hhi", "index 0-10,000", "lower", "Herfindahl-Hirschman index of service income, mean over months.")
_metric("entries", "providers", "neither", "New providers that entered over the run.")
_metric("mean_effectiveness", "share/year", "higher", "Caseload-weighted effectiveness of delivering providers, last year.")
_metric("grew_from_small", "providers", "higher", "Providers that entered with turnover under GBP 1m and passed GBP 1m during the run.")
_metric("grew_past_10m", "providers", "higher", "Providers that entered with turnover under GBP 10m and passed GBP 10m during the run.")
_metric("referrals_unserved", "people", "lower", "Referrals turned away because no provider held their lot (they leave at once).")
_metric("spend_vs_budget", "share", "lower", "Commissioner spend per year over design.budget_gbp_per_year (blank without a budget).")
_metric("investor_return", "share", "neither", "Investors' outcome payments over the fees they paid, less one (outcomes finance).")
_metric("referrals_unserved_share", "share", "lower", "Referrals unserved over all referrals.")
_metric("lot_months_let_share", "share", "higher", "Lot-months with a contract holder over all lot-months.")
_metric("effort_hardest", "share", "higher", "Mean effort given to the hardest-to-help group (lowest no-support outcome rate), per person-month served: 1 is full effort.")
_metric("effort_easiest", "share", "higher", "Mean effort given to the easiest-to-help group (highest no-support outcome rate), per person-month served: 1 is full effort.")
_metric("bid_candy", "share", "lower", "Tier-2 subcontractor-years with no referrals divided by tier-2 subcontractor-years named in standing contracts (whatever their share).")


MARGIN_INCOME_FLOOR_GBP = 250_000.0  # assumption: below this much service income over a run, a margin is noise


def _tier_metrics(tiers: list[str]) -> None:
    floor = f"missing when the income is under GBP {MARGIN_INCOME_FLOOR_GBP:,.0f} over the run"
    for tier in tiers:
        _metric(f"margin_{tier}", "share", "neither", f"Service income less delivery costs, divided by service income, for {tier} ({floor}).")
        _metric(f"pbr_risk_{tier}", "share", "neither", f"Outcome and sustainment pay divided by service income, for {tier} ({floor}).")


TIERS = {Role.DIRECT: "direct", Role.PRIME: "prime", Role.TIER1: "tier1", Role.TIER2: "tier2", Role.MEMBER: "member",
         Role.ALLIANCE: "alliance"}
_tier_metrics(list(TIERS.values()) + ["subcontractors"] + list(SIZE_BANDS))


def _spend_vs_budget(spend: float, run) -> float:
    budget = run.scenario.design.budget_gbp_per_year
    return spend / (budget * run.scenario.run.months / 12) if budget else float("nan")


def compute_metrics(run) -> dict[str, float]:
    ts, journal, providers = run.timeseries, run.journal, run.providers
    groups = [g.name for g in run.scenario.world.need_groups]
    # What the commissioner paid out, less what alliance members paid back of an overspend.
    # Volume reconciliations count either way: top-ups paid out, clawbacks paid back.
    spend = _paid(journal, payer=Account.COMMISSIONER, kinds=COMMISSIONER_PAYMENTS + (Kind.GRANT, Kind.MOBILISATION, Kind.TRANSFER, Kind.RECONCILIATION) + COMMISSIONING_COSTS) - _paid(
        journal, kinds=(Kind.PAIN_SHARE,)) - (_paid(journal, kinds=(Kind.RECONCILIATION,)) - _paid(journal, payer=Account.COMMISSIONER, kinds=(Kind.RECONCILIATION,)))
    outcomes = float(ts["outcomes"].sum())
    referrals = float(ts["referrals"].sum())
    staff = _paid(journal, kinds=(Kind.STAFF,))
    income = ts["provider_income_gbp"].sum()
    small = providers["small"]
    last_referral_year = _last_referral_year(run)
    last_year = ts["mean_effectiveness"][-12:]
    subsidy = provider_subsidy_gbp(run)
    investor_loss = max(0.0, -_investor_net_gbp(journal))
    whole = spend + investor_loss + subsidy
    placed = float(ts["referrals_placed"].sum())
    metrics = {
        "outcomes": outcomes,
        "outcome_rate": outcomes / referrals if referrals else 0.0,
        "outcome_rate_served": outcomes / placed if placed else float("nan"),
        "spend_gbp": spend,
        "commissioning_cost_gbp": _paid(journal, payer=Account.COMMISSIONER, kinds=COMMISSIONING_COSTS),
        "unserved_lot_months": run.events.get("unserved_lot_months", 0.0),
        "hand_backs": run.events.get("hand_backs", 0.0),
        "withdrawals": run.events.get("withdrawals", 0.0),
        "cost_per_outcome_gbp": spend / outcomes if outcomes else float("nan"),
        "front_line_share": staff / whole if whole else 0.0,
        "provider_subsidy_gbp": subsidy,
        "investor_net_loss_gbp": investor_loss,
        "whole_cost_gbp": whole,
        "whole_cost_per_outcome_gbp": whole / outcomes if outcomes else float("nan"),
        "failures": run.events.get("failures", 0.0),
        "people_disrupted": run.events.get("people_disrupted", 0.0),
        "small_share_of_spend": float(ts["small_income_gbp"].sum() / income) if income else 0.0,
        "share_of_spend_1m_10m": float(ts["income_1m_10m_gbp"].sum() / income) if income else 0.0,
        "small_providers_delivering": float(ts["delivering_small"][last_referral_year].mean()),
        "small_providers_active": float((providers["active"] & small).sum()),
        "hhi": float(np.nanmean(ts["hhi"][ts["provider_income_gbp"] > 0])) if (ts["provider_income_gbp"] > 0).any() else 0.0,
        "entries": run.events.get("entries", 0.0),
        "mean_effectiveness": float(np.nanmean(last_year)) if np.isfinite(last_year).any() else 0.0,
        "grew_from_small": _grew_past(providers, run.scenario.sector.small_max_turnover_gbp),
        "grew_past_10m": _grew_past(providers, 10_000_000.0),
        "referrals_unserved": run.events.get("referrals_unserved", 0.0),
        "referrals_unserved_share": _share(run.events.get("referrals_unserved", 0.0), run.events.get("referrals", 0.0)),
        "lot_months_let_share": _share(float(ts["lots_let"].sum()), float(ts["lots"].sum())) if "lots" in ts else float("nan"),
        "bid_candy": run.events.get("tier2_idle_years", 0.0) / max(run.events.get("tier2_years", 0.0), 1.0),
        "investor_return": _investor_return(journal),
        "spend_vs_budget": _spend_vs_budget(spend, run),
        **_effort_at_the_ends(run),
    }
    for g, name in enumerate(groups):
        referred = ts[f"referrals_{name}"].sum()
        metrics[f"outcome_rate_{name}"] = float(ts[f"outcomes_{name}"].sum() / referred) if referred else 0.0
    metrics.update(_margins_by_role(journal))
    metrics.update(_margins_by_band(journal, providers))
    return metrics


def _effort_at_the_ends(run) -> dict[str, float]:
    """Mean effort per person-month served for the hardest and the easiest group (parking shows as a gap)."""
    table = run.tables.get("effort", {})
    rates = [g.no_support_outcome_rate for g in run.scenario.world.need_groups]
    names = [g.name for g in run.scenario.world.need_groups]
    ends = {"effort_hardest": names[int(np.argmin(rates))], "effort_easiest": names[int(np.argmax(rates))]}
    result = {}
    for metric, group in ends.items():
        rows = [i for i, g in enumerate(table.get("group", [])) if g == group]
        served = sum(table["person_months"][i] for i in rows)
        given = sum(table["person_months"][i] * table["mean_effort"][i] for i in rows)
        result[metric] = given / served if served else float("nan")
    return result


def _share(part: float, whole: float) -> float:
    return part / whole if whole else float("nan")


def _last_referral_year(run) -> slice:
    """The months of the last year in which people were referred."""
    months = len(run.timeseries["month"])
    end = min(run.scenario.world.referral_months or months, months)
    return slice(max(0, end - 12), end)


def _grew_past(providers, edge_gbp: float) -> float:
    return float(((providers["entry_turnover_gbp"] < edge_gbp) & (providers["peak_turnover_gbp"] >= edge_gbp)).sum())


def provider_subsidy_gbp(run) -> float:
    """Providers' own money that paid for the service: for each provider that ended the run with
    less than it started with (opening reserves, plus any debts written off in its name), the
    shortfall. Surpluses are not netted against other providers' losses."""
    j, accounts = run.journal, run.providers["account"]
    size = len(run.balances)
    opening = np.bincount(j["payee"][j["kind"] == Kind.OPENING], weights=j["amount_pence"][j["kind"] == Kind.OPENING], minlength=size)
    written_off = np.bincount(j["payee"][j["kind"] == Kind.WRITE_OFF], weights=j["amount_pence"][j["kind"] == Kind.WRITE_OFF], minlength=size)
    shortfall = opening[accounts] + written_off[accounts] - run.balances[accounts]
    return float(np.maximum(shortfall, 0.0).sum()) / 100.0


def _investor_net_gbp(journal) -> float:
    paid_in = journal["amount_pence"][journal["payer"] == Account.INVESTORS].sum()
    paid_out = journal["amount_pence"][journal["payee"] == Account.INVESTORS].sum()
    return float(paid_out - paid_in) / 100.0


def _investor_return(journal) -> float:
    paid_in = journal["amount_pence"][journal["payer"] == Account.INVESTORS].sum()
    paid_out = journal["amount_pence"][journal["payee"] == Account.INVESTORS].sum()
    return float(paid_out / paid_in - 1.0) if paid_in else float("nan")


def metric_or_plain(name: str) -> Metric:
    """The registry's entry, or for a metric it does not declare (an older store's) its name in words and no direction."""
    try:
        return describe_metric(name)
    except KeyError:
        return Metric(name, "", "neither", "", label=name.replace("_", " ").capitalize())


def describe_metric(name: str) -> Metric:
    if name in REGISTRY:
        return REGISTRY[name]
    if name.startswith("outcome_rate_"):
        group = name.removeprefix("outcome_rate_")
        return _worded(Metric(name, "share", "higher", f"Outcomes of the {group} group over its referrals (parking shows here)."))
    raise KeyError(name)


def _paid(journal, payer: int | None = None, kinds=()) -> float:
    mask = np.isin(journal["kind"], [int(k) for k in kinds])
    if payer is not None:
        mask &= journal["payer"] == payer
    return float(journal["amount_pence"][mask].sum()) / 100.0


INCOME_KINDS = COMMISSIONER_PAYMENTS + (Kind.RISK_FEE,)
COST_KINDS = (Kind.STAFF, Kind.OVERHEAD, Kind.COMPLIANCE, Kind.PAIN_SHARE, Kind.MOBILISATION, Kind.TRANSFER)


def _margin_and_risk(received, paid_on, costs, at_risk) -> tuple[float, float]:
    income = received - paid_on
    if income < MARGIN_INCOME_FLOOR_GBP * 100:  # pence
        return float("nan"), float("nan")
    return (income - costs) / income, at_risk / income


def _margins_by_role(journal) -> dict[str, float]:
    """Margin and outcome-dependence of income for each role in the supply chain."""
    out = {}
    kind, role, amount = journal["kind"], journal["role"], journal["amount_pence"].astype(float)
    incoming = np.isin(kind, [int(k) for k in INCOME_KINDS])
    risky = np.isin(kind, [Kind.OUTCOME, Kind.SUSTAINMENT])
    cost = np.isin(kind, [int(k) for k in COST_KINDS])
    from_commissioner = journal["payer"] == Account.COMMISSIONER
    for code, name in TIERS.items():
        if code == Role.PRIME:
            # A prime receives everything from the commissioner and pays its chain; role tags say which.
            received = amount[incoming & from_commissioner & (role == code)].sum()
            paid_on = amount[incoming & ~from_commissioner & np.isin(role, [Role.TIER1, Role.TIER2])].sum()
            at_risk = amount[risky & from_commissioner & (role == code)].sum() - amount[risky & ~from_commissioner & np.isin(role, [Role.TIER1, Role.TIER2])].sum()
        else:
            # Direct providers and alliance members are paid by the commissioner (or investors);
            # subcontractors and consortium members by their contract's holder.
            paid_directly = code in (Role.DIRECT, Role.ALLIANCE)
            theirs = (role == code) & ((~from_commissioner) | paid_directly)
            received = amount[incoming & theirs].sum()
            paid_on, at_risk = 0.0, amount[risky & theirs].sum()
        margin, risk = _margin_and_risk(received, paid_on, amount[cost & (role == code)].sum(), at_risk)
        out[f"margin_{name}"], out[f"pbr_risk_{name}"] = margin, risk
    # Tier 1 and tier 2 together: what the prime model's subcontractors as a whole keep.
    subs = np.isin(role, [Role.TIER1, Role.TIER2])
    out["margin_subcontractors"], out["pbr_risk_subcontractors"] = _margin_and_risk(
        amount[incoming & subs & ~from_commissioner].sum(), 0.0, amount[cost & subs].sum(), amount[risky & subs & ~from_commissioner].sum())
    return out


def _margins_by_band(journal, providers) -> dict[str, float]:
    """The same by the provider's size band when it entered the market (NCVO bands)."""
    out = {}
    accounts = providers["account"]
    band_of_account = np.full(int(max(journal["payee"].max(initial=0), journal["payer"].max(initial=0), accounts.max(initial=0))) + 1, -1)
    band_of_account[accounts] = providers["entry_size_band"]
    kind, amount = journal["kind"], journal["amount_pence"].astype(float)
    payee_band, payer_band = band_of_account[journal["payee"]], band_of_account[journal["payer"]]
    incoming = np.isin(kind, [int(k) for k in INCOME_KINDS])
    risky = np.isin(kind, [Kind.OUTCOME, Kind.SUSTAINMENT])
    cost = np.isin(kind, [int(k) for k in COST_KINDS])
    for band, name in enumerate(SIZE_BANDS):
        received = amount[incoming & (payee_band == band)].sum()
        paid_on = amount[incoming & (payer_band == band)].sum()
        at_risk = amount[risky & (payee_band == band)].sum() - amount[risky & (payer_band == band)].sum()
        margin, risk = _margin_and_risk(received, paid_on, amount[cost & (payer_band == band)].sum(), at_risk)
        out[f"margin_{name}"], out[f"pbr_risk_{name}"] = margin, risk
    return out


HOLDER_ROLE = {"direct": Role.DIRECT, "prime": Role.PRIME, "consortium": Role.CENTRE,
               "alliance": Role.ALLIANCE, "outcomes_finance": Role.DIRECT}


def money_flows(run) -> dict[str, list]:
    """Money moved over the run between kinds of party, by posting kind, for Sankey charts.

    Fixed accounts keep their names (commissioner, front_line, overheads, ...); providers are
    named by the role they played in the posting (prime, tier1, tier2, direct, centre, member),
    and a contract holder passing money down by the holder's role.
    """
    j = run.journal
    names = [a.name.lower() for a in Account] + [r.name.lower() if r else "provider" for r in Role]
    role_node = len(Account) + j["role"].astype(np.int64)
    holder_node = len(Account) + int(HOLDER_ROLE[run.scenario.design.delivery.model])
    payer_fixed, payee_fixed = j["payer"] < len(Account), j["payee"] < len(Account)
    passing_down = ~payer_fixed & ~payee_fixed & (j["kind"] != Kind.LIABILITY)
    source = np.where(payer_fixed, j["payer"], np.where(passing_down, holder_node, role_node))
    target = np.where(payee_fixed, j["payee"], role_node)
    keep = j["kind"] != Kind.OPENING
    width = len(names)
    key = (j["kind"][keep].astype(np.int64) * width + source[keep]) * width + target[keep]
    unique, inverse = np.unique(key, return_inverse=True)
    totals = np.bincount(inverse, weights=j["amount_pence"][keep].astype(float)) if len(key) else np.zeros(0)
    kinds, rest = np.divmod(unique, width * width)
    sources, targets = np.divmod(rest, width)
    return {
        "kind": [Kind(int(k)).name.lower() for k in kinds], "source": [names[int(x)] for x in sources],
        "target": [names[int(x)] for x in targets], "amount_gbp": [float(v) / 100.0 for v in totals],
    }
