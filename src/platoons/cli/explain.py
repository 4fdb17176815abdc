"""`platoons explain`: why lots went unlet and why providers left, from a result directory."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from platoons.errors import InputError


def explain(
    result_dir: Path = typer.Argument(..., help="A result directory written by `platoons run --out` or `compare --out`."),
    lot: Optional[str] = typer.Option(None, "--lot", help="Show each tender of this lot: who passed each test, and why it was not let."),
    provider: Optional[str] = typer.Option(None, "--provider", help="Show this provider's hand-backs, withdrawals and failures (e.g. p12)."),
    design: Optional[str] = typer.Option(None, "--design", help="Only this design (default: every design in the directory)."),
) -> None:
    """Say in plain words what went wrong in stored runs, for the whole run, one lot or one provider."""
    from platoons.market.diagnostics import STAGES, reason_in_words
    from platoons.report.store import open_store
    from platoons.report.went_wrong import funnel_rows, models_of, stored_runs, stored_warnings

    if lot is not None and provider is not None:
        raise InputError("explain", "--lot/--provider", "one of --lot or --provider, not both", f"{lot}, {provider}")
    store = open_store(result_dir)
    designs = store.designs if design is None else [design]
    if design is not None and design not in store.designs:
        raise InputError(str(result_dir), "--design", f"one of {', '.join(store.designs)}", design)
    console = Console(width=160)
    models = models_of(store)
    runs = stored_runs(result_dir)
    if lot is not None:
        lots = {r["lot"] for d in designs for r in funnel_rows(runs.get(d, []))}
        if lot not in lots:
            raise InputError(str(result_dir), "--lot", f"a lot of the stored runs ({', '.join(sorted(lots)) or 'none'})", lot)
        for d in designs:
            _print_lot(console, d, funnel_rows(runs.get(d, []), lot), models.get(d, "direct"), STAGES, reason_in_words)
        return
    if provider is not None:
        for d in designs:
            _print_provider(console, d, runs.get(d, []), _provider_id(store.scenarios.get(d, {}), provider), provider)
        return
    warnings = stored_warnings(result_dir, models)
    for d in designs:
        sentences = warnings.get(d, [])
        console.print(f"[bold]{d}[/bold]: " + ("nothing went wrong that the runs recorded." if not sentences else ""))
        for sentence in sentences:
            console.print(f"  - {sentence}", markup=False, highlight=False)


def _print_lot(console, design: str, rows: list[dict], model: str, stages, in_words) -> None:
    table = Table(title=f"{design}: lot {rows[0]['lot'] if rows else '-'}, first run, each tender")
    for column in ("month", "terms", *stages, "let", "why not"):
        table.add_column(column, overflow="fold")
    for r, last_month in _runs_of_same(rows, stages):
        terms = "relaxed" if r["relaxed"] else ("set aside" if r["set_aside"] else "open")
        month = str(r["month"]) if last_month == r["month"] else f"{r['month']}-{last_month}"
        table.add_row(month, terms, *(f"{r[s]}/{r['teams']}" if s == "eligible" else str(r[s]) for s in stages),
                      "yes" if r["let"] else "no", "" if r["let"] else in_words(r, model))
    console.print(table)


def _provider_id(scenario: dict, provider: str) -> str:
    """The run tables' id (p0, p1, ...) of a provider named in the scenario's own providers file."""
    names = [q.get("name") for q in (scenario.get("sector") or {}).get("providers") or []]
    return f"p{names.index(provider)}" if provider in names else provider


def _runs_of_same(rows: list[dict], stages) -> list[tuple[dict, int]]:
    """Consecutive tenders with the same terms, counts and outcome, as (first row, last month)."""
    def same(row):
        return (row["relaxed"], row["set_aside"], row["teams"], row["let"], row["reason"], *(row[s] for s in stages))

    runs: list[tuple[dict, int]] = []
    for row in rows:
        if runs and same(runs[-1][0]) == same(row):
            runs[-1] = (runs[-1][0], row["month"])
        else:
            runs.append((row, row["month"]))
    return runs


def _print_provider(console, design: str, runs: list[tuple[dict, dict]], provider: str, name: str) -> None:
    exits = runs[0][0].get("exits", {}) if runs else {}
    columns = list(exits)
    rows = [dict(zip(columns, v)) for v in zip(*(exits[c] for c in columns))] if columns else []
    mine = [r for r in rows if r["provider"] == provider]
    label = provider if name == provider else f"{name} ({provider})"
    if not mine:
        console.print(f"[bold]{design}[/bold]: {label} did not hand back, withdraw, fail or close in the first run.")
        return
    for r in mine:
        console.print(f"[bold]{design}[/bold]: {label} ({r['kind']}, {r['size_band']}, {r['role']}) "
                      f"{r['exit'].replace('_', ' ')} in month {r['month']}: {r['cause']}; {r['people']} people moved.",
                      highlight=False)
