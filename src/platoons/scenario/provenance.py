"""Where a scenario's values came from: the user's own files and --set, or the preset and schema.

A value the user set is shown with "user input (FILE)" as its source in `describe --scenario`, the
report's parameters table and anywhere else sources are shown, never with the citation that
belongs to the preset's or schema's default. Provenance maps a parameter's schema path (as
`platoons describe` writes it, `[]` for list items) to its source; it travels in the scenario.
"""

from __future__ import annotations

from typing import Any, Mapping


def user_input(data: Mapping[str, Any], source: str) -> dict[str, str]:
    """Every parameter set in `data` (a scenario mapping, or part of one) as coming from `source`."""
    from platoons.report.parameters import flatten_scenario

    return {template: f"user input ({source})" for _, (template, _, _) in flatten_scenario(dict(data)) if template}


def from_changes(changes: Mapping[str, Any], source: str = "--set") -> dict[str, str]:
    """Dotted-path changes (`design.payment.by_group.single.outcome_fee_gbp`) as user input."""
    found: dict[str, str] = {}
    for path, value in changes.items():
        nested: Any = value
        for key in reversed(path.split(".")):
            nested = {key: nested}
        found.update(user_input(nested, source))
    return found


def source_of(template: str, provenance: Mapping[str, str], default: str) -> str:
    """The source to show for a parameter: the user's, where the user set it or a list it belongs to."""
    for key, source in provenance.items():
        if template == key or template.startswith(key + ".") or template.startswith(key + "[]"):
            return source
    return default
