"""The benchmark suite: engine throughput, the Mesa reference, scaling, the main job.

Run: ``.venv/bin/python benchmarks/run.py [--quick] [--repeats N] [--profile]``
(needs the ``bench`` extra: Mesa 3). Prints one table; ``--profile`` then prints where a run
of ``default`` and of ``work-programme-2011`` spends its time (cProfile).

Definitions, the same for Platoons and the Mesa reference:

- participant-months: over the months of a run, the sum of the people the programme holds once
  the month's delivery, settlement and failures are done: on the caseload, in work before the
  outcome is paid, and in work earning sustainment payments. Platoons holds them as counts in
  its placements (``Placements.people()``); the run is replayed through the engine's own
  start and ``step`` to count them (the same scenario and seed give the same run). The Mesa
  reference holds one ``Participant`` agent per person and counts the agents.
- throughput: participant-months per second of wall time of a whole run: set-up, tenders,
  the monthly steps and the metrics (``platoons.simulate``, ``mesa_reference.run_reference``).
- peak memory: the peak resident set size of the process (``ru_maxrss``). Every measurement
  runs in a fresh Python process pinned to one CPU core, so a figure is that of one run on one
  core; "added" is the peak less the process's size once the scenario is loaded.

Rows:

- ``default`` and ``work-programme-2011`` (about 1.9m referrals over 5 years, 84 months, 40
  prime contracts, 1,178 providers at the start): seconds per run, peak memory, throughput.
- Platoons against the Mesa reference on ``default`` serving 0.01, 0.1 and 1 times the people
  (``--mesa-sizes``; see `scaled`), both measured in the same invocation; the ratio of their
  throughputs.
- Scaling: ``default`` serving 0.01, 0.1, 1 and 10 times the people (participants; see `scaled`), and with
  every provider band's count scaled by 0.1, 1 and 10 (providers); the exponent is the slope
  of log(time) or log(memory added) against log(size) over the sizes measured.
- The main job: ``platoons compare --replicates 20 --out DIR`` timed end to end as a command
  (its default process executor uses every core: the table says how many).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
GOAL_RATIO = 100.0
GOAL_WP_SECONDS = 5.0
GOAL_WP_MB = 2048.0


# --- one measurement, in its own process ---------------------------------------------------


def scaled(preset: str, people: float = 1.0, providers: float = 1.0):
    """A preset serving `people` times the referrals, or with `providers` times the providers.

    To serve f times the people with the same market, every area's referrals and every money
    amount that sets who can bid and what is fixed per contract are scaled by f: providers'
    turnover (and so reserves), the small-provider and size-band edges, the eligibility
    thresholds, bid-writing and compliance costs, the exit threshold and grants. Prices and
    costs per person stay as they are. (The engine's fixed turnovers at which providers open
    regionally and nationally are not scaled.) Without this, lots a hundredth the size draw no
    bids at all, and lots ten times the size are more than any provider can absorb.
    """
    from platoons import load_scenario
    from platoons.scenario.schema import Scenario

    data = load_scenario(preset).model_dump(mode="json")
    for region in data["world"]["regions"]:
        for area in region["areas"]:
            area["referrals_per_month"] *= people
    sector, design = data["sector"], data["design"]
    for band in sector["bands"]:
        band["turnover_gbp"] *= people
        band["count"] = max(1, round(band["count"] * providers)) if band["count"] else 0
    sector["small_max_turnover_gbp"] *= people
    sector["size_band_edges_gbp"] = [edge * people for edge in sector["size_band_edges_gbp"]]
    for name in ("compliance_gbp_per_month", "exit_turnover_gbp"):
        sector["dynamics"][name] *= people
    for name in ("min_turnover_gbp", "min_reserves_gbp"):
        design["eligibility"][name] *= people
    design["bidding"]["bid_cost_gbp"] *= people
    for name in ("budget_gbp_per_year", "grant_gbp"):
        design["capacity_grants"][name] *= people
    return Scenario.model_validate(data)


def platoons_participant_months(scenario, seed: int) -> int:
    """People held after each month's delivery, summed over the run, replaying the engine's own loop."""
    from platoons.market.engine import step
    from platoons.simulate import _start

    market = _start(scenario, seed)
    total = 0

    def count(market, month) -> None:
        nonlocal total
        total += int(market.placements.people().sum())

    for _ in range(scenario.run.months):
        step(market, count)
    return total


def measure(job: dict) -> dict:
    """Time `job['repeats']` runs of one engine on one scenario; peak memory; participant-months."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    scenario = scaled(job["preset"], job.get("people", 1.0), job.get("providers", 1.0))
    if job["engine"] == "platoons":
        from platoons import simulate

        def run(seed):
            simulate(scenario, seed)
    else:
        sys.path.insert(0, str(HERE))
        from mesa_reference import run_reference

        def run(seed):
            return run_reference(scenario, seed)[1]
    loaded_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds = []
    for _ in range(job["repeats"]):
        started = time.perf_counter()
        counted = run(job["seed"])
        seconds.append(time.perf_counter() - started)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if job["engine"] == "platoons":
        counted = platoons_participant_months(scenario, job["seed"])
    return {
        "seconds": statistics.median(seconds), "participant_months": int(counted),
        "peak_mb": peak_kb / 1024, "added_mb": (peak_kb - loaded_kb) / 1024,
        "referrals_per_year": float(scenario_referrals_per_year(scenario)),
        "providers": sum(b.count for b in scenario.sector.bands), "lots": lot_count(scenario),
    }


