"""The parameters behind the runs: the baseline's values with units and sources, and what each design changes."""

from __future__ import annotations

import html
import json
from typing import Any, Iterator, get_args, get_origin

from pydantic import BaseModel

from platoons.report.parts import Data, Section, Table
from platoons.report.store import Store

LABELS = {"name", "description", "design.name", "provenance"}  # names a design or says where values came from; changes nothing in a run
MAX_LISTED = 8  # a parameter of more list items than this shows their range, not each value


def parameters_section(store: Store) -> Section:
    intro = ("The baseline scenario's values, with each parameter's unit, meaning and source, followed by what each "
             "design changes. Paths address list items by name (or position), as `--set` does.")
    if not store.scenarios:
        return Section("parameters", "Parameters", "The result store holds no scenarios, so the parameters are unknown.")
    flat = {design: dict(flatten_scenario(data)) for design, data in store.scenarios.items()}
    provenance = store.scenarios[store.baseline].get("provenance") or {}
    blocks = [_baseline_table(store.baseline, flat[store.baseline], provenance)]
    if len(flat) > 1:
        blocks.append(_differences_table(store, flat))
    return Section("parameters", "Parameters", intro, blocks)


def flatten_scenario(data: dict) -> Iterator[tuple[str, tuple[str, tuple[str, ...], Any]]]:
    """(concrete path, (schema path, item keys, value)) for every leaf of a stored scenario, in its order.

    The schema path is the one `platoons.scenario.describe.parameters()` uses (`[]` for list items);
    the item keys are what stands for each `[]` in the concrete path (a name, a key or a position).
    The stored data is read as it is, not validated: a store written under another version of the
    schema still has its parameters listed, those the schema does not know without their metadata.
    """
    from platoons.scenario.schema import Scenario

    yield from _walk(data, "", "", (), Scenario)


def _walk(value: Any, path: str, template: str, keys: tuple[str, ...], annotation: Any):
    model, collection = _model_in(annotation), get_origin(annotation) in (tuple, list, dict)
    if isinstance(value, dict) and model is not None and collection:  # a mapping of items, e.g. prices by group
        for key, item in value.items():
            yield from _walk(item, _join(path, str(key)), template + "[]", (*keys, str(key)), model)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value) and (model or annotation is None):
        for i, item in enumerate(value):
            key = str(item.get("name", i))
            yield from _walk(item, _join(path, key), template + "[]", (*keys, key), model)
    elif isinstance(value, dict) and (model is not None or not path):
        fields = model.model_fields if model is not None else {}
        for name, item in value.items():
            inner = fields[name].annotation if name in fields else None
            yield from _walk(item, _join(path, name), _join(template, name), keys, inner)
    else:
        yield path, (template, keys, value)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds, directly or as the items of a collection or an optional."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for inner in get_args(annotation):
        found = _model_in(inner)
        if found is not None:
            return found
    return None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def show(value: Any) -> str:
    """A value as it would be written in a scenario file."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    return str(value)


def _metadata() -> dict[str, dict[str, str]]:
    from platoons.scenario.describe import parameters

    return {row["path"]: row for row in parameters()}


def _baseline_table(baseline: str, flat: dict[str, tuple[str, tuple[str, ...], Any]], provenance: dict[str, str]) -> Table:
    from platoons.scenario.provenance import source_of

    meta = _metadata()
    by_template: dict[str, list[tuple[tuple[str, ...], Any]]] = {}
    for template, keys, value in flat.values():
        by_template.setdefault(template, []).append((keys, value))
    # Parameters the schema does not know (a store from another version) follow, without metadata;
    # an empty list is already shown by its items' rows.
    unknown = [t for t in by_template if t not in meta and not any(m.startswith(t + "[]") for m in meta)]
    rows = []
    for template in list(meta) + unknown:
        if template == "provenance":
            continue  # shown as each value's source
        info = dict(meta.get(template, {"unit": "", "description": "", "source": ""}))
        info["source"] = source_of(template, provenance, info["source"])
        rows.append((template, _values(template, by_template.get(template, [])), info))
    body = "".join(
        f"<tr><td class=path>{html.escape(path)}</td><td class=num>{html.escape(value)}</td>"
        f"<td>{html.escape(info['unit'])}</td><td>{html.escape(info['description'])}</td>"
        f"<td class=source>{html.escape(info['source'])}</td></tr>" for path, value, info in rows)
    table = ("<div class=scroll><table class=parameters><thead><tr><th>parameter</th><th>value</th><th>unit</th>"
             f"<th>description</th><th>source</th></tr></thead><tbody>{body}</tbody></table></div>")
    sourced = sum(1 for _, _, info in rows if info["source"] and info["source"] != "assumption")
    reading = (f"Of the baseline's {len(rows)} parameters, {sourced} rest on a published source; the rest are "
               "stated assumptions.")
    data = Data("parameters.csv", ("parameter", "value", "unit", "description", "source"),
                [(p, v, i["unit"], i["description"], i["source"]) for p, v, i in rows])
    return Table("parameters-baseline", f"Baseline parameters ({baseline})", reading, table, data)


def _values(template: str, items: list[tuple[tuple[str, ...], Any]]) -> str:
    """One parameter's value, or its values across the list items it belongs to."""
    if not items:
        return "(none)" if "[]" in template else "(not in the stored scenario)"
    if len(items) == 1 and not items[0][0]:
        return show(items[0][1])
    values = [v for _, v in items]
    if template.endswith(".name"):
        listed = [show(v) for v in values]
    else:
        listed = [f"{'.'.join(keys)}: {show(v)}" for keys, v in items]
    if len(items) <= MAX_LISTED:
        return "; ".join(listed)
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) == len(values):
        return f"{len(values)} values from {show(min(numbers))} to {show(max(numbers))}, total {show(sum(numbers))}"
    distinct = list(dict.fromkeys(show(v) for v in values))
    return f"{len(values)} values: " + ", ".join(distinct[:MAX_LISTED]) + (", ..." if len(distinct) > MAX_LISTED else "")


