"""Each commissioning lever moves its measures the way its mechanism implies (platoons.experiment.levers).

Paired runs on common random numbers; an effect within two standard errors of zero is reported
as an expected failure with its figures, not passed.
"""

import json
from functools import lru_cache

import pytest

from hostile import cli
from platoons.experiment.levers import LEVERS, measure

@lru_cache(maxsize=None)
def effects(name: str):
    lever = next(lever for lever in LEVERS if lever.name == name)
    return lever.replicates, {e.measure: e for e in measure(lever, seed=11)}


@pytest.mark.slow
@pytest.mark.parametrize("lever, measured", [(lever.name, m.name) for lever in LEVERS for m in lever.measures])
def test_the_lever_moves_its_measure_as_the_mechanism_implies(lever, measured):
    replicates, measured_effects = effects(lever)
    effect = measured_effects[measured]
    figures = (f"{lever}: {measured} {effect.low:.4g} -> {effect.high:.4g}, "
               f"paired difference {effect.difference:+.3g} +- {effect.standard_error:.2g} over {replicates} replicates")
    if effect.verdict == "not significant":
        pytest.xfail(f"not significant: {figures}")
    assert effect.verdict == "as expected", figures


def test_the_levers_command_reports_effects_and_verdicts():
    done = cli("levers", "--lever", "risk passed down", "--replicates", "2", "--json", "--workers", "1")
    assert done.code == 0, done.err
    (effect,) = json.loads(done.out)
    assert effect["lever"] == "risk passed down" and effect["measure"] == "pbr_risk_tier1"
    assert effect["verdict"] in ("as expected", "not significant", "opposite") and effect["high"] > effect["low"]


def test_an_unknown_lever_is_one_line_and_exit_2():
    done = cli("levers", "--lever", "lower taxes")
    assert done.code == 2 and done.err.count("\n") == 1 and "management fee" in done.err and "lower taxes" in done.err
