"""The fault gallery: damaged and concurrent stores, kills at every rename, signals, read-only and full disks.

Each case is listed with the promise it checks in tests/invalid/README.md. Cases run the CLI in this
process where that tests the same thing, and as a process where a signal or a real exit status
needs one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hostile import BOUND_S, Case, assert_one_line, cli, process, tiny_experiment, tree_digest, write_yaml
from test_experiment_sweep import store_rows


def sweep(tmp: Path, out: Path, *extra, **fields):
    experiment = tiny_experiment(tmp, **fields)
    return cli("sweep", experiment, "--out", out, "--executor", "sequential", "--batch-size", "4", "--no-report", *extra)


def finished_store(tmp: Path) -> tuple[Path, dict]:
    out = tmp / "store"
    assert sweep(tmp, out).code == 0
    return out, store_rows(out)


def resume(tmp: Path, out: Path):
    return sweep(tmp, out, "--resume")


def refused_resume(tmp: Path, damage, words: tuple[str, ...]) -> None:
    """Damage a finished store; --resume names the damage, changes nothing, and the advice it gives works."""
    out, rows = finished_store(tmp)
    damage(out)
    before = tree_digest(out)
    result = resume(tmp, out)
    assert_one_line(result, 2, ("Nothing was changed", "--force", *words))
    assert tree_digest(out) == before, "--resume changed a damaged store before refusing it"
    advice = result.err.split("Remove ", 1)[1].split(" and run", 1)[0].split()
    for relative in advice:
        (out / relative).unlink()
    assert_one_line(resume(tmp, out), 0, ())
    assert store_rows(out) == rows


def truncated_part(tmp):
    def damage(out):
        part = out / "runs" / "part-000002.parquet"
        part.write_bytes(part.read_bytes()[:40])

    refused_resume(tmp, damage, ("runs/part-000002.parquet", "not a Parquet file"))


def foreign_part(tmp):
    def damage(out):
        shutil.copy(out / "metrics" / "part-000001.parquet", out / "runs" / "part-000003.parquet")

    refused_resume(tmp, damage, ("runs/part-000003.parquet", "columns of another table"))


def junk_part(tmp):
    refused_resume(tmp, lambda out: (out / "timeseries" / "part-000001.parquet").write_bytes(b"hello"),
                   ("timeseries/part-000001.parquet", "not a Parquet file"))


def missing_table_part(tmp):
    refused_resume(tmp, lambda out: (out / "flows" / "part-000003.parquet").unlink(), ("flows/part-000003.parquet", "missing"))


def empty_part(tmp):
    refused_resume(tmp, lambda out: (out / "contracts" / "part-000002.parquet").write_bytes(b""),
                   ("contracts/part-000002.parquet",))


def corrupt_manifest(tmp):
    out, rows = finished_store(tmp)
    (out / "experiment.json").write_text('{"experiment_hash": ')
    before = tree_digest(out)
    assert_one_line(resume(tmp, out), 2, ("experiment.json is damaged", "--force"))
    assert tree_digest(out) == before
    assert_one_line(cli("summarize", out), 2, ("experiment.json is damaged",))
    assert_one_line(sweep(tmp, out, "--force"), 0, ())
    assert store_rows(out) == rows


def manifest_not_a_mapping(tmp):
    out, _ = finished_store(tmp)
    (out / "experiment.json").write_text("[1, 2]")
    assert_one_line(resume(tmp, out), 2, ("experiment.json is damaged",))


def summarize_damaged(tmp):
    out, _ = finished_store(tmp)
    (out / "summary.parquet").write_bytes(b"PAR1 not really")
    assert_one_line(cli("summarize", out), 2, ("damaged", "--resume"))


def report_damaged(tmp):
    out, _ = finished_store(tmp)
    (out / "runs" / "part-000001.parquet").write_bytes(b"PAR1 not really")
    assert_one_line(cli("report", out), 2, ("damaged",))


def resume_other_experiment(tmp):
    out, _ = finished_store(tmp)
    before = tree_digest(out)
    assert_one_line(sweep(tmp, out, "--resume", seed=8), 2, ("different experiment",))
    assert tree_digest(out) == before


def plain_rerun_refused(tmp):
    out, _ = finished_store(tmp)
    before = tree_digest(out)
    assert_one_line(sweep(tmp, out), 2, ("--resume", "--force"))
    assert tree_digest(out) == before


def second_writer(tmp):
    out = tmp / "store"
    import psutil

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = tmp / ".store.lock"
        lock.write_text(json.dumps({"pid": holder.pid, "started": psutil.Process(holder.pid).create_time()}))
        assert_one_line(sweep(tmp, out), 2, ("being written by another platoons process", str(holder.pid)))
        assert not out.exists() and lock.exists()
    finally:
        holder.kill()
        holder.wait()


def stale_lock(tmp):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = tmp / ".store.lock"
    lock.write_text(json.dumps({"pid": dead.pid, "started": 0.0}))
    assert_one_line(sweep(tmp, tmp / "store"), 0, ())
    assert not lock.exists()


def concurrent_sweeps(tmp):
    """Two sweeps started together into one --out: one writes the store, the other is refused."""
    experiment = tiny_experiment(tmp, sampler={"method": "lhs", "futures": 20}, replicates=4)
    out = tmp / "store"
    args = [sys.executable, "-m", "platoons", "sweep", str(experiment), "--out", str(out), "--executor", "sequential",
            "--no-report"]
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = [(p.wait(timeout=BOUND_S), *p.communicate()) for p in (first, second)]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, _, err in results if code == 2)
    assert ("being written by another" in refused or "already exists" in refused) and "Traceback" not in refused
    rows = store_rows(out)
    assert len(rows["runs"]) == 2 * 20 * 4 and len({r[0] for r in rows["runs"]}) == 160


def killed_before_first_rename(tmp):
    out = tmp / "store"
    out.mkdir()
    (out / "experiment.json.partial").write_text('{"half": ')
    assert_one_line(sweep(tmp, out), 0, ())
    assert not list(out.rglob("*.partial"))


class Killed(BaseException):
    """Stands for SIGKILL at a rename: nothing after it runs to completion."""


def kill_at_every_rename(tmp, monkeypatch):
    """A sweep cut at its k-th rename, for every k, is finished by --resume and replaced by --force."""
    from platoons.experiment import Sequential, load_sweep, run_sweep

    small = {"sampler": {"method": "lhs", "futures": 2}, "replicates": 1}  # 4 runs, 2 batches
    experiment = tiny_experiment(tmp, **small)
    whole = tmp / "whole"
    real_replace = os.replace
    count = {"n": 0}

    def counting(source, target):
        count["n"] += 1
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", counting)
    run_sweep(load_sweep(experiment), whole, Sequential(), batch_size=2)
    renames = count["n"]
    expected = store_rows(whole)
    for k in range(1, renames + 1):
        out = tmp / f"cut-{k}"
        calls = {"n": 0}

        def cut(source, target, k=k):
            calls["n"] += 1
            if calls["n"] >= k:
                raise Killed()
            return real_replace(source, target)

        monkeypatch.setattr(os, "replace", cut)
        with pytest.raises(Killed):
            run_sweep(load_sweep(experiment), out, Sequential(), batch_size=2)
        monkeypatch.setattr(os, "replace", real_replace)
        if not out.exists():  # cut before the store existed: a plain sweep starts it
            assert_one_line(sweep(tmp, out, **small), 0, ())
        elif k % 2:
            assert_one_line(sweep(tmp, out, "--resume", **small), 0, ())
        else:
            assert_one_line(sweep(tmp, out, "--force", **small), 0, ())
        assert store_rows(out) == expected, f"cut at rename {k} of {renames}"


def compare_out_kept(tmp):
    out = tmp / "results"
    base = ["compare", "local-lots", "--replicates", "2", "--set", "run.months=6", "--executor", "sequential",
            "--no-report", "--json", "--out", out]
    assert_one_line(cli(*base), 0, ())
    before = tree_digest(out)
    assert_one_line(cli(*base), 2, ("already holds results", "--force"))
    assert tree_digest(out) == before
    replaced = cli("compare", "regional-direct", *base[2:], "--force")
    assert_one_line(replaced, 0, ())
    designs = set(pq.read_table(out / "runs.parquet").column("design").to_pylist())
    assert designs == {"regional-direct"}, "the replaced directory mixes two results"
    assert not list(tmp.glob(".results.*")), "staging folders were left beside the result"


def run_out_kept(tmp):
    out = tmp / "one"
    args = ["run", "local-lots", "--set", "run.months=6", "--json", "--out", out]
    assert_one_line(cli(*args), 0, ())
    before = tree_digest(out)
    assert_one_line(cli(*args), 2, ("--force",))
    assert tree_digest(out) == before
    assert_one_line(cli(*args, "--force"), 0, ())


def debug_shows_traceback(tmp):
    bad = tmp / "bad.yaml"
    bad.write_text("base: default\nrun: {months: 0}\n")
    plain, _ = process("validate", bad)
    assert_one_line(plain, 2, ("run.months",))
    debug, _ = process("validate", bad, "--debug")
    assert debug.code == 1 and "Traceback" in debug.err and "InputError" in debug.err


def refusals_stay_small(tmp):
    """Inputs built to exhaust memory are refused by a process that stays small."""
    bomb = tmp / "bomb.yaml"
    bomb.write_text("\n".join(["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
                              + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]) + "\n")
    long_contract = write_yaml(tmp / "long.yaml", {"base": "default", "changes": {"design.contract.length_months": 10**20}})
    many = tiny_experiment(tmp, replicates=10**9)
    futures = tiny_experiment(tmp, name="futures.yaml", sampler={"method": "monte_carlo", "futures": 10**9})
    for args in (["validate", bomb], ["run", long_contract], ["sweep", many, "--out", tmp / "o"],
                 ["sweep", futures, "--out", tmp / "o"]):
        result, peak = process(*args)
        assert_one_line(result, 2, ())
        assert peak < 600 * 2**20, f"{args}: {peak / 2**20:.0f} MB"


def accepted_files_run(tmp):
    """Files the gallery's validate accepts run to completion within the stated memory limit."""
    from hostile import memory_limit_bytes

    (tmp / "sub").mkdir()
    (tmp / "sub" / "parent.yaml").write_text("base: default\nrun: {months: 24}\n")
    (tmp / "sub" / "child.yaml").write_text("base: parent.yaml\n")
    (tmp / "bom.yaml").write_bytes(b"\xef\xbb\xbfbase: default\nrun: {months: 24}\n")
    edge = write_yaml(tmp / "edge.yaml", {"base": "local-lots", "changes": {
        "run.months": 36, "design.lots.lots_per_area": 3, "design.contract.length_months": 36}})
    for args in (["run", tmp / "sub" / "child.yaml"], ["run", tmp / "bom.yaml"], ["run", edge],
                 ["run", "default", "--set", "run.months=24", "--set", "design.bidding={optimism: 0.1}"]):
        assert_one_line(cli("validate", *args[1:]), 0, ("valid",))
        result, peak = process(*args, "--json")
        assert_one_line(result, 0, ("metrics",))
        assert peak < memory_limit_bytes()


