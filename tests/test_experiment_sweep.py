"""Sweeps: the store they write, common random numbers, resuming after a kill, refusing to clobber.

The helpers here (a tiny world, writing an experiment, reading a store in a canonical order)
are shared by the other experiment tests.
"""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from platoons.experiment import Sequential, load_sweep, plan, run_sweep, run_task
from platoons.store import open_store

# Two areas, a few dozen providers, a year: a run takes about 10 ms.
TINY_WORLD = {
    "base": "local-lots",
    "changes": {
        "world.regions": [{"name": "R", "areas": [{"name": "A", "referrals_per_month": 40},
                                                   {"name": "B", "referrals_per_month": 30}]}],
        **{f"sector.bands.{i}.count": n for i, n in enumerate((1, 1, 1, 2, 3, 3, 3, 1))},
        "run.months": 12,
        "design.contract.length_months": 12,
    },
}
UNCERTAINTIES = [
    {"name": "referral_volume", "path": "world.regions.*.areas.*.referrals_per_month", "kind": "scale",
     "low": 0.6, "high": 1.4},
    {"name": "effectiveness", "path": "sector.bands.*.effectiveness.*", "kind": "scale", "low": 0.8, "high": 1.2},
    {"name": "optimism", "path": "design.bidding.optimism", "low": 0.0, "high": 0.7},
]
ORDER = {"runs": "run_id", "metrics": "run_id, metric", "timeseries": "run_id, series, month",
         "flows": "run_id, kind, source, target", "summary": "design, metric",
         "sensitivity": "design, metric, parameter, index", "scenarios": '"order"', "futures": "future"}


def write_experiment(directory: Path, name: str = "experiment.yaml", **fields) -> Path:
    """An experiment over the tiny world: two designs, three uncertainties, LHS, unless `fields` say otherwise."""
    (directory / "tiny.yaml").write_text(yaml.safe_dump(TINY_WORLD))
    experiment = {
        "name": "tiny", "base": "tiny.yaml",
        "designs": ["local-lots", {"name": "rich-outcomes", "changes": {"design.payment.by_group.complex.outcome_fee_gbp": 5000}}],
        "uncertainties": UNCERTAINTIES, "sampler": {"method": "lhs", "futures": 3}, "replicates": 2, "seed": 7,
        **fields,
    }
    path = directory / name
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    return path


def store_rows(directory: Path) -> dict[str, list[tuple]]:
    """Every table of a store, rows sorted by run id (or key), NaN made comparable."""
    connection = open_store(directory)
    tables = {}
    for table, order in ORDER.items():
        rows = connection.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
        tables[table] = [tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in row) for row in rows]
    connection.close()
    return tables


def platoons(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "platoons", *map(str, args)], capture_output=True, text=True, **kwargs)


def test_a_sweep_writes_every_table_with_run_ids_and_parameters(tmp_path):
    sweep = load_sweep(write_experiment(tmp_path))
    report = run_sweep(sweep, tmp_path / "out", Sequential(), batch_size=5)
    assert report.complete and report.new == sweep.runs == 2 * 3 * 2
    out = tmp_path / "out"
    assert len(list((out / "runs").glob("part-*.parquet"))) == math.ceil(sweep.runs / 5)
    rows = store_rows(out)
    assert [r[0] for r in rows["runs"]] == list(range(sweep.runs))
    connection = open_store(out)
    columns = [c[0] for c in connection.execute("SELECT * FROM runs LIMIT 0").description]
    assert columns == ["run_id", "design", "future", "replicate", "seed", "referral_volume", "effectiveness", "optimism",
                       "scenario_hash", "version"]
    metrics = connection.execute("SELECT count(DISTINCT metric), count(*) FROM metrics").fetchone()
    assert metrics[1] == metrics[0] * sweep.runs
    assert connection.execute("SELECT count(*) FROM summary").fetchone()[0] == 2 * metrics[0]
    assert connection.execute("SELECT count(*) FROM sensitivity").fetchone()[0] == 0  # lhs: no indices
    # the DuckDB file's views find the parts by paths relative to the store
    database = duckdb.connect(str(out / "store.duckdb"), read_only=True)
    database.execute(f"SET file_search_path = '{out}'")
    assert database.execute("SELECT count(*) FROM runs").fetchone()[0] == sweep.runs
    database.close()


