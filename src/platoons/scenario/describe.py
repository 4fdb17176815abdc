"""Every scenario parameter with its unit, description, default and source, read from the schema."""

from __future__ import annotations

from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from platoons.scenario.schema import Scenario


def parameters(model: type[BaseModel] = Scenario, prefix: str = "") -> list[dict[str, str]]:
    rows = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        extra = info.json_schema_extra or {}
        nested = _nested_model(info.annotation)
        if nested is not None:
            rows.extend(parameters(nested, path + ("[]." if _is_collection(info.annotation) else ".")))
            continue
        default = info.get_default(call_default_factory=True) if info.default is not PydanticUndefined or info.default_factory else None
        rows.append({
            "path": path,
            "unit": str(extra.get("unit", "")),
            "default": "required" if info.is_required() else repr(default),
            "description": info.description or "",
            "source": str(extra.get("source", "")),
        })
    return rows


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _is_collection(annotation: Any) -> bool:
    return get_origin(annotation) in (tuple, list, dict)


def parameters_markdown() -> str:
    """docs/parameters.md: every parameter with its unit, default, description and source."""
    lines = [
        "# Parameters",
        "",
        "Generated from the scenario schema by `platoons describe --markdown > docs/parameters.md`;",
        "a test keeps it up to date. `[]` marks a list of items, each with the fields below it.",
        "",
        "| parameter | unit | default | description | source |",
        "|---|---|---|---|---|",
    ]
    for row in parameters():
        cells = [row["path"], row["unit"], row["default"], row["description"], row["source"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