def memory_estimate_holds(tmp):
    """The estimate that `validate` refuses on is above what a run really takes."""
    from platoons import load_scenario
    from platoons.scenario.limits import estimated_bytes
    from platoons.scenario.load import parse_assignments

    for changes in (["design.lots.lots_per_area=4"],  # the bidders' forecasts dominate
                    ["design.lots.lots_per_area=2", "design.contract.length_months=360"]):  # their cash plans
        sets = [a for change in ["run.months=24", *changes] for a in ("--set", change)]
        result, peak = process("run", "local-lots", *sets, "--json")
        assert_one_line(result, 0, ("metrics",))
        estimate = estimated_bytes(load_scenario("local-lots", parse_assignments(["run.months=24", *changes])))
        assert peak < estimate, f"{changes}: peak {peak / 2**20:.0f} MB above the estimate {estimate / 2**20:.0f} MB"


@contextmanager
def mounted_tmpfs(where: Path, options: str):
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def read_only_disk(tmp):
    with mounted_tmpfs(tmp / "ro", "ro,size=1m") as ro:
        slow = ["--replicates", "5000", "--executor", "sequential"]  # hours of runs, were they started
        assert_one_line(cli("compare", "default", *slow, "--out", ro / "results", bound_s=30), 2, ("cannot be written",))
        experiment = tiny_experiment(tmp)
        assert_one_line(cli("sweep", experiment, "--out", ro / "store", bound_s=30), 2, ("cannot be written",))


