"""Experiments at scale: runs per second by executor and workers, and the driver's peak memory.

Run: .venv/bin/python benchmarks/experiments_bench.py [--replicates 1] [--memory-runs 1000 10000]

Throughput: the shipped experiment (experiments/designs-under-uncertainty.yaml) cut to
`--replicates` replicates (default 1: 5 designs x 16 futures = 80 full-size runs), swept into a
fresh store by each executor with 1 and 2 workers. "wall" counts everything (start-up of the
pool or the Dask cluster, writing the store, the summary); "steady" counts from the first
finished run to the last. Efficiency is the 2-worker steady rate over twice the 1-worker one.

Memory: tiny runs (two areas, a year) so that 10,000 runs take a minute; the driver's peak
resident memory (VmHWM of the `platoons sweep` process, workers not included) at each
size, on the processes executor with 2 workers.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import yaml

from platoons.experiment import Dask, Executor, Outcome, Processes, Sequential, Task, resolve, run_sweep
from platoons.experiment.spec import load_experiment

SHIPPED = Path(__file__).resolve().parent.parent / "experiments" / "designs-under-uncertainty.yaml"
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
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child would report its parent's peak.
PEAK = ("import re, sys; from pathlib import Path; from platoons.cli import main\ntry:\n    main(sys.argv[1:])\n"
        "finally:\n    print('PEAK_KB', re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text())[1], "
        "file=sys.stderr)")


@dataclass
class Timed:
    """An executor that notes when each outcome arrives."""

    inner: Executor
    arrivals: list[float] = field(default_factory=list)

    def run(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        for outcome in self.inner.run(tasks):
            self.arrivals.append(time.perf_counter())
            yield outcome


def throughput(replicates: int) -> list[dict]:
    experiment = load_experiment(SHIPPED).model_copy(update={"replicates": replicates})
    sweep = resolve(experiment, str(SHIPPED))
    rows = []
    for name, workers, executor in [("sequential", 1, Sequential()), ("processes", 1, Processes(1)),
                                    ("processes", 2, Processes(2)), ("dask", 1, Dask(1)), ("dask", 2, Dask(2))]:
        timed = Timed(executor)
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            report = run_sweep(sweep, Path(out) / "store", timed)
            wall = time.perf_counter() - started
        first, last = timed.arrivals[0], timed.arrivals[-1]
        steady = (len(timed.arrivals) - 1) / (last - first) if last > first else float("nan")
        rows.append({"executor": name, "workers": workers, "runs": report.new, "wall_s": wall,
                     "runs_per_s": report.new / wall, "steady_runs_per_s": steady})
    for row in rows:
        one = next(r for r in rows if r["executor"] == row["executor"] and r["workers"] == 1)
        row["efficiency"] = row["steady_runs_per_s"] / (row["workers"] * one["steady_runs_per_s"])
    return rows


def memory(runs: int, directory: Path) -> dict:
    designs, replicates = 2, 10
    futures = runs // (designs * replicates)
    (directory / "tiny.yaml").write_text(yaml.safe_dump(TINY_WORLD))
    experiment = {
        "name": f"tiny-{runs}", "base": "tiny.yaml",
        "designs": ["local-lots", {"name": "rich-outcomes", "changes": {"design.payment.by_group.complex.outcome_fee_gbp": 5000}}],
        "uncertainties": [
            {"name": "referral_volume", "path": "world.regions.*.areas.*.referrals_per_month", "kind": "scale",
             "low": 0.6, "high": 1.4},
            {"name": "optimism", "path": "design.bidding.optimism", "low": 0.0, "high": 0.7},
        ],
        "sampler": {"method": "lhs", "futures": futures}, "replicates": replicates, "seed": 1,
    }
    path = directory / f"tiny-{runs}.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, "sweep", str(path), "--out", str(directory / f"store-{runs}"),
                           "--executor", "processes", "--workers", "2"], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    peak_kb = int(done.stderr.split("PEAK_KB")[-1].split()[0])
    parts = len(list((directory / f"store-{runs}" / "runs").glob("part-*.parquet")))
    return {"runs": designs * futures * replicates, "wall_s": wall, "peak_rss_mb": peak_kb / 1024, "parts": parts}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicates", type=int, default=1, help="Replicates of the shipped experiment to time.")
    parser.add_argument("--memory-runs", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--no-throughput", dest="throughput", action="store_false")
    args = parser.parse_args()
    if args.throughput:
        print(f"Throughput: {SHIPPED.name}, {args.replicates} replicate(s) per design and future (full-size runs)")
        print(f"{'executor':<12}{'workers':>8}{'runs':>6}{'wall s':>9}{'runs/s':>9}{'steady runs/s':>15}{'efficiency':>12}")
        for r in throughput(args.replicates):
            print(f"{r['executor']:<12}{r['workers']:>8}{r['runs']:>6}{r['wall_s']:>9.1f}{r['runs_per_s']:>9.2f}"
                  f"{r['steady_runs_per_s']:>15.2f}{r['efficiency']:>11.0%}")
    if args.memory_runs:
        print("\nDriver peak memory: tiny runs (2 areas, 12 months), processes executor, 2 workers, batches of 64")
        print(f"{'runs':>7}{'wall s':>9}{'part files':>12}{'peak RSS MB':>13}")
        with tempfile.TemporaryDirectory() as directory:
            for runs in args.memory_runs:
                m = memory(runs, Path(directory))
                print(f"{m['runs']:>7}{m['wall_s']:>9.1f}{m['parts']:>12}{m['peak_rss_mb']:>13.1f}")


if __name__ == "__main__":
    main()
