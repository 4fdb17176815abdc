"""Time the main job: `platoons compare` on the default designs, 20 replicates.

Run: .venv/bin/python benchmarks/main_job.py [--repeats 3]
Prints the median wall time of the whole command (set-up included) and of a single run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

from platoons import load_scenario, simulate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    single = []
    scenario = load_scenario("default")
    for seed in range(5):
        started = time.perf_counter()
        simulate(scenario, seed)
        single.append(time.perf_counter() - started)
    whole = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "platoons", "compare", "--replicates", "20", "--out", out],
                           check=True, capture_output=True)
            whole.append(time.perf_counter() - started)
    print(f"one run of default (84 months): median {statistics.median(single):.3f} s over {len(single)}")
    print(f"platoons compare, 5 designs x 20 replicates: median {statistics.median(whole):.1f} s over {len(whole)}")


if __name__ == "__main__":
    main()
