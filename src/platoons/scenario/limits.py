"""What a run will cost before it starts: an estimate of its peak memory, refused above a limit.

The largest arrays of a run are the bidders' cash-flow forecasts when lots are let: one value
per bidding team, lot, need group and month of a referral's expected path, and then one per
team, lot and month of the contract. Everything else (caseloads, ledger, series) is smaller.
The constants below come from the peak resident memory of single runs of the presets, with
more lots, providers and contract months (measured with getrusage), and err high by about
1.5-3x; tests/test_hostile_stores.py checks the estimate against measured peaks.
"""

from __future__ import annotations

import math
import os

from platoons.errors import InputError
from platoons.scenario.schema import Scenario

MEMORY_LIMIT_GIB = float(os.environ.get("PLATOONS_MEMORY_LIMIT_GIB", "4"))
BASE_BYTES = 150 * 2**20  # the interpreter, numpy, pydantic and the engine's fixed tables
FORECAST_COPIES = 3  # temporaries alive at once while a team's forecast is formed
CASH_COPIES = 3
PRESENCE_COPIES = 4


def lot_count(scenario: Scenario) -> int:
    plan = scenario.design.lots
    areas = len(scenario.world.areas)
    if plan.structure == "national":
        return 1
    if plan.structure == "regional":
        return len(scenario.world.regions)
    if plan.structure == "area":
        return areas * plan.lots_per_area
    return len(plan.explicit)


def provider_count(scenario: Scenario) -> int:
    """Providers at the start plus the entrants a run expects, generously."""
    years = math.ceil(scenario.run.months / 12)
    return sum(b.count for b in scenario.sector.bands) + math.ceil(2 * scenario.sector.dynamics.entrants_per_year * years)


def path_months(scenario: Scenario) -> int:
    """Months of a referral's expected path: programme, sustainment, data lag and sustainment payments."""
    groups = scenario.world.need_groups
    payments = max(p.sustainment_payments for p in scenario.design.payment.by_group.values())
    return (max(g.max_months for g in groups) + max(round(g.sustain_weeks / 4.345) for g in groups)
            + scenario.design.payment.outcome_lag_months + payments + 2)


def estimated_bytes(scenario: Scenario) -> int:
    teams, lots, groups = provider_count(scenario), lot_count(scenario), len(scenario.world.need_groups)
    span = path_months(scenario)
    horizon = max(scenario.design.contract.length_months, span)
    cells = teams * lots * (FORECAST_COPIES * groups * span + CASH_COPIES * horizon)
    cells += PRESENCE_COPIES * teams * len(scenario.world.areas)  # where each provider is present
    return BASE_BYTES + 8 * cells


def check_memory(scenario: Scenario, source: str, limit_gib: float | None = None) -> None:
    """Refuse a scenario whose run would need more than the limit, naming what drives the cost."""
    limit = MEMORY_LIMIT_GIB if limit_gib is None else limit_gib
    need = estimated_bytes(scenario)
    if need <= limit * 2**30:
        return
    raise InputError(source, "scenario", "", None, message=(
        f"a run would need about {need / 2**30:.1f} GiB of memory, above the limit of {limit:g} GiB "
        f"({provider_count(scenario)} providers x {lot_count(scenario)} lots x "
        f"{max(scenario.design.contract.length_months, path_months(scenario))} months); "
        "reduce the providers (sector.bands.*.count), the lots (design.lots) or design.contract.length_months, "
        "or raise PLATOONS_MEMORY_LIMIT_GIB"))
