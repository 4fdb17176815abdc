"""Jobs: runs and comparisons submitted by clients, run in the background on the experiment executors.

A request handler only checks a job and queues it. A fixed number of job threads (the server's
`--jobs`) take jobs from the queue in order; each hands its runs to an executor (worker processes,
or a Dask scheduler) and counts the outcomes as they come back, then has a worker process write the
result store and its report; neither runs nor reports happen in the server's own process. Cancelling takes effect at the next outcome. On start, a job that was running
when the server stopped is marked interrupted; it can be restarted under the same id.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platoons.errors import InputError
from platoons.experiment import Task, make_executor, plan, summarize
from platoons.scenario.load import preset_names
from platoons.scenario.schema import Scenario
from platoons.web.scenarios import ClientError, client_error, preset_scenario, scenario_from_yaml, slug, with_changes
from platoons.web.settings import Settings
from platoons.web.store import FINAL, Job, WebStore

log = logging.getLogger("platoons.web")
SAVE_PROGRESS_S = 1.0


def check_job(store: WebStore, settings: Settings, kind: str, designs: list[str], replicates: int, seed: int | None,
              changes: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The job's spec and its number of runs, or a ClientError saying what is wrong with the request."""
    if kind == "run" and len(designs) != 1:
        raise ClientError(f"designs: a run takes one design (got {len(designs)})", "designs")
    if not designs:
        raise ClientError("designs: must name at least one preset or saved design (got none)", "designs")
    runs = len(designs) * replicates
    if runs > settings.max_runs:
        raise ClientError(f"replicates: this job would start {runs} runs ({len(designs)} design{'s' if len(designs) != 1 else ''} x {replicates} replicates); "
                          f"this server allows at most {settings.max_runs} runs per job", "replicates")
    spec = {"designs": list(designs), "replicates": replicates, "seed": seed, "changes": dict(changes)}
    spec["labels"] = list(scenarios_of(store, spec))
    return spec, runs


def scenarios_of(store: WebStore, spec: dict[str, Any]) -> dict[str, Scenario]:
    """Each design of a job under its label (the preset's design name, or the saved design's name), baseline first."""
    chosen: dict[str, Scenario] = {}
    for i, ref in enumerate(spec["designs"]):
        if ref in preset_names():
            scenario = preset_scenario(ref, spec["changes"] or None)
            label = scenario.design.name
        else:
            design = store.design(ref)
            if design is None:
                raise ClientError(f"designs.{i}: must be a preset or the id of a saved design (got {ref!r})", f"designs.{i}")
            scenario = scenario_from_yaml(design.yaml, f"{slug(design.name)}.yaml")
            if spec["changes"]:
                scenario = with_changes(scenario, spec["changes"])
            label = slug(design.name)
        chosen[_unique(chosen, label)] = scenario
    return chosen


def tasks_of(kind: str, spec: dict[str, Any], designs: dict[str, Scenario]) -> list[Task]:
    if kind == "run":
        (label, scenario), = designs.items()
        seed = scenario.run.seed if spec["seed"] is None else spec["seed"]
        return [Task(label, 0, seed, scenario)]
    return plan(designs, spec["replicates"], spec["seed"] or 0)


def _unique(existing: dict, name: str) -> str:
    candidate, n = name, 2
    while candidate in existing:
        candidate, n = f"{name}-{n}", n + 1
    return candidate


@dataclass
class Live:
    """What the server knows of a running job between saves."""

    job: Job
    cancel: threading.Event = field(default_factory=threading.Event)
    saved_at: float = 0.0


class QueueFull(Exception):
    pass