def full_disk(tmp):
    with mounted_tmpfs(tmp / "full", "size=64k") as full:
        result = cli("compare", "local-lots", "--replicates", "2", "--set", "run.months=12", "--executor", "sequential",
                     "--out", full / "results")
        assert_one_line(result, 1, ("No space left on device",))
        assert not (full / "results").exists(), "a result that did not fit was left half written"
        assert not [p for p in full.iterdir() if p.name.startswith(".results")], "staging was left on the full disk"
        result = sweep(tmp, full / "store")
        assert_one_line(result, 1, ("No space left on device",))


def full_disk_keeps_old(tmp):
    with mounted_tmpfs(tmp / "full", "size=2m") as full:
        out = full / "results"
        args = ["compare", "local-lots", "--replicates", "2", "--set", "run.months=6", "--executor", "sequential",
                "--no-report", "--out", out]
        assert_one_line(cli(*args), 0, ())
        before = tree_digest(out)
        free = os.statvfs(full).f_bavail * os.statvfs(full).f_frsize  # what is left, whatever the result's file count
        (full / "ballast").write_bytes(b"\0" * max(free - 8 * 4096, 0))
        result = cli(*args[:3], "20", *args[4:], "--force")
        assert result.code == 1 and "Traceback" not in result.err
        assert tree_digest(out) == before, "a replacement that did not fit damaged the old result"


