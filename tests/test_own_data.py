"""The user's own areas and providers from CSV files: read into the scenario, and each bad file
refused with one line naming the file, line and column (exit status 2)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from platoons import load_scenario, simulate
from platoons.population import build_world

COUNTY = Path(__file__).parent.parent / "examples" / "county"
AREAS = (COUNTY / "areas.csv").read_text()
PROVIDERS = (COUNTY / "providers.csv").read_text()


def scenario_with(tmp_path: Path, areas: str | bytes = AREAS, providers: str | bytes = PROVIDERS) -> Path:
    """The county example in tmp_path with the given CSV contents."""
    for name, content in (("areas.csv", areas), ("providers.csv", providers)):
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    target = tmp_path / "service.yaml"
    target.write_text((COUNTY / "county-prime.yaml").read_text())
    return target


def test_the_county_files_build_the_world_and_the_sector(tmp_path):
    scenario = load_scenario(scenario_with(tmp_path))
    world = build_world(scenario)
    assert world.area_names == ("Northdale", "Easton", "Southmere", "Westbury", "Ashford Vale")
    assert world.referrals_per_month[0].tolist() == [55, 35, 20]
    assert round(world.referrals_per_month.sum() * 12) == 2892  # about 3,000 a year
    named = scenario.sector.providers
    assert len(named) == 12 and named[0].name == "Meridian Services" and named[0].reach == "national"
    assert next(q for q in named if q.name == "Westbury Homes Project").reach == "region"  # Westbury;Southmere
    result = simulate(scenario, 1)
    assert result.providers["turnover_gbp"][:12].size == 12


def test_referrals_by_year_follow_the_file(tmp_path):
    areas = ("area,region,year,referrals_single,referrals_families,referrals_complex\n"
             "North,County,1,10,5,2\nNorth,County,2,20,10,4\nSouth,County,1,8,4,1\nSouth,County,2,8,4,1\n")
    providers = "name,kind,turnover_gbp,home_area\nA,national_firm,50000000,North\nB,small_charity,50000,South\n"
    scenario = load_scenario(scenario_with(tmp_path, areas, providers))
    world = build_world(scenario)
    assert world.referrals_by_year[0, 0].tolist() == [10, 5, 2]
    assert world.referrals_by_year[1, 0].tolist() == [20, 10, 4]
    assert np.all(world.referrals_by_year[4, 0] == world.referrals_by_year[1, 0])  # the last year holds


def test_missing_optional_columns_fall_back_to_the_band_defaults_named_in_a_warning(tmp_path, capsys):
    providers = "name,kind,turnover_gbp,home_area\nA,national_firm,50000000,Northdale\nB,small_charity,50000,Easton\n"
    scenario = load_scenario(scenario_with(tmp_path, providers=providers))
    warning = capsys.readouterr().err
    assert "providers.csv: warning: no column reserves_gbp, management_capacity, overhead_rate" in warning
    small = next(b for b in scenario.sector.bands if b.kind == "small_charity")
    b = scenario.sector.providers[1]
    assert b.management_capacity == small.management_capacity and b.effectiveness == small.effectiveness
    assert b.reserves_gbp == pytest.approx(small.reserves_months / 12 * 50000)


BAD = {
    "missing_column": ("providers", "name,kind,home_area\nA,national_firm,Northdale\n", ["providers.csv, line 1", "turnover_gbp"]),
    "unknown_area": ("providers", "name,kind,turnover_gbp,home_area\nA,national_firm,5000000,Atlantis\n",
                     ["providers.csv, line 2", "home_area", "Atlantis"]),
    "negative_turnover": ("providers", "name,kind,turnover_gbp,home_area\nA,national_firm,-5,Northdale\n",
                          ["providers.csv, line 2", "turnover_gbp", "-5"]),
    "duplicate_names": ("providers", "name,kind,turnover_gbp,home_area\nA,national_firm,5000000,Northdale\nB,small_charity,50000,Easton\n"
                        "A,small_charity,60000,Easton\n", ["providers.csv, line 4", "name", "line 2"]),
    "non_utf8": ("areas", "area,region,referrals_single,referrals_families,referrals_complex\nNorthdale,County,1,1,1\n"
                 "Caf\xe9 Town,County,1,1,1\n".encode("latin-1"), ["areas.csv, line 3", "UTF-8", "0xe9"]),
    "unknown_group": ("areas", "area,region,referrals_single,referrals_families,referrals_addiction\nNorthdale,County,1,1,1\n",
                      ["areas.csv, line 1", "referrals_addiction"]),
    "negative_referrals": ("areas", "area,region,referrals_single,referrals_families,referrals_complex\nNorthdale,County,1,-3,1\n",
                           ["areas.csv, line 2", "referrals_families", "-3"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_csv_gives_one_line_naming_file_line_and_column_and_exit_2(tmp_path, case):
    which, content, words = BAD[case]
    path = scenario_with(tmp_path, **{which: content})
    done = subprocess.run([sys.executable, "-m", "platoons", "validate", str(path)], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"


def _replace_with(path: Path, kind: str) -> None:
    path.unlink()
    if kind == "pipe":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    else:  # a CSV past the size limit, every row well formed
        row = "Northdale,County,1,1,1\n"
        path.write_text("area,region,referrals_single,referrals_families,referrals_complex\n"
                        + row * (16 * 1024 * 1024 // len(row) + 1))


@pytest.mark.parametrize("which, kind, words", [("areas", "pipe", ["areas.csv", "regular"]),
                                                ("providers", "device", ["providers.csv", "regular"]),
                                                ("areas", "oversize", ["areas.csv", "at most 16 MiB"])])
def test_a_data_file_that_is_not_a_bounded_regular_file_is_refused_unread(tmp_path, which, kind, words):
    path = scenario_with(tmp_path)
    _replace_with(tmp_path / f"{which}.csv", kind)
    done = subprocess.run([sys.executable, "-m", "platoons", "validate", str(path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
