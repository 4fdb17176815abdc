"""Terminal tables that fit the terminal: metric labels and units, verdicts in the report's colours, a legend.

Where every design fits side by side, metrics are rows and designs columns; where they do not,
designs are rows and the metrics come a few at a time, so no number is ever cut and every design
is named in full. `--wide` forces the side-by-side table whatever the terminal's width.
"""

from __future__ import annotations

import math
from typing import Mapping

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from platoons.metrics import metric_or_plain
from platoons.report.format import number
from platoons.report.verdicts import MAX_UNSERVED_SHARE, MIN_LOT_MONTHS_LET, flag_sentence

# The report's colours for the same verdicts (platoons.report.page STYLE), and a mark for terminals without colour.
STYLES = {"better": "bold #17693a on #dcf1e3", "worse": "bold #a5281b on #fadcd8", "lean better": "#1d2733 on #f0f8f2",
          "lean worse": "#1d2733 on #fcf1ef", "same": "", "not compared": "#6b4e00"}
MARKS = {"better": "++", "lean better": "+", "same": "=", "lean worse": "-", "worse": "--", "not compared": "?"}
LEGEND = (("better", "better"), ("lean better", "better on average"), ("same", "same"),
          ("lean worse", "worse on average"), ("worse", "worse"), ("not compared", "not compared: the design barely ran"))
LABEL_WIDTH = 24  # the metric column wraps its label to this many characters
BETTER = {"higher": "higher is better", "lower": "lower is better", "neither": "no better direction"}

Summary = Mapping[str, Mapping[str, Mapping[str, float]]]  # design -> metric -> mean, low, high
Verdicts = Mapping[tuple[str, str], tuple[str, float]]  # (design, metric) -> verdict, mean difference


def print_comparison(summary: Summary, designs: list[str], metrics: list[str], verdicts: Verdicts,
                     flags: Mapping[str, list[str]], runs: int | None = None, wide: bool = False,
                     console: Console | None = None) -> None:
    """Designs compared on `metrics`: mean, 90% interval and verdict against the first design, with a legend."""
    console = console or Console()
    metrics = [m for m in metrics if any(m in summary.get(d, {}) for d in designs)]
    title = ("Designs compared: mean and 90% interval" + (f" across {runs} runs each" if runs else "")
             + f"; baseline {designs[0]}")
    side_by_side = _metrics_as_rows(summary, designs, metrics, verdicts, flags, title)
    if wide:
        _print_at(console, side_by_side)
    elif _width(console, side_by_side) <= console.width:
        console.print(side_by_side)
    else:
        for table in _designs_as_rows(console, summary, designs, metrics, verdicts, flags, title):
            console.print(table)
    console.print(legend(designs[0], flags))


def print_values(values: Mapping[str, float], title: str, console: Console | None = None) -> None:
    """One run's metrics: label, value and unit, identifiers left to --json."""
    console = console or Console()
    table = Table(title=title, box=box.SIMPLE_HEAVY)
    table.add_column("Metric", max_width=max(20, min(48, console.width - 32)))
    table.add_column("Value", justify="right", no_wrap=True)
    table.add_column("Unit", max_width=max(8, console.width - 60))
    for name, value in values.items():
        meta = metric_or_plain(name)
        table.add_row(meta.label, number(value, meta.unit), meta.unit_text)
    console.print(table)


def legend(baseline: str, flags: Mapping[str, list[str]]) -> Text:
    text = Text(f"Against the baseline, {baseline}, on paired differences over the same seeds: ")
    for i, (verdict, words) in enumerate(LEGEND):
        text.append(f"{MARKS[verdict]} {words}", style=STYLES[verdict])
        text.append("; " if i < len(LEGEND) - 1 else ". ")
    text.append("Better or worse: the 90% interval of the difference lies wholly on one side; on average: only its "
                "mean does. No mark: the metric has no better direction. ")
    text.append(f"A design marked ! barely ran (more than {MAX_UNSERVED_SHARE:.0%} of referrals unserved or fewer "
                f"than {MIN_LOT_MONTHS_LET:.0%} of lot-months let; both thresholds are assumptions).")
    for design, reasons in flags.items():
        if reasons:
            text.append("\n! " + flag_sentence(design, reasons), style=STYLES["not compared"])
    return text


