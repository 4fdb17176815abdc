"""Load on the web app: concurrent clients submit small jobs to a real `platoons serve` on the loopback address.

    python benchmarks/web_load.py                      # 20 clients, 100 jobs in all (about 3 minutes on 2 cores)
    python benchmarks/web_load.py --clients 5 --jobs 10

Each client submits its share of the jobs (a comparison of one design over 2 replicates of 24 months),
then polls them until each is finished. The script stops by itself: when every job has ended, or at
--timeout. It reports whether any job was lost (submitted but unknown to the server, or neither finished
nor still queued), the time to answer a submission and a status poll, each job's time from submission to
results, throughput, and the server's memory (its own process and its worker processes) sampled throughout.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

DESIGNS = ("regional-prime", "local-lots", "consortium", "regional-direct")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=100, help="Jobs in all, shared among the clients.")
    parser.add_argument("--server-jobs", type=int, default=2, help="The server's --jobs: jobs running at once.")
    parser.add_argument("--timeout", type=float, default=900, help="Stop after this many seconds whatever happens.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="platoons-load-") as data:
        port = _free_port()
        log = open(Path(data) / "server.log", "w")  # a file, not a pipe: a full pipe would stall the server
        server = subprocess.Popen([sys.executable, "-m", "platoons", "serve", "--port", str(port), "--data", data,
                                   "--jobs", str(args.server_jobs), "--workers", "1"],
                                  stdout=subprocess.DEVNULL, stderr=log, text=True)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, server)
            memory = Memory(server.pid)
            memory.start()
            started = time.perf_counter()
            results = run_clients(url, args.clients, args.jobs, started + args.timeout)
            wall = time.perf_counter() - started
            memory.stop()
            final = httpx.get(f"{url}/api/jobs", timeout=60).json()
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
    report(args, results, final, wall, memory)


class Client(threading.Thread):
    def __init__(self, url: str, jobs: int, first: int, deadline: float):
        super().__init__(daemon=True)
        self.url, self.count, self.first, self.deadline = url, jobs, first, deadline
        self.submitted: dict[str, float] = {}  # job id -> when submitted
        self.ended: dict[str, tuple[str, float]] = {}  # job id -> (status, seconds from submission)
        self.submit_s: list[float] = []
        self.poll_s: list[float] = []
        self.refused: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as api:
            for n in range(self.count):
                body = {"designs": [DESIGNS[(self.first + n) % len(DESIGNS)]], "replicates": 2, "seed": self.first + n,
                        "changes": {"run.months": 24}}
                sent = time.perf_counter()
                answer = api.post("/api/comparisons", json=body)
                self.submit_s.append(time.perf_counter() - sent)
                if answer.status_code == 202:
                    self.submitted[answer.json()["id"]] = sent
                else:
                    self.refused.append(answer.text)
            while len(self.ended) < len(self.submitted) and time.perf_counter() < self.deadline:
                for job_id, sent in self.submitted.items():
                    if job_id in self.ended:
                        continue
                    asked = time.perf_counter()
                    job = api.get(f"/api/jobs/{job_id}").json()
                    self.poll_s.append(time.perf_counter() - asked)
                    if job["status"] not in ("queued", "running"):
                        self.ended[job_id] = (job["status"], time.perf_counter() - sent)
                time.sleep(0.5)


def run_clients(url: str, clients: int, jobs: int, deadline: float) -> list[Client]:
    shares = [jobs // clients + (1 if i < jobs % clients else 0) for i in range(clients)]
    firsts = [sum(shares[:i]) for i in range(clients)]
    threads = [Client(url, share, first, deadline) for share, first in zip(shares, firsts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(deadline - time.perf_counter(), 0) + 60)
    return threads


class Memory(threading.Thread):
    """The resident memory of the server and its worker processes, every half second."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.samples: list[tuple[float, float, float]] = []  # (seconds, server MB, server and workers MB)
        self._done = threading.Event()

    def run(self) -> None:
        start = time.perf_counter()
        while not self._done.is_set():
            try:
                own = self.process.memory_info().rss
                children = 0
                for child in self.process.children(recursive=True):
                    try:
                        children += child.memory_info().rss
                    except psutil.Error:
                        pass
                self.samples.append((time.perf_counter() - start, own / 2**20, (own + children) / 2**20))
            except psutil.Error:
                return
            self._done.wait(0.5)

    def stop(self) -> None:
        self._done.set()
        self.join()


def report(args, clients: list[Client], final: dict, wall: float, memory: Memory) -> None:
    submitted = {job_id for c in clients for job_id in c.submitted}
    ended = {job_id: outcome for c in clients for job_id, outcome in c.ended.items()}
    known = {job["id"]: job["status"] for job in final["jobs"]}
    statuses = {}
    for job_id in submitted:
        status = known.get(job_id, "lost")
        statuses[status] = statuses.get(status, 0) + 1
    finished = [seconds for status, seconds in ended.values() if status == "finished"]
    submit = [s for c in clients for s in c.submit_s]
    poll = [s for c in clients for s in c.poll_s]
    refused = sum(len(c.refused) for c in clients)
    lost = len(submitted) - sum(n for s, n in statuses.items() if s in ("finished", "queued", "running"))
    third = max(len(memory.samples) // 3, 1)
    early = max(m for _, _, m in memory.samples[:third])
    late = max(m for _, _, m in memory.samples[-third:])
    rows = [
        ("clients, jobs submitted (refused)", f"{args.clients}, {len(submitted)} ({refused})"),
        ("jobs by status at the end", ", ".join(f"{s} {n}" for s, n in sorted(statuses.items()))),
        ("jobs lost", str(lost)),
        ("wall time", f"{wall:.0f} s"),
        ("throughput", f"{len(finished) / wall * 60:.0f} jobs/min ({2 * len(finished) / wall:.1f} runs/s)"),
        ("submission answered in (median, 95th pct)", f"{_ms(statistics.median(submit))}, {_ms(_pct(submit, 95))}"),
        ("status poll answered in (median, 95th pct)", f"{_ms(statistics.median(poll))}, {_ms(_pct(poll, 95))}"),
        ("job, submission to results (median, max)", f"{statistics.median(finished):.0f} s, {max(finished):.0f} s"
         if finished else "-"),
        ("server memory (peak)", f"{max(m for _, m, _ in memory.samples):.0f} MB"),
        ("server and workers memory (peak in first third, last third)", f"{early:.0f} MB, {late:.0f} MB"),
    ]
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    if lost:
        raise SystemExit(1)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * q / 100), len(ordered) - 1)]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped with status {server.returncode}")
        try:
            httpx.get(f"{url}/api/presets", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("the server did not answer within 60 s")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    os.environ.setdefault("PYTHONPATH", str(Path(__file__).resolve().parent.parent / "src"))
    main()
