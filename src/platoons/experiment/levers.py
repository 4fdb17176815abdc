"""The commissioning levers and the direction each mechanism implies, measured on common random numbers.

Each lever is a pair of designs that differ in one setting. Both are run on the same replicate
seeds; the effect is the mean paired difference (high setting minus low) of a measure, with its
standard error over replicates. A lever passes when its effect has the implied sign and is at
least `SIGNIFICANT_SE` standard errors from zero; an effect within that band is reported as not
significant rather than counted as a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from platoons.experiment.executors import execute
from platoons.experiment.runs import Outcome, plan
from platoons.scenario.load import apply_changes, load_scenario

SIGNIFICANT_SE = 2.0  # assumption: about a 95% two-sided test on the paired differences


@dataclass(frozen=True)
class Measure:
    name: str
    read: Callable[[Outcome], float]
    expected: int  # +1: the measure should rise from the low to the high setting; -1: fall


@dataclass(frozen=True)
class Lever:
    name: str
    preset: str
    low: dict
    high: dict
    measures: tuple[Measure, ...]
    why: str  # the mechanism that implies the direction
    replicates: int = 8  # enough for the effect (a noisy one needs more)


@dataclass(frozen=True)
class Effect:
    lever: str
    measure: str
    low: float
    high: float
    difference: float
    standard_error: float
    expected: int

    @property
    def verdict(self) -> str:
        if not np.isfinite(self.difference) or self.difference == 0 or abs(self.difference) < SIGNIFICANT_SE * self.standard_error:
            return "not significant"
        return "as expected" if np.sign(self.difference) == self.expected else "opposite"


def metric(name: str) -> Callable[[Outcome], float]:
    return lambda outcome: float(outcome.metrics.get(name, float("nan")))


def table_mean(table: str, column: str, weight: str | None = None) -> Callable[[Outcome], float]:
    """The mean of a run table's column (weighted by another column), NaN when the table is empty."""
    def read(outcome: Outcome) -> float:
        rows = outcome.tables.get(table, {})
        values = np.asarray(rows.get(column, []), dtype=float)
        weights = np.asarray(rows.get(weight, []), dtype=float) if weight else np.ones(len(values))
        keep = np.isfinite(values) & (weights > 0)
        return float(np.average(values[keep], weights=weights[keep])) if keep.any() else float("nan")
    return read


def table_sum(table: str, column: str) -> Callable[[Outcome], float]:
    return lambda outcome: float(np.nansum(np.asarray(outcome.tables.get(table, {}).get(column, []), dtype=float)))


def margin_gap(outcome: Outcome) -> float:
    """The prime's margin less its subcontractors' (pooled): who keeps the margin in a supply chain."""
    return metric("margin_prime")(outcome) - metric("margin_subcontractors")(outcome)


def first_letting_price(outcome: Outcome) -> float:
    """The mean price ratio of the contracts won at the first tender (month 0). Contracts signed
    later mostly replace failed or handed-back ones, by direct award or extension at list price;
    the provider of last resort, at any month, is paid its costs open book (price ratio 0, left
    out): no competition set those prices."""
    rows = outcome.tables.get("contracts", {})
    price = np.asarray(rows.get("price_ratio", []), dtype=float)
    first = (np.asarray(rows.get("start_month", []), dtype=float) == 0) & (price > 0)
    return float(price[first].mean()) if first.any() else float("nan")


def referral_share(role: str) -> Callable[[Outcome], float]:
    """The share of a run's referrals sent to providers in one role (from the supply-chain table)."""
    def read(outcome: Outcome) -> float:
        rows = outcome.tables.get("supply_chains", {})
        referrals = np.asarray(rows.get("referrals", []), dtype=float)
        total = referrals.sum()
        return float(referrals[np.asarray(rows.get("role", [])) == role].sum() / total) if total else float("nan")
    return read


def winners_curse(outcome: Outcome) -> float:
    """How far delivered outcome rates fell short of what the winning bids promised, per contract-year."""
    rows = outcome.tables.get("contract_years", {})
    bid = np.asarray(rows.get("bid_outcome_rate", []), dtype=float)
    delivered = np.asarray(rows.get("outcome_rate_to_date", []), dtype=float)
    keep = np.isfinite(bid) & np.isfinite(delivered)
    return float(np.mean(bid[keep] - delivered[keep])) if keep.any() else float("nan")


FLAT_PRICES = {  # the default's outcome-based prices, with the complex group paid as the job-ready group
    "design.payment.by_group.complex": {"attachment_fee_gbp": 400, "outcome_fee_gbp": 1200, "sustainment_gbp": 140,
                                        "sustainment_payments": 20},
}
DIFFERENTIAL_PRICES = {
    "design.payment.by_group.complex": {"attachment_fee_gbp": 600, "outcome_fee_gbp": 7000, "sustainment_gbp": 740,
                                        "sustainment_payments": 26},
}