def test_every_design_sees_the_same_seed_for_the_same_replicate_and_future(tmp_path):
    sweep = load_sweep(write_experiment(tmp_path, replicates=3))
    tasks = list(sweep.tasks())
    assert [t.run_id for t in tasks] == list(range(sweep.runs))
    seeds = {(t.future, t.replicate): set() for t in tasks}
    for task in tasks:
        seeds[(task.future, task.replicate)].add(task.seed)
    assert all(len(s) == 1 for s in seeds.values())
    assert len({next(iter(s)) for (f, r), s in seeds.items() if f == 0}) == 3  # replicates differ
    # a future's values reach every design's scenario
    first = [t for t in tasks if t.future == 1 and t.replicate == 0]
    volume = sweep.values[1]["referral_volume"]
    for task in first:
        areas = [a.referrals_per_month for a in task.scenario.world.areas]
        assert areas == pytest.approx([40 * volume, 30 * volume])
        assert task.scenario.design.bidding.optimism == sweep.values[1]["optimism"]
    assert {t.scenario.design.name for t in first} == {"local-lots", "rich-outcomes"}


def test_without_uncertainties_a_sweep_runs_what_compare_runs(tmp_path):
    sweep = load_sweep(write_experiment(tmp_path, uncertainties=[], sampler=None, replicates=2, seed=3))
    run_sweep(sweep, tmp_path / "out", Sequential())
    stored = store_rows(tmp_path / "out")["metrics"]
    compared = [run_task(task) for task in plan(sweep.designs, 2, 3)]
    expected = sorted((o.run_id, name, value) for o in compared for name, value in o.metrics.items())
    got = sorted((row[0], row[4], row[5]) for row in stored)
    assert [(i, n) for i, n, _ in got] == [(i, n) for i, n, _ in expected]
    assert all((a == b) or (math.isnan(b) and a == "NaN") for (_, _, a), (_, _, b) in zip(got, expected))


