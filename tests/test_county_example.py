"""End to end: a county's homelessness prevention service built from the shipped CSVs and the
homelessness template, two designs compared, and the warnings a county analyst needs to see in
the terminal, in --json and in the report."""

import html
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

COUNTY = Path(__file__).parent.parent / "examples" / "county"


def platoons(*args, cwd):
    done = subprocess.run([sys.executable, "-m", "platoons", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "400"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def build_county(tmp_path: Path) -> tuple[Path, Path]:
    """The two designs, written as a county analyst would: `platoons new`, then edit the design."""
    for name in ("areas.csv", "providers.csv"):
        shutil.copy(COUNTY / name, tmp_path / name)
    text = platoons("new", "--template", "homelessness", "--areas", "areas.csv", "--providers", "providers.csv", cwd=tmp_path)
    base = yaml.safe_load(text)
    assert base["world"]["areas_file"] == "areas.csv" and "regions" not in base["world"]
    assert base["design"]["budget_gbp_per_year"] == 8_000_000
    prime = yaml.safe_load(text)  # a county-wide prime, paid mostly on outcomes at prices below cost
    prime["design"]["payment"]["by_group"] = {
        "single": {"fee_gbp_per_month": 100, "outcome_fee_gbp": 900},
        "families": {"fee_gbp_per_month": 120, "outcome_fee_gbp": 1100},
        "complex": {"fee_gbp_per_month": 200, "outcome_fee_gbp": 2000},
    }
    lots = yaml.safe_load(text)  # five district lots let directly, the largest set aside for small providers
    lots["design"].update(name="district-lots", lots={"structure": "area", "set_aside_lots": ["Northdale"]},
                          delivery={"model": "direct"})
    paths = tmp_path / "county-prime.yaml", tmp_path / "district-lots.yaml"
    for path, data in zip(paths, (prime, lots)):
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return paths


SET_ASIDE = "Lot Northdale was never let: no small provider can absorb GBP"
LIMIT = "the largest small provider's limit is GBP"
BELOW_COST = "Prices are below cost for most providers for single"


def test_the_county_example_warns_of_the_unlettable_set_aside_and_the_unaffordable_prices(tmp_path):
    prime, lots = build_county(tmp_path)
    terminal = platoons("compare", prime.name, lots.name, "--replicates", "2", "--executor", "sequential",
                        "--out", "results", cwd=tmp_path)
    flat = " ".join(terminal.split())
    assert SET_ASIDE in flat and LIMIT in flat and BELOW_COST in flat

    data = json.loads(platoons("compare", prime.name, lots.name, "--replicates", "2", "--executor", "sequential",
                               "--json", cwd=tmp_path))
    assert any(BELOW_COST in w for w in data["warnings"]["county-prime"])
    assert any(SET_ASIDE in w and LIMIT in w and "(in 2 of 2 runs)" in w for w in data["warnings"]["district-lots"])

    report = (tmp_path / "results" / "report.html").read_text()
    assert "What went wrong" in report
    assert html.escape(SET_ASIDE) in report and html.escape(LIMIT) in report and html.escape(BELOW_COST) in report
    # The county's own numbers are its own: never the employment presets' citations.
    assert "user input (county-prime.yaml)" in report and "user input (areas.csv)" in report
    assert "FullFact" not in report and "JSA" not in report

    explained = " ".join(platoons("explain", "results", "--lot", "Northdale", cwd=tmp_path).split())
    assert "no small provider can absorb" in explained and "set aside" in explained
    summary = " ".join(platoons("explain", "results", cwd=tmp_path).split())
    assert SET_ASIDE in summary and BELOW_COST in summary
    named = " ".join(platoons("explain", "results", "--provider", "Meridian Services", cwd=tmp_path).split())
    assert "Meridian Services (p0)" in named


def test_one_run_carries_its_warnings_and_diagnostics_in_json(tmp_path):
    _, lots = build_county(tmp_path)
    data = json.loads(platoons("run", lots.name, "--json", cwd=tmp_path))
    assert any(SET_ASIDE in w for w in data["warnings"])
    northdale = [i for i, lot in enumerate(data["tables"]["diagnostics"]["lot"]) if lot == "Northdale"]
    assert data["tables"]["diagnostics"]["reason"][northdale[0]] == "absorbability"
    assert data["tables"]["diagnostics"]["set_aside"][northdale[0]] is True
