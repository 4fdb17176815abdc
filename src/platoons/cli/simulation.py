"""`platoons run`, `compare`, `validate`, `describe` and `presets`."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from platoons.errors import InputError
from platoons.scenario.load import load_scenario, parse_assignments, preset_description, preset_names

MAX_REPLICATES = 10_000
MAX_WORKERS = 256
MAX_SEED = 2**63 - 1
SetOption = typer.Option([], "--set", help="Override a field: PATH=VALUE (repeatable).")
MORE_DESIGNS = ("alliance", "outcomes-finance", "local-lots-capped", "mixed-packages")
KEY_METRICS = (
    "outcome_rate", "cost_per_outcome_gbp", "front_line_share", "small_share_of_spend", "failures",
    "people_disrupted", "hhi", "margin_prime", "margin_tier2", "grew_from_small",
)


def run(
    scenario: str = typer.Argument("default", help="A preset name or a scenario YAML file."),
    seed: Optional[int] = typer.Option(None, min=0, max=MAX_SEED, help="Seed (default: the scenario's run.seed)."),
    set_: list[str] = SetOption,
    out: Optional[Path] = typer.Option(None, "--out", help="Write the results as Parquet files here."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable output."),
    force: bool = typer.Option(False, "--force", help="Replace the results already in --out."),
) -> None:
    """Simulate one scenario and print its metrics."""
    from platoons.experiment import Outcome, summarize
    from platoons.simulate import simulate

    chosen = load_scenario(scenario, parse_assignments(set_))
    _check_out(out, force)
    with _busy(f"simulating {chosen.design.name} for {chosen.run.months} months"):
        result = simulate(chosen, seed)
    if out is not None:
        from platoons.store import write_results

        from platoons.metrics import money_flows

        outcome = Outcome(chosen.design.name, 0, result.seed, result.metrics, result.timeseries, money_flows(result),
                          tables=result.tables)
        write_results(out, [outcome], summarize([outcome]), {chosen.design.name: chosen}, force=force)
    warnings = run_warnings_of(result)
    if as_json:
        print(json.dumps({"metrics": _clean(result.metrics), "tables": _clean(result.tables), "warnings": warnings}))
        return
    table = Table(title=f"{chosen.name}: {chosen.design.name}, seed {result.seed}")
    table.add_column("metric"), table.add_column("value", justify="right"), table.add_column("unit")
    from platoons.metrics import describe_metric

    for name, value in result.metrics.items():
        table.add_row(name, _fmt(value), describe_metric(name).unit)
    Console().print(table)
    print_warnings({chosen.design.name: warnings})
    if out is not None:
        Console().print(f"Results written to {out}/")


def compare(
    scenarios: Optional[list[str]] = typer.Argument(None, help="Presets or YAML files (default: the nine shipped designs)."),
    replicates: int = typer.Option(20, min=1, max=MAX_REPLICATES, help="Replicates per design, on common random numbers."),
    seed: int = typer.Option(0, min=0, max=MAX_SEED, help="Base seed of the replicates."),
    set_: list[str] = SetOption,
    executor: str = typer.Option("processes", help="sequential or processes."),
    workers: Optional[int] = typer.Option(None, min=1, max=MAX_WORKERS, help="Worker processes (default: all cores)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the results as Parquet files here."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable output."),
    report: bool = typer.Option(True, "--report/--no-report", help="With --out, also write DIR/report.html."),
    force: bool = typer.Option(False, "--force", help="Replace the results already in --out."),
) -> None:
    """Compare designs side by side: mean and 90% interval of each metric across replicates."""
    from platoons.experiment import CORE_DESIGNS, execute, plan, summarize, with_progress

    if executor not in ("sequential", "processes"):
        raise InputError("--executor", "executor", "sequential or processes", executor)
    changes = parse_assignments(set_)
    _check_out(out, force)
    designs = {}
    for spec in scenarios or [*CORE_DESIGNS, *MORE_DESIGNS]:
        chosen = load_scenario(spec, changes)
        designs[_unique_name(designs, chosen.design.name if spec in preset_names() else Path(spec).stem)] = chosen
    tasks = plan(designs, replicates, seed)
    outcomes = list(with_progress(execute(tasks, executor, workers), len(tasks), sys.stderr.isatty(), "runs"))
    summary = summarize(outcomes)
    if out is not None:
        from platoons.store import write_results

        from platoons.report import write_report

        write_results(out, outcomes, summary, designs, force=force, also=write_report if report else None)
    warnings = compare_warnings(outcomes, designs)
    if as_json:
        print(json.dumps({"designs": _clean(summary), "warnings": warnings}))
        return
    _print_comparison(summary, list(designs))
    print_warnings(warnings)
    if out is not None:
        Console().print(f"Results written to {out}/ (runs, metrics, timeseries and summary as Parquet"
                        + (", and report.html)" if report else ")"))


def validate(file: str = typer.Argument(..., help="A scenario YAML file or preset name."), set_: list[str] = SetOption) -> None:
    """Check a scenario file; print one line saying it is valid, or what is wrong."""
    scenario = load_scenario(file, parse_assignments(set_))
    areas = len(scenario.world.areas)
    bands = sum(b.count for b in scenario.sector.bands)
    print(f"{file}: valid ({scenario.design.name}: {areas} areas, {bands} providers, {scenario.run.months} months)")


def describe(
    param: Optional[str] = typer.Argument(None, help="A dotted parameter path, e.g. design.bidding.optimism."),
    markdown: bool = typer.Option(False, "--markdown", help="Print every parameter as the Markdown of docs/parameters.md."),
    scenario: Optional[str] = typer.Option(None, "--scenario", help="Show this scenario's sources: values it sets read 'user input (FILE)'."),
    set_: list[str] = SetOption,
) -> None:
    """Units, descriptions and sources of scenario parameters."""
    from platoons.scenario.describe import parameters, parameters_markdown

    if markdown:
        print(parameters_markdown(), end="")
        return
    rows = parameters()
    if param is not None:
        rows = [r for r in rows if r["path"] == param or r["path"].startswith(param + ".")]
        if not rows:
            raise InputError("describe", "PARAM", "a scenario parameter path (see `platoons describe`)", param)
    if scenario is not None or set_:
        from platoons.scenario.provenance import source_of

        provenance = load_scenario(scenario or "default", parse_assignments(set_)).provenance
        rows = [{**r, "source": source_of(r["path"], provenance, r["source"])} for r in rows]
    table = Table()
    for column in ("path", "unit", "default", "description", "source"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r["path"], r["unit"], r["default"], r["description"], r["source"])
    Console(width=200).print(table)


def calibrate(
    preset: str = typer.Argument(..., help="The preset to fit, e.g. work-programme-2011."),
    targets: Path = typer.Option(..., "--targets", help="YAML file of target outcome rates by need group."),
    replicates: int = typer.Option(8, min=1, max=MAX_REPLICATES, help="Replicates per round, on common seeds."),
    rounds: int = typer.Option(8, min=1, max=100, help="Most fitting rounds."),
    out: Optional[Path] = typer.Option(None, "--out", help="Where to write the calibrated preset (default: beside the presets)."),
    executor: str = typer.Option("processes", help="sequential or processes."),
) -> None:
    """Fit provider effects by need group to target outcome rates; write a calibrated preset."""
    from importlib import resources

    from platoons.experiment.calibrate import calibrate as fit_preset, read_targets, write_calibrated

    wanted = read_targets(targets)
    console = Console(stderr=True)
    fit = fit_preset(preset, wanted, replicates, rounds, executor=executor, report=console.print)
    path = out or Path(str(resources.files("platoons.presets").joinpath(f"{Path(preset).stem}-calibrated.yaml")))
    write_calibrated(fit, wanted, path)
    table = Table(title=f"{preset}: target vs model (mean [90% interval], {replicates} replicates)")
    for column in ("metric", "target", "model", "fitted"):
        table.add_column(column)
    for r in fit.rows:
        table.add_row(r["metric"], f"{r['target']:.3f}", f"{r['mean']:.3f} [{r['low']:.3f}, {r['high']:.3f}]", "yes" if r["fitted"] else "no")
    Console().print(table)
    Console().print(f"Calibrated preset written to {path}")


def presets() -> None:
    """List the scenarios shipped with Platoons."""
    for name in preset_names():
        print(f"{name:<22} {preset_description(name)}")


def run_warnings_of(result) -> list[str]:
    from platoons.market.diagnostics import design_warnings

    return design_warnings([(result.tables, result.metrics)], result.scenario.design.delivery.model)


def compare_warnings(outcomes, designs: dict) -> dict[str, list[str]]:
    """Each design's warnings, with in how many of its replicates each appeared."""
    from platoons.market.diagnostics import design_warnings

    return {name: design_warnings([(o.tables, o.metrics) for o in outcomes if o.design == name],
                                  scenario.design.delivery.model)
            for name, scenario in designs.items()}


