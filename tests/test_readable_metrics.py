"""Every metric in plain words: a label, a unit a person reads, a definition with its denominator, a better direction."""

import json
import subprocess
import sys

import pytest

from platoons import load_scenario, simulate
from platoons.metrics import REGISTRY, describe_metric


def platoons(*args, columns=100):
    import os

    env = dict(os.environ, COLUMNS=str(columns))
    return subprocess.run([sys.executable, "-m", "platoons", *args], capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def run():
    return simulate(load_scenario("local-lots", {"run.months": 12}), 3)


def test_every_metric_a_run_reports_is_worded(run):
    for name in run.metrics:
        metric = describe_metric(name)
        assert metric.label and metric.label != name and "_" not in metric.label.split(":")[0], name
        assert metric.unit_text and "/" not in metric.unit_text, name
        assert metric.better in ("higher", "lower", "neither"), name
        assert metric.definition.endswith("."), name
        # the denominator, or that there is none
        assert "divided by" in metric.definition or "not divided by anything" in metric.definition, name
    labels = [describe_metric(n).label for n in run.metrics]
    assert len(labels) == len(set(labels))


def test_coverage_metrics(run):
    assert run.metrics["referrals_unserved_share"] == pytest.approx(
        run.events["referrals_unserved"] / run.events["referrals"])
    assert run.metrics["lot_months_let_share"] == pytest.approx(run.timeseries["lots_let"].sum()
                                                                / run.timeseries["lots"].sum())
    assert 0.0 <= run.metrics["lot_months_let_share"] <= 1.0
    unlet = simulate(load_scenario("local-lots", {"run.months": 12, "design.eligibility.min_turnover_gbp": 1e11,
                                                  "design.stewardship.policy": ["leave_unserved"]}), 3)
    assert unlet.metrics["lot_months_let_share"] == 0.0 and unlet.metrics["referrals_unserved_share"] == 1.0


def test_describe_a_metric():
    done = platoons("describe", "cost_per_outcome_gbp")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "Cost per outcome (cost_per_outcome_gbp)"
    assert "GBP per outcome; lower is better" in done.stdout and "divided by sustained outcomes" in done.stdout
    group = platoons("describe", "outcome_rate_complex")
    assert "Outcome rate: complex" in group.stdout and "divided by all referrals of that group" in group.stdout


def test_glossary_lists_every_metric():
    done = platoons("glossary", columns=200)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    for metric in REGISTRY.values():
        assert metric.label in text and metric.name in text
    data = json.loads(platoons("glossary", "--json").stdout)
    assert set(data) == set(REGISTRY)
    assert data["hhi"]["better"] == "lower" and data["hhi"]["label"] == "Market concentration (HHI)"


def test_run_table_shows_labels_and_json_keeps_identifiers():
    text = platoons("run", "local-lots", "--set", "run.months=12", columns=80).stdout
    assert "Cost per outcome" in text and "cost_per_outcome_gbp" not in text
    assert max(map(len, text.splitlines())) <= 80
    data = json.loads(platoons("run", "local-lots", "--set", "run.months=12", "--json").stdout)
    assert "cost_per_outcome_gbp" in data["metrics"]


def test_describe_lists_allowed_values_and_bounds():
    model = platoons("describe", "design.delivery.model").stdout
    assert "one of direct, prime, consortium, alliance, outcomes_finance" in model
    share = platoons("describe", "world.need_groups[].referral_share").stdout
    assert "0 <= x <= 1" in share


@pytest.mark.parametrize("prefix", ["sector.bands", "sector.bands[]", "sector.bands.", "sector.bands[].kind"])
def test_describe_any_prefix(prefix):
    done = platoons("describe", prefix)
    assert done.returncode == 0, done.stderr
    assert "sector.bands[].kind" in done.stdout


def test_describe_a_list_item_by_name():
    done = platoons("describe", "world.need_groups.complex.max_months")
    assert done.returncode == 0, done.stderr
    assert "world.need_groups[].max_months" in done.stdout


def test_describe_a_preset_marks_sources_and_assumptions():
    done = platoons("describe", "world", "--preset", "work-programme-2011", columns=200)
    assert done.returncode == 0, done.stderr
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.count("│") > 3}
    assert "taen.org.uk" in rows["world.referral_months"]
    assert "assumption" in rows["world.referral_volume_by_year"]


def test_describe_nothing_known_is_one_line():
    bad = platoons("describe", "design.nothing")
    assert bad.returncode == 2 and "design.nothing" in bad.stderr and "Traceback" not in bad.stderr
