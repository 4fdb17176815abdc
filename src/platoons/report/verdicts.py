"""Verdicts against the baseline, on paired differences, and the designs that ran too thinly to judge.

The report, `compare`, `summarize` and the exports all judge a design this way, so a cell that is
green in the terminal is green in the report.

A design that leaves many referrals unserved, or many lots without a contract holder, has few
providers and few people at risk: it looks good on failures, disruption and concentration only
because it barely ran. Such a design is flagged, and its verdicts on those metrics are withheld.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping

import numpy as np

INTERVAL = (0.05, 0.95)  # the 90% interval of the paired differences, as of the summaries

# Assumption: a design that leaves more than a fifth of its referrals unserved, or fewer than four
# in five of its lot-months let, has not been tried on the same people as the baseline. Neither
# figure comes from a published source; both are settings a reader can see in every flag.
MAX_UNSERVED_SHARE = 0.20
MIN_LOT_MONTHS_LET = 0.80
# Metrics on which a design that barely ran looks better only because little happened.
GUARDED = ("failures", "people_disrupted", "hhi")

VERDICTS = ("better", "lean better", "same", "lean worse", "worse", "not compared")
WORDS = {"better": "better", "lean better": "better on average", "same": "same", "lean worse": "worse on average",
         "worse": "worse", "not compared": "not compared: barely ran"}


def judge(differences: Iterable[float], better: str) -> tuple[str, float] | None:
    """(verdict, mean difference) from paired differences design minus baseline; None without a direction."""
    values = [v for v in differences if v is not None and math.isfinite(v)]
    if better == "neither" or not values:
        return None
    low, high = np.percentile(values, [100 * INTERVAL[0], 100 * INTERVAL[1]])
    mean = float(np.mean(values))
    sign = 1 if better == "higher" else -1
    if sign * low > 0 and sign * high > 0:
        return "better", mean
    if sign * low < 0 and sign * high < 0:
        return "worse", mean
    if mean == 0:
        return "same", mean
    return ("lean better" if sign * mean > 0 else "lean worse"), mean


def paired_verdicts(runs: Iterable[tuple[str, tuple, Mapping[str, float]]], baseline: str,
                    metrics: Iterable[str]) -> dict[tuple[str, str], tuple[str, float]]:
    """(design, metric) -> (verdict, mean difference) from runs given as (design, run key, metrics).

    Runs of a design are paired with the baseline's run of the same key (replicate, and future in a sweep).
    """
    from platoons.metrics import describe_metric

    by_design: dict[str, dict[tuple, Mapping[str, float]]] = {}
    for design, key, values in runs:
        by_design.setdefault(design, {})[key] = values
    base = by_design.get(baseline, {})
    verdicts = {}
    for metric in metrics:
        try:
            better = describe_metric(metric).better
        except KeyError:
            continue
        for design, keyed in by_design.items():
            if design == baseline:
                continue
            diffs = [values[metric] - base[key][metric] for key, values in keyed.items()
                     if key in base and metric in values and metric in base[key]]
            verdict = judge(diffs, better)
            if verdict is not None:
                verdicts[design, metric] = verdict
    return verdicts


def coverage_flags(means: Mapping[str, Mapping[str, float]]) -> dict[str, list[str]]:
    """design -> the reasons it barely ran (empty when it ran fully), from its mean metrics."""
    flags = {}
    for design, values in means.items():
        reasons = []
        unserved = values.get("referrals_unserved_share", math.nan)
        let = values.get("lot_months_let_share", math.nan)
        if math.isfinite(unserved) and unserved > MAX_UNSERVED_SHARE:
            reasons.append(f"{unserved:.0%} of referrals unserved (more than {MAX_UNSERVED_SHARE:.0%})")
        if math.isfinite(let) and let < MIN_LOT_MONTHS_LET:
            reasons.append(f"{let:.0%} of lot-months let (fewer than {MIN_LOT_MONTHS_LET:.0%})")
        flags[design] = reasons
    return flags


def withhold(verdicts: dict[tuple[str, str], tuple[str, float]],
             flags: Mapping[str, list[str]]) -> dict[tuple[str, str], tuple[str, float]]:
    """The verdicts, with those of flagged designs on the guarded metrics replaced by "not compared"."""
    out = dict(verdicts)
    for (design, metric), (_, mean) in verdicts.items():
        if flags.get(design) and metric in GUARDED:
            out[design, metric] = ("not compared", mean)
    return out


def flag_sentence(design: str, reasons: list[str]) -> str:
    from platoons.metrics import describe_metric

    labels = [describe_metric(m).label for m in GUARDED]
    guarded = ", ".join(lab[0].lower() + lab[1:] if lab[1:2].islower() else lab for lab in labels[:-1])
    last = labels[-1][0].lower() + labels[-1][1:]
    return f"{design} barely ran: {' and '.join(reasons)}, so it is not compared on {guarded} or {last} (thresholds are assumptions)."
