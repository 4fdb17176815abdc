"""What went wrong, read from a result directory: warnings per design, and why lots were not let.

The rows come from the runs' `diagnostics`, `affordability` and `stewardship` tables and their
metrics; the sentences are the same ones `platoons run` and `compare` print.
"""

from __future__ import annotations

import html
from pathlib import Path

from platoons.market.diagnostics import design_warnings
from platoons.report.parts import Data, Section, Table
from platoons.report.store import Store, read_table

RUN_TABLES = ("diagnostics", "affordability", "stewardship", "exits", "supply_chains", "effort")


def stored_runs(directory: str | Path) -> dict[str, list[tuple[dict, dict]]]:
    """Each design's runs as (tables, metrics), in the order the runs were stored."""
    runs: dict[str, dict[tuple, tuple[dict, dict]]] = {}
    metrics = read_table(directory, "metrics")
    for row in metrics.to_pylist() if metrics is not None else []:
        runs.setdefault(row["design"], {}).setdefault(_key(row), ({}, {}))[1][row["metric"]] = row["value"]
    for name in RUN_TABLES:
        table = read_table(directory, name)
        for row in table.to_pylist() if table is not None else []:
            tables, _ = runs.setdefault(row["design"], {}).setdefault(_key(row), ({}, {}))
            columns = tables.setdefault(name, {c: [] for c in table.column_names})
            for column, value in row.items():
                columns[column].append(value)
    return {design: list(by_run.values()) for design, by_run in runs.items()}


def _key(row: dict) -> tuple:
    return tuple(row.get(k) for k in ("future", "replicate"))


def stored_warnings(directory: str | Path, models: dict[str, str]) -> dict[str, list[str]]:
    return {design: design_warnings(runs, models.get(design, "direct")) for design, runs in stored_runs(directory).items()}


def models_of(store: Store) -> dict[str, str]:
    return {design: data.get("design", {}).get("delivery", {}).get("model", "direct") for design, data in store.scenarios.items()}


def went_wrong_section(store: Store) -> Section:
    warnings = stored_warnings(store.directory, models_of(store))
    intro = ("Warnings in plain words, from what each run recorded about its tenders (who could bid for each lot and "
             "why a lot was not let), the affordability check before the first tender, and the commissioner's "
             "stewardship of lots left without a holder.")
    rows = [(design, sentence) for design in store.designs for sentence in warnings.get(design, [])]
    if not rows:
        body = "<p>Nothing went wrong that the runs recorded: every lot was let and prices covered typical costs.</p>"
    else:
        items = "".join(f"<tr><td>{html.escape(d)}</td><td>{html.escape(s)}</td></tr>" for d, s in rows)
        body = (f"<div class=scroll><table class=warnings><thead><tr><th scope='col'>design</th>"
                f"<th scope='col'>warning</th></tr></thead><tbody>{items}</tbody></table></div>")
    reading = f"{len(rows)} warning(s) across {len(store.designs)} design(s)." if rows else "No warnings."
    blocks = [Table("went-wrong", "Warnings", reading, body, Data("warnings.csv", ("design", "warning"), rows))]
    return Section("went-wrong", "What went wrong", intro, blocks)


def funnel_rows(runs: list[tuple[dict, dict]], lot: str | None = None) -> list[dict]:
    """The diagnostics rows of a design's first run, for one lot or every lot."""
    if not runs:
        return []
    table = runs[0][0].get("diagnostics", {})
    columns = list(table)
    rows = [dict(zip(columns, values)) for values in zip(*(table[c] for c in columns))] if columns else []
    return [r for r in rows if lot is None or r["lot"] == lot]

