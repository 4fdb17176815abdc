"""`platoons report`: the HTML report of a result store."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from platoons.cli.failures import damaged_store_errors


def report(
    directory: Path = typer.Argument(..., help="A result directory written by `platoons compare --out` or `platoons sweep`."),
    out: Optional[Path] = typer.Option(None, "--out", help="Where to write the report (default: DIRECTORY/report.html)."),
    png: Optional[Path] = typer.Option(None, "--png", help="Also write each chart as a PNG in this directory (needs Chromium)."),
) -> None:
    """Rebuild the HTML report (charts, tables, their data as CSV) from a result store; it opens offline."""
    from platoons.report import write_report

    with damaged_store_errors(directory):
        path = write_report(directory, out, png)
    print(f"Report written to {path}" + (f"; charts as PNG in {png}/" if png is not None else ""))


def export(
    directory: Path = typer.Argument(..., help="A result store written by `platoons compare --out` or `platoons sweep`."),
    fmt: str = typer.Option("xlsx", "--format", help="xlsx (one workbook, a sheet per table) or csv (a file per table)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Where to write (default: the store's directory)."),
) -> None:
    """Write a store's summary, verdicts, runs, sensitivity indices and glossary for a spreadsheet."""
    from platoons.report.export import export as write

    paths = write(directory, fmt, out)
    print("Written: " + ", ".join(str(p) for p in paths))
