"""The command line as a user runs it."""

import json
import subprocess
import sys

import pyarrow.parquet as pq


def platoons(*args):
    return subprocess.run([sys.executable, "-m", "platoons", *args], capture_output=True, text=True)


def test_run_json_prints_metrics():
    done = platoons("run", "local-lots", "--json", "--set", "run.months=24")
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)["metrics"]
    assert metrics["outcomes"] > 0 and 0 < metrics["outcome_rate"] < 1


def test_compare_json_and_results_on_disk(tmp_path):
    done = platoons("compare", "regional-prime", "local-lots", "--replicates", "3", "--set", "run.months=24",
                    "--json", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    designs = json.loads(done.stdout)["designs"]
    assert set(designs) == {"regional-prime", "local-lots"}
    cell = designs["local-lots"]["outcome_rate"]
    assert cell["low"] <= cell["mean"] <= cell["high"]
    metrics = pq.read_table(tmp_path / "metrics.parquet")
    assert set(metrics.column("design").to_pylist()) == {"regional-prime", "local-lots"}
    assert sorted(set(pq.read_table(tmp_path / "runs.parquet").column("replicate").to_pylist())) == [0, 1, 2]


def test_sequential_and_processes_agree():
    args = ("compare", "local-lots", "--replicates", "2", "--set", "run.months=12", "--json")
    assert json.loads(platoons(*args, "--executor", "sequential").stdout) == json.loads(platoons(*args).stdout)


def test_presets_and_describe():
    assert "local-lots-capacity" in platoons("presets").stdout
    done = platoons("describe", "design.eligibility.min_turnover_gbp")
    assert "GBP/year" in done.stdout and "WPC 2013" in done.stdout
    bad = platoons("describe", "design.nothing")
    assert bad.returncode == 2 and "design.nothing" in bad.stderr


def test_run_tables_reach_the_store(tmp_path):
    from platoons.store import open_store

    done = platoons("compare", "regional-prime", "--replicates", "2", "--set", "run.months=24", "--out", str(tmp_path),
                    "--no-report", "--json")
    assert done.returncode == 0, done.stderr
    store = open_store(tmp_path)
    for table in ("contracts", "supply_chains", "payments", "yearly", "cohorts", "provider_flows"):
        assert store.execute(f"select count(*) from {table}").fetchone()[0] > 0, table
    kinds = {row[0] for row in store.execute("select distinct role from supply_chains").fetchall()}
    assert {"prime", "tier1", "tier2"} <= kinds


def test_an_alliance_is_told_why_its_effort_is_low_and_the_stored_results_say_the_same(tmp_path):
    from platoons.report.store import open_store
    from platoons.report.went_wrong import models_of, stored_warnings

    done = platoons("compare", "alliance", "--replicates", "2", "--set", "run.months=24", "--json", "--out", str(tmp_path),
                    "--no-report")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)["warnings"]["alliance"]
    assert any("full effort" in w and "paid their costs whatever the outcomes" in w for w in printed)
    assert stored_warnings(tmp_path, models_of(open_store(tmp_path)))["alliance"] == printed
