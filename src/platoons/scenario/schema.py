"""The scenario: everything a run needs, validated once at the boundary.

Every field carries a unit, a description and a source (a FACTS.md tag or "assumption"), so
`platoons describe` and the report can say where each number comes from.
"""

from __future__ import annotations

import functools
import math
import sys
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, field_validator, model_validator
from pydantic_core import PydanticCustomError

ASSUMPTION = "assumption"
WPC_2013 = "WPC 2013, Table 3 (Work Programme payment table)"
NCVO = "NCVO Civil Society Almanac 2011/12 (size bands)"
STAFF_TURNOVER = "People Count / CIPD via press: voluntary sector 18-22% a year"
NAO_2012 = "NAO 2012 via LGiU: bidders promised 38% job outcomes at a 6% discount"
WP_FRAMEWORK = "WPC 2013: framework required annual turnover >= GBP 20m"
ICRF = "Investment and Contract Readiness Fund: grants GBP 50k-150k, mean 85k"
NON_INTERVENTION = "press: FullFact; sector: DWP non-intervention rate about 5% a year for JSA"
L_AND_W = "sector: Learning and Work Institute, Work Programme statistics"


def param(default: Any, unit: str, description: str, source: str = ASSUMPTION, **limits: Any) -> Any:
    """A scenario field with its unit, description and source attached as metadata."""
    extra = {"unit": unit, "source": source}
    if callable(default):
        return Field(default_factory=default, description=description, json_schema_extra=extra, **limits)
    return Field(default, description=description, json_schema_extra=extra, **limits)


# The largest sensible value of a parameter by its unit, where the field sets no bound of its own:
# it keeps a small file from asking for an unbounded run (see platoons.scenario.limits).
UNIT_LIMITS = {
    "months": 600, "years": 100, "providers": 100_000, "providers/year": 10_000, "subcontractors": 1_000,
    "lots": 10_000, "people/month": 1_000_000, "multiplier": 1_000, "ratio": 1_000, "months of turnover": 1_200,
    "relative gain": 100, "seed": 2**63 - 1,
}
PER_PERSON_GBP = ("GBP/person-month", "GBP/expected referral", "GBP/referral", "GBP/outcome", "GBP/4 weeks")
MONEY_LIMIT_GBP = 1e11  # whole-organisation sums; integer pence stay far from overflow
PER_PERSON_LIMIT_GBP = 1e6


def unit_limit(unit: str) -> float | None:
    if unit in PER_PERSON_GBP:
        return PER_PERSON_LIMIT_GBP
    if unit.startswith("GBP"):
        return MONEY_LIMIT_GBP
    return UNIT_LIMITS.get(unit)


class Model(BaseModel):
    """Frozen, no unknown keys, finite numbers only, true/false never taken for a number."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_flags_as_numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            numbers, _ = _field_checks(cls)
            for name in numbers.intersection(data):
                if _holds_flag(data[name]):
                    raise PydanticCustomError("flag_not_number", "{field} must be a number, not true or false",
                                              {"field": name, "value": data[name]})
        return data

    @model_validator(mode="after")
    def _within_unit_limits(self) -> Any:
        for name, (limit, unit) in _field_checks(type(self))[1].items():
            value = getattr(self, name)
            if _largest(value) > limit:
                raise PydanticCustomError("unit_limit", "{field} must be at most {limit} {unit}",
                                          {"field": name, "limit": f"{limit:,g}", "unit": unit, "value": value})
        return self


_CHECKS: dict[type, tuple[frozenset[str], dict[str, tuple[float, str]]]] = {}


def _field_checks(model: type[BaseModel]) -> tuple[frozenset[str], dict[str, tuple[float, str]]]:
    """A model's fields that hold numbers, and the unit limits of its fields (worked out once per model)."""
    if model not in _CHECKS:
        numbers = frozenset(name for name, f in model.model_fields.items() if _numeric(f.annotation))
        limits = {}
        for name, f in model.model_fields.items():
            unit = f.json_schema_extra.get("unit", "") if isinstance(f.json_schema_extra, dict) else ""
            if unit_limit(unit) is not None:
                limits[name] = (unit_limit(unit), unit)
        _CHECKS[model] = (numbers, limits)
    return _CHECKS[model]


