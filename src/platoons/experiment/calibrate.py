"""Calibration: fit the uncertain provider effects so that a preset reproduces published rates.

Each fitted parameter is a multiplier on every provider band's effectiveness for one need
group; its target is that group's outcome rate over the run (outcomes over referrals, which
equals the cohort rate once every cohort has finished). A group's rate rises with its
multiplier, so the fit is a damped fixed-point iteration on the part of the rate that providers
add above the no-support rate, then a bisection once the target is bracketed, on the same
replicate seeds every round (common random numbers), until every group is within the tolerance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import yaml

from platoons.errors import InputError
from platoons.experiment import execute, plan, summarize
from platoons.market.prices import build_prices, expected_path
from platoons.population import build_world
from platoons.scenario.load import apply_changes, load_scenario, read_yaml_mapping
from platoons.scenario.schema import Scenario


@dataclass(frozen=True)
class Targets:
    source: str
    targets: dict[str, float]  # metric -> value, one per fitted need group
    check: dict[str, float]  # metrics reported beside the fit


@dataclass(frozen=True)
class Fit:
    preset: str
    changes: dict[str, float]
    multipliers: dict[str, float]
    rows: list[dict]  # metric, target, mean, low, high, fitted
    rounds: int
    replicates: int


def read_targets(path: str | Path) -> Targets:
    source = str(path)
    data = read_yaml_mapping(Path(path), source, "a targets mapping")
    if not isinstance(data, dict) or not isinstance(data.get("targets"), dict) or not data["targets"]:
        raise InputError(source, "targets", "a mapping of metric: value", None if not isinstance(data, dict) else data.get("targets"))
    for name, value in {**data["targets"], **(data.get("check") or {})}.items():
        if not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise InputError(source, f"targets.{name}", "a rate from 0 to 1", value)
    return Targets(str(data.get("source", "")), {k: float(v) for k, v in data["targets"].items()},
                   {k: float(v) for k, v in (data.get("check") or {}).items()})


def calibrate(
    preset: str, targets: Targets, replicates: int = 8, rounds: int = 8, tolerance: float = 0.005, seed: int = 0,
    executor: str = "processes", report: Callable[[str], None] = lambda line: None,
) -> Fit:
    baseline = load_scenario(preset)
    groups = _fitted_groups(baseline, targets)
    base_rate = _no_support_rates(baseline)
    multipliers = {g: 1.0 for g in groups}
    # Once a group's rate has been seen on both sides of its target, the multiplier is bisected
    # (geometrically) between the two: the market's response is not smooth (weak providers hand
    # contracts back), and a fixed-point step can jump over the target for ever.
    below = {g: 0.0 for g in groups}
    above = {g: np.inf for g in groups}
    for round_ in range(1, rounds + 1):
        summary = _simulate(_with_multipliers(baseline, multipliers), replicates, seed, executor)
        misses = {g: summary[f"outcome_rate_{g}"]["mean"] - targets.targets[f"outcome_rate_{g}"] for g in groups}
        report(f"round {round_}: " + ", ".join(f"{g} {summary[f'outcome_rate_{g}']['mean']:.3f}" for g in groups))
        if max(abs(m) for m in misses.values()) <= tolerance:
            break
        for g in groups:
            if misses[g] > 0:
                above[g] = min(above[g], multipliers[g])
            else:
                below[g] = max(below[g], multipliers[g])
            if below[g] > 0 and np.isfinite(above[g]):
                multipliers[g] = float(np.sqrt(below[g] * above[g]))
                continue
            added_now = max(summary[f"outcome_rate_{g}"]["mean"] - base_rate[g], 1e-4)
            added_wanted = max(targets.targets[f"outcome_rate_{g}"] - base_rate[g], 1e-4)
            multipliers[g] *= float(np.clip(added_wanted / added_now, 0.5, 2.0))
    fitted = _with_multipliers(baseline, multipliers)
    summary = _simulate(fitted, replicates, seed, executor)
    rows = [
        {"metric": m, "target": t, **summary[m], "fitted": m in targets.targets}
        for m, t in {**targets.targets, **targets.check}.items()
    ]
    return Fit(preset, _changes(baseline, multipliers), multipliers, rows, round_, replicates)


def write_calibrated(fit: Fit, targets: Targets, path: str | Path) -> Path:
    """A preset that is the original plus the fitted effects, with the fit and the date."""
    today = dt.date.today().isoformat()
    header = [
        f"# {fit.preset} calibrated on {today} to: {targets.source}",
        f"# Fitted: a multiplier on every band's effectiveness for each need group ({fit.rounds} rounds,",
        f"# {fit.replicates} replicates on common seeds). Target vs model, mean [90% interval]:",
        *(f"#   {r['metric']}: target {r['target']:.3f}, model {r['mean']:.3f} [{r['low']:.3f}, {r['high']:.3f}]"
          + ("" if r["fitted"] else " (not fitted)") for r in fit.rows),
    ]
    body = {
        "description": f"{fit.preset} with provider effects fitted to published outcome rates ({today})",
        "base": fit.preset,
        "calibration": {"date": today, "source": targets.source, "multipliers": fit.multipliers,
                        "fit": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in fit.rows]},
        "changes": {"name": f"{fit.preset}-calibrated", **fit.changes},
    }
    path = Path(path)
    text = "\n".join(header) + "\n" + yaml.safe_dump(body, sort_keys=False)
    partial = path.with_suffix(".partial")
    partial.write_text(text)
    partial.replace(path)
    return path


def _fitted_groups(scenario: Scenario, targets: Targets) -> list[str]:
    names = [g.name for g in scenario.world.need_groups]
    groups = []
    for metric in targets.targets:
        group = metric.removeprefix("outcome_rate_")
        if not metric.startswith("outcome_rate_") or group not in names:
            raise InputError("targets", metric, f"outcome_rate_<group> for a group of the preset ({', '.join(names)})", metric)
        groups.append(group)
    return groups


def _no_support_rates(scenario: Scenario) -> dict[str, float]:
    world = build_world(scenario)
    path = expected_path(world, world.no_support_hazard, build_prices(scenario))
    return dict(zip(world.group_names, path.outcomes.sum(axis=-1)))


def _changes(scenario: Scenario, multipliers: dict[str, float]) -> dict[str, float]:
    return {
        f"sector.bands.{i}.effectiveness.{g}": round(band.effectiveness[g] * m, 6)
        for i, band in enumerate(scenario.sector.bands) for g, m in multipliers.items()
    }


def _with_multipliers(scenario: Scenario, multipliers: dict[str, float]) -> Scenario:
    return apply_changes(scenario, _changes(scenario, multipliers))


def _simulate(scenario: Scenario, replicates: int, seed: int, executor: str) -> dict[str, dict[str, float]]:
    outcomes = list(execute(plan({"fit": scenario}, replicates, seed), executor))
    return summarize(outcomes)["fit"]
