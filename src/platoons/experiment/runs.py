"""One run of an experiment: what is sent to a worker (a Task) and what comes back (an Outcome)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from platoons.scenario.schema import Scenario
from platoons.simulate import RunResult, simulate

CORE_DESIGNS = ("regional-prime", "consortium", "regional-direct", "local-lots", "local-lots-capacity")


@dataclass(frozen=True)
class Task:
    """A run to do: a design's scenario (with the future's parameter values applied) and a seed."""

    design: str
    replicate: int
    seed: int
    scenario: Scenario
    future: int = 0
    run_id: int = 0


@dataclass(frozen=True)
class Outcome:
    """What an experiment keeps of a run: its metrics, monthly series and money flows, not the ledger."""

    design: str
    replicate: int
    seed: int
    metrics: dict[str, float]
    timeseries: dict[str, np.ndarray]
    flows: dict[str, list]  # money between kinds of party (see platoons.metrics.money_flows)
    future: int = 0
    run_id: int = 0
    tables: dict[str, dict[str, list]] = field(default_factory=dict)  # see platoons.metrics.tables


def replicate_seeds(base_seed: int, replicates: int) -> list[int]:
    """One seed per replicate, shared by every design (common random numbers)."""
    children = np.random.SeedSequence(base_seed).spawn(replicates)
    return [int(child.generate_state(1)[0]) for child in children]


def plan(designs: dict[str, Scenario], replicates: int, base_seed: int) -> list[Task]:
    """Every design on every replicate seed; a task's run id is its place in the list."""
    seeds = replicate_seeds(base_seed, replicates)
    pairs = [(name, r) for r in range(replicates) for name in designs]
    return [Task(name, r, seeds[r], designs[name], run_id=i) for i, (name, r) in enumerate(pairs)]


def run_task(task: Task) -> Outcome:
    """Simulate one task. Every executor calls this, in whatever process it runs."""
    from platoons.metrics import money_flows

    result: RunResult = simulate(task.scenario, task.seed)
    return Outcome(task.design, task.replicate, task.seed, result.metrics, result.timeseries, money_flows(result),
                   future=task.future, run_id=task.run_id, tables=result.tables)