def scenario_referrals_per_year(scenario) -> float:
    from platoons.population import build_world

    return float(build_world(scenario).referrals_per_month.sum() * 12)


def lot_count(scenario) -> int:
    from platoons.population import build_world
    from platoons.market.lots import build_lots

    return len(build_lots(scenario, build_world(scenario)))


def in_fresh_process(job: dict) -> dict:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(job)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the suite -----------------------------------------------------------------------------


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str]] = []

    def add(self, measure: str, scenario: str, value: str, goal: str = "", met: bool | None = None) -> None:
        self.rows.append((measure, scenario, value, goal, "" if met is None else ("yes" if met else "NO")))
        print(f"  {measure}: {scenario}: {value}", file=sys.stderr, flush=True)

    def print(self) -> None:
        print(environment())
        head = ("measure", "scenario", "value", "goal", "met")
        widths = [max(len(r[i]) for r in self.rows + [head]) for i in range(5)]
        line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
        print(line(head))
        print("  ".join("-" * w for w in widths))
        for row in self.rows:
            print(line(row))


def environment() -> str:
    import mesa
    import platoons

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=HERE.parent, capture_output=True, text=True).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"platoons {platoons.__version__} at {commit or '?'}"
            f"{' (src modified)' if dirty else ''}; Python {sys.version.split()[0]}, numpy {np.__version__}, mesa {mesa.__version__}; "
            f"{os.cpu_count()} cores, load average {load}; every run in a fresh process on one core\n")


def rate(result: dict) -> float:
    return result["participant_months"] / result["seconds"]


def exponent(sizes: list[float], values: list[float]) -> float:
    return float(np.polyfit(np.log(sizes), np.log(np.maximum(values, 1e-9)), 1)[0])


