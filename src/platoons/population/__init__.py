"""The population: areas, need groups and providers, synthesised from a scenario.

Providers are held as a structure of arrays so the monthly engine can work on all of them at
once; entrants are appended.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from platoons.ledger import Account, Kind, Ledger, to_pence
from platoons.scenario.schema import ProviderBand, Scenario

KINDS = (
    "national_firm", "regional_firm", "major_charity", "large_charity", "medium_charity",
    "small_charity", "community_group", "public_body",
)
REACH = {"area": 0, "region": 1, "national": 2}
SIZE_BANDS = ("micro", "small", "medium", "large", "major", "super_major")  # NCVO size bands
NO_RESERVES_SHARE = 0.25  # a quarter of charities under GBP 100k hold no reserves (Lloyds Bank Foundation; NCVO)


@dataclass(frozen=True)
class World:
    """Fixed geography and need groups, as arrays."""

    area_names: tuple[str, ...]
    region_names: tuple[str, ...]
    area_region: np.ndarray  # region index of each area
    referrals_per_month: np.ndarray  # [area, group] mean monthly referrals over the referral period
    referrals_by_year: np.ndarray  # [run year, area, group] mean monthly referrals in each year; the last holds
    group_names: tuple[str, ...]
    no_support_hazard: np.ndarray  # [group] monthly chance of an outcome start with no support
    cost_to_serve_gbp: np.ndarray  # [group] per person-month
    max_months: np.ndarray  # [group]
    sustain_months: np.ndarray  # [group] months in work before an outcome is paid
    job_loss: np.ndarray  # [group] monthly chance of losing the job


def monthly_hazard(rate_per_year):
    """A yearly chance as the constant monthly chance that compounds to it."""
    return 1.0 - (1.0 - np.clip(rate_per_year, 0.0, 0.999)) ** (1.0 / 12.0)


def build_world(scenario: Scenario) -> World:
    world = scenario.world
    areas = world.areas
    groups = world.need_groups
    region_of = {a.name: i for i, r in enumerate(world.regions) for a in r.areas}
    rates = np.array([a.referrals_per_month for a in areas])
    by_year = _referrals_by_year(scenario, rates)
    return World(
        area_names=tuple(a.name for a in areas),
        region_names=tuple(r.name for r in world.regions),
        area_region=np.array([region_of[a.name] for a in areas], dtype=np.int64),
        referrals_per_month=by_year[:_referral_years(scenario)].mean(axis=0),
        referrals_by_year=by_year,
        group_names=tuple(g.name for g in groups),
        no_support_hazard=monthly_hazard(np.array([g.no_support_outcome_rate for g in groups])),
        cost_to_serve_gbp=np.array([g.cost_to_serve_gbp_per_month for g in groups]),
        max_months=np.array([g.max_months for g in groups], dtype=np.int64),
        # An outcome is paid after a whole number of monthly steps; a 4-week period is one step.
        sustain_months=np.array([round(g.sustain_weeks / 4.345) for g in groups], dtype=np.int64),
        job_loss=np.array([g.job_loss_rate for g in groups]),
    )


def _referral_years(scenario: Scenario) -> int:
    months = scenario.world.referral_months or scenario.run.months
    return max(1, -(-min(months, scenario.run.months) // 12))


def _referrals_by_year(scenario: Scenario, area_rates: np.ndarray) -> np.ndarray:
    """[year, area, group] mean monthly referrals, from the volume and mix of each year."""
    world = scenario.world
    groups = [g.name for g in world.need_groups]
    years = max(-(-scenario.run.months // 12), len(world.referral_volume_by_year), len(world.referral_mix_by_year), 1)
    base_mix = [g.referral_share for g in world.need_groups]
    volume = [_for_year(world.referral_volume_by_year, y, 1.0) for y in range(years)]
    mix = [[_for_year(world.referral_mix_by_year, y, dict(zip(groups, base_mix)))[g] for g in groups] for y in range(years)]
    return np.array(volume)[:, None, None] * area_rates[None, :, None] * np.array(mix)[:, None, :]


def _for_year(values, year: int, default):
    return values[min(year, len(values) - 1)] if values else default


@dataclass
class Providers:
    """Every provider that has existed in the run, one row each."""

    kind: np.ndarray
    account: np.ndarray
    turnover_gbp: np.ndarray
    other_income_gbp: np.ndarray  # turnover that does not come from this service
    management: np.ndarray
    effectiveness: np.ndarray  # [provider, group] extra yearly outcome chance
    base_effectiveness: np.ndarray
    experience_years: np.ndarray
    staff_turnover: np.ndarray
    overhead_rate: np.ndarray
    reach: np.ndarray
    home_area: np.ndarray
    home_region: np.ndarray
    optimism: np.ndarray
    active: np.ndarray
    failed: np.ndarray
    started_small: np.ndarray
    entered_month: np.ndarray
    exit_month: np.ndarray
    service_income_pence: np.ndarray  # this year's service income
    bid_cost_factor: np.ndarray  # bid-writing cost relative to an untrained provider
    last_role: np.ndarray  # the last part it played in a contract (platoons.ledger.Role; 0: none yet)
    peak_turnover_gbp: np.ndarray
    ever_had_income: np.ndarray
    entry_turnover_gbp: np.ndarray  # turnover when it entered: its size band for margins and growth
    in_house: np.ndarray  # the commissioner's own provider of last resort (never bids)

    def __len__(self) -> int:
        return len(self.kind)

    def extend(self, other: Providers) -> None:
        for f in fields(self):
            setattr(self, f.name, np.concatenate([getattr(self, f.name), getattr(other, f.name)]))

    def is_small(self, small_max_turnover_gbp: float) -> np.ndarray:
        return self.turnover_gbp < small_max_turnover_gbp

    def size_band(self, edges_gbp, turnover_gbp: np.ndarray | None = None) -> np.ndarray:
        """Index into SIZE_BANDS of each provider's turnover (today's, unless another is given)."""
        turnover = self.turnover_gbp if turnover_gbp is None else turnover_gbp
        return np.minimum(np.searchsorted(np.asarray(edges_gbp), turnover, side="right"), len(SIZE_BANDS) - 1)


def synthesize_providers(scenario: Scenario, world: World, ledger: Ledger, rng: np.random.Generator) -> Providers:
    """The starting provider sector, band by band, with opening reserves posted to the ledger."""
    parts = [
        _draw_band(band, world, rng, scenario.sector.small_max_turnover_gbp, entry_month=0)
        for band in scenario.sector.bands
        if band.count > 0
    ]
    providers = _concat(parts) if parts else _draw_band(scenario.sector.bands[0], world, rng, 0.0, 0, count=0)
    open_provider_accounts(providers, ledger)
    return providers


def open_provider_accounts(providers: Providers, ledger: Ledger) -> None:
    """Give new providers accounts and their opening reserves (drawn into `account` as pence)."""
    reserves_pence = providers.account.copy()
    providers.account = ledger.open_accounts(len(providers))
    ledger.post(Account.OPENING_RESERVES, providers.account, reserves_pence, Kind.OPENING)


def draw_entrants(
    scenario: Scenario, world: World, ledger: Ledger, rng: np.random.Generator, month: int
) -> Providers:
    """New small providers with uncertain effectiveness: the innovation small lots can let in."""
    dynamics = scenario.sector.dynamics
    count = int(rng.poisson(dynamics.entrants_per_year))
    bands = entrant_bands(scenario)
    weights = np.array([b.count for b in bands], dtype=float) + 1e-9
    per_band = rng.multinomial(count, weights / weights.sum())
    parts = [
        _draw_band(band.model_copy(update={"effectiveness_spread": dynamics.entrant_effectiveness_spread}),
                   world, rng, scenario.sector.small_max_turnover_gbp, month, count=int(n))
        for band, n in zip(bands, per_band)
    ]
    entrants = _concat(parts)
    open_provider_accounts(entrants, ledger)
    return entrants


ENTRANT_KINDS = ("small_charity", "community_group")


def entrant_bands(scenario: Scenario) -> list[ProviderBand]:
    """Entrants are new small organisations: drawn from the small-charity and community-group bands
    in proportion to their counts (any band if the sector has neither)."""
    small = [b for b in scenario.sector.bands if b.kind in ENTRANT_KINDS]
    return small or [min(scenario.sector.bands, key=lambda b: b.turnover_gbp)]


def _draw_band(
    band: ProviderBand, world: World, rng: np.random.Generator, small_max: float, entry_month: int,
    count: int | None = None,
) -> Providers:
    n = band.count if count is None else count
    groups = world.group_names
    turnover = band.turnover_gbp * rng.lognormal(-band.turnover_spread**2 / 2, band.turnover_spread, n)
    reserves = band.reserves_months / 12 * turnover * rng.lognormal(-0.125, 0.5, n)
    if band.kind in ("small_charity", "community_group"):
        reserves[rng.random(n) < NO_RESERVES_SHARE] = 0.0
    spread = band.effectiveness_spread
    mean_effect = np.array([band.effectiveness[g] for g in groups])
    effect = mean_effect[None, :] * rng.lognormal(-spread**2 / 2, spread, (n, 1))
    weights = world.referrals_per_month.sum(axis=1)
    home = rng.choice(len(weights), size=n, p=weights / weights.sum())
    return Providers(
        kind=np.full(n, KINDS.index(band.kind), dtype=np.int8),
        account=to_pence(reserves),  # replaced by the account number when opened
        turnover_gbp=turnover,
        other_income_gbp=turnover.copy(),
        management=np.clip(band.management_capacity + rng.normal(0, 0.1, n), 0.0, 1.0),
        effectiveness=effect,
        base_effectiveness=effect.copy(),
        experience_years=np.zeros(n),
        staff_turnover=np.full(n, band.staff_turnover),
        overhead_rate=np.full(n, band.overhead_rate),
        reach=np.full(n, REACH[band.reach], dtype=np.int8),
        home_area=home.astype(np.int64),
        home_region=world.area_region[home],
        optimism=np.zeros(n),
        active=np.ones(n, dtype=bool),
        failed=np.zeros(n, dtype=bool),
        started_small=turnover < small_max,
        entered_month=np.full(n, entry_month, dtype=np.int64),
        exit_month=np.full(n, -1, dtype=np.int64),
        service_income_pence=np.zeros(n, dtype=np.int64),
        bid_cost_factor=np.ones(n),
        last_role=np.zeros(n, dtype=np.int8),
        peak_turnover_gbp=turnover.copy(),
        ever_had_income=np.zeros(n, dtype=bool),
        entry_turnover_gbp=turnover.copy(),
        in_house=np.zeros(n, dtype=bool),
    )


def _concat(parts: list[Providers]) -> Providers:
    return Providers(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Providers)})
