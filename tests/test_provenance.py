"""Values the user set show "user input (FILE)" as their source, never the preset's citation."""

from platoons import load_scenario
from platoons.scenario.describe import parameters
from platoons.scenario.provenance import source_of


def sources(scenario):
    return {r["path"]: source_of(r["path"], scenario.provenance, r["source"]) for r in parameters()}


def test_a_preset_keeps_its_citations():
    shown = sources(load_scenario("default"))
    assert "DWP non-intervention" in shown["world.need_groups[].no_support_outcome_rate"]
    assert load_scenario("default").provenance == {}


def test_a_file_on_a_preset_marks_only_what_it_sets_and_set_marks_its_paths(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("base: default\nname: mine\nworld:\n  referral_months: 36\n"
                    "changes:\n  world.need_groups.job_ready.no_support_outcome_rate: 0.2\n")
    scenario = load_scenario(path, {"design.bidding.optimism": 0.1})
    shown = sources(scenario)
    assert shown["world.referral_months"] == "user input (mine.yaml)"
    assert shown["world.need_groups[].no_support_outcome_rate"] == "user input (mine.yaml)"
    assert shown["design.bidding.optimism"] == "user input (--set)"
    assert shown["design.eligibility.min_turnover_gbp"] != "user input (mine.yaml)"  # the preset's value, its source


def test_own_csv_files_are_named_as_the_source_of_areas_and_providers():
    from pathlib import Path

    scenario = load_scenario(Path(__file__).parent.parent / "examples" / "county" / "district-lots.yaml")
    shown = sources(scenario)
    assert shown["world.regions[].areas[].referrals_per_month"] == "user input (areas.csv)"
    assert shown["sector.providers[].turnover_gbp"] == "user input (providers.csv)"
    assert shown["world.need_groups[].no_support_outcome_rate"] == "user input (district-lots.yaml)"


def test_the_web_editor_shows_user_input_as_the_source_and_no_provenance_field():
    from pathlib import Path

    from platoons.web.scenarios import form_sections

    scenario = load_scenario(Path(__file__).parent.parent / "examples" / "county" / "district-lots.yaml")
    fields = {f.path: f for section in form_sections(scenario) for f in section.fields}
    assert fields["world.need_groups.0.no_support_outcome_rate"].source == "user input (district-lots.yaml)"
    assert fields["world.regions.0.areas.0.referrals_per_month"].source == "user input (areas.csv)"
    assert not [path for path in fields if path.startswith("provenance")]
    preset = {f.path: f for section in form_sections(load_scenario("default")) for f in section.fields}
    assert "DWP non-intervention" in preset["world.need_groups.0.no_support_outcome_rate"].source


def test_provider_values_the_file_leaves_out_are_not_called_user_input(tmp_path):
    (tmp_path / "areas.csv").write_text("area,region,referrals_per_month\nNorth,R,50\n")
    (tmp_path / "providers.csv").write_text("name,kind,turnover_gbp,home_area,reserves_gbp\nA,national_firm,50000000,North,1000000\n")
    (tmp_path / "s.yaml").write_text("base: default\nworld: {areas_file: areas.csv}\nsector: {providers_file: providers.csv}\n"
                                     "design: {lots: {structure: national}}\n")
    shown = sources(load_scenario(tmp_path / "s.yaml"))
    assert shown["sector.providers[].reserves_gbp"] == "user input (providers.csv)"
    assert shown["sector.providers[].management_capacity"].startswith("the default of its kind in sector.bands")
    assert shown["world.regions[].areas[].referrals_per_month"] == "user input (areas.csv)"
