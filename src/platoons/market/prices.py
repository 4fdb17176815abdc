"""Payment terms as arrays, and what one referral is expected to earn and cost.

Bidders and the commissioner price contracts with the same expectation of a referral's path
(caseload -> job start -> sustained outcome -> sustainment payments) that the engine then
draws at random, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from platoons.ledger import Role
from platoons.population import World
from platoons.scenario.schema import Scenario

PAYMENT_TYPES = ("block", "fee", "attachment", "outcome", "sustainment")


@dataclass(frozen=True)
class Prices:
    """List prices by need group (GBP) and multipliers by contract year."""

    block: np.ndarray  # per expected referral
    fee: np.ndarray  # per person-month on the caseload
    attachment: np.ndarray
    outcome: np.ndarray
    sustainment: np.ndarray
    sustainment_payments: np.ndarray  # [group] most payments
    by_year: np.ndarray  # [year, payment type]
    outcome_lag_months: int = 0  # data lag before a sustained outcome is paid

    def multipliers(self, contract_year: int) -> np.ndarray:
        """Multipliers for block, fee, attachment, outcome, sustainment in a contract year (0-based)."""
        if len(self.by_year) == 0:
            return np.ones(len(PAYMENT_TYPES))
        return self.by_year[min(contract_year, len(self.by_year) - 1)]

    def multipliers_for(self, contract_years: np.ndarray) -> np.ndarray:
        """Multipliers [row, payment type] for an array of contract years."""
        if len(self.by_year) == 0:
            return np.ones((len(contract_years), len(PAYMENT_TYPES)))
        return self.by_year[np.minimum(contract_years, len(self.by_year) - 1)]

    def mean_multipliers(self, months: int, first_year_month: int = 0) -> np.ndarray:
        """Mean multipliers over a contract of `months`, starting `first_year_month` months into the table."""
        return self.multipliers_for((first_year_month + np.arange(months)) // 12).mean(axis=0)


def outcome_risk_share(prime_rules, roles: np.ndarray) -> np.ndarray:
    """Share of outcome risk a prime passes to each subcontractor role (tier 2 may have its own)."""
    tier2 = prime_rules.risk_passed_down if prime_rules.tier2_risk_passed_down is None else prime_rules.tier2_risk_passed_down
    return np.where(roles == Role.TIER2, tier2, prime_rules.risk_passed_down)


def build_prices(scenario: Scenario) -> Prices:
    groups = [g.name for g in scenario.world.need_groups]
    terms = scenario.design.payment
    table = [terms.by_group[g] for g in groups]
    return Prices(
        block=np.array([t.block_gbp_per_referral for t in table]),
        fee=np.array([t.fee_gbp_per_month for t in table]),
        attachment=np.array([t.attachment_fee_gbp for t in table]),
        outcome=np.array([t.outcome_fee_gbp for t in table]),
        sustainment=np.array([t.sustainment_gbp for t in table]),
        sustainment_payments=np.array([t.sustainment_payments for t in table], dtype=np.int64),
        by_year=np.array([[getattr(y, name) for name in PAYMENT_TYPES] for y in terms.by_year]).reshape(-1, 5),
        outcome_lag_months=terms.outcome_lag_months,
    )


def stage_depths(world: World, prices: Prices) -> tuple[int, int, int]:
    """Months a person can spend on the caseload, in work before payment, and being sustained."""
    before_payment = int((world.sustain_months + prices.outcome_lag_months).max())
    return int(world.max_months.max()), max(before_payment, 1), int(max(prices.sustainment_payments.max(), 1))


@dataclass(frozen=True)
class Path:
    """Expected path of one referral, month by month after referral: arrays [..., group, month]."""

    on_caseload: np.ndarray
    outcomes: np.ndarray
    sustainment_payments: np.ndarray

    @property
    def caseload_months(self) -> np.ndarray:
        return self.on_caseload.sum(axis=-1)


def expected_path(world: World, hazard: np.ndarray, prices: Prices) -> Path:
    """The expected path of a referral given monthly start chances `hazard` [..., group]."""
    groups = len(world.group_names)
    span = int((world.max_months + world.sustain_months + prices.outcome_lag_months + prices.sustainment_payments).max()) + 2
    shape = hazard.shape[:-1] + (groups, span)
    on_caseload = np.zeros(shape)
    outcomes = np.zeros(shape)
    sustained = np.zeros(shape)
    months = np.arange(span)
    survive_caseload = 1.0 - hazard
    for g in range(groups):
        ages = months < world.max_months[g]
        stay = survive_caseload[..., g, None] ** months
        on_caseload[..., g, :] = np.where(ages, stay, 0.0)
        starts = on_caseload[..., g, :] * hazard[..., g, None]
        keep = 1.0 - world.job_loss[g]
        lag = int(world.sustain_months[g]) + prices.outcome_lag_months  # no job is lost while data is awaited
        paid = np.zeros_like(starts)
        paid[..., lag:] = starts[..., : span - lag] * keep ** int(world.sustain_months[g])
        outcomes[..., g, :] = paid
        for k in range(1, int(prices.sustainment_payments[g]) + 1):
            sustained[..., g, k:] += paid[..., : span - k] * keep**k
    return Path(on_caseload, outcomes, sustained)


def income_per_referral(path: Path, prices: Prices, multipliers: np.ndarray) -> np.ndarray:
    """Expected payments per referral at list prices [..., group] (block excluded: it is per contract)."""
    _, fee, attachment, outcome, sustainment = multipliers
    return (
        attachment * prices.attachment
        + fee * prices.fee * path.caseload_months
        + outcome * prices.outcome * path.outcomes.sum(axis=-1)
        + sustainment * prices.sustainment * path.sustainment_payments.sum(axis=-1)
    )


def income_by_month(path: Path, prices: Prices, multipliers: np.ndarray) -> np.ndarray:
    """Expected payments per referral in each month after referral [..., group, month]."""
    _, fee, attachment, outcome, sustainment = multipliers
    flows = (
        fee * prices.fee[:, None] * path.on_caseload
        + outcome * prices.outcome[:, None] * path.outcomes
        + sustainment * prices.sustainment[:, None] * path.sustainment_payments
    )
    flows[..., 0] += attachment * prices.attachment
    return flows


def worst_cash_position(net_by_month: np.ndarray, contract_months: int) -> np.ndarray:
    """Deepest cumulative cash position of a steady inflow of one referral a month [...].

    A cohort referred in month s contributes net[t - s] in month t; the running total over
    the contract is the double cumulative sum of the per-referral profile.
    """
    span = net_by_month.shape[-1]
    horizon = max(contract_months, span)
    profile = np.zeros(net_by_month.shape[:-1] + (horizon,))
    profile[..., :span] = net_by_month
    monthly = np.cumsum(profile, axis=-1)[..., :contract_months]  # cash flow in month t
    position = np.cumsum(monthly, axis=-1)
    return np.minimum(position.min(axis=-1), 0.0)
