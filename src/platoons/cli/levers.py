"""`platoons levers`: each commissioning lever's measured effect against the direction its mechanism implies."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table


def levers(
    replicates: int = typer.Option(None, min=2, max=10_000, help="Paired replicates per lever (default: each lever's own, 8-20)."),
    seed: int = typer.Option(0, min=0, help="Base seed of the replicates."),
    only: list[str] = typer.Option([], "--lever", help="Measure only this lever (repeat for more); default all."),
    workers: int = typer.Option(None, min=1, max=256, help="Worker processes (default: one per core)."),
    json_out: bool = typer.Option(False, "--json", help="Print the effects as JSON."),
) -> None:
    """Run each lever's low and high setting on the same seeds and report the paired effect on its measures."""
    from platoons.errors import InputError
    from platoons.experiment.levers import LEVERS, SIGNIFICANT_SE, measure

    names = [lever.name for lever in LEVERS]
    for name in only:
        if name not in names:
            raise InputError("--lever", "lever", " or ".join(names), name)
    chosen = [lever for lever in LEVERS if not only or lever.name in only]
    effects = []
    with Console(stderr=True).status("running the levers"):
        for lever in chosen:
            effects += measure(lever, replicates, seed, workers=workers)
    if json_out:
        print(json.dumps([{**e.__dict__, "verdict": e.verdict} for e in effects], indent=2))
        return
    table = Table(title=f"Levers: high setting minus low, {replicates} paired replicates" if replicates else
                  "Levers: high setting minus low, on each lever's paired replicates")
    for column in ("lever", "measure", "expected", "low", "high", "effect", "verdict"):
        table.add_column(column, overflow="fold")
    for e in effects:
        table.add_row(e.lever, e.measure, "up" if e.expected > 0 else "down", f"{e.low:.4g}", f"{e.high:.4g}",
                      f"{e.difference:+.3g} ± {e.standard_error:.2g}", e.verdict)
    Console().print(table)
    Console().print(f"An effect within {SIGNIFICANT_SE:g} standard errors of zero is not significant. "
                    "What each lever changes: platoons.experiment.levers.LEVERS.")
