"""Saved designs and jobs in DuckDB under the server's data folder; each job's results as Parquet beside it.

```
DATA/platoons.duckdb        designs (id, name, yaml, ...) and jobs (id, kind, spec, status, progress, ...)
DATA/results/JOB/           the job's result store: runs, metrics, ... as Parquet, and report.html
```

A design's id is a hash of its YAML, so the same design saved twice is one design and its link never
changes. Results appear whole: the job writes them under `JOB.partial/` and renames the folder.
The server process is the only writer; one connection, one lock.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from platoons.errors import InputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS designs (
    id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, base VARCHAR, yaml VARCHAR NOT NULL, created DOUBLE NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, spec VARCHAR NOT NULL, status VARCHAR NOT NULL,
    total INTEGER NOT NULL, done INTEGER NOT NULL, created DOUBLE NOT NULL, started DOUBLE, finished DOUBLE,
    error VARCHAR);
"""
FINAL = ("finished", "failed", "cancelled", "interrupted")  # a job in one of these states does not change by itself


@dataclass(frozen=True)
class Design:
    id: str
    name: str
    base: str | None  # the preset it starts from, or None for a whole scenario
    yaml: str
    created: float


@dataclass
class Job:
    id: str
    kind: str  # run or compare
    spec: dict[str, Any]  # designs, labels, replicates, seed, changes
    status: str  # queued, running, finished, failed, cancelled, interrupted
    total: int
    done: int = 0
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    error: str | None = None


class WebStore:
    def __init__(self, data: Path):
        self.data = Path(data)
        self.results = self.data / "results"
        self.results.mkdir(parents=True, exist_ok=True)
        try:
            self._db = duckdb.connect(str(self.data / "platoons.duckdb"))
        except duckdb.IOException as error:
            raise InputError("--data", "DIR", "a data folder no other server is using", str(error).splitlines()[0]) from None
        self._db.execute(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # designs ---------------------------------------------------------------------------------

    def save_design(self, name: str, base: str | None, text: str) -> Design:
        design = Design("d-" + hashlib.sha256(text.encode()).hexdigest()[:12], name, base, text, time.time())
        with self._lock:
            self._db.execute("INSERT INTO designs VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                             [design.id, design.name, design.base, design.yaml, design.created])
        return self.design(design.id) or design

    def design(self, design_id: str) -> Design | None:
        rows = self._query("SELECT id, name, base, yaml, created FROM designs WHERE id = ?", [design_id])
        return Design(*rows[0]) if rows else None

    def designs(self) -> list[Design]:
        return [Design(*row) for row in self._query("SELECT id, name, base, yaml, created FROM designs ORDER BY created DESC")]

    # jobs ------------------------------------------------------------------------------------

    def add_job(self, kind: str, spec: dict[str, Any], total: int) -> Job:
        job = Job("j-" + secrets.token_hex(6), kind, spec, "queued", total)
        with self._lock:
            self._db.execute("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             [job.id, job.kind, json.dumps(spec), job.status, job.total, job.done, job.created,
                              None, None, None])
        return job

    def update_job(self, job: Job) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET status = ?, done = ?, started = ?, finished = ?, error = ? WHERE id = ?",
                             [job.status, job.done, job.started, job.finished, job.error, job.id])

    def job(self, job_id: str) -> Job | None:
        rows = self._query(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", [job_id])
        return _job(rows[0]) if rows else None

    def jobs(self, limit: int = 200) -> list[Job]:
        return [_job(row) for row in self._query(f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY created DESC LIMIT ?", [limit])]

    def jobs_in(self, statuses: tuple[str, ...]) -> list[Job]:
        marks = ", ".join("?" for _ in statuses)
        return [_job(row) for row in self._query(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE status IN ({marks}) ORDER BY created", list(statuses))]

    # results ---------------------------------------------------------------------------------

    def result_dir(self, job_id: str) -> Path:
        return self.results / job_id

    def has_results(self, job_id: str) -> bool:
        return (self.result_dir(job_id) / "runs.parquet").is_file()

    def partial_dir(self, job_id: str) -> Path:
        partial = self.results / f"{job_id}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        return partial

    def publish(self, job_id: str) -> None:
        """Move a job's finished results into place in one step."""
        final = self.result_dir(job_id)
        shutil.rmtree(final, ignore_errors=True)
        (self.results / f"{job_id}.partial").rename(final)

    def _query(self, sql: str, parameters: list | None = None) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, parameters or []).fetchall()


_JOB_COLUMNS = "id, kind, spec, status, total, done, created, started, finished, error"


def _job(row: tuple) -> Job:
    job_id, kind, spec, status, total, done, created, started, finished, error = row
    return Job(job_id, kind, json.loads(spec), status, total, done, created, started, finished, error)
