"""A sweep's results on disk, written as runs finish, by the driver only.

```
DIR/experiment.json               which experiment this is (its hash), its designs, parameters and size
DIR/scenarios.parquet             each design's scenario (design, order, scenario_json)
DIR/futures.parquet               each future's parameter values
DIR/runs/part-000001.parquet      one part per batch of finished runs, in each of runs, metrics,
DIR/metrics/part-000001.parquet     timeseries and flows
DIR/summary.parquet               per design and metric, once every run is done
DIR/sensitivity.parquet           Sobol or Morris indices, once every run is done
DIR/store.duckdb                  views over all of the above, once every run is done
```

Every file is written under a `.partial` name and renamed into place, so a file with its final
name is complete. A batch counts once its `runs` part exists (written last); on resume, parts
of other tables without a matching runs part, and any `.partial` files, are removed. Memory
holds one batch at most, whatever the number of runs.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from platoons.errors import InputError
from platoons.metrics.tables import COLUMNS as TABLE_COLUMNS
from platoons.store.guard import holds_only_leftovers, is_store
from platoons.store.views import DATABASE, PART_GLOB

MANIFEST = "experiment.json"
RUN_TABLES = ("metrics", "timeseries", "flows", *TABLE_COLUMNS, "runs")  # runs last: its part makes a batch count
WHOLE_TABLES = ("scenarios", "futures", "summary", "sensitivity")
KEY = [("run_id", pa.int64()), ("design", pa.string()), ("future", pa.int64()), ("replicate", pa.int64())]
SCHEMAS = {
    "metrics": pa.schema(KEY + [("metric", pa.string()), ("value", pa.float64())]),
    "timeseries": pa.schema(KEY + [("month", pa.int64()), ("series", pa.string()), ("value", pa.float64())]),
    "flows": pa.schema(KEY + [("kind", pa.string()), ("source", pa.string()), ("target", pa.string()),
                              ("amount_gbp", pa.float64())]),
}
PARAMETER_TYPES = {"number": pa.float64(), "text": pa.string(), "flag": pa.bool_()}
COLUMN_TYPES = {"int": pa.int64(), "float": pa.float64(), "text": pa.string(), "flag": pa.bool_()}


def run_table_fields(name: str) -> list[tuple[str, pa.DataType]]:
    """The columns of one of a run's tables (platoons.metrics.tables), as Arrow fields."""
    return [(column, COLUMN_TYPES[kind]) for column, kind in TABLE_COLUMNS[name]]


SCHEMAS.update({name: pa.schema(KEY + run_table_fields(name)) for name in TABLE_COLUMNS})


def runs_schema(parameters: list[dict[str, str]]) -> pa.Schema:
    """The runs table: a run's coordinates, its seed, its parameter values and what produced it."""
    fields = KEY + [("seed", pa.int64())]
    fields += [(p["name"], PARAMETER_TYPES[p["type"]]) for p in parameters]
    fields += [("scenario_hash", pa.string()), ("version", pa.string())]
    return pa.schema(fields)


