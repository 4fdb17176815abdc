"""The metric registry: every measure a run reports, with its unit and which way is better.

Money is read from the ledger's journal; people from the monthly series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from platoons.ledger import COMMISSIONER_PAYMENTS, Account, Kind, Role

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
_metric("outcome_rate", "share", "higher", "Outcomes over the run divided by referrals over the run (flow measure).")
_metric("spend_gbp", "GBP", "neither", "Commissioner's payments to contract holders, plus capacity grants, less overspend paid back.")
_metric("cost_per_outcome_gbp", "GBP/outcome", "lower", "Commissioner spend per sustained outcome.")
_metric("front_line_share", "share", "higher", "Share of commissioner spend that pays front-line staff.")
_metric("failures", "providers", "lower", "Providers whose reserves ran out.")
_metric("people_disrupted", "people", "lower", "People whose provider failed mid-support (a person moved twice counts twice).")
_metric("small_share_of_spend", "share", "higher", "Share of service income received by small providers.")
_metric("small_providers_delivering", "providers", "higher", "Small providers delivering in the last month.")
_metric("small_providers_active", "providers", "higher", "Small providers still operating at the end.")
_metric("hhi", "index 0-10,000", "lower", "Herfindahl-Hirschman index of service income, mean over months.")
_metric("entries", "providers", "neither", "New providers that entered over the run.")
_metric("mean_effectiveness", "share/year", "higher", "Caseload-weighted effectiveness of delivering providers, last year.")
_metric("grew_from_small", "providers", "higher", "Providers that started small and are large at the end.")
_metric("referrals_unserved", "people", "lower", "Referrals that arrived in a lot with no contract holder.")
_metric("investor_return", "share", "neither", "Investors' outcome payments over the fees they paid, less one (outcomes finance).")
_metric("referrals_unserved_share", "share", "lower", "Referrals unserved over all referrals.")
_metric("lot_months_let_share", "share", "higher", "Lot-months with a contract holder over all lot-months.")
_metric("bid_candy", "share", "lower", "Share of named tier-2 subcontractors that received no referrals in a year.")


def _tier_metrics(tiers: list[str]) -> None:
    for tier in tiers:
        _metric(f"margin_{tier}", "share", "neither", f"Surplus over service income for {tier} roles.")
        _metric(f"pbr_risk_{tier}", "share", "neither", f"Share of {tier} service income that depends on outcomes.")


TIERS = {Role.DIRECT: "direct", Role.PRIME: "prime", Role.TIER1: "tier1", Role.TIER2: "tier2", Role.MEMBER: "member",
         Role.ALLIANCE: "alliance"}
SIZE_BANDS = ("micro", "small", "medium", "large", "major")
_tier_metrics(list(TIERS.values()) + list(SIZE_BANDS))


def compute_metrics(run) -> dict[str, float]:
    ts, journal, providers = run.timeseries, run.journal, run.providers
    groups = [g.name for g in run.scenario.world.need_groups]
    # What the commissioner paid out, less what alliance members paid back of an overspend.
    spend = _paid(journal, payer=Account.COMMISSIONER, kinds=COMMISSIONER_PAYMENTS + (Kind.GRANT,)) - _paid(
        journal, kinds=(Kind.PAIN_SHARE,))
    outcomes = float(ts["outcomes"].sum())
    referrals = float(ts["referrals"].sum())
    staff = _paid(journal, kinds=(Kind.STAFF,))
    income = ts["provider_income_gbp"].sum()
    small = providers["small"]
    delivering_small = float(ts["delivering_small"][-1])
    last_year = ts["mean_effectiveness"][-12:]
    metrics = {
        "outcomes": outcomes,
        "outcome_rate": outcomes / referrals if referrals else 0.0,
        "spend_gbp": spend,
        "cost_per_outcome_gbp": spend / outcomes if outcomes else float("nan"),
        "front_line_share": staff / spend if spend else 0.0,
        "failures": run.events.get("failures", 0.0),
        "people_disrupted": run.events.get("people_disrupted", 0.0),
        "small_share_of_spend": float(ts["small_income_gbp"].sum() / income) if income else 0.0,
        "small_providers_delivering": delivering_small,
        "small_providers_active": float((providers["active"] & small).sum()),
        "hhi": float(np.nanmean(ts["hhi"][ts["provider_income_gbp"] > 0])) if (ts["provider_income_gbp"] > 0).any() else 0.0,
        "entries": run.events.get("entries", 0.0),
        "mean_effectiveness": float(np.nanmean(last_year)) if np.isfinite(last_year).any() else 0.0,
        "grew_from_small": float((providers["started_small"] & ~small & providers["active"]).sum()),
        "referrals_unserved": run.events.get("referrals_unserved", 0.0),
        "referrals_unserved_share": _share(run.events.get("referrals_unserved", 0.0), run.events.get("referrals", 0.0)),
        "lot_months_let_share": _share(float(ts["lots_let"].sum()), float(ts["lots"].sum())) if "lots" in ts else float("nan"),
        "bid_candy": run.events.get("tier2_idle_years", 0.0) / max(run.events.get("tier2_years", 0.0), 1.0),
        "investor_return": _investor_return(journal),
    }
    for g, name in enumerate(groups):
        referred = ts[f"referrals_{name}"].sum()
        metrics[f"outcome_rate_{name}"] = float(ts[f"outcomes_{name}"].sum() / referred) if referred else 0.0
    metrics.update(_margins_by_role(journal))
    metrics.update(_margins_by_band(journal, providers))
    return metrics


def _share(part: float, whole: float) -> float:
    return part / whole if whole else float("nan")


def _investor_return(journal) -> float:
    paid_in = journal["amount_pence"][journal["payer"] == Account.INVESTORS].sum()
    paid_out = journal["amount_pence"][journal["payee"] == Account.INVESTORS].sum()
    return float(paid_out / paid_in - 1.0) if paid_in else float("nan")


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
COST_KINDS = (Kind.STAFF, Kind.OVERHEAD, Kind.COMPLIANCE, Kind.PAIN_SHARE)


def _margin_and_risk(received, paid_on, costs, at_risk) -> tuple[float, float]:
    income = received - paid_on
    if income <= 0:
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
    return out


def _margins_by_band(journal, providers) -> dict[str, float]:
    """The same by the provider's size band at the end of the run."""
    out = {}
    accounts = providers["account"]
    band_of_account = np.full(int(max(journal["payee"].max(initial=0), journal["payer"].max(initial=0), accounts.max(initial=0))) + 1, -1)
    band_of_account[accounts] = providers["size_band"]
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
