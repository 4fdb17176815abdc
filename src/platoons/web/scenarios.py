"""Scenarios as the web sees them: YAML from clients, saved designs, and the editor's fields from the schema.

Everything goes through the CLI's own readers (`load_scenario`, `apply_changes`, `read_yaml_mapping`), so
a bad file gets the CLI's one-line message. A client never names a file on the server: uploaded text is
written to a private temporary folder under the name the client gave (reduced to a safe file name), a
`base:` must be a preset, `world.areas_file` and `sector.providers_file` must be empty (the server would
read them from its own disk), and the temporary folder is cut out of every message.
"""

from __future__ import annotations

import math
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel

from platoons.errors import InputError
from platoons.scenario.load import apply_changes, load_scenario, preset_names, read_yaml_mapping
from platoons.scenario.schema import Scenario

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
SERVER_FILES = {"areas_file": "world.areas_file", "providers_file": "sector.providers_file"}


class ClientError(Exception):
    """Bad input from a client, worded for it: the CLI's one line, without server paths."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


def safe_file_name(name: str | None, default: str) -> str:
    """A client's file name reduced to letters, digits, '.', '_' and '-', without folders."""
    stem = SAFE_NAME.sub("-", Path(name or "").name).strip(".-")
    return stem or default


@contextmanager
def client_files(files: dict[str, tuple[str, bytes]]) -> Iterator[dict[str, Path]]:
    """Write each (file name, content) to a private folder; InputErrors inside lose the folder's path."""
    with tempfile.TemporaryDirectory(prefix="platoons-upload-") as folder:
        paths = {}
        for key, (name, content) in files.items():
            path = Path(folder) / name
            path.write_bytes(content)
            paths[key] = path
        try:
            yield paths
        except InputError as error:
            raise client_error(error, folder) from None


def client_error(error: InputError, folder: str | None = None) -> ClientError:
    message = str(error)
    if folder:
        message = message.replace(folder.rstrip("/") + "/", "")
    return ClientError(message, getattr(error, "field", ""))


def scenario_from_yaml(text: str | bytes, file_name: str) -> Scenario:
    """Validate scenario YAML from a client exactly as `platoons validate FILE` would."""
    content = text.encode() if isinstance(text, str) else text
    with client_files({"scenario": (safe_file_name(file_name, "scenario.yaml"), content)}) as paths:
        path = paths["scenario"]
        if path.suffix not in (".yaml", ".yml"):
            raise InputError(path.name, "file", "a .yaml or .yml scenario file", path.suffix or path.name)
        data = read_yaml_mapping(path, str(path))
        base = data.get("base")
        if base is not None and str(base) not in preset_names():
            # A file on the server is not the client's to name.
            raise InputError(str(path), "base", f"one of the presets {', '.join(preset_names())}", base)
        refuse_server_files(data, str(path))
        return load_scenario(path)


def refuse_server_files(data: Any, source: str) -> None:
    """Refuse scenario data or changes that name a CSV file: on the server it would be read from the
    server's own disk. The user's areas and providers reach the web app as a scenario already holding them."""
    if isinstance(data, list):
        for item in data:
            refuse_server_files(item, source)
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        field = SERVER_FILES.get(str(key).rsplit(".", 1)[-1])
        if field and value:
            raise InputError(source, field, "empty in the web app (a file on the server is not the client's to "
                                            "name; `platoons run` reads your CSV files, and its stored scenario "
                                            "holds them)", value)
        refuse_server_files(value, source)


def with_changes(baseline: Scenario, changes: dict[str, Any], source: str = "changes") -> Scenario:
    try:
        refuse_server_files(changes, source)
        return apply_changes(baseline, changes, source=source)
    except InputError as error:
        raise client_error(error) from None


def preset_scenario(name: str, changes: dict[str, Any] | None = None) -> Scenario:
    if name not in preset_names():
        raise ClientError(f"preset: must be one of {', '.join(preset_names())} (got {name!r})", "preset")
    try:
        refuse_server_files(changes, "changes")
        return load_scenario(name, changes)
    except InputError as error:
        raise client_error(error) from None


# --- saved designs --------------------------------------------------------------------------