class SweepStore:
    """Appends finished runs to a store directory in batches of part files."""

    def __init__(self, directory: Path, manifest: dict[str, Any], done: np.ndarray, next_part: int,
                 batch_size: int, flush_seconds: float, tables: dict[str, pa.Table] | None = None):
        self.directory = directory
        self.manifest = manifest
        self._to_create = tables  # a new store's manifest and design tables, written with its first batch
        self.done = done  # one flag per run id
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self._schemas = {**SCHEMAS, "runs": runs_schema(manifest["parameters"])}
        self._next_part = next_part
        self._batch: list[dict[str, pa.RecordBatch]] = []  # per finished run, its rows of each table
        self._last_flush = time.monotonic()

    @classmethod
    def open(cls, directory: str | Path, manifest: dict[str, Any], tables: dict[str, pa.Table], *,
             resume: bool = False, force: bool = False, batch_size: int = 64,
             flush_seconds: float = 10.0) -> SweepStore:
        """A new store, or (with `resume`) the store of the same experiment, cleaned of unfinished writes.

        `tables` (the designs' scenarios, the futures) are written with a new store's manifest when
        its first batch is, so a sweep that fails before any run finishes leaves nothing behind.
        """
        directory = Path(directory)
        where = str(directory)
        existing = directory.exists() and any(directory.iterdir())
        if existing and holds_only_leftovers(directory):
            _remove_leftovers(directory)  # killed before its manifest landed: nothing was kept
            existing = False
        if existing and force:
            _clear(directory)
        elif existing and resume:
            if not (directory / MANIFEST).is_file():
                raise InputError(where, "--out", "", None,
                                 message=f"not a sweep store (no {MANIFEST}), so there is nothing to resume; use another --out")
            store = cls._resume(directory, manifest, batch_size, flush_seconds)
            for name, table in tables.items():
                store.write_table(name, table)  # the same content; present even if a crash cut creation short
            return store
        elif existing:
            raise InputError(where, "--out", "", None,
                             message="already exists; use --resume to finish the sweep stored there, or --force to replace it")
        return cls(directory, manifest, np.zeros(manifest["runs"], dtype=bool), 1, batch_size, flush_seconds, tables)

    @classmethod
    def _resume(cls, directory: Path, manifest: dict[str, Any], batch_size: int, flush_seconds: float) -> SweepStore:
        """The store, checked whole before anything in it changes, then cleaned of unfinished writes."""
        where = str(directory)
        stored = read_manifest(directory)
        if stored.get("experiment_hash") != manifest["experiment_hash"]:
            raise InputError(where, "--resume", "", None, message=(
                f"holds a different experiment ({stored.get('name')!r}, hash "
                f"{str(stored.get('experiment_hash'))[:12]}; this one is {manifest['experiment_hash'][:12]}); "
                "use another --out, or --force to replace it"))
        if stored.get("platoons_version") != manifest["platoons_version"]:
            raise InputError(where, "--resume", "", None, message=(
                f"was written by platoons {stored.get('platoons_version')} and this is "
                f"{manifest['platoons_version']}; runs would not match, so start again with --force"))
        done = _verified_runs(directory, manifest)
        _remove_leftovers(directory)
        for name in RUN_TABLES:
            (directory / name).mkdir(exist_ok=True)  # a kill can land between the manifest and the folders
        counted = {p.name for p in (directory / "runs").glob(PART_GLOB)}
        for name in RUN_TABLES[:-1]:
            for part in (directory / name).glob(PART_GLOB):
                if part.name not in counted:
                    part.unlink()  # written before its batch's runs part: the batch never counted
        for name in ("summary", "sensitivity"):
            (directory / f"{name}.parquet").unlink(missing_ok=True)
        (directory / DATABASE).unlink(missing_ok=True)
        numbers = [0] + [int(part.stem.removeprefix("part-")) for part in (directory / "runs").glob(PART_GLOB)]
        return cls(directory, manifest, done, max(numbers) + 1, batch_size, flush_seconds)

    @property
    def complete(self) -> bool:
        return bool(self.done.all())

    def add(self, run: dict[str, Any], outcome) -> None:
        """Keep a finished run; write the batch when it is full or has waited long enough."""
        key = (run["run_id"], run["design"], run["future"], run["replicate"])
        rows = {"runs": pa.RecordBatch.from_pylist([run], schema=self._schemas["runs"])}
        metrics = outcome.metrics
        rows["metrics"] = _keyed(self._schemas["metrics"], key, len(metrics), {
            "metric": list(metrics), "value": np.fromiter((float(v) for v in metrics.values()), float, len(metrics))})
        series = outcome.timeseries
        names = [name for name in series if name != "month"]
        months = np.asarray(series["month"], dtype=np.int64)
        rows["timeseries"] = _keyed(self._schemas["timeseries"], key, len(names) * len(months), {
            "month": np.tile(months, len(names)), "series": np.repeat(np.array(names, dtype=object), len(months)),
            "value": np.concatenate([np.asarray(series[n], dtype=float) for n in names]) if names else np.zeros(0)})
        flows = outcome.flows
        rows["flows"] = _keyed(self._schemas["flows"], key, len(flows["kind"]), {
            "kind": flows["kind"], "source": flows["source"], "target": flows["target"],
            "amount_gbp": np.asarray(flows["amount_gbp"], dtype=float)})
        for name in TABLE_COLUMNS:
            table = outcome.tables.get(name, {})
            n = len(next(iter(table.values()))) if table else 0
            columns = {column: table.get(column, []) for column, _ in TABLE_COLUMNS[name]}
            rows[name] = _keyed(self._schemas[name], key, n, columns)
        self._batch.append(rows)  # one step: a signal lands before or after it, never half way through a run
        if len(self._batch) >= self.batch_size or time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Write the batch: a part file per table, runs last."""
        if self._batch:
            if self._to_create is not None:
                self._create()
            name = f"part-{self._next_part:06d}.parquet"
            for table in RUN_TABLES:
                rows = pa.Table.from_batches([run[table] for run in self._batch], schema=self._schemas[table])
                _write_table(self.directory / table / name, rows)
            for run in self._batch:
                self.done[run["runs"].column("run_id").to_numpy()] = True
            self._next_part += 1
        self._batch = []
        self._last_flush = time.monotonic()

    def _create(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # The manifest first: from then on the directory is a store that --resume and --force recognise.
        _write_bytes(self.directory / MANIFEST, json.dumps(self.manifest, indent=2, sort_keys=True).encode())
        for name in RUN_TABLES:
            (self.directory / name).mkdir(exist_ok=True)
        for name, table in self._to_create.items():
            self.write_table(name, table)
        self._to_create = None

    def write_table(self, name: str, table: pa.Table) -> Path:
        """A table held whole (scenarios, futures, summary, sensitivity)."""
        if name not in WHOLE_TABLES:
            raise ValueError(f"unknown whole table {name!r}")
        return _write_table(self.directory / f"{name}.parquet", table)


def read_manifest(directory: str | Path) -> dict[str, Any] | None:
    """A store's manifest; None where there is none, an InputError where it is damaged."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(str(directory), MANIFEST, "", None, message=(
            f"{MANIFEST} is damaged ({error.__class__.__name__}); the store cannot be trusted, "
            "so start again with --force")) from None
    expected = {"experiment_hash": str, "platoons_version": str, "runs": int, "designs": list, "parameters": list}
    wrong = [key for key, kind in expected.items() if not isinstance(manifest, dict) or not isinstance(manifest.get(key), kind)]
    if wrong:
        raise InputError(str(directory), MANIFEST, "", None, message=(
            f"{MANIFEST} is damaged (no valid {wrong[0]}); the store cannot be trusted, so start again with --force"))
    return manifest