def _signal_when(args: list, ready, signum: int, group: bool = False) -> subprocess.CompletedProcess:
    child = subprocess.Popen([sys.executable, "-m", "platoons", *map(str, args)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=group)
    deadline = time.monotonic() + BOUND_S
    while not ready():
        assert child.poll() is None, f"finished before the signal: {child.communicate()}"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    if group:
        os.killpg(child.pid, signum)
    else:
        child.send_signal(signum)
    out, err = child.communicate(timeout=BOUND_S)
    return subprocess.CompletedProcess(args, child.returncode, out, err)


def started(seconds: float):
    at = time.monotonic() + seconds
    return lambda: time.monotonic() > at


def running_for(marker: Path, seconds: float):
    """Ready `seconds` after `marker` appears: a slow start on a loaded machine does not eat the time."""
    seen = []

    def ready() -> bool:
        if not seen and marker.exists():
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() > seen[0] + seconds
    return ready


def sigterm_sweep(tmp):
    """SIGTERM: exit 143, one line saying how to resume, and the batch in hand written."""
    total = 20_000  # two designs x 2,000 futures x 5 replicates: more than a fast machine finishes before the signal
    experiment = tiny_experiment(tmp, sampler={"method": "lhs", "futures": total // 10}, replicates=5)
    out = tmp / "store"
    parts = out / "runs"
    # One batch is the whole sweep, so none fills before the signal: whatever is stored was written on the way out.
    args = ["sweep", experiment, "--out", out, "--executor", "sequential", "--batch-size", total, "--no-report"]
    done = _signal_when(args, running_for(out / "experiment.json", 3.0), signal.SIGTERM)
    assert done.returncode == 143 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and "SIGTERM" in done.stderr
    assert "--resume" in done.stderr
    stored = sum(pq.read_metadata(p).num_rows for p in parts.glob("part-*.parquet"))
    assert 0 < stored < total, f"{stored} runs stored: the batch in hand was dropped"
    assert_one_line(cli("summarize", out), 2, (f"holds {stored} of {total} runs", "--resume"))


def sigint_compare_keeps_old(tmp):
    """Ctrl-C during compare --force: exit 130, one line, and the old result untouched."""
    out = tmp / "results"
    assert_one_line(cli("compare", "local-lots", "--replicates", "2", "--set", "run.months=6", "--executor",
                        "sequential", "--no-report", "--out", out), 0, ())
    before = tree_digest(out)
    done = _signal_when(["compare", "default", "--replicates", "400", "--executor", "sequential", "--out", out, "--force"],
                        started(3.0), signal.SIGINT)
    assert done.returncode == 130 and done.stderr.strip() == "error: stopped by SIGINT", done.stderr
    assert tree_digest(out) == before


def sigint_group_with_workers(tmp):
    """Ctrl-C at a terminal reaches the workers too: still one line and exit 130."""
    done = _signal_when(["compare", "default", "local-lots", "--replicates", "200", "--workers", "2"], started(4.0),
                        signal.SIGINT, group=True)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.strip() == "error: stopped by SIGINT", done.stderr


def sigterm_run(tmp):
    done = _signal_when(["run", "default", "--set", "run.months=600"], started(2.0), signal.SIGTERM)
    assert done.returncode == 143 and done.stderr.strip() == "error: stopped by SIGTERM", done.stderr


SLOW = [pytest.mark.slow]
CASES = [
    Case("resume_truncated_part", "--resume names a truncated part, changes nothing, and its advice recovers", truncated_part),
    Case("resume_foreign_part", "--resume names a part of another table", foreign_part),
    Case("resume_junk_part", "--resume names a part that is not Parquet", junk_part),
    Case("resume_missing_table_part", "--resume names a batch with a table's part missing", missing_table_part),
    Case("resume_empty_part", "--resume names an empty part", empty_part),
    Case("corrupt_manifest", "a corrupt experiment.json is named; --force starts again", corrupt_manifest),
    Case("manifest_not_a_mapping", "an experiment.json of the wrong shape is named", manifest_not_a_mapping),
    Case("summarize_damaged", "summarize of a damaged store is one line", summarize_damaged),
    Case("report_damaged", "report of a damaged store is one line", report_damaged),
    Case("resume_other_experiment", "--resume refuses a store of another experiment and leaves it", resume_other_experiment),
    Case("plain_rerun_refused", "a sweep never overwrites a store without --resume or --force", plain_rerun_refused),
    Case("second_writer", "a live lock refuses a second writer, naming its pid", second_writer),
    Case("stale_lock", "a lock whose process is gone is taken over", stale_lock),
    Case("concurrent_sweeps", "two sweeps into one --out: one store, no interleaving", concurrent_sweeps, marks=SLOW),
    Case("killed_before_first_rename", "a store killed before its first rename is started afresh", killed_before_first_rename),
    Case("kill_at_every_rename", "a cut at any rename is recovered by --resume or --force", kill_at_every_rename, marks=SLOW),
    Case("compare_out_kept", "compare --out never overwrites without --force, and replaces whole", compare_out_kept),
    Case("run_out_kept", "run --out never overwrites without --force", run_out_kept),
    Case("debug_shows_traceback", "--debug shows the traceback; without it, one line", debug_shows_traceback),
    Case("refusals_stay_small", "alias bombs and huge sizes are refused in little memory", refusals_stay_small),
    Case("accepted_files_run", "files validate accepts run within the memory limit", accepted_files_run, marks=SLOW),
    Case("memory_estimate_holds", "the memory estimate is above a run's measured peak", memory_estimate_holds, marks=SLOW),
    Case("read_only_disk", "a read-only --out is refused before any run", read_only_disk),
    Case("full_disk", "a full disk is one line, exit 1, and leaves no half result", full_disk),
    Case("full_disk_keeps_old", "a replacement that does not fit leaves the old result intact", full_disk_keeps_old,
         marks=SLOW),
    Case("sigterm_sweep", "SIGTERM to a sweep: exit 143, one line, the batch in hand written", sigterm_sweep, marks=SLOW),
    Case("sigint_compare_keeps_old", "Ctrl-C during compare: exit 130, one line, old result intact",
         sigint_compare_keeps_old, marks=SLOW),
    Case("sigint_group_with_workers", "Ctrl-C reaching the workers too: one line, exit 130", sigint_group_with_workers,
         marks=SLOW),
    Case("sigterm_run", "SIGTERM to run: exit 143, one line", sigterm_run, marks=SLOW),
]


@pytest.mark.parametrize("case", [pytest.param(c, marks=c.marks, id=c.id) for c in CASES])
def test_fault(case: Case, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if case.id == "kill_at_every_rename":
        case.make(tmp_path, monkeypatch)
    else:
        case.make(tmp_path)
