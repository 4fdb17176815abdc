"""What the API and the pages both do, once: start from a preset, a saved design or YAML; save a design; submit a job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from platoons.scenario.load import preset_names
from platoons.scenario.schema import Scenario
from platoons.web.jobs import JobManager, check_job
from platoons.web.scenarios import ClientError, design_yaml, preset_scenario, scenario_from_yaml, slug, with_changes
from platoons.web.store import Design, Job, WebStore


@dataclass(frozen=True)
class Start:
    """Where a design starts: its scenario, and (when it is a preset plus changes) the preset and the changes."""

    scenario: Scenario
    preset: str | None
    changes: dict[str, Any]
    name: str


def start(store: WebStore, preset: str | None = None, design: str | None = None, text: str | bytes | None = None,
          file_name: str = "scenario.yaml") -> Start:
    given = [x for x in (preset, design, text) if x is not None]
    if len(given) != 1:
        raise ClientError("scenario: give exactly one of preset, design or yaml "
                          f"(got {len(given) or 'none'})", "scenario")
    if preset is not None:
        return Start(preset_scenario(preset), preset, {}, f"{preset}-variant")
    if design is not None:
        saved = store.design(design)
        if saved is None:
            raise ClientError(f"design: must be the id of a saved design (got {design!r})", "design")
        text, file_name = saved.yaml, f"{slug(saved.name)}.yaml"
    scenario = scenario_from_yaml(text, file_name)
    data = yaml.safe_load(text)
    name = str(data.get("name") or file_name.rsplit(".", 1)[0])
    if set(data) <= {"name", "base", "changes"} and data.get("base") in preset_names():
        return Start(scenario, data["base"], dict(data.get("changes") or {}), name)
    return Start(scenario, None, {}, name)


def changed(begin: Start, changes: dict[str, Any], source: str = "changes") -> Scenario:
    return with_changes(begin.scenario, changes, source) if changes else begin.scenario


def save(store: WebStore, begin: Start, changes: dict[str, Any], name: str | None) -> Design:
    """Save `begin` with `changes` as a design: as its preset plus every change where it has one."""
    scenario = changed(begin, changes)
    name = (name or begin.name).strip() or begin.name
    if begin.preset is not None:
        text = design_yaml(name, begin.preset, {**begin.changes, **changes}, scenario)
    else:
        text = design_yaml(name, None, {}, scenario)
    scenario_from_yaml(text, f"{slug(name)}.yaml")  # what is saved must load as it is downloaded
    return store.save_design(name, begin.preset, text)


def submit(store: WebStore, jobs: JobManager, kind: str, designs: list[str], replicates: int, seed: int | None,
           changes: dict[str, Any]) -> Job:
    spec, runs = check_job(store, jobs.settings, kind, designs, replicates, seed, changes)
    return jobs.submit(kind, spec, runs)


def summary_line(scenario: Scenario) -> str:
    """What `platoons validate` says of a valid scenario."""
    areas = len(scenario.world.areas)
    bands = sum(b.count for b in scenario.sector.bands)
    return f"valid ({scenario.design.name}: {areas} areas, {bands} providers, {scenario.run.months} months)"
