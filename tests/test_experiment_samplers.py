"""Samplers and uncertainties: how many futures, where they fall, and what they change in a scenario."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platoons.experiment import load_sweep
from platoons.experiment.sampling import draw, futures_count, unit_sample
from platoons.experiment.spec import Experiment, Uncertainty
from test_experiment_sweep import UNCERTAINTIES, write_experiment

SAMPLERS = [
    {"method": "grid", "levels": 3},
    {"method": "monte_carlo", "futures": 7},
    {"method": "lhs", "futures": 9},
    {"method": "sobol", "base_samples": 8},
    {"method": "morris", "trajectories": 5, "levels": 4},
]


def experiment(sampler, uncertainties=UNCERTAINTIES, seed=0):
    return Experiment.model_validate({"designs": ["local-lots"], "uncertainties": uncertainties, "sampler": sampler,
                                      "replicates": 1, "seed": seed})


@pytest.mark.parametrize("sampler", SAMPLERS, ids=lambda s: s["method"])
def test_every_sampler_draws_its_futures_in_the_unit_cube_the_same_way_each_time(sampler):
    chosen = experiment(sampler)
    unit = unit_sample(chosen, 42)
    assert unit.shape == (futures_count(chosen), 3)
    assert unit.min() >= 0 and unit.max() <= 1
    assert np.array_equal(unit, unit_sample(chosen, 42))
    if sampler["method"] != "grid":
        assert not np.array_equal(unit, unit_sample(chosen, 43))


def test_future_counts():
    assert futures_count(experiment(SAMPLERS[0])) == 27
    assert futures_count(experiment(SAMPLERS[3])) == 8 * (3 + 2)  # Saltelli, first and total order
    assert futures_count(experiment(SAMPLERS[4])) == 5 * (3 + 1)  # one step per parameter per trajectory


def test_grid_takes_the_ends_and_the_middle_of_ranges_and_each_listed_value_once():
    policy = {"name": "policy", "path": "design.delivery.prime.referral_policy", "values": ["fair", "cream"]}
    chosen = experiment({"method": "grid", "levels": 3}, [UNCERTAINTIES[2], policy])
    unit = unit_sample(chosen, 0)
    assert draw(chosen.uncertainties[0], unit[:, 0]) == pytest.approx([0.0, 0.0, 0.35, 0.35, 0.7, 0.7])
    assert draw(chosen.uncertainties[1], unit[:, 1]) == ["fair", "cream"] * 3


@settings(max_examples=40, deadline=None)
@given(futures=st.integers(2, 40), seed=st.integers(0, 2**32 - 1))
def test_latin_hypercube_puts_one_future_in_each_slice_of_every_range(futures, seed):
    unit = unit_sample(experiment({"method": "lhs", "futures": futures}), seed)
    for column in unit.T:
        assert sorted(np.floor(column * futures).astype(int)) == list(range(futures))


@settings(max_examples=60, deadline=None)
@given(low=st.floats(-1e6, 1e6), width=st.floats(1e-3, 1e6), mode=st.floats(0, 1),
       unit=st.lists(st.floats(0, 1), min_size=1, max_size=20))
def test_drawn_values_stay_in_range_and_follow_the_unit_order(low, width, mode, unit):
    high = low + width
    for shape in ({"distribution": "uniform"}, {"distribution": "triangular", "mode": low + mode * width}):
        uncertainty = Uncertainty(name="x", path="run.months", low=low, high=high, **shape)
        values = draw(uncertainty, np.array(unit))
        assert all(low - 1e-6 * width <= v <= high + 1e-6 * width for v in values)
        order = np.argsort(unit, kind="stable")
        assert all(np.diff(np.array(values)[order]) >= -1e-9 * width)


def test_listed_values_are_equally_likely():
    uncertainty = Uncertainty(name="x", path="run.months", values=[12, 24, 36, 48])
    values = draw(uncertainty, (np.arange(400) + 0.5) / 400)
    assert [values.count(v) for v in (12, 24, 36, 48)] == [100] * 4


def test_a_wildcard_scale_multiplies_every_matched_value(tmp_path):
    sweep = load_sweep(write_experiment(tmp_path, sampler={"method": "monte_carlo", "futures": 2}))
    base = sweep.designs["local-lots"]
    for future in range(2):
        scenario = sweep.scenario("local-lots", future)
        volume, effect = sweep.values[future]["referral_volume"], sweep.values[future]["effectiveness"]
        assert [a.referrals_per_month for a in scenario.world.areas] == pytest.approx(
            [a.referrals_per_month * volume for a in base.world.areas])
        for band, original in zip(scenario.sector.bands, base.sector.bands):
            assert band.effectiveness == pytest.approx({g: v * effect for g, v in original.effectiveness.items()})
        assert scenario.design.bidding.optimism == sweep.values[future]["optimism"]


def test_a_scaled_integer_parameter_stays_an_integer(tmp_path):
    count = {"name": "providers", "path": "sector.bands.*.count", "kind": "scale", "low": 0.5, "high": 1.5}
    sweep = load_sweep(write_experiment(tmp_path, uncertainties=[count], sampler={"method": "lhs", "futures": 3}))
    for future in range(3):
        counts = [b.count for b in sweep.scenario("local-lots", future).sector.bands]
        assert all(isinstance(c, int) for c in counts)
        factor = sweep.values[future]["providers"]
        assert counts == [round(b.count * factor) for b in sweep.designs["local-lots"].sector.bands]


def test_the_experiment_hash_changes_with_anything_that_changes_the_runs(tmp_path):
    first = load_sweep(write_experiment(tmp_path)).hash
    assert load_sweep(write_experiment(tmp_path)).hash == first
    assert load_sweep(write_experiment(tmp_path, name="renamed.yaml", description="same runs")).hash == first
    assert load_sweep(write_experiment(tmp_path, seed=8)).hash != first
    assert load_sweep(write_experiment(tmp_path, replicates=3)).hash != first
    assert load_sweep(write_experiment(tmp_path, changes={"run.months": 6})).hash != first
