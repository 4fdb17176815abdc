"""Reading scenarios from YAML files and presets, and making variants of them."""

from __future__ import annotations

import copy
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import ValidationError

from platoons.errors import InputError
from platoons.scenario.schema import Scenario

PRESET_PACKAGE = "platoons.presets"
MAX_FILE_BYTES = 1024 * 1024  # a scenario is a few KiB; a megabyte is a mistake or an attack
MAX_YAML_DEPTH = 32
MAX_YAML_NODES = 100_000
MAX_BASE_CHAIN = 16
MAX_ERRORS = 10  # errors listed from one file; more are counted


def preset_names() -> list[str]:
    files = resources.files(PRESET_PACKAGE).iterdir()
    return sorted(f.name.removesuffix(".yaml") for f in files if f.name.endswith(".yaml"))


def preset_description(name: str) -> str:
    return read_yaml_mapping(_preset_file(name), f"preset {name}").get("description", "")


def load_scenario(spec: str | Path, changes: Mapping[str, Any] | None = None) -> Scenario:
    """A scenario from a preset name or a YAML path, with `changes` applied on top."""
    source, data = _resolve(str(spec), seen=())
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
        changes[path.strip()] = parse_yaml(value, f"--set {path.strip()}") if value.strip() else ""
    return changes


