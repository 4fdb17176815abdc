"""The sweep driver: sends runs to an executor and streams their outcomes into the store.

Only the driver writes. It holds one batch of outcomes at most; a sweep killed at any moment
loses the runs in flight and the unwritten batch (at most `batch_size` runs or `flush_seconds`
of work), and `resume` runs exactly the runs that are missing.
"""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from platoons.experiment.executors import Executor, Sequential
from platoons.experiment.progress import with_progress
from platoons.experiment.sensitivity import analyze, future_means, has_sensitivity
from platoons.experiment.summary import describe_values
from platoons.experiment.sweep import Sweep
from platoons.store.guard import hold_lock
from platoons.store.sweep import PARAMETER_TYPES, SweepStore
from platoons.store.views import open_store, write_views

SENSITIVITY_SCHEMA = pa.schema([("design", pa.string()), ("metric", pa.string()), ("parameter", pa.string()),
                                ("index", pa.string()), ("value", pa.float64()), ("conf", pa.float64())])
SUMMARY_SCHEMA = pa.schema([("design", pa.string()), ("metric", pa.string()), ("mean", pa.float64()),
                            ("low", pa.float64()), ("high", pa.float64())])


@dataclass(frozen=True)
class SweepReport:
    directory: Path
    runs: int  # runs in the experiment
    done: int  # runs in the store now
    new: int  # runs done by this call
    seconds: float

    @property
    def complete(self) -> bool:
        return self.done == self.runs


def run_sweep(sweep: Sweep, out: str | Path, executor: Executor | None = None, *, resume: bool = False,
              force: bool = False, batch_size: int = 64, flush_seconds: float = 10.0,
              progress: bool = False) -> SweepReport:
    """Run every run of `sweep` not yet in the store at `out`, then summarise the complete store.

    The store is locked for the whole sweep: a second sweep into it is refused, not interleaved.
    """
    with hold_lock(Path(out)):
        return _run_locked(sweep, out, executor or Sequential(), resume=resume, force=force, batch_size=batch_size,
                           flush_seconds=flush_seconds, progress=progress)


def _run_locked(sweep: Sweep, out: str | Path, executor: Executor, *, resume: bool, force: bool, batch_size: int,
                flush_seconds: float, progress: bool) -> SweepReport:
    store = SweepStore.open(out, sweep.manifest(), _design_tables(sweep), resume=resume, force=force,
                            batch_size=batch_size, flush_seconds=flush_seconds)
    done_before = int(store.done.sum())
    started = time.perf_counter()
    new = 0
    if not store.complete:  # a finished store needs no workers started
        outcomes = executor.run(sweep.tasks(store.done.copy()))
        try:
            with closing(outcomes):
                for outcome in with_progress(outcomes, sweep.runs, progress, "runs", done=done_before):
                    store.add(sweep.run_row(outcome.run_id), outcome)
                    new += 1
        finally:
            store.flush()  # what finished is kept, even when the sweep is stopped
    if store.complete:
        finish(sweep, store)
    return SweepReport(store.directory, sweep.runs, int(store.done.sum()), new, time.perf_counter() - started)


def finish(sweep: Sweep, store: SweepStore) -> None:
    """Summary, sensitivity and the DuckDB views of a complete store."""
    connection = open_store(store.directory)
    try:
        metrics = sorted(row[0] for row in connection.execute("SELECT DISTINCT metric FROM metrics").fetchall())
        summary, sensitivity = [], []
        for metric in metrics:
            columns = connection.execute(
                "SELECT design, value FROM metrics WHERE metric = ? ORDER BY run_id", [metric]).fetchnumpy()
            designs, values = np.asarray(columns["design"], dtype=object), np.asarray(columns["value"], dtype=float)
            for name in sweep.design_names:
                mine = values[designs == name]
                summary.append({"design": name, "metric": metric, **describe_values(mine)})
                if has_sensitivity(sweep.experiment):
                    sensitivity += _indices(sweep, name, metric, mine)
    finally:
        connection.close()
    store.write_table("summary", pa.Table.from_pylist(summary, schema=SUMMARY_SCHEMA))
    store.write_table("sensitivity", pa.Table.from_pylist(sensitivity, schema=SENSITIVITY_SCHEMA))
    write_views(store.directory)


def _indices(sweep: Sweep, design: str, metric: str, values: np.ndarray) -> list[dict]:
    outputs = future_means(values, sweep.futures, sweep.replicates)
    if outputs is None:
        return []  # undefined in some future, or the same in all: nothing to apportion
    return [{"design": design, "metric": metric, "parameter": parameter, "index": index, "value": value, "conf": conf}
            for parameter, index, value, conf in analyze(sweep.experiment, sweep.unit, outputs, sweep.analysis_seed)]


def _design_tables(sweep: Sweep) -> dict[str, pa.Table]:
    """Each design's scenario (before the uncertainties), and each future's parameter values."""
    scenarios = {"design": sweep.design_names, "order": list(range(len(sweep.designs))),
                 "scenario_json": [s.model_dump_json() for s in sweep.designs.values()]}
    columns = {"future": pa.array(range(sweep.futures), pa.int64())}
    for u in sweep.experiment.uncertainties:
        columns[u.name] = pa.array([values[u.name] for values in sweep.values], PARAMETER_TYPES[u.value_type])
    return {"scenarios": pa.table(scenarios), "futures": pa.table(columns)}
