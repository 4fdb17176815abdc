"""The calibrated Work Programme reproduces the published two-year job outcome rates."""

from pathlib import Path

import numpy as np
import pytest

from platoons import load_scenario
from platoons.experiment import execute, plan, summarize
from platoons.experiment.calibrate import read_targets

TARGETS = read_targets(Path(__file__).parent.parent / "calibration" / "work-programme-2011.yaml")


@pytest.mark.slow
def test_calibrated_work_programme_matches_outcome_rates_by_group():
    scenario = load_scenario("work-programme-2011-calibrated")
    summary = summarize(execute(plan({"wp": scenario}, 20, 2024), "processes"))["wp"]
    for metric, target in TARGETS.targets.items():
        assert abs(summary[metric]["mean"] - target) <= 0.03, (metric, summary[metric]["mean"], target)
    gap_model = summary["outcome_rate_jsa_25_plus"]["mean"] / summary["outcome_rate_ex_ib"]["mean"]
    gap_target = TARGETS.targets["outcome_rate_jsa_25_plus"] / TARGETS.targets["outcome_rate_ex_ib"]
    assert 1 / 1.5 <= gap_model / gap_target <= 1.5


def test_targets_file_errors_name_the_field(tmp_path):
    from platoons.errors import InputError

    bad = tmp_path / "targets.yaml"
    bad.write_text("targets: {outcome_rate_jsa_18_24: 36.4}\n")
    with pytest.raises(InputError, match="targets.outcome_rate_jsa_18_24"):
        read_targets(bad)


def test_calibration_fits_a_small_preset(tmp_path):
    from platoons.experiment.calibrate import Targets, calibrate, write_calibrated

    targets = Targets("test", {"outcome_rate_job_ready": 0.30}, {})
    fit = calibrate("local-lots", targets, replicates=2, rounds=4, tolerance=0.01, executor="sequential")
    assert abs(fit.rows[0]["mean"] - 0.30) <= 0.02
    path = write_calibrated(fit, targets, tmp_path / "fitted.yaml")
    fitted = load_scenario(path)
    assert fitted.sector.bands[0].effectiveness["job_ready"] == pytest.approx(
        load_scenario("local-lots").sector.bands[0].effectiveness["job_ready"] * fit.multipliers["job_ready"], rel=1e-5)
    assert np.isfinite(fit.multipliers["job_ready"])
