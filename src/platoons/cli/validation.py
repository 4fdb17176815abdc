"""`platoons check-record`: the real-programme presets set against the published record."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from platoons.experiment.validation import BASE_SEED, REPLICATES


def check_record(
    replicates: int = typer.Option(REPLICATES, min=2, help="Replicates per preset, on fixed seeds."),
    seed: int = typer.Option(BASE_SEED, min=0, help="Base seed of the replicates."),
    out: Path = typer.Option(Path("docs/validation.md"), "--out", help="Where to write the generated page."),
    json_out: Path = typer.Option(Path("docs/validation.json"), "--json-out", help="Where to write the results as JSON."),
    executor: str = typer.Option("processes", help="sequential or processes."),
) -> None:
    """Run the real-programme presets on fixed seeds and compare every published figure they produce."""
    from platoons.errors import InputError
    from platoons.experiment.validation import check_record as run_check, save

    if executor not in ("sequential", "processes"):
        raise InputError("--executor", "executor", "sequential or processes", executor)
    for path in (out, json_out):
        if not path.parent.is_dir():
            raise InputError(str(path), "folder", "an existing folder", str(path.parent))
    with Console(stderr=True).status("running the presets"):
        result = run_check(replicates, seed, executor)
    save(result, json_out, out)
    table = Table(title=f"Checked against the record ({replicates} replicates)")
    for column in ("figure", "published", "model mean", "within", "role"):
        table.add_column(column)
    for fact in result["facts"]:
        table.add_row(fact["fact"], str(fact["published"]), str(fact["mean"]), "yes" if fact["within_tolerance"] else "no", fact["role"])
    Console().print(table)
    Console().print(f"Written {out} and {json_out}")