def _resolve(spec: str, seen: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """The raw data of a scenario file or preset, with its `base:` and `changes:` resolved."""
    if _identity(spec) in map(_identity, seen):
        raise InputError(seen[-1], "base", "a chain of scenarios without a cycle", " -> ".join((*seen, spec)))
    if len(seen) >= MAX_BASE_CHAIN:
        raise InputError(seen[-1], "base", f"a chain of at most {MAX_BASE_CHAIN} scenarios", f"{len(seen) + 1} or more")
    path = Path(spec)
    if _names_a_file(spec) or path.exists():
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
    if changes is not None and not isinstance(changes, dict):
        raise InputError(source, "changes", "a mapping of path: value", changes)
    _, merged = _resolve(_base_spec(base, source, path), (*seen, spec))
    merged = _merge(merged, data)
    for key, value in (changes or {}).items():
        _set_path(merged, str(key), value, source)
    return source, merged


def _identity(spec: str) -> str:
    return os.path.realpath(spec) if _names_a_file(spec) else spec


def _names_a_file(spec: str) -> bool:
    return spec.endswith((".yaml", ".yml")) or "/" in spec


def _base_spec(base: Any, source: str, naming: Path) -> str:
    """What `base:` names: a preset, or a file relative to the folder of the file that names it."""
    presets = preset_names()
    if not isinstance(base, str) or not base:
        raise InputError(source, "base", f"a scenario file or one of the presets {', '.join(presets)}", base)
    if not _names_a_file(base):
        if base not in presets:
            raise InputError(source, "base", f"a scenario file or one of the presets {', '.join(presets)}", base)
        return base
    if source.startswith("preset "):
        raise InputError(source, "base", "a preset name", base)
    found = naming.parent / base
    if not found.is_file():
        raise InputError(source, "base", f"a scenario file (relative to {naming.parent}/) or a preset", base)
    return os.path.normpath(found)


def read_yaml_mapping(path: Path | Any, source: str, what: str = "a scenario mapping") -> dict[str, Any]:
    """A YAML file that must hold a mapping; anything else is an InputError naming `source`."""
    data = parse_yaml(read_text(path, source), source)
    if data is None:
        raise InputError(source, "file", what, "an empty file")
    if not isinstance(data, dict):
        raise InputError(source, "file", what, type(data).__name__)
    return data


def read_text(path: Path | Any, source: str, limit_bytes: int = MAX_FILE_BYTES) -> str:
    """A text file of at most `limit_bytes`, as UTF-8 (a byte-order mark is allowed and dropped)."""
    if not path.is_file():  # a folder, a device or a pipe (which would block the read)
        raise InputError(source, "file", "an existing regular file", str(path))
    try:
        with path.open("rb") as stream:
            raw = stream.read(limit_bytes + 1)
    except OSError as error:
        raise InputError(source, "file", "a readable file", error.strerror or str(error)) from None
    if len(raw) > limit_bytes:
        raise InputError(source, "file", f"at most {limit_bytes // 1024} KiB", "a larger file")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(source, "file", "UTF-8 text", "UTF-16 text; save it as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise InputError(source, "file", "UTF-8 text", f"byte 0x{raw[error.start]:02x}, not UTF-8", line) from None


def parse_yaml(text: str, source: str) -> Any:
    """YAML data, refusing what a scenario never needs: duplicate keys, deep nesting, alias bombs."""
    loader = None
    try:
        loader = _StrictLoader(text)  # the reader refuses control characters here
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, source)
        return loader.construct_document(node)
    except _Refused as refused:
        raise InputError(source, refused.field, refused.expected, refused.received, refused.line,
                         message=refused.message) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(source, "YAML", "well-formed YAML", getattr(error, "problem", None) or str(error), line) from None
    finally:
        if loader is not None:
            loader.dispose()


class _Refused(Exception):
    def __init__(self, field: str, expected: str, received: object, line: int | None, message: str | None = None):
        self.field, self.expected, self.received, self.line, self.message = field, expected, received, line, message


class _StrictLoader(yaml.SafeLoader):
    """The safe loader, plus a nesting limit (checked while composing) and no duplicate keys."""

    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                line = self.peek_event().start_mark.line + 1
                raise _Refused("YAML", "", None, line, message=f"YAML nests more than {MAX_YAML_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                raise _Refused(str(key), "", None, key_node.start_mark.line + 1, message=(
                    f"key {key!r} appears twice in one mapping (first on line {seen[key]}); keep one"))
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Refuse a document whose aliases expand it past MAX_YAML_NODES (a 'billion laughs')."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(node: yaml.Node) -> int:
        if id(node) in open_:
            raise _Refused("YAML", "", None, node.start_mark.line + 1, message="YAML alias refers to its own anchor (a loop)")
        known = sizes.get(id(node))
        if known is not None:
            return known
        open_.add(id(node))
        children = node.value if isinstance(node, yaml.SequenceNode) else \
            [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else []
        total = 1 + sum(size(child) for child in children)
        open_.discard(id(node))
        sizes[id(node)] = total
        if total > MAX_YAML_NODES:
            raise _Refused("YAML", "", None, node.start_mark.line + 1, message=(
                f"YAML aliases expand to more than {MAX_YAML_NODES:,} values; write the values out"))
        return total

    size(root)


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
                node[index] = _placed(node[index], value)
            node = node[index]
        elif isinstance(node, dict):
            if last:
                node[key] = _placed(node.get(key), value)
            elif key not in node or node[key] is None:
                node[key] = {}
            node = node[key]
        else:
            raise InputError(source, where, "a path into the scenario", path)


def _placed(current: Any, value: Any) -> Any:
    """A mapping given for a section changes the keys it names and keeps the others."""
    if isinstance(value, dict) and isinstance(current, dict):
        return _merge(current, value)
    return copy.deepcopy(value)


def _list_index(items: list[Any], key: str) -> int | None:
    if re.fullmatch(r"-?\d+", key) and -len(items) <= int(key) < len(items):
        return int(key) % len(items)
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    return names.index(key) if key in names else None


def _validate(data: dict[str, Any], source: str) -> Scenario:
    """A valid scenario is one that runs: its fields check out and its run fits in memory."""
    from platoons.scenario.limits import check_memory

    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        raise _input_error(error, source) from None
    check_memory(scenario, source)
    return scenario


def _input_error(error: ValidationError, source: str) -> InputError:
    """Every problem pydantic found (up to MAX_ERRORS), on one line, the first one named as the field."""
    problems = error.errors(include_url=False)
    texts = [_describe(problem) for problem in problems[:MAX_ERRORS]]
    if len(problems) > MAX_ERRORS:
        texts.append(f"and {len(problems) - MAX_ERRORS} more")
    first = problems[0]
    return InputError(source, _field_of(first), "", first.get("input"), message="; ".join(texts))


def _field_of(problem: dict[str, Any]) -> str:
    """The dotted path of a problem; a model's own checks name their field in the context."""
    parts = [*map(str, problem["loc"])]
    if "field" in problem.get("ctx", {}):
        parts.append(problem["ctx"]["field"])
    return ".".join(parts) or "scenario"


def _describe(problem: dict[str, Any]) -> str:
    field = _field_of(problem)
    message = problem["msg"]
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    if problem["type"] == "extra_forbidden":
        return f"unknown key {field!r} (not a scenario field)"
    if problem["type"] == "missing":
        return f"{field} is required (got nothing)"
    if problem["type"] == "invalid_key":
        return f"key {shorten(problem.get('input'))} under {'.'.join(map(str, problem['loc'][:-1])) or 'the top'} is not a name (keys are text)"
    if problem["type"] == "finite_number":
        return f"{field} must be a finite number (got {problem.get('input')!r})"
    if problem["type"] in ("flag_not_number", "unit_limit"):
        return f"{field} {message.removeprefix(problem['ctx']['field'] + ' ')} (got {shorten(problem['ctx']['value'])})"
    expected = message.removeprefix("Input should be ").removeprefix("Input ")
    return f"{field} must be {expected} (got {shorten(problem.get('input'))})"


def shorten(value: Any, limit: int = 60) -> str:
    """A value's repr, cut short: an error line must stay one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