def slug(name: str) -> str:
    """A design's name as its YAML file's stem, which is also its name in `platoons compare`."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text[:60] or "design"


def design_yaml(name: str, base: str | None, changes: dict[str, Any], scenario: Scenario) -> str:
    """A loadable scenario file: a preset plus changes, or (with no preset to start from) the whole scenario."""
    if base is not None:
        data: dict[str, Any] = {"name": name, "base": base}
        if changes:
            data["changes"] = changes
    else:
        data = scenario.model_dump(mode="json") | {"name": name}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def yaml_scalar(value: Any) -> str:
    """A value as one `--set PATH=VALUE` would read it back."""
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


# --- the editor's fields --------------------------------------------------------------------


@dataclass(frozen=True)
class FormField:
    path: str  # dotted, list items by index: what apply_changes takes
    section: str
    label: str
    value: str  # as text in the form
    kind: str  # number, integer, choice, flag, text or yaml
    choices: tuple[str, ...]
    unit: str
    description: str
    source: str
    limits: str
    shape: str = ""  # the schema path (`[]` for list items), which provenance is keyed by


@dataclass(frozen=True)
class FormSection:
    key: str
    title: str
    fields: list[FormField]


LIMIT_WORDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<", "min_length": "at least {} items",
               "max_length": "at most {} items"}


def form_sections(scenario: Scenario) -> list[FormSection]:
    """Every parameter of `scenario`, grouped by section, with its metadata from the schema."""
    from dataclasses import replace

    from platoons.scenario.provenance import source_of

    # A value the user set shows "user input (FILE)" as its source, not the preset's citation.
    fields = [replace(f, source=source_of(f.shape, scenario.provenance, f.source)) for f in _walk(scenario, "")]
    titles = _section_titles()
    sections: dict[str, list[FormField]] = {}
    for field in fields:
        sections.setdefault(field.section, []).append(field)
    return [FormSection(key, titles.get(key, key), rows) for key, rows in sections.items()]


def form_changes(baseline: Scenario, submitted: dict[str, str]) -> dict[str, Any]:
    """The fields whose submitted text differs from `baseline`, as dotted-path changes."""
    changes = {}
    for field in _walk(baseline, ""):
        if field.path not in submitted:
            continue
        text = submitted[field.path]
        if text.strip() == field.value.strip():
            continue
        changes[field.path] = parse_field(text, field.kind)
    return changes


def parse_field(text: str, kind: str) -> Any:
    if kind in ("text", "choice"):
        return text
    if not text.strip():
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text  # the schema will say what it expected


def _walk(model: BaseModel, prefix: str, template: str = "") -> Iterator[FormField]:
    for name, info in type(model).model_fields.items():
        if not prefix and name == "provenance":
            continue  # shown as each value's source, not as a field
        value = getattr(model, name)
        path, shape = f"{prefix}{name}", f"{template}{name}"  # shape: the schema path, `[]` for list items
        if isinstance(value, BaseModel):
            yield from _walk(value, path + ".", shape + ".")
        elif isinstance(value, tuple) and value and all(isinstance(v, BaseModel) for v in value):
            for i, item in enumerate(value):
                yield from _walk(item, f"{path}.{i}.", shape + "[].")
        elif isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
            for key, item in value.items():
                yield from _walk(item, f"{path}.{key}.", shape + "[].")
        elif isinstance(value, dict) and value and all(_is_scalar(v) for v in value.values()):
            for key, item in value.items():
                yield _leaf(model, f"{path}.{key}", info, item, _scalar_annotation(info.annotation, in_mapping=True), shape)
        else:
            yield _leaf(model, path, info, value, info.annotation, shape)


def _leaf(model: BaseModel, path: str, info, value: Any, annotation: Any, shape: str = "") -> FormField:
    kind, choices = _kind(annotation, value)
    extra = info.json_schema_extra or {}
    return FormField(
        path=path, section=_section(path), label=_label(model, path), value=_text(value, kind), kind=kind,
        choices=choices, unit=str(extra.get("unit", "")), description=info.description or "",
        source=str(extra.get("source", "")), limits=_limits(info.metadata), shape=shape,
    )


def _kind(annotation: Any, value: Any) -> tuple[str, tuple[str, ...]]:
    options = [a for a in _union_args(annotation) if a is not type(None)]
    if len(options) == 1 and get_origin(options[0]) is Literal:
        return "choice", tuple(str(v) for v in get_args(options[0]))
    if options == [bool]:
        return "flag", ("true", "false")
    if options == [int]:
        return "integer", ()
    if options in ([float], [int, float], [float, int]):
        return "number", ()
    if options == [str]:
        return "text", ()
    return "yaml", ()


def _union_args(annotation: Any) -> list[Any]:
    if get_origin(annotation) is Union or type(annotation).__name__ == "UnionType":
        return list(get_args(annotation))
    return [annotation]


def _scalar_annotation(annotation: Any, in_mapping: bool) -> Any:
    args = get_args(annotation)
    return args[-1] if in_mapping and args else annotation


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float, str, bool)) or value is None


def _text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "flag":
        return "true" if value else "false"
    if kind in ("text", "choice"):
        return str(value)
    if isinstance(value, float) and math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value)) if kind == "integer" else repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    return yaml_scalar(_plain(value))


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _limits(metadata: list[Any]) -> str:
    words = []
    for item in metadata:
        for attribute, word in LIMIT_WORDS.items():
            bound = getattr(item, attribute, None)
            if bound is not None:
                words.append(word.format(bound) if "{}" in word else f"{word} {bound:g}")
    return ", ".join(words)


def _section(path: str) -> str:
    parts = path.split(".")
    if parts[0] == "design" and len(parts) > 2:
        return ".".join(parts[:2])
    return parts[0] if len(parts) > 1 else "scenario"


def _section_titles() -> dict[str, str]:
    from platoons.scenario.schema import Design

    titles = {"scenario": "Scenario"}
    for name, info in Scenario.model_fields.items():
        titles[name] = (info.description or name).rstrip(".")
    for name, info in Design.model_fields.items():
        titles[f"design.{name}"] = (info.description or name).rstrip(".")
    return titles


def _label(model: BaseModel, path: str) -> str:
    """The path, with the item's own name where a list item has one (`world.need_groups.2 (complex)`)."""
    owner = getattr(model, "name", None)
    parts = path.split(".")
    if isinstance(owner, str) and len(parts) > 2 and parts[-2].isdigit():
        return f"{'.'.join(parts[:-1])} ({owner}).{parts[-1]}"
    return path