# Regional lots only national firms may lead, priced against the rivals each expects: the lever is how many there are.
ONLY_NATIONAL_FIRMS = {"design.bidding.shading_rule": "rivals", "design.eligibility.min_turnover_gbp": 100_000_000}

LEVERS: tuple[Lever, ...] = (
    Lever("management fee", "default", {"design.delivery.prime.management_fee": 0.1},
          {"design.delivery.prime.management_fee": 0.3},
          (Measure("prime less subcontractor margin", margin_gap, +1),
           Measure("margin_subcontractors", metric("margin_subcontractors"), -1),
           Measure("referrals kept in house", referral_share("prime"), +1)),
          "the prime keeps more of every pound before passing it down, and subcontractors decline the thinner "
          "terms, so the prime delivers more itself", replicates=16),
    Lever("risk passed down", "default", {"design.delivery.prime.risk_passed_down": 0.2},
          {"design.delivery.prime.risk_passed_down": 1.0},
          (Measure("pbr_risk_tier1", metric("pbr_risk_tier1"), +1),),
          "more of what subcontractors are paid comes as outcome pay instead of a fee"),
    Lever("turnover threshold", "small-lots", {"design.eligibility.min_turnover_gbp": 500_000},
          {"design.eligibility.min_turnover_gbp": 0},
          (Measure("teams eligible", table_sum("diagnostics", "eligible"), +1),
           Measure("small_share_of_spend", metric("small_share_of_spend"), +1)),
          "a lower threshold lets smaller providers lead bids"),
    Lever("differential prices", "default", FLAT_PRICES, DIFFERENTIAL_PRICES,
          (Measure("effort_hardest", metric("effort_hardest"), +1),
           Measure("outcome_rate_complex", metric("outcome_rate_complex"), +1)),
          "a higher price for the hardest group makes effort on it pay"),
    Lever("rivals", "default", {**ONLY_NATIONAL_FIRMS, "sector.bands.0.count": 2}, {**ONLY_NATIONAL_FIRMS, "sector.bands.0.count": 12},
          (Measure("expected bidders", table_mean("diagnostics", "expected_bidders"), +1),
           Measure("winning price at the first letting", first_letting_price, -1)),
          "more credible rivals for a lot make each bidder price nearer its cost (bidding.shading_rule: rivals)", replicates=20),
    Lever("bidder optimism", "default", {"design.bidding.optimism": 0.0}, {"design.bidding.optimism": 0.5},
          (Measure("winner's curse", winners_curse, +1),),
          "the most optimistic bidder wins and promises more than it delivers"),
    Lever("lot caps and set-asides", "local-lots", {},
          {"design.lots.max_lots_per_provider": 3, "design.lots.set_aside_share": 0.2},
          (Measure("hhi", metric("hhi"), -1),),
          "no provider may hold more than a few lots and some are reserved for small providers"),
    Lever("capacity grants", "small-lots", {"design.capacity_grants.budget_gbp_per_year": 0},
          {"design.capacity_grants.budget_gbp_per_year": 4_000_000},
          (Measure("grew_from_small", metric("grew_from_small"), +1),),
          "grants buy management capacity and bid-writing that small providers lack"),
    Lever("outcomes-finance thresholds", "outcomes-finance",
          {"design.delivery.outcomes_finance.cohort_threshold": 0.1, "design.delivery.outcomes_finance.pooled_threshold": 0.075},
          {"design.delivery.outcomes_finance.cohort_threshold": 4.5, "design.delivery.outcomes_finance.pooled_threshold": 4.0},
          (Measure("lots let by tender", table_sum("diagnostics", "let"), -1),),
          "investors fund only where they expect to clear the thresholds and earn their hurdle"),
)


def measure(lever: Lever, replicates: int | None = None, seed: int = 0, executor: str = "processes", workers: int | None = None) -> list[Effect]:
    """Run the lever's two settings on the same seeds (the lever's own number unless given) and compare
    each measure pairwise."""
    replicates = replicates or lever.replicates
    base = load_scenario(lever.preset)
    designs = {"low": apply_changes(base, lever.low, f"lever {lever.name} (low)"),
               "high": apply_changes(base, lever.high, f"lever {lever.name} (high)")}
    outcomes = list(execute(plan(designs, replicates, seed), executor, workers))
    by = {(o.design, o.replicate): o for o in outcomes}
    effects = []
    for m in lever.measures:
        low = np.array([m.read(by[("low", r)]) for r in range(replicates)])
        high = np.array([m.read(by[("high", r)]) for r in range(replicates)])
        paired = (high - low)[np.isfinite(high - low)]
        se = float(paired.std(ddof=1) / np.sqrt(len(paired))) if len(paired) > 1 else float("nan")
        effects.append(Effect(lever.name, m.name, float(np.nanmean(low)), float(np.nanmean(high)),
                              float(paired.mean()) if len(paired) else float("nan"), se, m.expected))
    return effects
