"""Every scenario parameter with its unit, description, default and source, read from the schema."""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

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
            "allowed": allowed(info),
            "default": "required" if info.is_required() else repr(default),
            "description": info.description or "",
            "source": str(extra.get("source", "")),
        })
    return rows


BOUNDS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))


def allowed(info) -> str:
    """The values a field accepts: its choices, or its bounds ("0 <= x <= 1"), or "" when any of its type."""
    choices = _choices(info.annotation)
    if choices:
        return "one of " + ", ".join(str(c) for c in choices)
    limits = {name: getattr(m, name) for m in info.metadata for name, _ in BOUNDS if hasattr(m, name)}
    low = next((f"{limits[n]} {op.replace('>', '<')} " for n, op in BOUNDS[:2] if n in limits), "")
    high = next((f" {op} {limits[n]}" for n, op in BOUNDS[2:] if n in limits), "")
    return f"{low}x{high}" if low or high else ""


def _choices(annotation: Any) -> tuple:
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    for arg in get_args(annotation):
        found = _choices(arg)
        if found:
            return found
    return ()


def matching(rows: list[dict[str, str]], prefix: str) -> list[dict[str, str]]:
    """Rows whose path is `prefix` or lies under it; `sector.bands` and `sector.bands[]` alike, and a list
    item's name in place of `[]` (`world.need_groups.complex.share`) as `--set` writes it."""
    wanted = prefix.strip().rstrip(".")
    found = [r for r in rows if _under(r["path"], wanted)]
    if found:
        return found
    # A path naming list items (world.need_groups.complex) describes the fields of every item.
    parts = wanted.split(".")
    for i in range(1, len(parts)):
        template = ".".join(parts[:i]) + "[]" + ("." + ".".join(parts[i + 1:]) if i + 1 < len(parts) else "")
        found = [r for r in rows if r["path"] == template or r["path"].startswith(template + ".")]
        if found:
            return found
    return []


def _under(path: str, prefix: str) -> bool:
    bare = prefix.removesuffix("[]")
    return any(path == p or path.startswith(p + ".") or path.startswith(p + "[]") for p in (prefix, bare))


def preset_values(preset: str) -> dict[str, tuple[str, str]]:
    """schema path -> (the preset's value, "source: ..." or "assumption") for each parameter the preset sets.

    A value is sourced when the preset's file cites a source for it (a bracketed tag of docs/FACTS.md on
    its line or in the comment just above it) or, where the preset keeps the default, when the schema
    cites one; every other value is an assumption.
    """
    from platoons.scenario.load import load_scenario
    from platoons.report.parameters import flatten_scenario

    scenario = load_scenario(preset)
    defaults = {r["path"]: r for r in parameters()}
    cited = _cited_keys(preset)
    seen: dict[str, list[str]] = {}  # each parameter's distinct values, over the list items that hold it
    origins: dict[str, str] = {}
    for path, (template, _, value) in flatten_scenario(scenario.model_dump(mode="json")):
        row = defaults.get(template)
        if row is None:
            continue
        leaf = template.rsplit(".", 1)[-1]
        if leaf in cited:
            origin = f"source: {cited[leaf]}"
        elif repr(value) == row["default"] and row["source"] and row["source"] != "assumption":
            origin = f"source: {row['source']}"
        else:
            origin = "assumption"
        distinct = seen.setdefault(template, [])
        if repr(value) not in distinct:
            distinct.append(repr(value))
        origins.setdefault(template, origin)
    texts = {t: ", ".join(v) for t, v in seen.items()}
    return {t: (text if len(text) < 60 else text[:57] + "...", origins[t]) for t, text in texts.items()}


def _cited_keys(preset: str) -> dict[str, str]:
    """key -> the bracketed source tags the preset's file gives for it, on its line or the comment above."""
    import re

    from platoons.scenario.load import preset_names, _preset_file

    if preset not in preset_names():
        return {}
    cited, pending = {}, ""
    for line in _preset_file(preset).read_text().splitlines():
        code, _, comment = line.partition("#")
        tags = re.findall(r"\[([^\]]+)\]", comment)
        key = re.match(r"\s*-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*:", code)
        if key and (tags or pending) and "assumption" not in comment:
            cited.setdefault(key.group(1), ", ".join(tags) or pending)
        pending = ", ".join(tags) if not code.strip() and tags else ("" if code.strip() else pending)
    return cited


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
        "| parameter | unit | allowed | default | description | source |",
        "|---|---|---|---|---|---|",
    ]
    for row in parameters():
        cells = [row["path"], row["unit"], row["allowed"], row["default"], row["description"], row["source"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
