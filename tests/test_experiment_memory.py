"""A sweep's memory does not grow with its number of runs: outcomes go to disk batch by batch."""

import tracemalloc

import pytest

from platoons.experiment import Sequential, load_sweep, run_sweep, run_task
from test_experiment_sweep import write_experiment


def _peak_mb(tmp_path, futures: int, hold: bool = False) -> tuple[int, float]:
    """Runs of a sweep and the peak of memory Python allocated while running it (tracemalloc)."""
    sweep = load_sweep(write_experiment(tmp_path, name=f"f{futures}.yaml",
                                        sampler={"method": "monte_carlo", "futures": futures}, replicates=5))
    held = []
    tracemalloc.start()
    try:
        if hold:  # what a driver that keeps every outcome would need
            held.extend(run_task(task) for task in sweep.tasks())
        else:
            run_sweep(sweep, tmp_path / f"out-{futures}", Sequential(), batch_size=10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return sweep.runs, peak / 1e6


@pytest.mark.slow
def test_peak_memory_of_a_sweep_does_not_grow_with_its_runs(tmp_path):
    warm = write_experiment(tmp_path, name="warm.yaml", sampler={"method": "monte_carlo", "futures": 1}, replicates=1)
    run_sweep(load_sweep(warm), tmp_path / "warm", Sequential())  # imports and caches, outside the measure
    small_runs, small = _peak_mb(tmp_path, 2)
    large_runs, large = _peak_mb(tmp_path, 8)
    assert large_runs == 4 * small_runs == 80
    _, holding = _peak_mb(tmp_path, 8, hold=True)
    assert holding - small > 0.4, "the measure must be able to see outcomes held in memory"
    assert large - small < 0.2, f"peak grew from {small:.2f} MB ({small_runs} runs) to {large:.2f} MB ({large_runs} runs)"
