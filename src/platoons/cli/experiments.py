"""`platoons sweep` and `platoons summarize`: experiments at scale, and what their stores say."""

from __future__ import annotations

import json
import math
import signal
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from platoons.cli.failures import Stopped, damaged_store_errors
from platoons.cli.simulation import KEY_METRICS, MAX_WORKERS, WideOption, _clean, _fmt, _print_comparison, _verdicts_json
from platoons.errors import InputError

LABELS = {"S1": "S1", "ST": "ST", "mu_star": "mu*", "mu": "mu", "sigma": "sigma"}


def sweep(
    experiment: Path = typer.Argument(..., help="An experiment YAML file."),
    out: Path = typer.Option(..., "--out", help="The store directory (Parquet parts and store.duckdb)."),
    resume: bool = typer.Option(False, "--resume", help="Finish a sweep that stopped; only missing runs are run."),
    force: bool = typer.Option(False, "--force", help="Replace an existing store."),
    executor: Optional[str] = typer.Option(None, help="sequential, processes or dask (default: processes; dask with --scheduler)."),
    workers: Optional[int] = typer.Option(None, min=1, max=MAX_WORKERS, help="Local worker processes (default: all cores)."),
    scheduler: Optional[str] = typer.Option(None, help="tcp://HOST:PORT of a running Dask scheduler to send the runs to."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, max=100_000, help="Runs per part file."),
    report: bool = typer.Option(True, "--report/--no-report", help="Write DIR/report.html once the sweep is complete."),
) -> None:
    """Run an experiment: every design in every future, replicated, streamed into a store."""
    from platoons.experiment import EXECUTORS, load_sweep, make_executor, run_sweep

    if resume and force:
        raise InputError("--resume", "--force", "", None, message="--resume and --force do not go together; pick one")
    chosen = executor or ("dask" if scheduler else "processes")
    if chosen not in EXECUTORS:
        raise InputError("--executor", "executor", " or ".join(EXECUTORS), chosen)
    if scheduler is not None and chosen != "dask":
        raise InputError("--scheduler", "executor", "dask when a scheduler is given", chosen)
    from platoons.store.guard import check_target

    check_target(out)  # before the experiment is resolved, which can take a while
    planned = load_sweep(experiment)
    try:
        done = run_sweep(planned, out, make_executor(chosen, workers, scheduler), resume=resume, force=force,
                         batch_size=batch_size, progress=sys.stderr.isatty())
    except (KeyboardInterrupt, Stopped) as stop:
        hint = f"finished runs are kept; resume with: platoons sweep {experiment} --out {out} --resume"
        raise Stopped(getattr(stop, "signum", signal.SIGINT), hint) from None
    rate = done.new / done.seconds if done.seconds > 0 else float("nan")
    written = ""
    if report and done.done == done.runs:
        from platoons.report import write_report

        written = f", {write_report(out)}"
    print(f"{done.done} of {done.runs} runs in {out} ({done.new} new in {done.seconds:.1f} s, "
          f"{rate:.1f} runs/s). Results: platoons summarize {out}{written}")