def _differences_table(store: Store, flat: dict[str, dict[str, tuple[str, tuple[str, ...], Any]]]) -> Table:
    meta = _metadata()
    base = flat[store.baseline]
    others = [d for d in store.designs if d in flat and d != store.baseline]
    paths = list(dict.fromkeys(p for d in [store.baseline, *others] for p in flat[d]))
    changed = [p for p in paths if p not in LABELS and any(_value(flat[d], p) != _value(base, p) for d in others)]
    head = "".join(f"<th>{html.escape(d)}</th>" for d in others)
    body, rows = [], []
    for path in changed:
        template = (base.get(path) or next(flat[d][path] for d in others if path in flat[d]))[0]
        unit = meta.get(template, {}).get("unit", "")
        cells = []
        for design in others:
            value = _value(flat[design], path)
            same = value == _value(base, path)
            cells.append("<td class='num same'>=</td>" if same else f"<td class=num>{html.escape(value)}</td>")
            rows.append((design, path, unit, _value(base, path), value))
        body.append(f"<tr><td class=path>{html.escape(path)}</td><td>{html.escape(unit)}</td>"
                    f"<td class=num>{html.escape(_value(base, path))}</td>{''.join(cells)}</tr>")
    table = (f"<div class=scroll><table class=parameters><thead><tr><th>parameter</th><th>unit</th>"
             f"<th>{html.escape(store.baseline)} (baseline)</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")
    counts = {d: sum(_value(flat[d], p) != _value(base, p) for p in changed) for d in others}
    reading = ("The designs differ from the baseline in " + ", ".join(f"{n} parameter{'s' if n != 1 else ''} ({d})"
                                                                     for d, n in counts.items()) + "."
               if changed else "Every design uses the baseline's parameters.")
    data = Data("parameters-by-design.csv", ("design", "parameter", "unit", "baseline_value", "design_value"), rows)
    return Table("parameters-by-design", "What each design changes", reading, table, data)


def _value(flat: dict[str, tuple[str, tuple[str, ...], Any]], path: str) -> str:
    return show(flat[path][2]) if path in flat else "(absent)"
