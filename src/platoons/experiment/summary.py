"""Summaries across replicates: a mean and a 90% interval per design and metric."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from platoons.experiment.runs import Outcome

INTERVAL = (5.0, 95.0)  # a 90% interval across runs


def summarize(outcomes: Iterable[Outcome]) -> dict[str, dict[str, dict[str, float]]]:
    """Per design and metric: the mean and a 90% interval across replicates."""
    by_design: dict[str, dict[str, list[float]]] = {}
    for outcome in outcomes:
        metrics = by_design.setdefault(outcome.design, {})
        for name, value in outcome.metrics.items():
            metrics.setdefault(name, []).append(value)
    return {design: {name: describe_values(values) for name, values in metrics.items()}
            for design, metrics in by_design.items()}


def describe_values(values) -> dict[str, float]:
    """Mean and 5th-95th percentiles of the finite values (NaN when there are none)."""
    array = np.asarray(values, dtype=float)
    finite = array[np.isfinite(array)]
    if len(finite) == 0:
        return {"mean": float("nan"), "low": float("nan"), "high": float("nan")}
    low, high = np.percentile(finite, INTERVAL)
    return {"mean": float(finite.mean()), "low": float(low), "high": float(high)}
