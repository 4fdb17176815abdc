"""Terminal tables that fit: designs as rows at 80 columns, side by side at 200, never a number cut.

Snapshots of the comparison table at 80 and 200 columns are in tests/snapshots/; regenerate them
deliberately with `pytest tests/test_readable_terminal.py --regen-golden` and review the diff.
"""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from platoons.cli.simulation import KEY_METRICS
from platoons.cli.tables import MARKS, print_comparison
from platoons.metrics import describe_metric
from platoons.report.format import number
from platoons.report.verdicts import VERDICTS

SNAPSHOTS = Path(__file__).parent / "snapshots"
NINE = ("regional-prime", "consortium", "regional-direct", "local-lots", "local-lots-capacity", "alliance",
        "outcomes-finance", "local-lots-capped", "mixed-packages")
SCALE = {"share": 0.3, "GBP": 4.5e7, "GBP/outcome": 6200.0, "people": 21_000.0, "providers": 12.0,
         "index 0-10,000": 2400.0}


def platoons(*args, columns=80):
    env = dict(os.environ, COLUMNS=str(columns))
    return subprocess.run([sys.executable, "-m", "platoons", *args], capture_output=True, text=True, env=env)


def fixed_comparison():
    """A comparison of nine designs with made-up but fixed numbers, verdicts of every kind and one flag."""
    summary = {}
    for i, design in enumerate(NINE):
        summary[design] = {}
        for j, metric in enumerate(KEY_METRICS):
            mean = SCALE[describe_metric(metric).unit] * (1 + 0.07 * i - 0.03 * j)
            summary[design][metric] = {"mean": mean, "low": mean * 0.93, "high": mean * 1.06}
    verdicts = {(d, m): (VERDICTS[(i + j) % len(VERDICTS)], 1.0)
                for i, d in enumerate(NINE[1:]) for j, m in enumerate(KEY_METRICS)
                if describe_metric(m).better != "neither"}
    flags = {"consortium": ["31% of referrals unserved (more than 20%)"]}
    return summary, verdicts, flags


def render(width, wide=False):
    summary, verdicts, flags = fixed_comparison()
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None, force_terminal=False)
    print_comparison(summary, list(NINE), list(KEY_METRICS), verdicts, flags, runs=20, wide=wide, console=console)
    return console.export_text(), summary


def fits(text, width, designs, summary, metrics):
    """Every line within the width, nothing cut off, every design named in full, every mean shown whole."""
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "…" not in text
    for design in designs:
        assert design in text, design
    for design in designs:
        for metric in metrics:
            mean = summary[design][metric]["mean"]
            assert number(mean, describe_metric(metric).unit) in text, (design, metric)


@pytest.mark.parametrize("width", [80, 200])
def test_snapshot_of_the_comparison(width, regen_golden):
    text, summary = render(width)
    fits(text, width, NINE, summary, KEY_METRICS)
    path = SNAPSHOTS / f"compare-{width}.txt"
    if regen_golden or not path.exists():
        path.write_text(text)
        if not regen_golden:
            pytest.fail(f"{path.name} was missing and has been written; review it and run again")
    assert text == path.read_text()


def test_designs_are_rows_at_80_and_columns_at_200():
    narrow, _ = render(80)
    wide, _ = render(200)
    # At 80 columns each design starts a row of its own, once per part of the table.
    assert all(any(line.startswith(f"  {d} ") or line.rstrip() == f"  {d}" for line in narrow.splitlines())
               for d in NINE)
    assert "(part 1 of" in narrow and "(part" not in wide
    header = next(line for line in wide.splitlines() if line.lstrip().startswith("Metric"))
    assert all(d in header for d in NINE)


def test_wide_keeps_designs_as_columns_whatever_the_width():
    text, _ = render(80, wide=True)
    assert "(part" not in text and max(map(len, text.splitlines())) > 80


def test_legend_explains_every_mark_and_the_flag():
    text, _ = render(200)
    for verdict, mark in MARKS.items():
        assert f"{mark} " in text
    assert "! consortium barely ran: 31% of referrals unserved" in text
    assert "consortium !" in text


@pytest.fixture(scope="module")
def nine(tmp_path_factory):
    """The nine shipped designs compared through the command line, with their store."""
    store = tmp_path_factory.mktemp("nine")
    done = platoons("compare", "--replicates", "2", "--set", "run.months=12", "--out", str(store), "--no-report",
                    "--json")
    assert done.returncode == 0, done.stderr
    return store, json.loads(done.stdout)


@pytest.mark.parametrize("width", [80, 200])
def test_summarize_of_a_real_comparison_fits(nine, width):
    store, result = nine
    done = platoons("summarize", str(store), columns=width)
    assert done.returncode == 0, done.stderr
    summary = result["designs"]
    designs = list(summary)
    assert len(designs) == 9
    fits(done.stdout, width, designs, {d: {m: {"mean": float("nan") if v["mean"] is None else v["mean"]}
                                           for m, v in s.items()} for d, s in summary.items()},
         [m for m in KEY_METRICS if m in summary[designs[0]]])
    for label in ("Outcome rate", "Commissioner spend", "Referrals unserved", "Outcomes (people)"):
        # at 80 columns a header may wrap between words
        assert label in done.stdout if width == 200 else all(word in done.stdout for word in label.split())


def test_compare_verdicts_are_the_reports(nine):
    """The terminal's verdicts (in --json) are the report's headline verdicts, cell for cell."""
    import csv
    from urllib.parse import unquote
    import re

    from platoons.report import build_report

    store, result = nine
    text = build_report(store)
    data = re.search(r"<a download='headline.csv' href='data:text/csv;charset=utf-8,([^']*)'>", text).group(1)
    rows = list(csv.DictReader(io.StringIO(unquote(data))))
    assert rows
    for row in rows:
        shown = result["verdicts"].get(row["design"], {}).get(row["metric"], "")
        assert shown == row["against_baseline"], (row["design"], row["metric"])


def test_compare_text_at_80_columns():
    done = platoons("compare", "regional-prime", "local-lots-capacity", "local-lots-capped", "--replicates", "2",
                    "--set", "run.months=12", "--executor", "sequential")
    assert done.returncode == 0, done.stderr
    assert max(len(line) for line in done.stdout.splitlines()) <= 80
    assert "…" not in done.stdout
    for design in ("local-lots-capacity", "local-lots-capped"):
        assert f"  {design}" in done.stdout
    assert "Against the baseline, regional-prime" in done.stdout
