"""A real `platoons serve` on a free localhost port, for the web tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`platoons serve --data DATA` in its own process; `start` waits until it answers."""

    def __init__(self, data: Path, *options: str, token: str | None = None):
        self.data, self.options, self.token = Path(data), options, token
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        env = dict(os.environ)
        env.pop("PLATOONS_TOKEN", None)
        if self.token:
            env["PLATOONS_TOKEN"] = self.token
        command = [sys.executable, "-m", "platoons", "serve", "--port", str(self.port), "--data", str(self.data),
                   "--workers", "1", *self.options]
        # A file, not a pipe: reading a pipe to its end would wait for every process that inherited it.
        self.log = self.data.parent / f"server-{self.port}.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server stopped: {self.log.read_text()}")
            try:
                httpx.get(f"{self.url}/api/presets", timeout=2)
                return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("the server did not answer within 60 s")

    def stop(self, how: int = signal.SIGTERM) -> str:
        """Stop the server; what it printed."""
        if self.process is None:
            return ""
        if self.process.poll() is None:
            self.process.send_signal(how)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=60)
        return self.log.read_text()

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, timeout=60, headers=headers)


def wait_for(client: httpx.Client, job_id: str, statuses=("finished", "failed", "cancelled", "interrupted"),
             timeout_s: float = 300, done_at_least: int = 0) -> dict:
    """Poll a job until it reaches one of `statuses` (with at least `done_at_least` runs done)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in statuses and job["done"] >= done_at_least:
            return job
        if job["status"] == "failed":
            raise AssertionError(f"job {job_id} failed: {job['error']}")
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not reach {statuses} within {timeout_s} s: {job}")
