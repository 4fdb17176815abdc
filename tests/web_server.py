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
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server stopped: {self.process.stderr.read()}")
            try:
                httpx.get(f"{self.url}/api/presets", timeout=2)
                return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("the server did not answer within 60 s")

    def stop(self, how: int = signal.SIGTERM) -> str:
        """Stop the server; its stderr."""
        if self.process is None or self.process.poll() is not None:
            return ""
        self.process.send_signal(how)
        try:
            _, err = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return err

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
