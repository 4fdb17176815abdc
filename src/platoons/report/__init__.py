"""The report: one HTML file of charts and tables that opens offline, a pure function of a result store.

`write_report(directory)` reads the tables under `directory` (as `platoons compare --out` and
`platoons sweep` write them) and writes `directory/report.html`; `platoons report DIR` does the same
from the command line.
"""

from __future__ import annotations

import os
from pathlib import Path

from platoons.report.store import open_store, read_table

__all__ = ["build_report", "read_table", "write_report"]


def build_report(directory: str | Path) -> str:
    """The report's HTML for the result store under `directory`."""
    from platoons.report.page import render_page
    from platoons.report.sections import build_sections

    store = open_store(directory)
    return render_page(store, build_sections(store))


def write_report(directory: str | Path, path: str | Path | None = None, png: str | Path | None = None) -> Path:
    """Write the report of the store under `directory` to `path` (default `directory/report.html`).

    With `png`, also write each chart as `png/<chart>.png`. Returns the report's path.
    """
    directory = Path(directory)
    text = build_report(directory)
    path = Path(path) if path is not None else directory / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    if png is not None:
        from platoons.report.png import write_pngs

        write_pngs(path, png)
    return path
