"""Futures: points in the space of uncertain parameters.

Every sampler draws in the unit hypercube, one column per uncertainty; each uncertainty then
maps its column to values through its distribution's inverse CDF (or picks from its list). So a
sampler never needs to know the distributions, and the sensitivity analysis works on the unit
sample (Sobol indices and scaled Morris effects do not change under that monotone map).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from platoons.experiment.spec import Experiment, Uncertainty


def unit_sample(experiment: Experiment, seed: int) -> np.ndarray:
    """The futures as an array (futures, uncertainties) in [0, 1]; one future when nothing is uncertain."""
    uncertainties, sampler = experiment.uncertainties, experiment.sampler
    dimensions = len(uncertainties)
    if dimensions == 0 or sampler is None:
        return np.zeros((1, 0))
    if sampler.method == "grid":
        axes = [_grid_levels(u, sampler.levels) for u in uncertainties]
        return np.array(list(itertools.product(*axes)), dtype=float)
    if sampler.method == "monte_carlo":
        return np.random.default_rng(seed).random((sampler.futures, dimensions))
    if sampler.method == "lhs":
        from scipy.stats import qmc

        return qmc.LatinHypercube(dimensions, rng=np.random.default_rng(seed)).random(sampler.futures)
    problem = salib_problem(uncertainties)
    if sampler.method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, sampler.base_samples, calc_second_order=False, seed=seed)
    if sampler.method == "morris":
        from SALib.sample import morris

        return morris.sample(problem, sampler.trajectories, num_levels=sampler.levels, seed=seed)
    raise ValueError(f"unknown sampler {sampler.method!r}")


def futures_count(experiment: Experiment) -> int:
    """How many futures the sampler makes (without drawing them)."""
    uncertainties, sampler = experiment.uncertainties, experiment.sampler
    if not uncertainties or sampler is None:
        return 1
    if sampler.method == "grid":
        return math.prod(len(_grid_levels(u, sampler.levels)) for u in uncertainties)
    if sampler.method in ("monte_carlo", "lhs"):
        return sampler.futures
    if sampler.method == "sobol":
        return sampler.base_samples * (len(uncertainties) + 2)
    return sampler.trajectories * (len(uncertainties) + 1)


def draw(uncertainty: Uncertainty, unit: np.ndarray) -> list[Any]:
    """Values of an uncertainty at points of its unit column."""
    unit = np.clip(np.asarray(unit, dtype=float), 0.0, 1.0)
    if uncertainty.values is not None:
        n = len(uncertainty.values)
        return [uncertainty.values[min(int(u * n), n - 1)] for u in unit]
    low, high = uncertainty.low, uncertainty.high
    if uncertainty.distribution == "triangular":
        from scipy.stats import triang

        shape = (uncertainty.mode - low) / (high - low)
        return [float(v) for v in triang.ppf(unit, shape, loc=low, scale=high - low)]
    return [float(v) for v in low + unit * (high - low)]


def extremes(uncertainty: Uncertainty) -> list[Any]:
    """The values that bound what an uncertainty can draw (to check them before any run)."""
    if uncertainty.values is not None:
        return list(uncertainty.values)
    return [uncertainty.low, uncertainty.high]


def salib_problem(uncertainties: tuple[Uncertainty, ...]) -> dict[str, Any]:
    return {"num_vars": len(uncertainties), "names": [u.name for u in uncertainties],
            "bounds": [[0.0, 1.0]] * len(uncertainties)}


def _grid_levels(uncertainty: Uncertainty, levels: int) -> np.ndarray:
    if uncertainty.values is not None:
        n = len(uncertainty.values)
        return (np.arange(n) + 0.5) / n
    return np.linspace(0.0, 1.0, levels) if levels > 1 else np.array([0.5])
