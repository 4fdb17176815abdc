"""Exports for spreadsheets: summary.csv and summary.xlsx beside a comparison, and `platoons export` for any store."""

import csv
import math
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from platoons.metrics import describe_metric


def platoons(*args):
    return subprocess.run([sys.executable, "-m", "platoons", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    directory = tmp_path_factory.mktemp("store")
    done = platoons("compare", "regional-prime", "local-lots", "--replicates", "3", "--set", "run.months=12",
                    "--executor", "sequential", "--no-report", "--out", str(directory))
    assert done.returncode == 0, done.stderr
    return directory


def summary_cells(store):
    return {(r["design"], r["metric"]): r for r in pq.read_table(store / "summary.parquet").to_pylist()}


def test_xlsx_read_back_holds_the_numbers_of_summary_parquet(store):
    from openpyxl import load_workbook

    book = load_workbook(store / "summary.xlsx", read_only=True)
    assert book.sheetnames == ["Summary", "Verdicts", "Runs", "Glossary"]
    rows = list(book["Summary"].iter_rows(values_only=True))
    labels, units, data = rows[0], rows[1], rows[2:]
    expected = summary_cells(store)
    metrics = {m for _, m in expected}
    checked = 0
    for row in data:
        design = row[0]
        for metric in metrics:
            meta = describe_metric(metric)
            column = labels.index(meta.label)
            assert units[column] == meta.unit_text
            cell = expected[(design, metric)]
            for offset, key in enumerate(("mean", "low", "high")):
                value = row[column + offset]
                if cell[key] is None or not math.isfinite(cell[key]):
                    assert value is None
                else:
                    # openpyxl writes 16 significant digits, as many as Excel keeps
                    assert value == pytest.approx(cell[key], rel=1e-15, abs=0), (design, metric, key)
                    checked += 1
    assert [r[0] for r in data] == ["regional-prime", "local-lots"]
    assert checked > 100


def test_runs_sheet_has_every_run_and_the_glossary_every_metric(store):
    from openpyxl import load_workbook

    book = load_workbook(store / "summary.xlsx", read_only=True)
    runs = list(book["Runs"].iter_rows(values_only=True))
    metrics = pq.read_table(store / "metrics.parquet").to_pylist()
    assert len(runs) - 2 == len({(m["design"], m["replicate"]) for m in metrics}) == 6
    column = runs[0].index("Outcomes")
    value = next(m["value"] for m in metrics if m["design"] == "local-lots" and m["replicate"] == 1
                 and m["metric"] == "outcomes")
    assert next(r for r in runs[2:] if r[0] == "local-lots" and r[1] == 1)[column] == pytest.approx(value, rel=1e-15)
    glossary = {r[1]: r for r in book["Glossary"].iter_rows(min_row=2, values_only=True)}
    assert glossary["cost_per_outcome_gbp"][0] == "Cost per outcome"
    assert "divided by" in glossary["cost_per_outcome_gbp"][4]


def test_summary_csv_has_labels_then_units(store):
    with (store / "summary.csv").open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:3] == ["Design", "Barely ran", "Outcomes"]
    assert rows[1][rows[0].index("Outcome rate")] == "share (1 = 100%)"
    assert rows[1][rows[0].index("Cost per outcome")] == "GBP per outcome"
    expected = summary_cells(store)[("local-lots", "outcomes")]["mean"]
    assert float(rows[3][rows[0].index("Outcomes")]) == expected


def test_export_command_for_any_store(store, tmp_path):
    done = platoons("export", str(store), "--format", "csv", "--out", str(tmp_path / "csv"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["glossary.csv", "runs.csv", "summary.csv",
                                                                    "verdicts.csv"]
    assert (tmp_path / "csv" / "summary.csv").read_text() == (store / "summary.csv").read_text()
    done = platoons("export", str(store), "--format", "xlsx", "--out", str(tmp_path / "x"))
    assert done.returncode == 0 and (tmp_path / "x" / "summary.xlsx").is_file()
    bad = platoons("export", str(store), "--format", "ods")
    assert bad.returncode == 2 and "ods" in bad.stderr and "Traceback" not in bad.stderr
    missing = platoons("export", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