def print_warnings(warnings: dict[str, list[str]]) -> None:
    """Warnings in plain words after the numbers, so what went wrong is not missed."""
    console = Console()
    for design, sentences in warnings.items():
        if sentences:
            console.print(f"[bold yellow]Warnings for {design}:[/bold yellow]")
        for sentence in sentences:
            console.print(f"  - {sentence}", highlight=False, markup=False)


def _check_out(out: Optional[Path], force: bool) -> None:
    """Refuse an --out that would be refused at the end, before any run starts."""
    if out is not None:
        from platoons.store import check_replaceable

        check_replaceable(out, force)


def _busy(message: str):
    """A spinner on stderr while something runs, when a person is watching."""
    from contextlib import nullcontext

    return Console(stderr=True).status(message) if sys.stderr.isatty() else nullcontext()


def _unique_name(existing: dict[str, Any], name: str) -> str:
    candidate, n = name, 2
    while candidate in existing:
        candidate, n = f"{name}-{n}", n + 1
    return candidate


def _print_comparison(summary: dict, designs: list[str]) -> None:
    from platoons.metrics import describe_metric

    baseline = designs[0]
    table = Table(title=f"Designs compared (mean [90% interval]); baseline: {baseline}")
    table.add_column("metric"), table.add_column("unit")
    for design in designs:
        table.add_column(design, justify="right")
    for metric in KEY_METRICS + tuple(m for m in summary[baseline] if m.startswith("outcome_rate_")):
        if metric not in summary[baseline]:
            continue
        better = describe_metric(metric).better
        cells = []
        for design in designs:
            s = summary[design][metric]
            cells.append(_mark(s, summary[baseline][metric], better, design == baseline))
        table.add_row(metric, describe_metric(metric).unit, *cells)
    Console().print(table)


def _mark(s: dict, base: dict, better: str, is_baseline: bool) -> str:
    text = f"{_fmt(s['mean'])} [{_fmt(s['low'])}, {_fmt(s['high'])}]"
    if is_baseline or better == "neither" or not all(map(math.isfinite, (s["mean"], base["mean"]))):
        return text
    if s["mean"] == base["mean"]:
        return text
    good = (s["mean"] > base["mean"]) == (better == "higher")
    return f"[green]{text}[/green]" if good else f"[red]{text}[/red]"


def _fmt(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _clean(data: Any) -> Any:
    """JSON has no NaN: missing values become null."""
    if isinstance(data, dict):
        return {k: _clean(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_clean(v) for v in data]
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return float(data) if hasattr(data, "dtype") else data
