"""A gallery of invalid experiment files: each fails with one line naming the file and the field."""

import pytest
import yaml

from platoons.errors import InputError
from platoons.experiment import load_sweep
from test_experiment_sweep import TINY_WORLD, platoons

GOOD = {
    "base": "tiny.yaml",
    "designs": ["local-lots"],
    "uncertainties": [{"name": "optimism", "path": "design.bidding.optimism", "low": 0.0, "high": 0.7}],
    "sampler": {"method": "lhs", "futures": 2},
    "replicates": 2,
}


def _with(**fields):
    return {**GOOD, **fields}


def _uncertainty(**fields):
    return _with(uncertainties=[{**GOOD["uncertainties"][0], **fields}])


# name -> (file contents, words its one-line error must contain)
GALLERY = {
    "unknown_key": (_with(replicate=3), ["unknown key 'replicate'"]),
    "no_designs": ({k: v for k, v in GOOD.items() if k != "designs"}, ["designs is required"]),
    "empty_designs": (_with(designs=[]), ["designs", "at least 1"]),
    "zero_replicates": (_with(replicates=0), ["replicates", "greater than or equal to 1", "0"]),
    "negative_seed": (_with(seed=-1), ["seed", "-1"]),
    "unknown_sampler": (_with(sampler={"method": "quasi", "futures": 3}), ["sampler.method", "lhs", "sobol", "quasi"]),
    "sampler_without_method": (_with(sampler={"futures": 3}), ["sampler.method is required"]),
    "sampler_as_text": (_with(sampler="lhs"), ["sampler", "mapping", "lhs"]),
    "sobol_not_power_of_two": (_with(sampler={"method": "sobol", "base_samples": 10}),
                               ["sampler.base_samples", "power of 2", "10"]),
    "morris_without_trajectories": (_with(sampler={"method": "morris"}), ["sampler.trajectories is required"]),
    "morris_odd_levels": (_with(sampler={"method": "morris", "trajectories": 4, "levels": 5}),
                          ["sampler.levels", "even", "5"]),
    "lhs_unknown_option": (_with(sampler={"method": "lhs", "futures": 3, "levels": 4}),
                           ["unknown key 'sampler.levels'"]),
    "sampler_missing": ({k: v for k, v in GOOD.items() if k != "sampler"}, ["sampler is required"]),
    "no_range": (_uncertainty(low=None, high=None), ["uncertainties.0", "low and high"]),
    "low_above_high": (_uncertainty(low=0.9, high=0.1), ["uncertainties.0", "low must be below high"]),
    "triangular_without_mode": (_uncertainty(distribution="triangular"), ["uncertainties.0", "mode"]),
    "unknown_distribution": (_uncertainty(distribution="beta"), ["uncertainties.0.distribution", "beta"]),
    "mixed_values": (_uncertainty(low=None, high=None, values=[1, "a"]), ["uncertainties.0", "values must all be"]),
    "bad_name": (_uncertainty(name="bidder optimism"), ["uncertainties.0.name", "letters", "bidder optimism"]),
    "reserved_name": (_uncertainty(name="seed"), ["uncertainties.0", "run columns", "seed"]),
    "unknown_uncertainty_key": (_uncertainty(dist="uniform"), ["unknown key 'uncertainties.0.dist'"]),
    "path_matches_nothing": (_uncertainty(path="world.referral_scale"),
                             ["uncertainties.0.path", "world.referral_scale", "platoons describe"]),
    "scale_of_text": (_uncertainty(path="design.delivery.model", kind="scale"),
                      ["uncertainties.0.path", "numbers", "design.delivery.model"]),
    "path_to_a_section": (_uncertainty(path="design.bidding"), ["uncertainties.0.path", "single parameters"]),
    "range_outside_the_schema": (_uncertainty(low=0.0, high=5.0),
                                 ["uncertainties.0 (optimism = 5.0)", "design.bidding.optimism", "3"]),
    "duplicate_uncertainty": (_with(uncertainties=GOOD["uncertainties"] * 2), ["uncertainties names must be unique"]),
    "unknown_preset": (_with(designs=["local-lots", "no-such-design"]), ["designs.1.preset", "no-such-design"]),
    "unnamed_design": (_with(designs=[{"changes": {"design.bidding.optimism": 0.1}}]), ["designs.0", "needs a name"]),
    "bad_design_change": (_with(designs=[{"name": "x", "changes": {"design.delivery.model": "barter"}}]),
                          ["designs.0 (x)", "design.delivery.model", "barter"]),
    "duplicate_design": (_with(designs=["local-lots", {"name": "local-lots"}]), ["designs names must be unique"]),
    "bad_common_change": (_with(changes={"run.months": 0}), ["changes", "run.months", "0"]),
    "unknown_base": (_with(base="nowhere"), ["base", "nowhere", "local-lots"]),
    "missing_base_file": (_with(base="nowhere.yaml"), ["base", "nowhere.yaml"]),
}


