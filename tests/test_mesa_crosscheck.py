"""The engine against the same market written again in Mesa (benchmarks/mesa_reference).

Both read the same scenario and share the set-up (providers, lots, prices, the tender) and
its random streams, so a seed gives both the same starting market and the same first tender;
everything that happens to people and money month by month is implemented twice and drawn
from different random numbers. Over the replicates the two must agree in distribution. The
scenario defaults are used as they are: exits with notice (weighing working capital too),
stewardship of lots without a holder, transition costs, the inherited caseload fee, commissioning
costs, effort and programme-year payments are all on, and both implementations carry them. What
the reference leaves out (fixed staff cost, volume forecasts and bands, routing by profit,
outcome-only pass-down) is off in these scenarios, and a test says so.

Tolerance: for each metric, the mean over replicates of the paired difference (engine minus
reference, same seed) must be within 4 standard errors of that mean (the sample standard
deviation of the differences over the square root of the number of replicates). Runs are
paired by seed because the shared set-up makes the two runs of a seed alike, which makes the
comparison sharper than comparing independent samples.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mesa  # noqa: F401  (the reference needs Mesa 3: the `bench` extra)
import numpy as np
import pytest

from platoons import apply_changes, simulate
from small_world import small

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from mesa_reference import left_out_on, run_reference  # noqa: E402

REPLICATES = 40
TOLERANCE_SE = 4.0
GROUPS = ("job_ready", "moderate", "complex")
METRICS = (
    "outcomes", "outcome_rate", *(f"outcome_rate_{g}" for g in GROUPS), "spend_gbp", "front_line_share",
    "failures", "small_share_of_spend", "hhi",
)
DESIGNS = {
    "direct": {"design.delivery.model": "direct"},
    "prime": {"design.delivery.model": "prime"},
    "consortium": {"design.delivery.model": "consortium", "design.eligibility.min_turnover_gbp": 0},
}


def paired(scenario_engine, scenario_reference, replicates: int = REPLICATES) -> dict[str, np.ndarray]:
    """[replicate] engine-minus-reference differences of each metric, seed by seed."""
    diffs = {name: [] for name in METRICS}
    for seed in range(replicates):
        engine = simulate(scenario_engine, seed).metrics
        reference, _ = run_reference(scenario_reference, seed)
        for name in METRICS:
            diffs[name].append(engine[name] - reference[name])
    return {name: np.array(values) for name, values in diffs.items()}


def disagreements(diffs: dict[str, np.ndarray]) -> list[str]:
    out = []
    for name, d in diffs.items():
        mean, se = d.mean(), d.std(ddof=1) / np.sqrt(len(d))
        if abs(mean) > TOLERANCE_SE * se:
            out.append(f"{name}: mean difference {mean:.6g}, {TOLERANCE_SE} x SE = {TOLERANCE_SE * se:.6g}")
    return out


@pytest.mark.parametrize("design", list(DESIGNS))
def test_the_cross_checked_scenarios_keep_what_the_reference_leaves_out_off(design):
    """Fixed staff cost, volume forecasts and bands, routing by profit and outcome-only pass-down
    are not in the reference; a change of default that turned one on must fail here, not blur the check."""
    assert left_out_on(small(DESIGNS[design])) == []


def test_left_out_mechanisms_are_named_when_on():
    scenario = small({"design.delivery.model": "prime", "design.delivery.prime.referral_policy": "profit",
                      "sector.dynamics.fixed_cost_share": 0.5})
    assert left_out_on(scenario) == ["sector.dynamics.fixed_cost_share", "design.delivery.prime.referral_policy"]


@pytest.mark.slow
@pytest.mark.parametrize("design", list(DESIGNS))
def test_engine_and_mesa_reference_agree_in_distribution(design):
    scenario = small(DESIGNS[design])
    found = disagreements(paired(scenario, scenario))
    assert not found, "; ".join(found)


@pytest.mark.slow
def test_the_cross_check_detects_a_wrong_rule():
    """Quality an eighth too low (a wrong staff-turnover rule) is caught: the tolerance is not vacuous."""
    scenario = small(DESIGNS["direct"])
    wrong = apply_changes(scenario, {"sector.dynamics.staff_turnover_effect": 1.5})  # at 20% turnover: 0.7, not 0.8
    found = disagreements(paired(wrong, scenario, replicates=30))
    assert any(line.startswith("outcomes:") for line in found)


def test_reference_refuses_designs_it_does_not_cover():
    with pytest.raises(ValueError, match="design.delivery.model"):
        run_reference(small({"design.delivery.model": "alliance"}), 0)
