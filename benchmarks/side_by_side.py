"""One run of each preset, this version against another checkout, side by side on the same machine.

    .venv/bin/python benchmarks/side_by_side.py --base ../platoons-before [--presets default work-programme-2011] [--rounds 3]

Each measurement is a fresh Python process with the tree's `src` first on the path: it runs the preset once to
warm up, then times three runs and prints their median and its own peak memory. Rounds alternate the trees, so
a machine whose load drifts slows both alike; the table gives the median over rounds and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHILD = """
import json, resource, statistics, sys, time
from platoons import load_scenario, simulate
scenario = load_scenario(sys.argv[1])
simulate(scenario, 1)
times = []
for _ in range(3):
    start = time.perf_counter(); simulate(scenario, 1); times.append(time.perf_counter() - start)
print(json.dumps({"seconds": statistics.median(times), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(tree: Path, preset: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    done = subprocess.run([sys.executable, "-c", CHILD, preset], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="another checkout of the project (its root folder)")
    parser.add_argument("--presets", nargs="+", default=["default", "work-programme-2011"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trees = {"this": HERE.parent, "base": args.base.resolve()}
    found: dict[tuple[str, str], list[dict]] = {}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            for preset in args.presets:
                found.setdefault((name, preset), []).append(measure(tree, preset))
    print(f"{'preset':<24} {'this (s)':>9} {'base (s)':>9} {'ratio':>6} {'this MB':>8} {'base MB':>8}")
    for preset in args.presets:
        this, base = found["this", preset], found["base", preset]
        seconds = [statistics.median(m["seconds"] for m in runs) for runs in (this, base)]
        peaks = [max(m["peak_mb"] for m in runs) for runs in (this, base)]
        print(f"{preset:<24} {seconds[0]:>9.2f} {seconds[1]:>9.2f} {seconds[0] / seconds[1]:>6.2f} "
              f"{peaks[0]:>8.0f} {peaks[1]:>8.0f}")


if __name__ == "__main__":
    main()