def _holds_flag(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_flag(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_flag(v) for v in value.values())
    return False


def _largest(value: Any) -> float:
    """The largest number in a value (a number, or a list or mapping of numbers); -inf if none."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple)):
        return max((_largest(v) for v in value), default=-math.inf)
    if isinstance(value, dict):
        return max((_largest(v) for v in value.values()), default=-math.inf)
    return -math.inf


@functools.cache
def _numeric(annotation: Any) -> bool:
    """Whether a field holds only numbers (or lists and mappings of numbers)."""
    leaves = _leaf_types(annotation)
    return bool(leaves & {int, float}) and leaves <= {int, float, str, type(None)}


def _leaf_types(annotation: Any) -> set:
    if get_origin(annotation) is Literal:
        return {Literal}
    if get_origin(annotation) is Annotated:
        return _leaf_types(get_args(annotation)[0])
    arguments = [a for a in get_args(annotation) if a is not Ellipsis]
    if arguments:
        return set().union(*(_leaf_types(a) for a in arguments))
    return {annotation}


# --- the world -----------------------------------------------------------------------------


class Area(Model):
    name: str = param(..., "name", "Area name, unique in the scenario.", min_length=1)
    referrals_per_month: float = param(..., "people/month", "Mean monthly referrals to the service in this area.", ge=0)
    referrals_by_group: tuple[dict[str, float], ...] = param(
        (), "people/month", "Monthly referrals by need group in each run year, the last holding for later years "
        "(from world.areas_file); empty: referrals_per_month split by the need groups' shares.",
    )


class Region(Model):
    name: str = param(..., "name", "Region name, unique in the scenario.", min_length=1)
    areas: tuple[Area, ...] = param(..., "areas", "Areas in the region.", min_length=1)


OLD_NAMES = {"job_loss_rate": "relapse_rate"}  # need-group field names from before the words were service-neutral


class NeedGroup(Model):
    name: str = param(..., "name", "Need group name, unique in the scenario.", min_length=1)
    referral_share: float = param(..., "share", "Share of referrals in this group; shares sum to 1.", ge=0, le=1)
    no_support_outcome_rate: float = param(
        ..., "share/year", "Chance a person reaches the outcome within a year with no support (non-intervention rate).",
        NON_INTERVENTION, ge=0, lt=1,
    )
    cost_to_serve_gbp_per_month: float = param(
        ..., "GBP/person-month", "Front-line staff cost of supporting one person for a month.", ge=0
    )
    max_months: int = param(24, "months", "Longest time a person stays on the programme.", "taen.org.uk: up to 2 years", ge=1, le=120)
    sustain_weeks: int = param(
        26, "weeks", "Weeks the outcome must last (in work, housed, not reoffending) before it is paid.", "sector: L&W (26 weeks JSA, 13 weeks others)", ge=0, le=104
    )
    relapse_rate: float = param(
        0.06, "share/month", "Chance a person who has reached the outcome (in work, housed, desisting) loses it in a month "
        "before it is sustained.", ge=0, lt=1,
    )

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        """Earlier, employment-only names are still read, with a note saying what to write instead."""
        if isinstance(data, dict):
            for old, new in OLD_NAMES.items():
                if old in data and new not in data:
                    print(f"world.need_groups.{data.get('name', '?')}.{old} is deprecated: write {new} instead", file=sys.stderr)
                    data = {**{k: v for k, v in data.items() if k != old}, new: data[old]}
        return data


class World(Model):
    regions: tuple[Region, ...] = param(..., "regions", "Regions and their areas.", min_length=1)
    need_groups: tuple[NeedGroup, ...] = param(..., "groups", "Need groups of the people referred.", min_length=1)
    referral_months: int | None = param(
        None, "months", "Months during which referrals arrive (None: the whole run); delivery continues after.", ge=1
    )
    referral_volume_by_year: tuple[PositiveFloat, ...] = param(
        (), "multiplier", "Multiplier on every area's referrals in each run year; the last holds for later years."
    )
    referral_mix_by_year: tuple[dict[str, float], ...] = param(
        (), "share", "Need-group shares of referrals in each run year (each sums to 1); the last holds. Empty: referral_share."
    )
    areas_file: str = param(
        "", "path", "CSV of the user's areas (area, region, referrals per month by need group, optionally by year), "
        "relative to the scenario file; read when the scenario is loaded into world.regions. Empty: none.",
    )

    @model_validator(mode="after")
    def _check(self) -> World:
        require_unique("world.regions", [r.name for r in self.regions])
        require_unique("world.areas", [a.name for r in self.regions for a in r.areas])
        require_unique("world.need_groups", [g.name for g in self.need_groups])
        if not any(a.referrals_per_month > 0 for a in self.areas):
            raise ValueError("world areas' referrals_per_month must be above 0 in at least one area (got 0 in every area)")
        total = sum(g.referral_share for g in self.need_groups)
        if abs(total - 1) > 1e-6:
            raise ValueError(f"world.need_groups referral_share values must sum to 1 (got {total:.4g})")
        names = [g.name for g in self.need_groups]
        for area in self.areas:
            for year, rates in enumerate(area.referrals_by_group):
                _same_keys(f"world.areas.{area.name}.referrals_by_group.{year}", rates, names)
        for year, mix in enumerate(self.referral_mix_by_year):
            _same_keys(f"world.referral_mix_by_year.{year}", mix, names)
            if abs(sum(mix.values()) - 1) > 1e-6 or min(mix.values()) < 0:
                raise ValueError(f"world.referral_mix_by_year.{year} shares must be >= 0 and sum to 1 (got {sum(mix.values()):.4g})")
        return self

    @property
    def areas(self) -> tuple[Area, ...]:
        return tuple(a for r in self.regions for a in r.areas)


# --- the provider sector -------------------------------------------------------------------

ProviderKind = Literal[
    "national_firm", "regional_firm", "major_charity", "large_charity", "medium_charity",
    "small_charity", "community_group", "public_body",
]
Reach = Literal["area", "region", "national"]


class ProviderBand(Model):
    kind: ProviderKind = param(..., "kind", "Kind of organisation.")
    count: int = param(..., "providers", "Number of providers of this kind at the start.", ge=0)
    turnover_gbp: float = param(..., "GBP/year", "Mean annual turnover (lognormal across providers).", NCVO, gt=0)
    turnover_spread: float = param(0.5, "log sd", "Spread of turnover across providers (sd of log turnover).", ge=0, le=3)
    reserves_months: float = param(
        3.0, "months of turnover", "Mean free reserves, in months of turnover.", "Lloyds Bank Foundation; NCVO", ge=0
    )
    overhead_rate: float = param(0.15, "share of staff cost", "Overheads on top of front-line staff cost.", ge=0, le=2)
    management_capacity: float = param(
        0.5, "index 0-1", "Management, finance, accountability and evaluation capacity.", ge=0, le=1
    )
    effectiveness: dict[str, float] = param(
        ..., "share/year", "Mean extra yearly chance of an outcome that the provider adds, by need group."
    )
    effectiveness_spread: float = param(
        0.25, "relative sd", "Spread of effectiveness across providers of this kind (relative sd).", ge=0, le=2
    )
    reach: Reach = param("area", "scope", "Where a provider can deliver: its own area, its region, or everywhere.")
    staff_turnover: float = param(0.2, "share/year", "Share of staff leaving each year.", STAFF_TURNOVER, ge=0, le=1)


class NamedProvider(Model):
    """One of the user's own providers (from sector.providers_file), every value given or filled from its kind's band."""

    name: str = param(..., "name", "Provider name, unique in the sector.", min_length=1)
    kind: ProviderKind = param(..., "kind", "Kind of organisation.")
    turnover_gbp: float = param(..., "GBP/year", "Annual turnover.", gt=0)
    reserves_gbp: float = param(..., "GBP", "Free reserves.", ge=0)
    home_area: str = param(..., "area", "The area it is based in.")
    reach: Reach = param("area", "scope", "Where it can deliver: its own area, its region, or everywhere.")
    effectiveness: dict[str, float] = param(..., "share/year", "Extra yearly chance of an outcome it adds, by need group.")
    management_capacity: float = param(0.5, "index 0-1", "Management, finance and evaluation capacity.", ge=0, le=1)
    overhead_rate: float = param(0.15, "share of staff cost", "Overheads on top of front-line staff cost.", ge=0, le=2)
    staff_turnover: float = param(0.2, "share/year", "Share of staff leaving each year.", ge=0, le=1)


class SectorDynamics(Model):
    staff_turnover_effect: float = param(
        1.0, "quality per unit turnover", "How much a unit of yearly staff turnover lowers delivery quality.", ge=0, le=3
    )
    overload_elasticity: float = param(
        1.0, "elasticity", "How fast quality falls when caseload exceeds capacity.", ge=0, le=5
    )
    capacity_headroom: float = param(0.1, "share", "Spare places a winner plans above its expected caseload.", ge=0, le=2)
    fixed_cost_share: float = param(
        0.0, "share", "Share of front-line cost that is fixed: staff and premises for the caseload a holder planned on its "
        "forecast, paid whether or not the places fill.", ge=0, le=1,
    )
    compliance_gbp_per_month: float = param(
        3000.0, "GBP/contract-month", "Monthly contract compliance and reporting cost at middling management capacity.", ge=0
    )
    reinvest_share: float = param(0.5, "share", "Share of a year's surplus turned into delivery capacity.", ge=0, le=1)
    learning_rate: float = param(
        0.05, "share/year", "Yearly relative gain in effectiveness from a year of delivery experience.", ge=0, le=1
    )
    max_learning: float = param(0.5, "share", "Largest total relative gain from experience.", ge=0, le=5)
    shrink_rate: float = param(0.25, "share/year", "Yearly fall in turnover of a provider that lost all service income.", ge=0, le=1)
    exit_turnover_gbp: float = param(10_000.0, "GBP/year", "A provider whose turnover falls below this closes.", ge=0)
    entrants_per_year: float = param(6.0, "providers/year", "Mean number of new small providers entering each year.", ge=0)
    entrant_effectiveness_spread: float = param(
        0.5, "relative sd", "Spread of new entrants' effectiveness (innovation is uncertain).", ge=0, le=3
    )
    max_contract_to_turnover: float = param(
        1.5, "ratio", "Largest yearly contract value a provider takes on, as a multiple of its turnover, at management capacity 0.5 (scales with 0.5 + capacity).", gt=0
    )


class Exits(Model):
    review_every_months: int = param(
        6, "months", "How often each provider reviews each contract it is in on its forward-looking economics.", "assumption", ge=1, le=60
    )
    notice_months: int = param(
        3, "months", "Notice a provider gives before handing a contract back or leaving a supply chain.", "assumption", ge=0, le=24
    )
    bearable_loss_share: float = param(
        0.5, "share of reserves",
        "Expected loss over a contract's remaining term a provider bears before handing it back (0: any expected loss).",
        "assumption", ge=0, le=10,
    )
    enabled: bool = param(True, "flag", "Providers hand back loss-making contracts with notice (else they deliver until they fail).")
    weigh_working_capital: bool = param(
        True, "flag",
        "At each review a provider also weighs the working capital payment by results still needs before the contract "
        "ends (the deepest fall of its cash ahead) against its reserves, and gives notice when it cannot fund it "
        "(else only the expected loss over the remaining term counts).", "assumption",
    )


MISSION_GBP_PER_OUTCOME = {  # assumption: the voluntary sector's mission grows as organisations get smaller
    "national_firm": 0.0, "regional_firm": 0.0, "major_charity": 500.0, "large_charity": 750.0, "medium_charity": 1000.0,
    "small_charity": 1500.0, "community_group": 1500.0, "public_body": 1000.0,
}


class Effort(Model):
    enabled: bool = param(
        True, "flag", "Providers choose their effort per need group from what an outcome pays them (else full effort for everyone)."
    )
    variable_cost_share: float = param(
        0.5, "share of front-line cost", "Part of a person's monthly front-line cost that scales with effort (cost at effort e: "
        "1 - v + v e^2 of the full cost).", "assumption", gt=0, le=1,
    )
    floor: float = param(
        0.2, "effort 0-1", "Least effort anyone on a caseload gets: the contract's minimum service (calls, appointments).",
        "assumption", ge=0, le=1,
    )
    mission_gbp_per_outcome: dict[ProviderKind, float] = param(
        MISSION_GBP_PER_OUTCOME,
        "GBP/outcome", "What an outcome is worth to a provider beyond its pay (its mission), by kind: voluntary providers "
        "work for people their pay does not reward. Kinds not given keep these defaults.", "assumption",
    )

    @field_validator("mission_gbp_per_outcome")
    @classmethod
    def _finite_mission(cls, values: dict[str, float]) -> dict[str, float]:
        for kind, value in values.items():
            if not (0.0 <= value <= 1e6):
                raise ValueError(f"mission_gbp_per_outcome[{kind}] must be between 0 and 1,000,000 GBP (got {value})")
        return {**MISSION_GBP_PER_OUTCOME, **values}


class Sector(Model):
    bands: tuple[ProviderBand, ...] = param(..., "bands", "Provider kinds and size bands at the start.", min_length=1)
    small_max_turnover_gbp: float = param(
        1_000_000.0, "GBP/year",
        "Providers below this turnover count as small: NCVO's micro, small and medium charities (under GBP 1m), "
        "the little platoons that set-asides, capacity grants and the small-provider metrics are for.", NCVO, gt=0
    )
    size_band_edges_gbp: tuple[float, ...] = param(
        (10_000.0, 100_000.0, 1_000_000.0, 10_000_000.0, 100_000_000.0), "GBP/year",
        "Turnover edges of NCVO's size bands micro/small, small/medium, medium/large, large/major, major/super-major.", NCVO,
    )
    dynamics: SectorDynamics = param(SectorDynamics, "-", "Growth, learning, entry and exit.")
    exits: Exits = param(Exits, "-", "Providers walking away from contracts before insolvency.")
    effort: Effort = param(Effort, "-", "How hard providers work for each need group, from what an outcome pays them.")
    providers: tuple[NamedProvider, ...] = param(
        (), "providers", "The user's own providers (from sector.providers_file); when given they are the starting sector "
        "and the bands serve only as defaults by kind and for entrants.",
    )
    providers_file: str = param(
        "", "path", "CSV of the user's providers (name, kind, turnover_gbp, reserves_gbp, home_area, areas_served, "
        "optionally effectiveness_<group> and management_capacity), relative to the scenario file. Empty: none.",
    )


# --- the commissioning design --------------------------------------------------------------


class LotSpec(Model):
    name: str = param(..., "name", "Lot name, unique in the design.", min_length=1)
    areas: tuple[str, ...] = param(..., "areas", "Areas whose referrals the lot covers.", min_length=1)
    referral_share: float = param(1.0, "share", "Share of the areas' referrals the lot receives.", gt=0, le=1)
    set_aside: bool = param(False, "flag", "Reserved for small providers.")


class LotPlan(Model):
    structure: Literal["national", "regional", "area", "explicit"] = param(
        "regional", "structure", "How areas are grouped into lots."
    )
    explicit: tuple[LotSpec, ...] = param((), "lots", "The lots, when structure is explicit.")
    lots_per_area: int = param(
        1, "lots", "With structure `area`: sub-area lots per area, sharing its referrals at random.", ge=1, le=100
    )
    set_aside_share: float = param(0.0, "share", "Share of lots reserved for small providers.", "EU Directive 2014/24 art. 46", ge=0, le=1)
    max_lots_per_provider: int | None = param(None, "lots", "Most lots one provider may win.", "EU Directive 2014/24 art. 46", ge=1)
    package_bids: bool = param(False, "flag", "Providers may bid for bundles of lots in their region.")
    set_aside_by: Literal["spread", "smallest"] = param(
        "spread", "rule", "How set_aside_share picks its lots: spread evenly through the list of lots, or the smallest "
        "lots (fewest expected referrals) first.",
    )
    set_aside_lots: tuple[str, ...] = param((), "lots", "Lots reserved for small providers, by name.")
    set_aside_areas: tuple[str, ...] = param((), "areas", "Lots covering any of these areas are reserved for small providers.")


class Eligibility(Model):
    min_turnover_gbp: float = param(0.0, "GBP/year", "Turnover a bidder needs to be eligible.", WP_FRAMEWORK, ge=0)
    min_reserves_gbp: float = param(0.0, "GBP", "Reserves a bidder needs to be eligible.", ge=0)


class GroupPrices(Model):
    block_gbp_per_referral: float = param(
        0.0, "GBP/expected referral", "Fixed payment per expected referral, paid monthly whatever happens.", ge=0
    )
    fee_gbp_per_month: float = param(0.0, "GBP/person-month", "Fee for each person on the caseload each month.", ge=0)
    attachment_fee_gbp: float = param(0.0, "GBP/referral", "Paid when a person starts.", WPC_2013, ge=0)
    outcome_fee_gbp: float = param(0.0, "GBP/outcome", "Paid when an outcome has been sustained.", WPC_2013, ge=0)
    sustainment_gbp: float = param(0.0, "GBP/4 weeks", "Paid every 4 weeks the outcome lasts after it is first paid.", WPC_2013, ge=0)
    sustainment_payments: int = param(0, "payments", "Most sustainment payments per person.", WPC_2013, ge=0, le=120)


class YearMultipliers(Model):
    block: float = param(1.0, "multiplier", "Block payment multiplier in this contract year.", ge=0)
    fee: float = param(1.0, "multiplier", "Fee multiplier in this contract year.", ge=0)
    attachment: float = param(1.0, "multiplier", "Attachment fee multiplier in this contract year.", WPC_2013, ge=0)
    outcome: float = param(1.0, "multiplier", "Outcome fee multiplier in this contract year.", ge=0)
    sustainment: float = param(1.0, "multiplier", "Sustainment payment multiplier in this contract year.", ge=0)


class Payment(Model):
    by_group: dict[str, GroupPrices] = param(..., "prices", "List prices by need group (before a winner's discount).")
    by_year: tuple[YearMultipliers, ...] = param(
        (), "multipliers", "Multipliers by contract year; the last one holds for later years."
    )
    outcome_lag_months: int = param(
        0, "months", "Months between an outcome being sustained and the data that pays it arriving.",
        "JC 2014: about 2 years' data lag in Transforming Rehabilitation", ge=0, le=60,
    )


class PrimeRules(Model):
    management_fee: float = param(0.15, "share", "Share of payments the prime keeps before passing them down.", ge=0, lt=1)
    risk_passed_down: float = param(
        1.0, "share", "Share of outcome risk passed to subcontractors (the rest is paid to them as a fee).", ge=0, le=1
    )
    tier2_risk_passed_down: float | None = param(
        None, "share", "The same for tier-2 subcontractors, where it differs (None: as tier 1).", "JC 2014: tier 3 carries no risk", ge=0, le=1
    )
    referral_policy: Literal["fair", "cream", "starve_tier2", "profit"] = param(
        "fair", "policy",
        "How the prime routes referrals between in-house delivery and subcontractors: fixed shares (`fair`, "
        "`cream`, `starve_tier2`), or by its own profit per referral within each member's capacity, planned "
        "in the bid and reviewed each year (`profit`, platoons.market.routing).",
    )
    in_house_share: float = param(0.4, "share", "Share of referrals the prime delivers itself under a fair policy.", ge=0, le=1)
    tier2_share: float = param(0.2, "share", "Share of referrals for tier-2 specialists under a fair policy.", ge=0, le=1)
    tier1_per_contract: int = param(3, "subcontractors", "End-to-end (tier-1) subcontractors a prime names.", ge=0)
    tier2_per_contract: int = param(6, "subcontractors", "Specialist (tier-2) subcontractors a prime names.", ge=0)
    cream_strength: float = param(0.6, "share", "How far `cream` tilts easy people in house and hard people out.", ge=0, le=1)
    starve_factor: float = param(0.1, "share", "Share of their fair referrals tier-2 receive under `starve_tier2`.", ge=0, le=1)
    minimum_named_share: float = param(
        0.0, "share",
        "Share of each need group's referrals that every named subcontractor must receive, whatever the routing "
        "(a ring-fence for named subcontractors, as commissioners later wrote into contracts); 0: none. "
        "Where the named subcontractors' floors add up to more than the whole, each gets an equal part.",
        ge=0, le=1,
    )
    pass_down: Literal["all", "outcome_only"] = param(
        "all", "rule",
        "What a prime passes to a subcontractor: every payment less its fee (`all`), or outcome and sustainment pay "
        "only (`outcome_only`: the prime keeps attachment fees, service fees and block payments for referrals it passes on).",
    )

    @model_validator(mode="after")
    def _check(self) -> PrimeRules:
        if self.in_house_share + self.tier2_share > 1 + 1e-9:
            raise ValueError(
                f"design.delivery.prime in_house_share + tier2_share must be <= 1 "
                f"(got {self.in_house_share + self.tier2_share:.4g})"
            )
        return self


class ConsortiumRules(Model):
    coordination_cost: float = param(0.08, "share of income", "Share of income the consortium centre spends on coordination.", ge=0, lt=1)
    joint_liability: bool = param(True, "flag", "Members cover a failed member's losses.")
    members: int = param(8, "providers", "Most members in one consortium.", ge=2)
    friction_per_member: float = param(
        0.02, "quality/member", "Quality lost per member to a weak centre and infighting.", ge=0, le=0.2
    )
    max_member_turnover_gbp: float = param(
        10_000_000.0, "GBP/year",
        "Largest turnover of a consortium member: the organisations too small to bid for a regional lot alone "
        "(NCVO's large band and below).", "assumption; band edge from NCVO", gt=0,
    )


PLYMOUTH = "councils.coop: Plymouth merged 25 contracts into one alliance of 8 members"
PETERBOROUGH = "i-for-change: Peterborough SIB paid if events fell 10% in a cohort or 7.5% across cohorts"


class AllianceRules(Model):
    members: int = param(8, "providers", "Members the commissioner selects per lot.", PLYMOUTH, ge=1)
    commissioner_share: float = param(
        0.5, "share", "Share of a year's surplus or overspend against the pooled budget that the commissioner keeps or bears.",
        ge=0, le=1,
    )
    budget_margin: float = param(
        0.05, "share", "Pooled budget above members' expected front-line and overhead costs (compliance comes out of it).", ge=-0.5, le=1
    )


class OutcomesFinanceRules(Model):
    cohort_threshold: float = param(
        0.10, "relative gain", "Outcomes must beat the comparison group by this much for a cohort to be paid.", PETERBOROUGH, ge=0
    )
    pooled_threshold: float = param(
        0.075, "relative gain", "Or by this much pooled across all cohorts, paid at the last evaluation.", PETERBOROUGH, ge=0
    )
    investor_margin: float = param(
        0.05, "share", "Mark-up on providers' expected front-line and overhead costs in the fee investors pay them (covers compliance and margin).",
        ge=-0.5, le=1,
    )
    max_payments_gbp: float | None = param(
        None, "GBP", "Most the commissioner pays investors over the run (Peterborough: GBP 8m).", PETERBOROUGH, ge=0
    )
    investor_hurdle: float = param(
        0.05, "share/year",
        "Yearly return investors must expect (on the provider's own expected outcomes, given the thresholds, the cap and "
        "the comparison group) before they fund a contract; investors who have lost money on evaluated cohorts fund no more.",
        "assumption: social investors accept below-market returns", ge=-1, le=1,
    )


class Delivery(Model):
    model: Literal["direct", "prime", "consortium", "alliance", "outcomes_finance"] = param(
        "direct", "model", "Who holds the contract, who delivers, and who carries the outcome risk."
    )
    prime: PrimeRules = param(PrimeRules, "-", "Rules for prime contractors.")
    consortium: ConsortiumRules = param(ConsortiumRules, "-", "Rules for consortia.")
    alliance: AllianceRules = param(AllianceRules, "-", "Rules for alliance contracts (shared budget, gain and pain share).")
    outcomes_finance: OutcomesFinanceRules = param(OutcomesFinanceRules, "-", "Rules for outcomes finance (social investors).")


class ContractTerms(Model):
    length_months: int = param(84, "months", "Contract length.", "taen.org.uk: about 7 years", ge=1)
    retender: bool = param(True, "flag", "Re-tender at contract end (else contracts run to the end of the run).")
    volume_band: float | None = param(
        None, "share",
        "Each year the commissioner reconciles volume-related pay (block, fees, attachment) when referrals fall outside "
        "this share either side of the contracted volume, to what it would be at the band's edge (None: no reconciliation).",
        "JC 2014: fee-for-service on volume bands with annual reconciliation (band width an assumption)", ge=0, le=1,
    )


class AwardWeights(Model):
    quality_weight: float = param(0.3, "weight", "Weight of quality against price in the award.", ge=0, le=1)
    local_presence_weight: float = param(0.0, "quality points", "Quality bonus for a bidder present in the lot's areas.", ge=0, le=1)
    chain_scored_as: Literal["routed", "named"] = param(
        "routed", "rule",
        "How the award scores a team's effectiveness: at the referral shares its bid plans (`routed`), or each need "
        "group at the best provider the bid names (`named`: a commissioner that cannot see routing scores the supply "
        "chain offered).",
    )


class Bidding(Model):
    optimism: float = param(
        0.35, "relative", "Mean overestimate of their own effectiveness by bidders.", NAO_2012, ge=0, le=3
    )
    optimism_spread: float = param(0.15, "relative sd", "Spread of bidder optimism.", ge=0, le=3)
    target_margin: float = param(0.05, "share", "Margin on expected cost a bidder prices in.", ge=-0.5, le=1)
    shading_rule: Literal["rivals", "fixed"] = param(
        "fixed", "rule",
        "How far above break-even a bidder prices: 'rivals' shades by the first-price auction equilibrium with the number "
        "of credible rivals it expects (b = c + (list - c) / n; Vickrey 1961, Krishna 2010; uniform private costs an "
        "assumption); 'fixed' keeps price_shading of the room below list price whatever the rivals (the default until "
        "the presets are recalibrated under 'rivals').",
    )
    price_shading: float = param(
        0.85, "share", "Under shading_rule 'fixed': share of the gap between its break-even price and the list price a bidder keeps.",
        "assumption, set so that winning discounts sit near NAO 2012's 6%", ge=0, le=1,
    )
    volume_bias: float = param(
        0.0, "share", "Share by which the referrals that arrive differ from the forecast a lot is let and priced on "
        "(negative: fewer arrive than forecast).", ge=-0.9, le=5,
    )
    volume_error: float = param(
        0.0, "log sd", "Spread of each bidder's own forecast of a lot's referrals around the published forecast (mean-one lognormal).",
        ge=0, le=2,
    )
    mix_error: float = param(
        0.0, "log sd", "Spread of each bidder's forecast of a lot's need-group mix (mean-one lognormal by group; the total is kept).",
        ge=0, le=2,
    )
    bid_cost_gbp: float = param(15_000.0, "GBP/bid", "Fixed cost of writing one bid.", ge=0)
    bid_cost_share: float = param(0.002, "share of annual value", "Variable bid cost per bid.", ge=0, le=0.2)
    bid_budget_share: float = param(0.25, "share of reserves", "Most of its reserves a provider spends on bids in a tender.", ge=0, le=1)
    risk_appetite: float = param(
        1.0, "share of reserves", "Most of its reserves a provider puts at risk as working capital for payment by results.", gt=0, le=5
    )


class CapacityGrants(Model):
    budget_gbp_per_year: float = param(0.0, "GBP/year", "Yearly grant budget for small providers.", ge=0)
    grant_gbp: float = param(85_000.0, "GBP/grant", "Size of one grant.", ICRF, gt=0)
    management_gain: float = param(
        0.15, "index points/grant", "Rise in management capacity a grant buys.", ge=0, le=1
    )
    reserves_share: float = param(0.4, "share", "Share of a grant kept as reserves (bid-writing, working capital).", ge=0, le=1)
    target: Literal["small", "small_local"] = param("small", "rule", "Who may receive grants: small providers, or small providers with area reach.")
    areas: tuple[str, ...] = param((), "areas", "Only providers based in these areas may receive grants (empty: anywhere).")
    bid_writing_gain: float = param(
        0.25, "share", "Cut in a recipient's bid-writing cost for the rest of the run.", ge=0, le=1
    )


MPL = "WPC 2013; sector: minimum performance level = non-intervention rate + 10 points (+5 in year 1)"


class PerformanceRules(Model):
    min_points: float | None = param(
        None, "share/year", "Points above the no-support rate a contract's yearly outcome rate must reach (None: no minimum).",
        MPL, ge=0, le=1,
    )
    first_year_points: float = param(0.05, "share/year", "The same in the contract's first year.", MPL, ge=0, le=1)
    groups: tuple[str, ...] = param((), "groups", "Need groups the minimum applies to (empty: all).", MPL)
    share_shift: float = param(
        0.05, "share", "Share of its areas' referrals a contract below the minimum loses to competitors each year.", MPL, ge=0, le=1
    )
    terminate_after: int | None = param(
        3, "years", "Consecutive years below the minimum before termination (None: never).", MPL, ge=1
    )


StewardshipAction = Literal["extend", "direct_award", "relax_and_relet", "last_resort", "leave_unserved"]


class Stewardship(Model):
    policy: tuple[StewardshipAction, ...] = param(
        ("extend", "direct_award", "last_resort"), "actions",
        "What the commissioner tries, in order, when a lot has no holder (a tender drew no acceptable bid, the holder "
        "failed or handed it back): extend the incumbent, re-let at once on relaxed terms, award directly to the best "
        "remaining eligible provider, give it to the provider of last resort, or leave it unserved and re-let every `relet_every_months`.",
        "assumption", min_length=1,
    )
    extend_months: int = param(12, "months", "Length of an extension of the incumbent's contract.", "assumption", ge=1, le=60)
    relet_every_months: int = param(
        3, "months", "How often a lot left without a holder is tendered again (leave_unserved, and relax_and_relet unless the "
        "lot lost its holder this month): a competitive re-let takes about a quarter to run again.", "assumption", ge=1, le=24,
    )
    relax_price_cap: float = param(
        1.2, "share of list price", "Highest price a relaxed re-let accepts (threshold and set-aside are lifted too).", "assumption", ge=1, le=3
    )
    last_resort_cost_factor: float = param(
        1.25, "share of cost to serve", "Monthly cost per person of the in-house provider of last resort, relative to the group's cost to serve (paid open book).",
        "assumption", ge=0.5, le=5,
    )
    last_resort_effectiveness: float = param(
        0.8, "share of sector mean", "Effectiveness of the provider of last resort in each need group, as a share of the active providers' mean.",
        "assumption", ge=0, le=2
    )


class Transitions(Model):
    mobilisation_gbp_per_lot: float = param(
        25_000.0, "GBP/lot", "What an incoming holder spends setting up a lot it takes over at a re-let.", "assumption", ge=0
    )
    mobilisation_months: int = param(
        2, "months", "Months after a re-let in which the incoming holder delivers at reduced quality.", "assumption", ge=0, le=12
    )
    mobilisation_quality: float = param(
        0.5, "share", "Delivery quality during mobilisation, relative to normal.", "assumption", ge=0, le=1
    )
    transfer_gbp_per_person: float = param(
        150.0, "GBP/person", "What moving one person's case (and the staff who follow, TUPE) costs the incoming holder.", "assumption", ge=0
    )
    inherited_attachment_share: float = param(
        1.0, "share of list attachment fee",
        "What the commissioner pays an incoming provider for each person on a caseload it takes over, as a share of the "
        "group's list attachment fee (before the yearly taper): the inherited person's support starts again with a "
        "provider whose outcome payments for them lie months ahead, as it did at referral (0: nothing, the old rule).",
        "assumption", ge=0, le=5,
    )
    taper_by: Literal["programme_year", "contract_year"] = param(
        "programme_year", "rule", "Whether the payment table's changes by year follow the programme's years or each contract's own.",
        "assumption",
    )


class CommissioningCosts(Model):
    procurement_gbp_per_lot: float = param(
        15_000.0, "GBP/lot", "Commissioner's cost of tendering one lot (specification, evaluation panel, award).", "assumption", ge=0
    )
    evaluation_gbp_per_bid: float = param(500.0, "GBP/bid", "Commissioner's cost of evaluating one bid for one lot.", "assumption", ge=0)
    contract_management_gbp_per_year: float = param(
        20_000.0, "GBP/contract-year", "Commissioner's cost of managing one contract for a year.", "assumption", ge=0
    )
    outcomes_evaluation_gbp_per_year: float = param(
        50_000.0, "GBP/contract-year", "Cost of evaluating an outcomes-finance contract against its comparison group.", "assumption", ge=0
    )


class Design(Model):
    name: str = param("design", "name", "Short name of the design.")
    lots: LotPlan = param(LotPlan, "-", "Lot structure.")
    eligibility: Eligibility = param(Eligibility, "-", "Eligibility rules for bidders.")
    delivery: Delivery = param(Delivery, "-", "Delivery model.")
    payment: Payment = param(..., "-", "Payment terms.")
    contract: ContractTerms = param(ContractTerms, "-", "Contract length and re-tender.")
    award: AwardWeights = param(AwardWeights, "-", "Award weights.")
    bidding: Bidding = param(Bidding, "-", "How providers decide to bid and at what price.")
    capacity_grants: CapacityGrants = param(CapacityGrants, "-", "Capacity-building grants for small providers.")
    performance: PerformanceRules = param(PerformanceRules, "-", "Minimum performance levels and what follows a shortfall.")
    stewardship: Stewardship = param(Stewardship, "-", "What the commissioner does when a lot is left without a holder.")
    transitions: Transitions = param(Transitions, "-", "What changing provider costs.")
    commissioning_costs: CommissioningCosts = param(CommissioningCosts, "-", "The commissioner's own costs of tendering and managing contracts.")
    budget_gbp_per_year: float | None = param(
        None, "GBP/year", "The commissioner's envelope: checked before the tender against what the payment table is expected "
        "to cost; spend against it is a metric.", gt=0,
    )
    scale_to_budget: bool = param(
        False, "flag", "Scale the whole payment table so its expected yearly cost at typical performance fits the budget.",
    )


class Run(Model):
    months: int = param(84, "months", "Months simulated.", ge=1, le=600)
    cohort_months: int = param(
        12, "months", "Months of referrals that make one cohort (for cohort outcome rates and outcomes finance).", ge=1
    )
    seed: int = param(0, "seed", "Seed of the run's random numbers.", ge=0)


class Scenario(Model):
    name: str = param("scenario", "name", "Scenario name.")
    description: str = param("", "text", "One line on what the scenario is.")
    world: World = param(..., "-", "Areas, referrals and need groups.")
    sector: Sector = param(..., "-", "The provider sector.")
    design: Design = param(..., "-", "The commissioning design.")
    run: Run = param(Run, "-", "Run settings.")
    provenance: dict[str, str] = param(
        dict, "sources", "Where values the user set came from (parameter path: 'user input (FILE)'); filled in when a "
        "scenario file is loaded, and shown as those values' source instead of the preset's citation.",
    )

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        groups = [g.name for g in self.world.need_groups]
        areas = {a.name for a in self.world.areas}
        for i, band in enumerate(self.sector.bands):
            _same_keys(f"sector.bands.{i}.effectiveness", band.effectiveness, groups)
        _same_keys("design.payment.by_group", self.design.payment.by_group, groups)
        unknown_groups = sorted(set(self.design.performance.groups) - set(groups))
        if unknown_groups:
            raise ValueError(f"design.performance.groups must name known need groups (got unknown {unknown_groups[0]!r})")
        unknown = sorted(set(self.design.capacity_grants.areas) - areas)
        if unknown:
            raise ValueError(f"design.capacity_grants.areas must name known areas (got unknown {unknown[0]!r})")
        lots = self.design.lots
        if lots.structure == "explicit":
            if not lots.explicit:
                raise ValueError("design.lots.explicit must list at least one lot when structure is explicit (got none)")
            require_unique("design.lots.explicit", [lot.name for lot in lots.explicit])
            for i, lot in enumerate(lots.explicit):
                unknown = sorted(set(lot.areas) - areas)
                if unknown:
                    raise ValueError(f"design.lots.explicit.{i}.areas must name known areas (got unknown {unknown[0]!r})")
        require_unique("sector.providers", [q.name for q in self.sector.providers])
        for q in self.sector.providers:
            if q.home_area not in areas:
                raise ValueError(f"sector.providers.{q.name}.home_area must name a known area (got {q.home_area!r})")
            _same_keys(f"sector.providers.{q.name}.effectiveness", q.effectiveness, groups)
        unknown = sorted(set(lots.set_aside_areas) - areas)
        if unknown:
            raise ValueError(f"design.lots.set_aside_areas must name known areas (got unknown {unknown[0]!r})")
        names = self.lot_names()
        unknown = [name for name in lots.set_aside_lots if name not in names]
        if unknown:
            raise ValueError(f"design.lots.set_aside_lots must name lots of the design ({', '.join(names)}) (got unknown {unknown[0]!r})")
        return self

    def lot_names(self) -> list[str]:
        """The names of the lots the design lets, in order (as platoons.market.lots builds them)."""
        plan, areas = self.design.lots, [a.name for a in self.world.areas]
        if plan.structure == "national":
            return ["national"]
        if plan.structure == "regional":
            return [r.name for r in self.world.regions]
        if plan.structure == "area":
            return areas if plan.lots_per_area == 1 else [f"{a}-{i + 1}" for a in areas for i in range(plan.lots_per_area)]
        return [lot.name for lot in plan.explicit]


def require_unique(where: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{where} names must be unique (got {name!r} twice)")
        seen.add(name)


def _same_keys(where: str, mapping: dict[str, Any], groups: list[str]) -> None:
    missing = [g for g in groups if g not in mapping]
    extra = [k for k in mapping if k not in groups]
    if extra:
        raise ValueError(f"{where} must name known need groups (got unknown {extra[0]!r})")
    if missing:
        raise ValueError(f"{where} must give every need group (got none for {missing[0]!r})")
