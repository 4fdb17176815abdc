"""The server's settings, from `platoons serve`'s options."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from platoons.errors import InputError

TOKEN_VARIABLE = "PLATOONS_TOKEN"


@dataclass(frozen=True)
class Settings:
    data: Path  # designs, jobs and results live here
    token: str | None = None  # with a token, every request must carry it
    jobs: int = 2  # jobs running at once; more wait in the queue
    workers: int | None = None  # worker processes per job (default: cores shared among the jobs)
    executor: str = "processes"  # processes or dask
    scheduler: str | None = None  # a Dask scheduler's address, with executor dask
    max_runs: int = 1000  # most runs one job may start
    max_queued: int = 500  # most jobs waiting
    max_upload_bytes: int = 2 * 1024 * 1024  # largest request body

    @property
    def workers_per_job(self) -> int:
        return self.workers or max((os.cpu_count() or 1) // self.jobs, 1)


def check_host(host: str, token: str | None) -> None:
    """Without a token the server answers only on this machine."""
    if token or is_loopback(host):
        return
    raise InputError("--host", "host", f"a loopback address such as 127.0.0.1 unless --token or {TOKEN_VARIABLE} is set",
                     host, message=f"{host} needs --token (or {TOKEN_VARIABLE}): without a token the server "
                                   "binds only to the loopback address")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
