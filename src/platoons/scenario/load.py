"""Reading scenarios from YAML files and presets, and making variants of them."""

from __future__ import annotations

import copy
import re
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import ValidationError

from platoons.errors import InputError
from platoons.scenario.schema import Scenario

PRESET_PACKAGE = "platoons.presets"


def preset_names() -> list[str]:
    files = resources.files(PRESET_PACKAGE).iterdir()
    return sorted(f.name.removesuffix(".yaml") for f in files if f.name.endswith(".yaml"))


def preset_description(name: str) -> str:
    return read_yaml_mapping(_preset_file(name), f"preset {name}").get("description", "")


def load_scenario(spec: str | Path, changes: Mapping[str, Any] | None = None) -> Scenario:
    """A scenario from a preset name or a YAML path, with `changes` applied on top."""
    from platoons.population.files import expand_files

    source, data = _resolve(str(spec), seen=())
    # The user's CSV files are named relative to the scenario file that names them.
    data = expand_files(data, Path(str(spec)).parent if source == str(spec) else Path.cwd())
    scenario = _validate(data, source)
    return apply_changes(scenario, changes, source="--set") if changes else scenario


def apply_changes(baseline: Scenario, changes: Mapping[str, Any] | None, source: str = "changes") -> Scenario:
    """A new scenario: the baseline with dotted-path changes applied (the baseline is untouched)."""
    data = baseline.model_dump(mode="json")
    for path, value in (changes or {}).items():
        _set_path(data, path, value, source)
    return _validate(data, source)


def parse_assignments(assignments: list[str]) -> dict[str, Any]:
    """`path=value` strings from the command line; values are read as YAML scalars."""
    changes: dict[str, Any] = {}
    for text in assignments:
        path, sep, value = text.partition("=")
        if not sep or not path:
            raise InputError("--set", "assignment", "PATH=VALUE", text)
        changes[path.strip()] = yaml.safe_load(value) if value.strip() else ""
    return changes


def _resolve(spec: str, seen: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """The raw data of a scenario file or preset, with its `base:` and `changes:` resolved."""
    if spec in seen:
        raise InputError(spec, "base", "a chain of presets without a cycle", " -> ".join((*seen, spec)))
    path = Path(spec)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise InputError(spec, "file", "an existing scenario file or a preset name", spec)
        source, data = spec, read_yaml_mapping(path, spec)
    elif spec in preset_names():
        source, data = f"preset {spec}", read_yaml_mapping(_preset_file(spec), f"preset {spec}")
    else:
        raise InputError(spec, "scenario", f"a YAML file or one of the presets {', '.join(preset_names())}", spec)
    base = data.pop("base", None)
    changes = data.pop("changes", None)
    data.pop("calibration", None)  # how a calibrated preset was fitted: a record, not a setting
    if base is None:
        if changes is not None:
            raise InputError(source, "changes", "used together with base", changes)
        return source, data
    base = str(base)
    if base not in preset_names() and not Path(base).is_file():
        raise InputError(source, "base", f"a scenario file or one of the presets {', '.join(preset_names())}", base)
    _, merged = _resolve(base, (*seen, spec))
    merged = _merge(merged, data)
    if changes is not None and not isinstance(changes, dict):
        raise InputError(source, "changes", "a mapping of path: value", changes)
    for path, value in (changes or {}).items():
        _set_path(merged, path, value, source)
    return source, merged


def read_yaml_mapping(path: Path | Any, source: str, what: str = "a scenario mapping") -> dict[str, Any]:
    """A YAML file that must hold a mapping; anything else is an InputError naming `source`."""
    try:
        text = path.read_text()
    except OSError as error:
        raise InputError(source, "file", "a readable file", str(error)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(source, "YAML", "well-formed YAML", getattr(error, "problem", str(error)), line) from None
    if data is None:
        raise InputError(source, "file", what, "an empty file")
    if not isinstance(data, dict):
        raise InputError(source, "file", what, type(data).__name__)
    return data


def _preset_file(name: str) -> Any:
    return resources.files(PRESET_PACKAGE).joinpath(f"{name}.yaml")


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _set_path(data: dict[str, Any], path: str, value: Any, source: str) -> None:
    """Set a dotted path; list items are addressed by index or by their `name`."""
    keys = path.split(".")
    node: Any = data
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        where = ".".join(keys[: depth + 1])
        if isinstance(node, list):
            index = _list_index(node, key)
            if index is None:
                raise InputError(source, where, "an index or the name of an item in the list", key)
            if last:
                node[index] = value
            node = node[index]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            elif key not in node or node[key] is None:
                node[key] = {}
            node = node[key]
        else:
            raise InputError(source, where, "a path into the scenario", path)


def _list_index(items: list[Any], key: str) -> int | None:
    if re.fullmatch(r"-?\d+", key) and -len(items) <= int(key) < len(items):
        return int(key) % len(items)
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    return names.index(key) if key in names else None


def _validate(data: dict[str, Any], source: str) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise _input_error(error, source) from None


def _input_error(error: ValidationError, source: str) -> InputError:
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "scenario"
    message = first["msg"]
    if message.startswith("Value error, "):
        return InputError(source, field, "", None, message=message.removeprefix("Value error, "))
    if first["type"] == "extra_forbidden":
        return InputError(source, field, "", None, message=f"unknown key {field!r} (not a scenario field)")
    if first["type"] == "missing":
        return InputError(source, field, "", None, message=f"{field} is required (got nothing)")
    expected = message.removeprefix("Input should be ").removeprefix("Input ")
    received = first.get("input")
    return InputError(source, field, expected, received)