def summarize(
    directory: Path = typer.Argument(..., help="A store written by `platoons sweep` or `platoons compare --out`."),
    metric: list[str] = typer.Option([], "--metric", help="Metrics to show (repeatable; default: the key metrics)."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable output (every metric)."),
    wide: bool = WideOption,
) -> None:
    """Per-design means with 90% intervals and, for sobol and morris sweeps, sensitivity indices."""

    with damaged_store_errors(directory):
        _summarize(directory, metric, as_json, wide)


def _summarize(directory: Path, metric: list[str], as_json: bool, wide: bool) -> None:
    from platoons.store import open_store, read_manifest

    where = str(directory)
    if not directory.is_dir():
        raise InputError(where, "DIRECTORY", "a store written by platoons sweep or platoons compare --out", where)
    manifest = read_manifest(directory)
    connection = open_store(directory)
    tables = {row[0] for row in connection.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    if "summary" not in tables:
        if manifest is None:
            raise InputError(where, "DIRECTORY", "a store written by platoons sweep or platoons compare --out", where)
        done = connection.execute("SELECT count(*) FROM runs").fetchone()[0] if "runs" in tables else 0
        raise InputError(where, "DIRECTORY", "", None, message=(
            f"holds {done} of {manifest['runs']} runs; finish the sweep with "
            f"platoons sweep {manifest['source']} --out {where} --resume"))
    if manifest is not None:
        designs = list(manifest["designs"])
    else:
        designs = [r[0] for r in connection.execute('SELECT design FROM scenarios ORDER BY "order"').fetchall()]
    summary: dict[str, dict[str, dict[str, float]]] = {d: {} for d in designs}
    for design, name, mean, low, high in connection.execute(
            "SELECT design, metric, mean, low, high FROM summary ORDER BY metric").fetchall():
        summary.setdefault(design, {})[name] = {"mean": mean, "low": low, "high": high}
    sensitivity: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    if "sensitivity" in tables:
        for design, name, parameter, index, value, conf in connection.execute(
                "SELECT design, metric, parameter, index, value, conf FROM sensitivity").fetchall():
            cell = sensitivity.setdefault(design, {}).setdefault(name, {}).setdefault(parameter, {})
            cell[index] = value
            if conf is not None and math.isfinite(conf):
                cell[f"{index}_conf"] = conf
    connection.close()
    method = ((manifest or {}).get("sampler") or {}).get("method")
    runs = manifest["runs"] if manifest else None
    verdicts, flags = _judged_store(directory)
    if as_json:
        print(json.dumps(_clean({"runs": runs, "sampler": method, "designs": summary, "sensitivity": sensitivity,
                                 "verdicts": _verdicts_json(verdicts),
                                 "barely_ran": {d: r for d, r in flags.items() if r}})))
        return
    known = set(summary[designs[0]])
    unknown = [m for m in metric if m not in known]
    if unknown:
        raise InputError("--metric", "metric", "a metric of the store", unknown[0])
    per_design = runs // len(designs) if runs else None
    _print_comparison(summary, designs, verdicts, flags, per_design, wide, metric or None)
    if sensitivity:
        _print_sensitivity(sensitivity, designs, metric or [m for m in KEY_METRICS if m in known], method)


def _judged_store(directory: Path) -> tuple[dict, dict]:
    """The report's verdicts and flags for the designs of a store, paired over its runs."""
    from platoons.report.sections import design_flags, paired_verdicts, summary as read_summary
    from platoons.report.store import open_store as open_report_store
    from platoons.report.verdicts import withhold

    store = open_report_store(directory)
    stats = read_summary(store)
    metrics = sorted({m for _, m in stats})
    flags = design_flags(store, stats)
    return withhold(paired_verdicts(store, metrics), flags), flags


def _print_sensitivity(sensitivity: dict, designs: list[str], metrics: list[str], method: str | None) -> None:
    """One table per metric: each design's parameters, most influential first, with their indices."""
    from platoons.metrics import metric_or_plain

    order = ("ST", "S1") if method == "sobol" else ("mu_star", "sigma")
    heading = "Sobol indices: total (ST) and first order (S1), +- 95% confidence" if method == "sobol" else \
        "Morris elementary effects: mu* (+- 95% confidence) and sigma, per whole range of the parameter"
    console = Console()
    console.print(heading)
    for name in metrics:
        table = Table(title=f"Sensitivity of {metric_or_plain(name).label.lower()}", title_justify="left")
        table.add_column("Design", no_wrap=True), table.add_column("Parameter", overflow="fold")
        for index in order:
            table.add_column(LABELS[index], justify="right", no_wrap=True)
        for design in designs:
            cells = sensitivity.get(design, {}).get(name, {})
            ranked = sorted(cells, key=lambda p: -(cells[p].get(order[0]) or 0.0))
            for parameter in ranked:
                table.add_row(design, parameter, *(_index(cells[parameter], index) for index in order))
        if table.row_count:
            console.print(table)


def _index(cell: dict, index: str) -> str:
    value, conf = cell.get(index), cell.get(f"{index}_conf")
    return _fmt(value) + (f" +-{_fmt(conf)}" if conf is not None else "")
