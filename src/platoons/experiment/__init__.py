"""Comparing designs: many runs over replicates, on common random numbers, summarised.

Executors share one small interface, `map(simulate_task, tasks)`: every executor gives the
same results because each task carries its own seed.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from platoons.scenario.schema import Scenario
from platoons.simulate import RunResult, simulate

CORE_DESIGNS = ("regional-prime", "consortium", "regional-direct", "local-lots", "local-lots-capacity")
INTERVAL = (5.0, 95.0)  # a 90% interval across replicates


@dataclass(frozen=True)
class Task:
    design: str
    replicate: int
    seed: int
    scenario: Scenario


@dataclass(frozen=True)
class Outcome:
    """What a comparison keeps of a run: its metrics and monthly series, not the whole ledger."""

    design: str
    replicate: int
    seed: int
    metrics: dict[str, float]
    timeseries: dict[str, np.ndarray]
    flows: dict[str, list]  # money between kinds of party (see platoons.metrics.money_flows)


def replicate_seeds(base_seed: int, replicates: int) -> list[int]:
    """One seed per replicate, shared by every design (common random numbers)."""
    children = np.random.SeedSequence(base_seed).spawn(replicates)
    return [int(child.generate_state(1)[0]) for child in children]


def plan(designs: dict[str, Scenario], replicates: int, base_seed: int) -> list[Task]:
    seeds = replicate_seeds(base_seed, replicates)
    return [Task(name, r, seeds[r], scenario) for r in range(replicates) for name, scenario in designs.items()]


def run_task(task: Task) -> Outcome:
    from platoons.metrics import money_flows

    result: RunResult = simulate(task.scenario, task.seed)
    return Outcome(task.design, task.replicate, task.seed, result.metrics, result.timeseries, money_flows(result))


def execute(tasks: list[Task], executor: str = "processes", workers: int | None = None) -> Iterator[Outcome]:
    """Run tasks, yielding outcomes in task order."""
    if executor == "sequential" or len(tasks) <= 1:
        yield from map(run_task, tasks)
        return
    if executor != "processes":
        raise ValueError(f"unknown executor {executor!r}")
    workers = workers or min(len(tasks), os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(run_task, tasks, chunksize=max(1, len(tasks) // (workers * 8)))


def summarize(outcomes: Iterable[Outcome]) -> dict[str, dict[str, dict[str, float]]]:
    """Per design and metric: the mean and a 90% interval across replicates."""
    by_design: dict[str, dict[str, list[float]]] = {}
    for outcome in outcomes:
        metrics = by_design.setdefault(outcome.design, {})
        for name, value in outcome.metrics.items():
            metrics.setdefault(name, []).append(value)
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for design, metrics in by_design.items():
        summary[design] = {}
        for name, values in metrics.items():
            array = np.asarray(values, dtype=float)
            finite = array[np.isfinite(array)]
            if len(finite) == 0:
                summary[design][name] = {"mean": float("nan"), "low": float("nan"), "high": float("nan")}
                continue
            low, high = np.percentile(finite, INTERVAL)
            summary[design][name] = {"mean": float(finite.mean()), "low": float(low), "high": float(high)}
    return summary


def with_progress(items: Iterator[Outcome], total: int, show: bool, label: str) -> Iterator[Outcome]:
    """Yield items while a progress bar (with ETA and runs per second) counts them."""
    if not show:
        yield from items
        return
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    started = time.perf_counter()
    with Progress(*columns, transient=True) as progress:
        bar = progress.add_task(label, total=total, rate="")
        for done, item in enumerate(items, start=1):
            rate = done / max(time.perf_counter() - started, 1e-9)
            progress.update(bar, advance=1, rate=f"{rate:.1f} runs/s")
            yield item


Runner = Callable[[Task], Outcome]