@pytest.mark.parametrize("executor", ["sequential", pytest.param("processes", marks=pytest.mark.slow)])
def test_resume_after_sigkill_ends_identical_to_an_uninterrupted_sweep(tmp_path, executor):
    experiment = write_experiment(tmp_path, sampler={"method": "lhs", "futures": 6}, replicates=6,
                                  designs=["local-lots", "regional-direct", "consortium"])
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert platoons("sweep", experiment, "--out", whole, "--executor", "sequential").returncode == 0
    args = ["sweep", experiment, "--out", killed, "--executor", executor, "--workers", "2", "--batch-size", "3"]
    sweep = subprocess.Popen([sys.executable, "-m", "platoons", *map(str, args)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(list((killed / "runs").glob("part-*.parquet"))) < 3 and sweep.poll() is None:
            assert time.monotonic() < deadline, "the sweep wrote no parts"
            time.sleep(0.005)
    finally:
        os.kill(sweep.pid, signal.SIGKILL)
        sweep.wait()
    assert not (killed / "summary.parquet").exists(), "the sweep finished before it was killed"
    _assert_session_ends(sweep.pid)  # workers do not outlive a driver killed outright
    incomplete = platoons("summarize", killed)
    assert incomplete.returncode == 2 and "--resume" in incomplete.stderr
    resumed = platoons("sweep", experiment, "--out", killed, "--resume", "--executor", executor)
    assert resumed.returncode == 0, resumed.stderr
    assert store_rows(killed) == store_rows(whole)


def _assert_session_ends(session: int, within_s: float = 15) -> None:
    import psutil

    def members():
        found = []
        for process in psutil.process_iter():
            try:
                if os.getsid(process.pid) == session and process.status() != psutil.STATUS_ZOMBIE:
                    found.append(process)
            except (OSError, psutil.Error):
                continue
        return found

    deadline = time.monotonic() + within_s
    while members():
        assert time.monotonic() < deadline, f"processes left behind: {members()}"
        time.sleep(0.2)


def test_resume_ignores_partial_files_and_parts_of_batches_that_never_counted(tmp_path):
    sweep = load_sweep(write_experiment(tmp_path))
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    run_sweep(sweep, whole, Sequential(), batch_size=4)
    run_sweep(sweep, broken, Sequential(), batch_size=4)
    last = sorted((broken / "runs").glob("part-*.parquet"))[-1]
    last.unlink()  # the batch's runs part never landed: its metrics, series and flows parts must not count
    (broken / "runs" / "part-000099.parquet.partial").write_bytes(b"PAR1 half a file")
    (broken / "metrics" / "part-000099.parquet.partial").write_bytes(b"")
    report = run_sweep(sweep, broken, Sequential(), resume=True, batch_size=4)
    assert report.new == 4 and report.complete
    assert not list(broken.rglob("*.partial"))
    assert store_rows(broken) == store_rows(whole)


def test_a_store_is_never_overwritten_or_resumed_by_another_experiment(tmp_path):
    experiment = write_experiment(tmp_path)
    other = write_experiment(tmp_path, name="other.yaml", seed=8)
    out = tmp_path / "out"
    assert platoons("sweep", experiment, "--out", out, "--executor", "sequential").returncode == 0
    again = platoons("sweep", experiment, "--out", out)
    assert again.returncode == 2 and "--resume" in again.stderr and "--force" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    wrong = platoons("sweep", other, "--out", out, "--resume")
    assert wrong.returncode == 2 and "different experiment" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
    done = platoons("sweep", experiment, "--out", out, "--resume")
    assert done.returncode == 0 and "0 new" in done.stdout
    replaced = platoons("sweep", other, "--out", out, "--force", "--executor", "sequential")
    assert replaced.returncode == 0, replaced.stderr
    assert json.loads((out / "experiment.json").read_text())["experiment"]["seed"] == 8
    unrelated = tmp_path / "papers"
    unrelated.mkdir()
    (unrelated / "notes.txt").write_text("keep me")
    refused = platoons("sweep", experiment, "--out", unrelated, "--force")
    assert refused.returncode == 2 and (unrelated / "notes.txt").exists()


@pytest.mark.parametrize("sampler, indices", [
    ({"method": "sobol", "base_samples": 2}, {"S1", "S1_conf", "ST", "ST_conf"}),
    ({"method": "morris", "trajectories": 2}, {"mu_star", "mu_star_conf", "mu", "sigma"}),
])
def test_summarize_prints_means_and_sensitivity_indices(tmp_path, sampler, indices):
    experiment = write_experiment(tmp_path, sampler=sampler, replicates=2)
    out = tmp_path / "out"
    assert platoons("sweep", experiment, "--out", out, "--executor", "sequential").returncode == 0
    done = platoons("summarize", out, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["sampler"] == sampler["method"]
    cell = summary["designs"]["local-lots"]["outcomes"]
    assert cell["low"] <= cell["mean"] <= cell["high"]
    by_parameter = summary["sensitivity"]["local-lots"]["outcomes"]
    assert set(by_parameter) == {"referral_volume", "effectiveness", "optimism"}
    assert set(by_parameter["referral_volume"]) == indices
    rows = store_rows(out)["sensitivity"]
    assert {row[3] for row in rows} == {i for i in indices if not i.endswith("_conf")}
    table = platoons("summarize", out)
    assert table.returncode == 0 and "referral_volume" in table.stdout and "local-lots" in table.stdout


def test_a_complete_sweep_writes_its_report(tmp_path):
    import subprocess
    import sys

    experiment = tmp_path / "tiny.yaml"
    experiment.write_text(
        "base: local-lots\nchanges: {run.months: 12}\ndesigns: [local-lots, regional-prime]\n"
        "replicates: 2\nsampler: {method: grid, levels: 1}\nseed: 1\n"
    )
    out = tmp_path / "store"
    done = subprocess.run([sys.executable, "-m", "platoons", "sweep", str(experiment), "--out", str(out),
                           "--executor", "sequential"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    page = (out / "report.html").read_text()
    assert "local-lots" in page and "regional-prime" in page
