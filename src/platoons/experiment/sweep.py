"""A resolved experiment: every design's scenario, every future's parameter values, every run's seed.

A run is (design, future, replicate). Its id is `(future * replicates + replicate) * designs +
design`, so the designs of one future and replicate sit side by side. Seeds come from one
`numpy.random.SeedSequence(seed)`: its children are the replicate seeds (the same ones
`platoons compare` uses), shared by every design and every future (common random numbers),
and the root's own state seeds the sampler and the sensitivity bootstrap.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

import platoons
from platoons.errors import InputError
from platoons.experiment.runs import Task, replicate_seeds
from platoons.experiment.sampling import draw, extremes, futures_count, unit_sample
from platoons.experiment.spec import MAX_FUTURES, MAX_RUNS, Experiment, Uncertainty, load_experiment
from platoons.scenario.load import apply_changes, load_scenario, preset_names
from platoons.scenario.schema import Scenario

Target = tuple[str, Any]  # a concrete dotted path and the design's value there


@dataclass(frozen=True)
class Sweep:
    experiment: Experiment
    source: str
    designs: dict[str, Scenario]  # each design's scenario before the uncertainties
    targets: dict[str, tuple[tuple[Target, ...], ...]]  # per design, per uncertainty: what it changes
    unit: np.ndarray  # (futures, uncertainties) in [0, 1]
    values: tuple[dict[str, Any], ...]  # per future: uncertainty name -> drawn value
    seeds: tuple[int, ...]  # per replicate
    scenario_hashes: tuple[tuple[str, ...], ...]  # per future, per design
    hash: str

    @property
    def design_names(self) -> list[str]:
        return list(self.designs)

    @property
    def parameters(self) -> list[str]:
        return [u.name for u in self.experiment.uncertainties]

    @property
    def futures(self) -> int:
        return len(self.values)

    @property
    def replicates(self) -> int:
        return self.experiment.replicates

    @property
    def runs(self) -> int:
        return len(self.designs) * self.futures * self.replicates

    @property
    def analysis_seed(self) -> int:
        return int(np.random.SeedSequence(self.experiment.seed).generate_state(2)[1])

    def locate(self, run_id: int) -> tuple[str, int, int]:
        """(design, future, replicate) of a run."""
        rest, design = divmod(run_id, len(self.designs))
        future, replicate = divmod(rest, self.replicates)
        return self.design_names[design], future, replicate

    def scenario(self, design: str, future: int) -> Scenario:
        """The design's scenario with the future's parameter values applied."""
        return _apply_future(self.designs[design], self.experiment.uncertainties, self.targets[design],
                             self.values[future], f"{self.source}: future {future}")

    def tasks(self, done: np.ndarray | None = None) -> Iterator[Task]:
        """The runs not yet done, in run-id order, built as they are asked for."""
        names = self.design_names
        for future in range(self.futures):
            built: dict[str, Scenario] = {}
            for replicate in range(self.replicates):
                for d, name in enumerate(names):
                    run_id = (future * self.replicates + replicate) * len(names) + d
                    if done is not None and done[run_id]:
                        continue
                    if name not in built:
                        built[name] = self.scenario(name, future)
                    yield Task(name, replicate, self.seeds[replicate], built[name], future=future, run_id=run_id)

    def run_row(self, run_id: int) -> dict[str, Any]:
        """A run's row in the store's runs table."""
        design, future, replicate = self.locate(run_id)
        return {"run_id": run_id, "design": design, "future": future, "replicate": replicate,
                "seed": self.seeds[replicate], **self.values[future],
                "scenario_hash": self.scenario_hashes[future][self.design_names.index(design)],
                "version": platoons.__version__}

    def manifest(self) -> dict[str, Any]:
        """What the store keeps to recognise the experiment and describe it."""
        return {
            "experiment_hash": self.hash, "platoons_version": platoons.__version__, "source": self.source,
            "name": self.experiment.name, "runs": self.runs, "designs": self.design_names,
            "futures": self.futures, "replicates": self.replicates,
            "parameters": [{"name": u.name, "type": u.value_type} for u in self.experiment.uncertainties],
            "sampler": self.experiment.sampler.model_dump() if self.experiment.sampler else None,
            "experiment": self.experiment.model_dump(mode="json"),
        }


def load_sweep(path: str | Path) -> Sweep:
    """Read an experiment file and resolve it into a sweep."""
    return resolve(load_experiment(path), str(path))


def resolve(experiment: Experiment, source: str) -> Sweep:
    """Scenarios, futures and seeds of an experiment; every scenario a run will see is checked here."""
    _check_size(experiment, source)
    base = _load_base(experiment, source)
    if experiment.changes:
        apply_changes(base, experiment.changes, source=f"{source}: changes")
    designs = {spec.label: _design(base, experiment, i, source) for i, spec in enumerate(experiment.designs)}
    uncertainties = experiment.uncertainties
    targets = {name: tuple(_targets(scenario, u, j, source) for j, u in enumerate(uncertainties))
               for name, scenario in designs.items()}
    for name, found in targets.items():
        _one_uncertainty_per_path(found, source, name)
    for j, u in enumerate(uncertainties):
        for value in extremes(u):
            for name, scenario in designs.items():
                _apply_future(scenario, (u,), (targets[name][j],), {u.name: value},
                              f"{source}: uncertainties.{j} ({u.name} = {value!r}) in design {name}")
    root = np.random.SeedSequence(experiment.seed)
    unit = unit_sample(experiment, int(root.generate_state(1)[0]))
    columns = [draw(u, unit[:, j]) for j, u in enumerate(uncertainties)]
    values = tuple({u.name: columns[j][f] for j, u in enumerate(uncertainties)} for f in range(len(unit)))
    seeds = tuple(replicate_seeds(experiment.seed, experiment.replicates))
    hashes = tuple(
        tuple(_scenario_hash(_apply_future(designs[name], uncertainties, targets[name], values[f],
                                           f"{source}: future {f}")) for name in designs)
        for f in range(len(unit))
    )
    identity = {
        "designs": list(designs), "uncertainties": [u.model_dump(mode="json") for u in uncertainties],
        "sampler": experiment.sampler.model_dump() if experiment.sampler else None,
        "values": list(values), "seeds": list(seeds), "scenarios": [list(h) for h in hashes],
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return Sweep(experiment, source, designs, targets, unit, values, seeds, hashes, digest)


def _check_size(experiment: Experiment, source: str) -> None:
    """Refuse an experiment too large to plan before anything is drawn or allocated."""
    futures = futures_count(experiment)
    if futures > MAX_FUTURES:
        raise InputError(source, "sampler", "", None, message=(
            f"sampler makes {futures:,} futures, above the limit of {MAX_FUTURES:,}; use fewer levels, samples or "
            "uncertainties"))
    runs = futures * len(experiment.designs) * experiment.replicates
    if runs > MAX_RUNS:
        raise InputError(source, "replicates", "", None, message=(
            f"the experiment has {runs:,} runs ({len(experiment.designs)} designs x {futures:,} futures x "
            f"{experiment.replicates:,} replicates), above the limit of {MAX_RUNS:,}; reduce one of them"))


def _one_uncertainty_per_path(found: tuple[tuple[Target, ...], ...], source: str, design: str) -> None:
    """Two uncertainties on one parameter would leave one of them without effect: refuse it."""
    owner: dict[str, int] = {}
    for j, targets in enumerate(found):
        for path, _ in targets:
            if path in owner and owner[path] != j:
                raise InputError(source, f"uncertainties.{j}.path", "", None, message=(
                    f"uncertainties.{owner[path]} and uncertainties.{j} both change {path} (in design {design}); "
                    "give each parameter one uncertainty"))
            owner[path] = j


def _load_base(experiment: Experiment, source: str) -> Scenario:
    base = experiment.base
    if base.endswith((".yaml", ".yml")):
        path = Path(source).parent / base
        if not path.is_file():
            raise InputError(source, "base", "an existing scenario file (relative to the experiment) or a preset", base)
        return load_scenario(path)
    if base not in preset_names():
        raise InputError(source, "base", f"a scenario file or one of the presets {', '.join(preset_names())}", base)
    return load_scenario(base)


def _design(base: Scenario, experiment: Experiment, index: int, source: str) -> Scenario:
    spec = experiment.designs[index]
    changes: dict[str, Any] = {}
    if spec.preset is not None:
        if spec.preset not in preset_names():
            raise InputError(source, f"designs.{index}.preset", f"one of the presets {', '.join(preset_names())}",
                             spec.preset)
        changes["design"] = load_scenario(spec.preset).design.model_dump(mode="json")
    changes.update(experiment.changes)
    changes.update(spec.changes)
    changes["design.name"] = spec.label
    return apply_changes(base, changes, source=f"{source}: designs.{index} ({spec.label})")


def _targets(scenario: Scenario, uncertainty: Uncertainty, index: int, source: str) -> tuple[Target, ...]:
    where = f"uncertainties.{index}.path"
    found = _match(scenario.model_dump(mode="json"), uncertainty.path.split("."), [])
    if not found:
        raise InputError(source, where, "a path that matches scenario parameters (see `platoons describe`)",
                         uncertainty.path)
    if uncertainty.kind == "scale" and "*" in uncertainty.path.split("."):
        # A wildcard scales every number beneath it; the words and switches there are not its to change.
        found = [(path, value) for path, value in found if _number(value) or isinstance(value, (dict, list))] or found
    for path, value in found:
        if isinstance(value, (dict, list)):
            raise InputError(source, where, "a path to single parameters, not a section", path)
        if uncertainty.kind == "scale" and not _number(value):
            raise InputError(source, where, "a path to numbers when kind is scale", f"{path} = {value!r}")
    return tuple(found)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _match(node: Any, keys: list[str], prefix: list[str]) -> list[Target]:
    """Concrete paths matching a dotted pattern; `*` takes every list item or mapping key."""
    if not keys:
        return [(".".join(prefix), node)]
    key, rest = keys[0], keys[1:]
    if isinstance(node, dict):
        chosen = list(node) if key == "*" else [key] if key in node else []
        return [t for k in chosen for t in _match(node[k], rest, [*prefix, k])]
    if isinstance(node, list):
        if key == "*":
            indices = range(len(node))
        else:
            names = [item.get("name") if isinstance(item, dict) else None for item in node]
            indices = [int(key)] if key.isdigit() and int(key) < len(node) else [names.index(key)] if key in names else []
        return [t for i in indices for t in _match(node[i], rest, [*prefix, str(i)])]
    return []


def _apply_future(scenario: Scenario, uncertainties: tuple[Uncertainty, ...], targets, values: dict[str, Any],
                  source: str) -> Scenario:
    if not uncertainties:
        return scenario
    changes: dict[str, Any] = {}
    for u, found in zip(uncertainties, targets):
        value = values[u.name]
        for path, original in found:
            current = changes.get(path, original)
            new = current * value if u.kind == "scale" else value
            if isinstance(original, int) and not isinstance(original, bool) and isinstance(new, float):
                new = round(new)  # an integer parameter stays an integer
            changes[path] = new
    return apply_changes(scenario, changes, source=source)


def _scenario_hash(scenario: Scenario) -> str:
    return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()[:16]
