"""Executors: one small interface, `run(tasks) -> outcomes as they finish`, and three ways to do it.

Every executor calls the same `run_task` and every task carries its own seed, so all of them
give bit-identical outcomes; only the order in which outcomes arrive differs. Each keeps a
bounded number of tasks in flight and pulls the next task only when one finishes, so neither
the task list nor the results are ever held whole. Dask is imported only when it is used.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from itertools import islice
from typing import Callable, Iterable, Iterator, Protocol

from platoons.experiment.runs import Outcome, Task, run_task

EXECUTORS = ("sequential", "processes", "dask")
IN_FLIGHT_PER_WORKER = 2


class Executor(Protocol):
    def run(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        """Yield the outcome of every task as soon as it finishes, in any order."""
        ...


@dataclass(frozen=True)
class Sequential:
    """Runs tasks one after another in this process."""

    def run(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        for task in tasks:
            yield run_task(task)


@dataclass(frozen=True)
class Processes:
    """Runs tasks on local worker processes (default: one per core)."""

    workers: int | None = None

    def run(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        workers = self.workers or os.cpu_count() or 1
        # Workers start from a clean server process rather than a fork of this one: a fork of a
        # process with threads (progress bar, DuckDB) can inherit a held lock and hang.
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload(["platoons.experiment.runs"])  # import once, not in every worker
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_watch_driver,
                                   initargs=(os.getpid(),))
        try:
            yield from _stream(lambda task: pool.submit(run_task, task), _wait_first, tasks,
                               lambda: workers * IN_FLIGHT_PER_WORKER)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class Dask:
    """Runs tasks on a Dask cluster: a local one (worker processes) or an existing one at `scheduler`."""

    workers: int | None = None
    scheduler: str | None = None  # tcp://HOST:PORT of a running scheduler

    def run(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        from distributed import as_completed

        client, cluster = self._connect()
        try:
            running = as_completed(loop=client.loop)
            checked = {"at": float("-inf"), "threads": 1}

            def window() -> int:  # workers may join or leave an existing cluster during a sweep
                now = time.monotonic()
                if now - checked["at"] > 2.0:
                    checked["at"], checked["threads"] = now, max(sum(client.nthreads().values()), 1)
                return checked["threads"] * IN_FLIGHT_PER_WORKER

            def submit(task: Task):
                future = client.submit(run_task, task, pure=False)
                running.add(future)
                return future

            def next_done(_pending):
                future = next(running)
                return {future}, None

            yield from _stream(submit, next_done, tasks, window)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    def _connect(self):
        from distributed import Client, LocalCluster

        if self.scheduler is not None:
            from platoons.errors import InputError

            try:
                return Client(self.scheduler, timeout="10s", set_as_default=False), None
            except (OSError, TimeoutError, ValueError) as error:
                raise InputError("--scheduler", "scheduler", "the address of a running Dask scheduler",
                                 f"{self.scheduler}: {error}") from None
        workers = self.workers or os.cpu_count() or 1
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        return Client(cluster, set_as_default=False), cluster


def make_executor(name: str, workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor called `name`; `scheduler` (an existing Dask cluster) goes with `dask` only."""
    if scheduler is not None and name != "dask":
        raise ValueError(f"a scheduler address needs the dask executor (got {name!r})")
    if name == "sequential":
        return Sequential()
    if name == "processes":
        return Processes(workers)
    if name == "dask":
        return Dask(workers, scheduler)
    raise ValueError(f"unknown executor {name!r} (expected one of {', '.join(EXECUTORS)})")


def execute(tasks: list[Task], executor: str = "processes", workers: int | None = None) -> Iterator[Outcome]:
    """Run tasks, yielding outcomes in task order."""
    tasks = list(tasks)
    if executor == "sequential" or len(tasks) <= 1:
        yield from map(run_task, tasks)
        return
    runner = make_executor(executor, workers or min(len(tasks), os.cpu_count() or 1))
    numbered = [replace(task, run_id=i) for i, task in enumerate(tasks)]
    waiting: dict[int, Outcome] = {}
    following = 0
    for outcome in runner.run(numbered):
        waiting[outcome.run_id] = replace(outcome, run_id=tasks[outcome.run_id].run_id)
        while following in waiting:
            yield waiting.pop(following)
            following += 1


def _stream(submit: Callable, next_done: Callable, tasks: Iterable[Task],
            window: Callable[[], int]) -> Iterator[Outcome]:
    """Keep up to `window()` tasks in flight; yield each outcome as it finishes."""
    tasks = iter(tasks)
    pending = {submit(task) for task in islice(tasks, window())}
    while pending:
        done, _ = next_done(pending)
        for future in done:
            pending.discard(future)
            outcome = future.result()
            for task in islice(tasks, max(window() - len(pending), 0)):
                pending.add(submit(task))
            yield outcome


def _wait_first(pending):
    return wait(pending, return_when=FIRST_COMPLETED)


def _watch_driver(pid: int, every_s: float = 1.0) -> None:
    """In a worker: exit once the driver is gone.

    A driver killed outright (SIGKILL) cannot stop its workers, and a pool's workers never see
    the end of their task queue, so each one checks that its driver still lives.
    """
    import threading

    import psutil

    try:
        born = psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(every_s)
            try:
                driver = psutil.Process(pid)
                if driver.create_time() == born and driver.status() != psutil.STATUS_ZOMBIE:
                    continue
            except psutil.NoSuchProcess:
                pass
            os._exit(1)

    threading.Thread(target=watch, name="watch-driver", daemon=True).start()