def _metrics_as_rows(summary, designs, metrics, verdicts, flags, title) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("Metric", max_width=LABEL_WIDTH)
    cells = {d: [_cell(summary, d, m, verdicts) for m in metrics] for d in designs}
    for design in designs:
        widest = max((c.cell_len for c in cells[design]), default=4)
        table.add_column(_stacked(_named(design, flags), widest), justify="right", no_wrap=True)
    for i, metric in enumerate(metrics):
        table.add_row(_label(metric), *(cells[d][i] for d in designs))
    return table


def _designs_as_rows(console, summary, designs, metrics, verdicts, flags, title) -> list[Table]:
    """Designs as rows, with as many metrics beside them as the width allows."""
    chunks: list[list[str]] = [[]]
    for metric in metrics:
        trial = _design_table(summary, designs, chunks[-1] + [metric], verdicts, flags, title)
        if chunks[-1] and _width(console, trial) > console.width:
            chunks.append([metric])
        else:
            chunks[-1].append(metric)
    return [_design_table(summary, designs, chunk, verdicts, flags,
                          f"{title} (part {i + 1} of {len(chunks)})" if len(chunks) > 1 else title)
            for i, chunk in enumerate(chunks)]


def _design_table(summary, designs, metrics, verdicts, flags, title) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("Design", no_wrap=True)
    cells = {m: [_cell(summary, d, m, verdicts) for d in designs] for m in metrics}
    for metric in metrics:
        widest = max([c.cell_len for c in cells[metric]] + [max(map(len, _label(metric).split()))])
        table.add_column(_label(metric), justify="right", min_width=widest, max_width=max(widest, 14))
    for i, design in enumerate(designs):
        table.add_row(_named(design, flags), *(cells[m][i] for m in metrics))
    return table


def _cell(summary, design: str, metric: str, verdicts: Verdicts) -> Text:
    """The mean with its verdict's mark, and beneath it the interval; a number is never wrapped."""
    meta = metric_or_plain(metric)
    stats = summary.get(design, {}).get(metric)
    if stats is None:
        return Text("n/a")
    mean, low, high = (stats.get(k, math.nan) for k in ("mean", "low", "high"))
    verdict = verdicts.get((design, metric), ("", 0.0))[0]
    mark = MARKS.get(verdict, "")
    text = Text(number(mean, meta.unit) + (f" {mark}" if mark else ""), style=STYLES.get(verdict, ""))
    if math.isfinite(low) or math.isfinite(high):
        text.append("\n" + f"{number(low, meta.unit)}–{number(high, meta.unit)}", style="dim")
    return text


def _label(metric: str) -> str:
    meta = metric_or_plain(metric)
    return f"{meta.label} ({meta.unit_text})" if meta.unit_text else meta.label


def _named(design: str, flags: Mapping[str, list[str]]) -> str:
    return f"{design} !" if flags.get(design) else design


def _stacked(name: str, width: int) -> str:
    """A design's name broken after hyphens into lines of at most `width` characters, so it stays whole."""
    lines = [""]
    for part in name.replace("-", "-\0").split("\0"):
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    return "\n".join(lines)


def _width(console: Console, table: Table) -> int:
    return Measurement.get(console, console.options.update(width=10_000), table).maximum


def _print_at(console: Console, renderable) -> None:
    """Print at the renderable's own width, wider than the terminal if need be."""
    width = console.width
    console.width = max(width, _width(console, renderable))
    try:
        console.print(renderable)
    finally:
        console.width = width
