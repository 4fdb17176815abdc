"""One executor contract: every executor gives the same store, bit for bit."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from platoons.experiment import Dask, Processes, Sequential, execute, load_sweep, plan, run_sweep
from test_experiment_sweep import platoons, store_rows, write_experiment


def test_execute_yields_outcomes_in_task_order_whichever_finishes_first(tmp_path):
    sweep = load_sweep(write_experiment(tmp_path, uncertainties=[], sampler=None, replicates=3))
    tasks = plan(sweep.designs, 3, 0)
    ordered = list(execute(tasks, "processes", workers=2))
    assert [(o.design, o.replicate) for o in ordered] == [(t.design, t.replicate) for t in tasks]
    assert [o.metrics["outcomes"] for o in ordered] == [o.metrics["outcomes"] for o in execute(tasks, "sequential")]


@pytest.mark.slow
def test_sequential_processes_and_a_local_dask_cluster_write_identical_stores(tmp_path):
    sweep = load_sweep(write_experiment(tmp_path, sampler={"method": "morris", "trajectories": 2}))
    stores = {}
    for name, executor in {"sequential": Sequential(), "processes": Processes(2), "dask": Dask(2)}.items():
        report = run_sweep(sweep, tmp_path / name, executor, batch_size=5)
        assert report.complete
        stores[name] = store_rows(tmp_path / name)
    assert stores["processes"] == stores["sequential"]
    assert stores["dask"] == stores["sequential"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(*args, cwd: Path) -> subprocess.Popen:
    dask = Path(sys.executable).parent / "dask"
    # A session of its own, so the worker a nanny starts is stopped with it.
    return subprocess.Popen([str(dask), *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.mark.slow
def test_a_sweep_sent_to_an_existing_dask_cluster_matches_the_sequential_store(tmp_path):
    from distributed import Client

    experiment = write_experiment(tmp_path)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    processes = [_start("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard", cwd=tmp_path)]
    try:
        for n in range(2):
            processes.append(_start("worker", address, "--nthreads", "1", "--no-dashboard", "--name", f"w{n}",
                                    "--local-directory", str(tmp_path / f"w{n}"), cwd=tmp_path))
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=60)
                break
            except OSError:
                assert time.monotonic() < deadline, "the Dask scheduler did not start"
                time.sleep(0.5)
        done = platoons("sweep", experiment, "--out", tmp_path / "cluster", "--scheduler", address, "--batch-size", "5")
        assert done.returncode == 0, done.stderr
    finally:
        for process in reversed(processes):
            _stop(process)
    assert all(p.poll() is not None for p in processes)
    assert platoons("sweep", experiment, "--out", tmp_path / "alone", "--executor", "sequential").returncode == 0
    assert store_rows(tmp_path / "cluster") == store_rows(tmp_path / "alone")


@pytest.mark.slow
def test_an_unreachable_scheduler_is_a_one_line_error_and_leaves_no_store(tmp_path):
    done = platoons("sweep", write_experiment(tmp_path), "--out", tmp_path / "out",
                    "--scheduler", f"tcp://127.0.0.1:{_free_port()}")
    assert done.returncode == 2 and "--scheduler" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
