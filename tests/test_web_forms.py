"""The design editor's form is generated from the schema: every field of every preset, addressable and round-tripping."""

import pytest

from platoons import apply_changes, load_scenario
from platoons.scenario.load import preset_names
from platoons.web.scenarios import ClientError, form_changes, form_sections, parse_field, scenario_from_yaml


@pytest.mark.parametrize("preset", preset_names())
def test_every_field_round_trips_through_the_form(preset):
    scenario = load_scenario(preset)
    fields = [f for s in form_sections(scenario) for f in s.fields]
    assert len({f.path for f in fields}) == len(fields)
    assert form_changes(scenario, {f.path: f.value for f in fields}) == {}
    every = {f.path: f.value + " " if f.kind not in ("text", "choice") else f.value for f in fields}
    assert form_changes(scenario, every) == {}  # spaces around a number are not a change
    again = apply_changes(scenario, {f.path: parse_field(f.value, f.kind) for f in fields})
    assert again == scenario


def test_fields_carry_unit_limits_choices_description_and_source():
    fields = {f.path: f for s in form_sections(load_scenario("regional-prime")) for f in s.fields}
    optimism = fields["design.bidding.optimism"]
    assert optimism.unit == "relative" and optimism.limits == ">= 0, <= 3" and optimism.source.startswith("NAO 2012")
    model = fields["design.delivery.model"]
    assert model.kind == "choice" and "outcomes_finance" in model.choices
    assert fields["design.lots.package_bids"].kind == "flag"
    assert fields["world.need_groups.0.max_months"].label == "world.need_groups.0 (job_ready).max_months"
    sections = [s.key for s in form_sections(load_scenario("regional-prime"))]
    assert {"design.lots", "design.eligibility", "design.delivery", "design.payment", "design.capacity_grants"} <= set(sections)


def test_a_changed_field_is_a_change_of_its_type():
    scenario = load_scenario("regional-prime")
    changes = form_changes(scenario, {"design.bidding.optimism": "0.5", "design.delivery.model": "direct",
                                      "name": "yes", "design.lots.max_lots_per_provider": "3"})
    assert changes == {"design.bidding.optimism": 0.5, "design.delivery.model": "direct", "name": "yes",
                       "design.lots.max_lots_per_provider": 3}


def test_uploaded_yaml_reads_no_server_file_and_names_the_upload():
    with pytest.raises(ClientError) as caught:
        scenario_from_yaml("base: /etc/hostname\n", "../../etc/my file.yaml")
    assert str(caught.value).startswith("my-file.yaml: base must be one of the presets")
    assert scenario_from_yaml("base: local-lots\nchanges: {run.months: 30}\n", "x.yaml").run.months == 30
