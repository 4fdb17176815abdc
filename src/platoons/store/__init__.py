"""Results as tidy Parquet tables with DuckDB views over them; each file appears whole or not at all.

`write_results` writes a comparison held in memory; `SweepStore` streams a long sweep to disk
in part files as its runs finish; `open_store` reads either kind of directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from platoons.experiment.runs import Outcome
from platoons.store.guard import check_replaceable, hold_lock, publish
from platoons.store.sweep import SweepStore, read_manifest
from platoons.store.views import open_store, write_views

__all__ = ["SweepStore", "check_replaceable", "open_store", "read_manifest", "write_results", "write_views"]


def write_results(directory: str | Path, outcomes: Iterable[Outcome], summary: dict, scenarios: dict | None = None,
                  *, force: bool = False, also: Callable[[Path], object] | None = None) -> None:
    """runs, metrics (long), timeseries (long), flows, summary and scenarios tables under `directory`.

    `scenarios` maps each design to its Scenario; the first is the baseline. The result is
    written beside `directory` and swapped in whole (with `also(staging)`, e.g. the report,
    written first); results already there are replaced only with `force`.
    """
    directory = Path(directory)
    outcomes = list(outcomes)

    def write(staging: Path) -> None:
        _write_tables(staging, outcomes, summary, scenarios)
        if also is not None:
            also(staging)

    with hold_lock(directory):
        publish(directory, write, force=force)


def _write_tables(directory: Path, outcomes: list[Outcome], summary: dict, scenarios: dict | None) -> None:
    runs, metrics, series = _rows(outcomes)
    flows = [
        {"design": o.design, "replicate": o.replicate, "kind": k, "source": s, "target": t, "amount_gbp": a}
        for o in outcomes for k, s, t, a in zip(o.flows["kind"], o.flows["source"], o.flows["target"], o.flows["amount_gbp"])
    ]
    summary_rows = [
        {"design": d, "metric": m, **values} for d, by_metric in summary.items() for m, values in by_metric.items()
    ]
    designs = [{"design": name, "order": i, "scenario_json": scenario.model_dump_json()}
               for i, (name, scenario) in enumerate((scenarios or {}).items())]
    tables = {"runs": runs, "metrics": metrics, "timeseries": series, "flows": flows, "summary": summary_rows,
              "scenarios": designs or {"design": [], "order": [], "scenario_json": []}, **_run_tables(outcomes)}
    for name, rows in tables.items():
        _write(directory / f"{name}.parquet", rows)
    write_views(directory)


def _run_tables(outcomes: list[Outcome]) -> dict[str, pa.Table]:
    """What each run can tell (contracts, supply chains, payments, ...), one table each, keyed by run."""
    from platoons.metrics.tables import COLUMNS
    from platoons.store.sweep import run_table_fields

    tables = {}
    for name, columns in COLUMNS.items():
        schema = pa.schema([("design", pa.string()), ("replicate", pa.int64())] + run_table_fields(name))
        rows = {field.name: [] for field in schema}
        for o in outcomes:
            table = o.tables.get(name, {})
            n = len(next(iter(table.values()))) if table else 0
            rows["design"] += [o.design] * n
            rows["replicate"] += [o.replicate] * n
            for column, _ in columns:
                rows[column] += list(table.get(column, []))
        tables[name] = pa.table(rows, schema=schema)
    return tables


def _rows(outcomes: Iterable[Outcome]):
    runs, metrics, series = {"design": [], "replicate": [], "seed": []}, {"design": [], "replicate": [], "metric": [], "value": []}, {
        "design": [], "replicate": [], "month": [], "series": [], "value": []}
    for o in outcomes:
        runs["design"].append(o.design), runs["replicate"].append(o.replicate), runs["seed"].append(o.seed)
        for name, value in o.metrics.items():
            metrics["design"].append(o.design), metrics["replicate"].append(o.replicate)
            metrics["metric"].append(name), metrics["value"].append(float(value))
        months = o.timeseries["month"]
        for name, values in o.timeseries.items():
            if name == "month":
                continue
            n = len(values)
            series["design"].extend([o.design] * n), series["replicate"].extend([o.replicate] * n)
            series["month"].extend(months.astype(int).tolist()), series["series"].extend([name] * n)
            series["value"].extend(values.tolist())
    return runs, metrics, series


def _write(path: Path, rows) -> Path:
    if isinstance(rows, pa.Table):
        table = rows
    else:
        table = pa.table(rows) if isinstance(rows, dict) else pa.Table.from_pylist(rows)
    partial = path.with_suffix(".parquet.partial")
    pq.write_table(table, partial)
    os.replace(partial, path)
    return path
