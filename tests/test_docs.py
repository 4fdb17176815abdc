"""The documentation that is generated stays in step with the code."""

from pathlib import Path

from platoons.scenario.describe import parameters, parameters_markdown

DOCS = Path(__file__).parent.parent / "docs"


def test_parameters_md_is_up_to_date_with_the_schema():
    assert (DOCS / "parameters.md").read_text() == parameters_markdown(), (
        "regenerate with: platoons describe --markdown > docs/parameters.md"
    )


def test_every_parameter_has_a_unit_a_description_and_a_source():
    for row in parameters():
        assert row["unit"], row["path"]
        assert row["description"], row["path"]
        assert row["source"], row["path"]
