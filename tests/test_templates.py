"""Service templates: each loads, runs, and says where its numbers come from; `platoons new` writes one."""

import re
import subprocess
import sys
from importlib import resources

import pytest

from platoons import apply_changes, load_scenario, simulate
from platoons.cli.new import TEMPLATES, scenario_text


@pytest.mark.parametrize("template", TEMPLATES)
def test_each_template_loads_runs_and_covers_its_costs(tmp_path, template):
    path = tmp_path / "service.yaml"
    path.write_text(scenario_text(template))
    scenario = apply_changes(load_scenario(path), {"run.months": 48})
    result = simulate(scenario, 1)
    assert result.metrics["outcomes"] > 0
    afford = result.tables["affordability"]
    assert all(paid > cost for paid, cost in zip(afford["paid_per_referral_gbp"], afford["cost_per_referral_gbp"]))


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_number_of_a_template_is_sourced_or_marked_as_an_assumption(template):
    text = resources.files("platoons.templates").joinpath(f"{template}.yaml").read_text()
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "assumption" in header
    # Each top-level section with need groups, bands or prices carries comments that cite a source or say assumption.
    blocks = re.split(r"\n(?=[a-z_]+:)", text)
    for block in blocks:
        if re.search(r"\{name: |\{kind: |fee_gbp", block):
            comments = " ".join(line.split("#", 1)[1] for line in block.splitlines() if "#" in line)
            assert re.search(r"assumption|\[[A-Z]", comments), block[:80]


def test_new_writes_a_template_with_the_users_areas_and_refuses_an_unknown_one(tmp_path):
    (tmp_path / "areas.csv").write_text("area,region,referrals_per_month\nNorth,R,50\n")
    done = subprocess.run([sys.executable, "-m", "platoons", "new", "--template", "probation", "--areas", "areas.csv"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and "areas_file: areas.csv" in done.stdout and "regions:" not in done.stdout
    (tmp_path / "mine.yaml").write_text(done.stdout)
    assert load_scenario(tmp_path / "mine.yaml").world.areas[0].name == "North"
    bad = subprocess.run([sys.executable, "-m", "platoons", "new", "--template", "gardening"], capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "homelessness" in bad.stderr