def suite(repeats: int, quick: bool, mesa_sizes: list[float]) -> Table:
    table = Table()
    job = {"engine": "platoons", "seed": 1, "repeats": repeats}

    default = in_fresh_process({**job, "preset": "default"})
    table.add("one run: time / peak memory", "default (84 months)", f"{default['seconds']:.3f} s / {default['peak_mb']:.0f} MB "
              f"({default['participant_months'] / 1e6:.1f}m participant-months)")
    table.add("throughput", "default", f"{rate(default) / 1e6:.1f}m participant-months/s")
    wp = in_fresh_process({**job, "preset": "work-programme-2011"})
    table.add("one run: time", f"work-programme-2011 ({wp['referrals_per_year'] * 5 / 1e6:.2f}m referrals, "
              f"{wp['providers']} providers, {wp['lots']} lots)", f"{wp['seconds']:.2f} s", f"< {GOAL_WP_SECONDS:g} s",
              wp["seconds"] < GOAL_WP_SECONDS)
    table.add("one run: peak memory", "work-programme-2011", f"{wp['peak_mb']:.0f} MB (added {wp['added_mb']:.0f} MB)",
              f"< {GOAL_WP_MB:g} MB", wp["peak_mb"] < GOAL_WP_MB)
    table.add("throughput", "work-programme-2011", f"{rate(wp) / 1e6:.1f}m participant-months/s "
              f"({wp['participant_months'] / 1e6:.1f}m participant-months)")

    people = [0.01, 0.1, 1.0] if quick else [0.01, 0.1, 1.0, 10.0]
    mesa_sizes = [f for f in mesa_sizes if f < 1] if quick else mesa_sizes
    runs = {f: default if f == 1.0 else in_fresh_process({**job, "preset": "default", "people": f}) for f in {*people, *mesa_sizes}}
    for f in mesa_sizes:
        mesa = in_fresh_process({**job, "engine": "mesa", "preset": "default", "people": f, "repeats": 1 if f >= 1 else repeats})
        ours = runs[f]
        ratio = rate(ours) / rate(mesa)
        name = f"default, people x {f:g} ({ours['participant_months'] / 1e6:.2f}m participant-months)"
        table.add("Mesa reference: time / peak memory", name, f"{mesa['seconds']:.2f} s / {mesa['peak_mb']:.0f} MB "
                  f"(Platoons {ours['seconds']:.3f} s / {ours['peak_mb']:.0f} MB)")
        table.add("throughput, Platoons / Mesa reference", name,
                  f"{rate(ours) / 1e6:.1f}m / {rate(mesa) / 1e6:.2f}m per s = {ratio:.0f}x", f">= {GOAL_RATIO:g}x", ratio >= GOAL_RATIO)

    for f in people:
        r = runs[f]
        table.add("participants: time / memory added", f"default, people x {f:g} ({r['participant_months'] / 1e6:.2f}m "
                  "participant-months)", f"{r['seconds']:.3f} s / {r['added_mb']:.0f} MB")
    months = [runs[f]["participant_months"] for f in people]
    time_exp = exponent(months, [runs[f]["seconds"] for f in people])
    memory_exp = exponent(months, [max(runs[f]["added_mb"], 1.0) for f in people])
    table.add("participants: growth exponent of time", f"{people[0]:g}x to {people[-1]:g}x", f"{time_exp:.2f}", "<= 1", time_exp <= 1.05)
    table.add("participants: growth exponent of memory added", f"{people[0]:g}x to {people[-1]:g}x", f"{memory_exp:.2f}", "<= 1",
              memory_exp <= 1.05)

    sector = [0.1, 1.0] if quick else [0.1, 1.0, 10.0]
    by_sector = {f: (default if f == 1.0 else in_fresh_process({**job, "preset": "default", "providers": f})) for f in sector}
    for f in sector:
        r = by_sector[f]
        table.add("providers: time / memory added", f"default, providers x {f:g} ({r['providers']} at the start)",
                  f"{r['seconds']:.3f} s / {r['added_mb']:.0f} MB")
    counts = [by_sector[f]["providers"] for f in sector]
    table.add("providers: growth exponent of time", f"{sector[0]:g}x to {sector[-1]:g}x",
              f"{exponent(counts, [by_sector[f]['seconds'] for f in sector]):.2f}")

    if not quick:
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "platoons", "compare", "--replicates", "20", "--out", out],
                           check=True, capture_output=True)
            seconds = time.perf_counter() - started
        table.add("main job, end to end", f"platoons compare --replicates 20 --out DIR ({os.cpu_count()} cores)", f"{seconds:.1f} s")
    return table


def profile(preset: str, top: int = 25) -> str:
    from platoons import load_scenario, simulate

    scenario = load_scenario(preset)
    simulate(scenario, 1)  # imports and first-call costs out of the way
    profiler = cProfile.Profile()
    profiler.enable()
    simulate(scenario, 1)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
    return text.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="Runs per measurement (the median is shown).")
    parser.add_argument("--quick", action="store_true", help="Smaller sizes only; no main job.")
    parser.add_argument("--mesa-sizes", default="0.01,0.1,1", help="People scales of default to run the Mesa reference at "
                        "(comma-separated; 10 takes minutes and a few GB).")
    parser.add_argument("--profile", action="store_true", help="Also profile a run of default and of work-programme-2011.")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(json.loads(args.worker))))
        return
    suite(args.repeats, args.quick, [float(x) for x in args.mesa_sizes.split(",")]).print()
    if args.profile:
        for preset in ("default", "work-programme-2011"):
            print(f"\nProfile of one run of {preset} (cProfile, by own time):")
            print(profile(preset))


if __name__ == "__main__":
    main()