def _write(tmp_path, name, contents):
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY_WORLD))
    path = tmp_path / f"{name}.yaml"
    path.write_text(contents if isinstance(contents, str) else yaml.safe_dump(contents, sort_keys=False))
    return path


def test_the_good_file_is_good(tmp_path):
    assert load_sweep(_write(tmp_path, "good", GOOD)).runs == 1 * 2 * 2


@pytest.mark.parametrize("name", sorted(GALLERY))
def test_invalid_experiment_is_rejected_with_its_words(tmp_path, name):
    contents, words = GALLERY[name]
    path = _write(tmp_path, name, contents)
    with pytest.raises(InputError) as caught:
        load_sweep(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


@pytest.mark.parametrize("name, contents, words", [
    ("broken_yaml", "designs: [local-lots\nreplicates: 2\n", ["YAML", "line"]),
    ("empty", "", ["empty file"]),
    ("a_list", "- local-lots\n", ["an experiment mapping", "list"]),
])
def test_unreadable_experiment_files(tmp_path, name, contents, words):
    with pytest.raises(InputError) as caught:
        load_sweep(_write(tmp_path, name, contents))
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize("name", ["unknown_sampler", "path_matches_nothing", "range_outside_the_schema"])
def test_the_command_prints_one_line_and_exits_2(tmp_path, name):
    path = _write(tmp_path, name, GALLERY[name][0])
    done = platoons("sweep", path, "--out", tmp_path / "out")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_bad_command_line_options_are_one_line_errors(tmp_path):
    path = _write(tmp_path, "good", GOOD)
    for args, words in [
        (["--executor", "threads"], ["executor", "threads"]),
        (["--executor", "processes", "--scheduler", "tcp://127.0.0.1:1"], ["--scheduler", "dask"]),
        (["--resume", "--force"], ["--resume", "--force"]),
    ]:
        done = platoons("sweep", path, "--out", tmp_path / "out", *args)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert all(word in done.stderr for word in words), done.stderr


def test_the_shipped_experiment_is_valid_and_a_few_thousand_runs():
    from pathlib import Path

    from platoons.experiment import CORE_DESIGNS

    sweep = load_sweep(Path(__file__).parent.parent / "experiments" / "designs-under-uncertainty.yaml")
    assert sweep.design_names == list(CORE_DESIGNS)
    assert sweep.parameters == ["referral_volume", "effectiveness", "optimism"]
    assert sweep.experiment.sampler.method == "morris" and sweep.replicates == 30
    assert sweep.runs == 5 * 16 * 30
    levels = [0.6 + 0.8 * i / 3 for i in range(4)]  # Morris moves on a 4-level grid of each range
    assert all(any(v["referral_volume"] == pytest.approx(level) for level in levels) for v in sweep.values)
    assert {d.design.name for d in sweep.designs.values()} == set(CORE_DESIGNS)
