"""Which uncertain parameters move a metric: Sobol indices or Morris elementary effects (SALib).

The model is stochastic, so a future's output is the mean of the metric over its replicates.
Indices are computed on the unit sample the sampler drew (see `platoons.experiment.sampling`).
"""

from __future__ import annotations

import warnings
from typing import Iterator

import numpy as np

from platoons.experiment.sampling import salib_problem
from platoons.experiment.spec import SENSITIVITY_SAMPLERS, Experiment

# index -> the SALib key of its confidence interval (None: SALib gives none)
INDICES = {
    "sobol": {"S1": "S1_conf", "ST": "ST_conf"},
    "morris": {"mu_star": "mu_star_conf", "mu": None, "sigma": None},
}


def has_sensitivity(experiment: Experiment) -> bool:
    return experiment.sampler is not None and experiment.sampler.method in SENSITIVITY_SAMPLERS


def future_means(values: np.ndarray, futures: int, replicates: int) -> np.ndarray | None:
    """A design's metric per future (mean over replicates), from values in run-id order; None if undefined."""
    grid = np.asarray(values, dtype=float).reshape(futures, replicates)
    finite = np.isfinite(grid)
    if not finite.any(axis=1).all():
        return None
    means = np.where(finite, grid, 0.0).sum(axis=1) / finite.sum(axis=1)
    return None if np.ptp(means) == 0 else means


def analyze(experiment: Experiment, unit: np.ndarray, outputs: np.ndarray, seed: int) -> Iterator[tuple[str, str, float, float]]:
    """(parameter, index, value, confidence half-width) for one metric of one design."""
    method = experiment.sampler.method
    problem = salib_problem(experiment.uncertainties)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if method == "sobol":
            from SALib.analyze import sobol

            result = sobol.analyze(problem, outputs, calc_second_order=False, seed=seed)
        elif method == "morris":
            from SALib.analyze import morris

            result = morris.analyze(problem, unit, outputs, num_levels=experiment.sampler.levels, seed=seed)
        else:
            raise ValueError(f"no sensitivity analysis for sampler {method!r}")
    for index, conf_key in INDICES[method].items():
        for p, parameter in enumerate(problem["names"]):
            conf = float(result[conf_key][p]) if conf_key else float("nan")
            yield parameter, index, float(result[index][p]), conf
