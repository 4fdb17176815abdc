"""A result store as spreadsheets: summary.csv and summary.xlsx for people who work in Excel.

The workbook has one sheet per table: the summary (a row per design: each metric's mean and 90%
interval), the verdicts against the baseline, every run's metrics, the sensitivity indices where a
sweep has them, and the glossary. Headers are the metrics' labels with their units in the row
beneath; the numbers are the store's own (shares as fractions, shown as percentages in Excel).
`platoons export STORE --format csv` writes each table as its own CSV file.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from platoons.errors import InputError
from platoons.metrics import REGISTRY, Metric, metric_or_plain
from platoons.report.store import Store, open_store

FORMATS = ("csv", "xlsx")
PERCENT, MONEY, COUNT = "0.0%", "#,##0", "#,##0.0"


@dataclass(frozen=True)
class Sheet:
    """A table with two header rows: labels, then units (`formats` say how Excel shows each column)."""

    name: str
    labels: list[str]
    units: list[str]
    formats: list[str]
    rows: list[list]


def export(directory: str | Path, fmt: str, out: str | Path | None = None) -> list[Path]:
    """Write the store's tables as `fmt` (csv: one file per table; xlsx: summary.xlsx) under `out`."""
    if fmt not in FORMATS:
        raise InputError("--format", "format", " or ".join(FORMATS), fmt)
    store = open_store(directory)
    target = Path(out) if out is not None else Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    sheets = build_sheets(store)
    if fmt == "xlsx":
        return [write_xlsx(sheets, target / "summary.xlsx")]
    return [write_csv(sheet, target / f"{sheet.name.lower()}.csv") for sheet in sheets]


def write_summary_files(directory: str | Path) -> list[Path]:
    """summary.csv and summary.xlsx beside the store's Parquet tables, as `compare --out` writes them."""
    store = open_store(directory)
    sheets = build_sheets(store)
    return [write_csv(sheets[0], Path(directory) / "summary.csv"), write_xlsx(sheets, Path(directory) / "summary.xlsx")]


def build_sheets(store: Store) -> list[Sheet]:
    from platoons.report.sections import design_flags, paired_verdicts, summary
    from platoons.report.verdicts import WORDS, withhold

    stats = summary(store)
    metrics = ordered_metrics({m for _, m in stats})
    flags = design_flags(store, stats)
    verdicts = withhold(paired_verdicts(store, metrics), flags)
    sheets = [_summary_sheet(store, stats, metrics, flags),
              _verdict_sheet(store, metrics, verdicts, WORDS),
              _runs_sheet(store, metrics)]
    if store.has("sensitivity"):
        sheets.append(_sensitivity_sheet(store))
    sheets.append(_glossary_sheet(metrics))
    return sheets


def ordered_metrics(names) -> list[str]:
    """The registry's order, then metrics it does not declare (per need group, or an older store's) by name."""
    return [m for m in REGISTRY if m in names] + sorted(set(names) - set(REGISTRY))


def _summary_sheet(store: Store, stats, metrics: list[str], flags) -> Sheet:
    labels, units, formats = ["Design", "Barely ran"], ["", ""], ["", ""]
    for metric in metrics:
        meta = metric_or_plain(metric)
        labels += [meta.label, f"{meta.label}: 5th percentile", f"{meta.label}: 95th percentile"]
        units += [meta.unit_text] * 3
        formats += [_format(meta)] * 3
    rows = []
    for design in store.designs:
        row = [design, "; ".join(flags.get(design, []))]
        for metric in metrics:
            row += [_number(v) for v in stats.get((design, metric), (math.nan,) * 3)]
        rows.append(row)
    return Sheet("Summary", labels, units, formats, rows)


def _verdict_sheet(store: Store, metrics: list[str], verdicts, words) -> Sheet:
    judged = [m for m in metrics if metric_or_plain(m).better != "neither"]
    rows = [[d] + [words.get(verdicts.get((d, m), ("",))[0], "") for m in judged] for d in store.designs[1:]]
    return Sheet("Verdicts", ["Design"] + [metric_or_plain(m).label for m in judged],
                 [f"against {store.baseline}"] + [f"{metric_or_plain(m).better} is better" for m in judged],
                 [""] * (len(judged) + 1), rows)


def _runs_sheet(store: Store, metrics: list[str]) -> Sheet:
    key = list(store.run_key)
    values: dict[tuple, dict[str, float]] = {}
    select = ", ".join(["design", *key, "metric", "value"])
    for design, *rest in store.query(f"SELECT {select} FROM metrics ORDER BY ALL"):
        *run, metric, value = rest
        values.setdefault((design, *run), {})[metric] = value
    order = {d: i for i, d in enumerate(store.designs)}
    rows = [[*run, *(_number(v.get(m)) for m in metrics)]
            for run, v in sorted(values.items(), key=lambda kv: (order.get(kv[0][0], len(order)), kv[0][1:]))]
    return Sheet("Runs", ["Design", *(k.capitalize() for k in key), *(metric_or_plain(m).label for m in metrics)],
                 ["", *([""] * len(key)), *(metric_or_plain(m).unit_text for m in metrics)],
                 ["", *([""] * len(key)), *(_format(metric_or_plain(m)) for m in metrics)], rows)


def _sensitivity_sheet(store: Store) -> Sheet:
    rows = store.query('SELECT design, metric, parameter, "index", value, conf FROM sensitivity ORDER BY ALL')
    return Sheet("Sensitivity", ["Design", "Metric", "Parameter", "Index", "Value", "Confidence half-width"],
                 ["", "", "", "", "", ""], ["", "", "", "", "0.000", "0.000"],
                 [[d, metric_or_plain(m).label, p, str(i), _number(v), _number(c)] for d, m, p, i, v, c in rows])


def _glossary_sheet(metrics: list[str]) -> Sheet:
    rows = [[metric_or_plain(m).label, m, metric_or_plain(m).unit_text, metric_or_plain(m).better, metric_or_plain(m).definition] for m in metrics]
    return Sheet("Glossary", ["Metric", "Identifier", "Unit", "Better", "Definition"], [""] * 5, [""] * 5, rows)


def write_csv(sheet: Sheet, path: Path) -> Path:
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(sheet.labels)
        writer.writerow([_csv_unit(u) for u in sheet.units])
        writer.writerows([("" if v is None else v) for v in row] for row in sheet.rows)
    partial.replace(path)
    return path


def write_xlsx(sheets: list[Sheet], path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        page = book.create_sheet(sheet.name)
        page.append(sheet.labels)
        page.append(sheet.units)
        for cell in page[1]:
            cell.font = Font(bold=True)
        for cell in page[2]:
            cell.font = Font(italic=True)
        for row in sheet.rows:
            page.append(row)
        for column, fmt in enumerate(sheet.formats, start=1):
            if fmt:
                for (cell,) in page.iter_rows(min_row=3, min_col=column, max_col=column):
                    cell.number_format = fmt
        page.freeze_panes = "B3"
    partial = path.with_name(path.name + ".partial")
    book.save(partial)
    partial.replace(path)
    return path


def _csv_unit(unit: str) -> str:
    """In a CSV a share stays a fraction, so its unit says so."""
    return "share (1 = 100%)" if unit == "%" else unit


def _format(meta: Metric) -> str:
    if meta.unit.startswith("share"):
        return PERCENT if meta.unit == "share" else "0.000"
    if meta.unit.startswith("GBP"):
        return MONEY
    return COUNT


def _number(value):
    return float(value) if value is not None and math.isfinite(value) else None
