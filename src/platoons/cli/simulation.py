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
from platoons.scenario.load import apply_changes, load_scenario, parse_assignments, preset_description, preset_names

MAX_REPLICATES = 10_000
MAX_WORKERS = 256
MAX_SEED = 2**63 - 1
SetOption = typer.Option([], "--set", help="Override a field: PATH=VALUE (repeatable).")
CompareSetOption = typer.Option([], "--set", help=(
    "Override a field: PATH=VALUE changes every design, DESIGN:PATH=VALUE only the design of that name "
    "(repeatable; the design's changes apply after those for all)."))
WideOption = typer.Option(False, "--wide", help="Designs side by side as columns, even when wider than the terminal.")
MORE_DESIGNS = ("alliance", "outcomes-finance", "local-lots-capped", "mixed-packages")
KEY_METRICS = (
    "outcome_rate", "outcomes", "cost_per_outcome_gbp", "spend_gbp", "front_line_share", "small_share_of_spend",
    "failures", "people_disrupted", "hhi", "margin_prime", "margin_tier2", "grew_from_small", "referrals_unserved",
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
    from platoons.cli.tables import print_values

    print_values(result.metrics, f"{chosen.name}: {chosen.design.name}, seed {result.seed}")
    print_warnings({chosen.design.name: warnings})
    if out is not None:
        Console().print(f"Results written to {out}/")


def compare(
    scenarios: Optional[list[str]] = typer.Argument(None, help="Presets or YAML files (default: the nine shipped designs)."),
    replicates: int = typer.Option(20, min=1, max=MAX_REPLICATES, help="Replicates per design, on common random numbers."),
    seed: int = typer.Option(0, min=0, max=MAX_SEED, help="Base seed of the replicates."),
    set_: list[str] = CompareSetOption,
    executor: str = typer.Option("processes", help="sequential or processes."),
    workers: Optional[int] = typer.Option(None, min=1, max=MAX_WORKERS, help="Worker processes (default: all cores)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the results as Parquet files here."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable output."),
    report: bool = typer.Option(True, "--report/--no-report", help="With --out, also write DIR/report.html."),
    force: bool = typer.Option(False, "--force", help="Replace the results already in --out."),
    wide: bool = WideOption,
) -> None:
    """Compare designs side by side: mean and 90% interval of each metric across replicates."""
    from platoons.experiment import CORE_DESIGNS, execute, plan, summarize, with_progress

    if executor not in ("sequential", "processes"):
        raise InputError("--executor", "executor", "sequential or processes", executor)
    shared, by_design = _split_assignments(set_)
    changes = parse_assignments(shared)
    _check_out(out, force)
    designs = {}
    for spec in scenarios or [*CORE_DESIGNS, *MORE_DESIGNS]:
        chosen = load_scenario(spec, changes)
        designs[_unique_name(designs, chosen.design.name if spec in preset_names() else Path(spec).stem)] = chosen
    for design, assignments in by_design.items():
        if design not in designs:
            raise InputError("--set", "DESIGN", f"one of the designs compared ({', '.join(designs)})", design)
        designs[design] = apply_changes(designs[design], parse_assignments(assignments), source=f"--set {design}:")
    tasks = plan(designs, replicates, seed)
    outcomes = list(with_progress(execute(tasks, executor, workers), len(tasks), sys.stderr.isatty(), "runs"))
    summary = summarize(outcomes)
    if out is not None:
        from platoons.report.export import write_summary_files
        from platoons.store import write_results

        from platoons.report import write_report

        def beside(staging: Path) -> None:  # the spreadsheets, and the report, join the tables before the swap
            write_summary_files(staging)
            if report:
                write_report(staging)

        write_results(out, outcomes, summary, designs, force=force, also=beside)
    warnings = compare_warnings(outcomes, designs)
    names = list(designs)
    verdicts, flags = _judged(summary, names, [(o.design, (o.replicate,), o.metrics) for o in outcomes])
    if as_json:
        print(json.dumps({"designs": _clean(summary), "verdicts": _verdicts_json(verdicts),
                          "barely_ran": {d: r for d, r in flags.items() if r}, "warnings": warnings}))
        return
    _print_comparison(summary, names, verdicts, flags, replicates, wide)
    print_warnings(warnings)
    if out is not None:
        Console().print(f"Results written to {out}/ (runs, metrics, timeseries and summary as Parquet, summary.csv "
                        "and summary.xlsx" + (", and report.html)" if report else ")"))


def validate(file: str = typer.Argument(..., help="A scenario YAML file or preset name."), set_: list[str] = SetOption) -> None:
    """Check a scenario file; print one line saying it is valid, or what is wrong."""
    scenario = load_scenario(file, parse_assignments(set_))
    areas = len(scenario.world.areas)
    bands = sum(b.count for b in scenario.sector.bands)
    print(f"{file}: valid ({scenario.design.name}: {areas} areas, {bands} providers, {scenario.run.months} months)")


def describe(
    name: Optional[str] = typer.Argument(None, help=(
        "A parameter path or any prefix of one (design.bidding, sector.bands or sector.bands[]), or a metric "
        "(cost_per_outcome_gbp)."
    )),
    markdown: bool = typer.Option(False, "--markdown", help="Print every parameter as the Markdown of docs/parameters.md."),
    scenario: Optional[str] = typer.Option(None, "--scenario", help="Show this scenario's sources: values it sets read 'user input (FILE)'."),
    set_: list[str] = SetOption,
    preset: Optional[str] = typer.Option(None, "--preset", help="Show a preset's values, each marked as sourced or an assumption."),
) -> None:
    """Units, allowed values, descriptions and sources of scenario parameters; or what a metric means."""
    from platoons.metrics import REGISTRY, describe_metric
    from platoons.scenario.describe import matching, parameters, parameters_markdown, preset_values

    if markdown:
        print(parameters_markdown(), end="")
        return
    if name is not None and (name in REGISTRY or name.startswith("outcome_rate_") and not name.startswith("world")):
        _print_metric(describe_metric(name))
        return
    rows = matching(parameters(), name) if name is not None else parameters()
    if not rows:
        raise InputError("describe", "NAME", "a scenario parameter path or prefix, or a metric (see `platoons glossary`)",
                         name)
    if scenario is not None or set_:
        from platoons.scenario.provenance import source_of

        provenance = load_scenario(scenario or "default", parse_assignments(set_)).provenance
        rows = [{**r, "source": source_of(r["path"], provenance, r["source"])} for r in rows]
    columns = ["path", "unit", "allowed", "default", "description", "source"]
    if preset is not None:
        values = preset_values(preset)
        rows = [dict(r, value=values[r["path"]][0], origin=values[r["path"]][1]) for r in rows if r["path"] in values]
        columns = ["path", "unit", "allowed", "value", "origin", "description"]
    console = Console()
    if console.width < 140:  # one parameter a paragraph: a narrow table would fold every cell
        for r in rows:
            console.print(f"[bold]{r['path']}[/bold]" + (f" ({r['unit']})" if r["unit"] else ""), highlight=False)
            details = [f"{c}: {r[c]}" for c in columns[2:] if c != "description" and r[c]]
            console.print("  " + "; ".join(details), highlight=False)
            if r["description"]:
                console.print("  " + r["description"], highlight=False)
        return
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold", ratio=3 if column == "description" else None)
    for r in rows:
        table.add_row(*(r[c] for c in columns))
    console.print(table)


def glossary(as_json: bool = typer.Option(False, "--json", help="Print machine-readable output.")) -> None:
    """Every metric: its label, unit, better direction and definition (with its denominator)."""
    from platoons.metrics import REGISTRY

    if as_json:
        print(json.dumps({m.name: {"label": m.label, "unit": m.unit_text, "better": m.better,
                                   "definition": m.definition} for m in REGISTRY.values()}))
        return
    table = Table(title="Glossary of metrics (identifiers as in --json and the stores)", title_justify="left",
                  expand=True)
    table.add_column("Metric", overflow="fold", ratio=2), table.add_column("Unit", ratio=1)
    table.add_column("Better", no_wrap=True), table.add_column("Definition", ratio=4)
    for m in REGISTRY.values():
        table.add_row(f"{m.label}\n[dim]{m.name}[/dim]", m.unit_text, m.better, m.definition)
    Console().print(table)


def _print_metric(metric) -> None:
    better = {"higher": "higher is better", "lower": "lower is better", "neither": "no better direction"}[metric.better]
    print(f"{metric.label} ({metric.name})\nUnit: {metric.unit_text}; {better}.\n{metric.definition}")


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


def _split_assignments(assignments: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """PATH=VALUE for every design, and DESIGN:PATH=VALUE by design (a colon after the `=` is part of the value)."""
    shared, by_design = [], {}
    for text in assignments:
        target, sep, _ = text.partition("=")
        design, colon, path = target.partition(":")
        if sep and colon:
            by_design.setdefault(design.strip(), []).append(path + text[len(target):])
        else:
            shared.append(text)
    return shared, by_design


def _judged(summary: dict, designs: list[str], runs) -> tuple[dict, dict]:
    """The report's verdicts against the first design, and the designs that barely ran."""
    from platoons.report.verdicts import coverage_flags, paired_verdicts, withhold

    metrics = sorted({m for values in summary.values() for m in values})
    flags = coverage_flags({d: {m: s["mean"] for m, s in summary.get(d, {}).items()} for d in designs})
    return withhold(paired_verdicts(runs, designs[0], metrics), flags), flags


def _verdicts_json(verdicts: dict) -> dict:
    out: dict[str, dict[str, str]] = {}
    for (design, metric), (verdict, _) in sorted(verdicts.items()):
        out.setdefault(design, {})[metric] = verdict
    return out


def _print_comparison(summary: dict, designs: list[str], verdicts: dict, flags: dict, runs: int | None = None,
                      wide: bool = False, metrics: list[str] | None = None) -> None:
    from platoons.cli.tables import print_comparison

    baseline = designs[0]
    if metrics is None:
        metrics = [m for m in KEY_METRICS if m in summary[baseline]] + [
            m for m in summary[baseline] if m.startswith("outcome_rate_")]
    print_comparison(summary, designs, metrics, verdicts, flags, runs, wide)


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
