"""`platoons new`: a starting scenario file from a service template and, optionally, the user's own CSVs."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Optional

import typer

from platoons.errors import InputError

TEMPLATES = ("employment", "probation", "homelessness")
AREAS_BLOCK = re.compile(r"^  # Areas:.*?\n(?=  need_groups:)", re.S | re.M)


def new(
    template: str = typer.Option(..., "--template", help=f"The service: {', '.join(TEMPLATES)}."),
    areas: Optional[Path] = typer.Option(None, "--areas", help="Your areas CSV (area, region, referrals_<group> ...)."),
    providers: Optional[Path] = typer.Option(None, "--providers", help="Your providers CSV (name, kind, turnover_gbp, home_area ...)."),
) -> None:
    """Print a starting scenario file for a service, to redirect into your own YAML file."""
    print(scenario_text(template, areas, providers), end="")


def scenario_text(template: str, areas: Path | None = None, providers: Path | None = None) -> str:
    """The template's YAML, with the sample areas replaced by `areas_file` and a `providers_file` added."""
    if template not in TEMPLATES:
        raise InputError("--template", "template", f"one of {', '.join(TEMPLATES)}", template)
    text = resources.files("platoons.templates").joinpath(f"{template}.yaml").read_text()
    for path, option in ((areas, "--areas"), (providers, "--providers")):
        if path is not None and not path.is_file():
            raise InputError(option, "file", "an existing CSV file", str(path))
    if areas is not None:
        # The file is named as given: relative to where the scenario file is written (the current directory).
        text = AREAS_BLOCK.sub(f"  areas_file: {areas.as_posix()}   # your areas: area, region, referrals_<group>\n", text, count=1)
    if providers is not None:
        text = text.replace("sector:\n", f"sector:\n  providers_file: {providers.as_posix()}   # your providers; the bands give defaults by kind\n", 1)
    return text
