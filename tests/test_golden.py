"""Golden runs: key metrics of each preset at a fixed seed.

Regenerate deliberately with `pytest tests/test_golden.py --regen-golden` and review the diff.
"""

import json
import math
from pathlib import Path

import pytest

from platoons import load_scenario, simulate
from platoons.scenario.load import preset_names

GOLDEN = Path(__file__).parent / "golden"
KEYS = ("outcomes", "outcome_rate", "spend_gbp", "front_line_share", "failures", "small_share_of_spend", "hhi", "entries")


@pytest.mark.parametrize("preset", preset_names())
def test_preset_matches_its_golden_run(preset, regen_golden):
    metrics = simulate(load_scenario(preset), 11).metrics
    observed = {k: metrics[k] for k in KEYS}
    path = GOLDEN / f"{preset}.json"
    if regen_golden or not path.exists():
        path.write_text(json.dumps(observed, indent=2, sort_keys=True) + "\n")
        if not regen_golden:
            pytest.fail(f"{path.name} was missing and has been written; review it and run again")
    expected = json.loads(path.read_text())
    for key in KEYS:
        assert math.isclose(observed[key], expected[key], rel_tol=1e-9, abs_tol=1e-9), key