def _verified_runs(directory: Path, manifest: dict[str, Any]) -> np.ndarray:
    """Which runs the store holds, after checking every part of every counted batch.

    Nothing is changed here: a damaged part is named, with how to recover, before any cleaning.
    """
    schemas = {**SCHEMAS, "runs": runs_schema(manifest["parameters"])}
    done = np.zeros(manifest["runs"], dtype=bool)
    damaged: list[tuple[str, str]] = []
    runs_dir = directory / "runs"
    for part in sorted(runs_dir.glob(PART_GLOB)) if runs_dir.is_dir() else []:
        for name in RUN_TABLES:
            problem = _part_problem(directory / name / part.name, schemas[name])
            if problem:
                damaged.append((part.name, f"{name}/{part.name} ({problem})"))
        if damaged and damaged[-1][0] == part.name:
            continue
        ids = pq.read_table(part, columns=["run_id"]).column("run_id").to_numpy()
        if len(ids) == 0 or ids.min() < 0 or ids.max() >= len(done) or done[ids].any() or len(set(ids)) < len(ids):
            damaged.append((part.name, f"runs/{part.name} (run ids out of range or twice)"))
            continue
        done[ids] = True
    if damaged:
        parts = sorted({name for name, _ in damaged})
        listed = "; ".join(text for _, text in damaged[:5]) + (f"; and {len(damaged) - 5} more" if len(damaged) > 5 else "")
        remove = " ".join(f"runs/{name}" for name in parts[:5]) + (" ..." if len(parts) > 5 else "")
        raise InputError(str(directory), "--resume", "", None, message=(
            f"{len(damaged)} damaged part file(s): {listed}. Nothing was changed. Remove {remove} "
            "and run --resume again to redo those runs, or start again with --force"))
    return done


def _part_problem(path: Path, schema: pa.Schema) -> str | None:
    """What is wrong with a part file, or None when it is a readable part of the right table."""
    if not path.is_file():
        return "missing"
    try:
        found = pq.read_schema(path)
    except (OSError, pa.ArrowException) as error:
        return "not a Parquet file" if "magic" in str(error).lower() or "size" in str(error).lower() else "unreadable"
    if found.names != schema.names:
        return "columns of another table"
    return None


def _remove_leftovers(directory: Path) -> None:
    for leftover in directory.rglob("*.partial*"):
        leftover.unlink()


def _keyed(schema: pa.Schema, key: tuple, n: int, columns: dict[str, Any]) -> pa.RecordBatch:
    run_id, design, future, replicate = key
    arrays = [pa.array(np.full(n, run_id, dtype=np.int64)), pa.array([design] * n, pa.string()),
              pa.array(np.full(n, future, dtype=np.int64)), pa.array(np.full(n, replicate, dtype=np.int64))]
    arrays += [pa.array(columns[f.name], f.type) for f in list(schema)[len(KEY):]]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _write_table(path: Path, table: pa.Table) -> Path:
    partial = path.with_name(path.name + ".partial")
    pq.write_table(table, partial)
    os.replace(partial, path)
    return path


def _write_bytes(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def _clear(directory: Path) -> None:
    """Remove what a store holds (and only that), so --force never empties an unrelated folder.

    The manifest goes last: a --force cut short still leaves a store that the next --force clears.
    """
    if not is_store(directory):
        raise InputError(str(directory), "--force", "", None,
                         message="not a results store; --force only replaces a store, so use another --out")
    for name in RUN_TABLES:
        shutil.rmtree(directory / name, ignore_errors=True)
    for name in (*WHOLE_TABLES, *RUN_TABLES):
        (directory / f"{name}.parquet").unlink(missing_ok=True)
    for name in (DATABASE, "report.html"):
        (directory / name).unlink(missing_ok=True)
    _remove_leftovers(directory)
    (directory / MANIFEST).unlink(missing_ok=True)