class JobManager:
    def __init__(self, store: WebStore, settings: Settings):
        self.store = store
        self.settings = settings
        self._queue: deque[str] = deque()
        self._live: dict[str, Live] = {}
        self._ready = threading.Condition()
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._writer: ProcessPoolExecutor | None = None  # writes results and reports off the server's process

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Mark what was running when the server stopped, queue what was waiting, and start the job threads."""
        for job in self.store.jobs_in(("running",)):
            job.status = "finished" if self.store.has_results(job.id) else "interrupted"
            job.error = None if job.status == "finished" else "the server stopped while this job was running"
            self.store.update_job(job)
        for job in self.store.jobs_in(("queued",)):
            self._queue.append(job.id)
        self._writer = self._new_writer()
        for n in range(self.settings.jobs):
            thread = threading.Thread(target=self._work, name=f"job-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, wait_s: float = 30.0) -> None:
        with self._ready:
            self._stopping = True
            for live in self._live.values():
                live.cancel.set()
            self._ready.notify_all()
        deadline = time.monotonic() + wait_s
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))
        if self._writer is not None:
            self._writer.shutdown(wait=False, cancel_futures=True)

    # requests --------------------------------------------------------------------------------

    def submit(self, kind: str, spec: dict[str, Any], runs: int) -> Job:
        with self._ready:
            if len(self._queue) >= self.settings.max_queued:
                raise QueueFull(f"the queue is full ({self.settings.max_queued} jobs waiting); try again later")
            job = self.store.add_job(kind, spec, runs)
            self._queue.append(job.id)
            self._ready.notify()
        return job

    def cancel(self, job_id: str) -> Job | None:
        with self._ready:
            if job_id in self._queue:
                self._queue.remove(job_id)
                job = self.store.job(job_id)
                job.status, job.finished = "cancelled", time.time()
                self.store.update_job(job)
                return job
            if job_id in self._live:
                self._live[job_id].cancel.set()
                return self._live[job_id].job
        return self.store.job(job_id)

    def restart(self, job_id: str) -> Job:
        with self._ready:
            job = self.store.job(job_id)
            if job.status not in ("interrupted", "cancelled", "failed"):
                raise ClientError(f"job {job_id}: only an interrupted, cancelled or failed job can be restarted "
                                  f"(it is {job.status})", "status")
            if len(self._queue) >= self.settings.max_queued:
                raise QueueFull(f"the queue is full ({self.settings.max_queued} jobs waiting); try again later")
            job.status, job.done, job.started, job.finished, job.error = "queued", 0, None, None, None
            self.store.update_job(job)
            self._queue.append(job.id)
            self._ready.notify()
        return job

    def status(self, job_id: str) -> dict[str, Any] | None:
        """The job as the API shows it: progress, time left and place in the queue."""
        with self._ready:
            live = self._live.get(job_id)
            job = live.job if live else self.store.job(job_id)
            place = list(self._queue).index(job_id) + 1 if job_id in self._queue else None
        if job is None:
            return None
        left = None
        if job.status == "running" and job.started and job.done:
            elapsed = time.time() - job.started
            left = round(elapsed / job.done * (job.total - job.done), 1)
        return {"id": job.id, "kind": job.kind, "status": job.status, "done": job.done, "total": job.total,
                "seconds_left": left, "queue_position": place, "created": job.created, "started": job.started,
                "finished": job.finished, "error": job.error, "designs": job.spec["labels"],
                "replicates": job.spec["replicates"], "seed": job.spec["seed"], "changes": job.spec["changes"],
                "refs": job.spec["designs"]}

    def counts(self) -> dict[str, int]:
        with self._ready:
            return {"queued": len(self._queue), "running": len(self._live)}

    # the job threads -------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopping:
                    self._ready.wait()
                if self._stopping:
                    return
                job = self.store.job(self._queue.popleft())
                live = self._live[job.id] = Live(job)
            try:
                self._run(live)
            except InputError as error:  # a saved design that no longer loads, say
                self._fail(job, str(client_error(error)))
            except ClientError as error:
                self._fail(job, str(error))
            except Exception:  # a job's failure is the job's, never the server's
                log.exception("job %s failed", job.id)
                self._fail(job, "the job failed inside the server; its log has the details")
            finally:
                with self._ready:
                    self._live.pop(job.id, None)

    def _fail(self, job: Job, message: str) -> None:
        job.status, job.finished, job.error = "failed", time.time(), message
        self.store.update_job(job)

    def _run(self, live: Live) -> None:
        job = live.job
        job.status, job.started, job.done = "running", time.time(), 0
        self.store.update_job(job)
        designs = scenarios_of(self.store, job.spec)
        tasks = tasks_of(job.kind, job.spec, designs)
        executor = make_executor(self.settings.executor, self.settings.workers_per_job, self.settings.scheduler)
        outcomes = []
        stream = executor.run(tasks)
        try:
            for outcome in stream:
                outcomes.append(outcome)
                job.done += 1
                if time.monotonic() - live.saved_at > SAVE_PROGRESS_S:
                    live.saved_at = time.monotonic()
                    self.store.update_job(job)
                if live.cancel.is_set():
                    break
        finally:
            stream.close()
        if live.cancel.is_set():
            job.status = "interrupted" if self._stopping else "cancelled"
            job.error = "the server stopped while this job was running" if self._stopping else None
        else:
            self._write(job, sorted(outcomes, key=lambda o: o.run_id), designs)
            job.status = "finished"
        job.finished = time.time()
        self.store.update_job(job)

    def _write(self, job: Job, outcomes: list, designs: dict[str, Scenario]) -> None:
        folder = self.store.partial_dir(job.id)
        writer = self._writer
        try:
            writer.submit(write_results_and_report, folder, outcomes, designs).result()
        except BrokenProcessPool:  # a writer died (killed, out of memory): start afresh once for this job
            with self._ready:
                if self._writer is writer:  # not yet replaced by another job thread
                    self._writer = self._new_writer()
            self._writer.submit(write_results_and_report, self.store.partial_dir(job.id), outcomes, designs).result()
        self.store.publish(job.id)

    def _new_writer(self) -> ProcessPoolExecutor:
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        return ProcessPoolExecutor(self.settings.jobs, mp_context=multiprocessing.get_context(method),
                                   initializer=_follow_server, initargs=(os.getpid(),))


def _follow_server(pid: int, every_s: float = 1.0) -> None:
    """In a writer process: exit once the server is gone, as a killed server cannot stop its pool."""
    import psutil

    born = psutil.Process(pid).create_time()

    def watch() -> None:
        while True:
            time.sleep(every_s)
            try:
                server = psutil.Process(pid)
                if server.create_time() == born and server.status() != psutil.STATUS_ZOMBIE:
                    continue
            except psutil.NoSuchProcess:
                pass
            os._exit(1)

    threading.Thread(target=watch, name="follow-server", daemon=True).start()


def write_results_and_report(folder: Path, outcomes: list, designs: dict[str, Scenario]) -> None:
    """In a worker process: a job's result store and its report, the heaviest part of a small job."""
    from platoons.report import write_report
    from platoons.store import write_results

    write_results(folder, outcomes, summarize(outcomes), designs)
    write_report(folder)


def is_final(status: str) -> bool:
    return status in FINAL
