"""A finished job's results as the pages and the API show them: the report's own sections, read from its store.

The report is a pure function of the store, so the web shows the very charts, readings and CSVs that
`report.html` holds, one section per page. The verdicts (better, worse or same against the baseline, on
paired differences) are the report's.
"""

from __future__ import annotations

import io
import json
import shlex
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platoons.report.parts import Chart, Section, Table
from platoons.web.scenarios import slug, yaml_scalar

CACHED_VIEWS = 8


@dataclass(frozen=True)
class ResultView:
    designs: list[str]  # baseline first
    sections: list[Section]
    blocks: dict[str, Chart | Table]  # by key, unique in the view
    summary: dict[str, dict[str, dict[str, float | None]]]  # design -> metric -> mean, low, high
    verdicts: dict[str, dict[str, str]]  # design -> metric -> better, worse, lean better, lean worse or same

    @property
    def baseline(self) -> str:
        return self.designs[0]

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    def figure_json(self, key: str) -> str:
        import plotly.io as pio

        return pio.to_json(self.blocks[key].figure, validate=False, pretty=False)


_views: dict[tuple[str, float], ResultView] = {}
_views_lock = threading.Lock()


def result_view(directory: Path) -> ResultView:
    """The view of the store under `directory`, built once per version of it."""
    stamp = (str(directory), (directory / "runs.parquet").stat().st_mtime)
    with _views_lock:
        if stamp in _views:
            return _views[stamp]
    view = _build(directory)
    with _views_lock:
        if len(_views) >= CACHED_VIEWS:
            _views.pop(next(iter(_views)))
        _views[stamp] = view
    return view


def _build(directory: Path) -> ResultView:
    from platoons.report.sections import HEADLINE, build_sections, paired_verdicts, summary
    from platoons.report.store import open_store

    store = open_store(directory)
    sections = build_sections(store)
    blocks: dict[str, Chart | Table] = {}
    for section in sections:
        for block in section.blocks:
            key, n = block.key, 2
            while key in blocks:
                key, n = f"{block.key}-{n}", n + 1
            blocks[key] = block
    stats = summary(store)
    table: dict[str, dict[str, dict[str, float | None]]] = {d: {} for d in store.designs}
    for (design, metric), (mean, low, high) in sorted(stats.items()):
        if design in table:
            table[design][metric] = {"mean": _number(mean), "low": _number(low), "high": _number(high)}
    verdicts: dict[str, dict[str, str]] = {d: {} for d in store.designs[1:]}
    metrics = [m for m in HEADLINE if any((d, m) in stats for d in store.designs)]
    for (design, metric), (verdict, _) in paired_verdicts(store, metrics).items():
        verdicts.setdefault(design, {})[metric] = verdict
    return ResultView(list(store.designs), sections, blocks, table, verdicts)


def block_key(view: ResultView, block: Chart | Table) -> str:
    return next(key for key, b in view.blocks.items() if b is block)


def parquet_zip(directory: Path) -> bytes:
    """Every table of the result store, as Parquet, in one zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(directory.glob("*.parquet")):
            archive.write(path, path.name)
    return buffer.getvalue()


def reproduce(kind: str, spec: dict[str, Any], design_names: dict[str, str]) -> dict[str, Any]:
    """The CLI command and the Python that give the same numbers; `design_names` maps saved design ids to names.

    Saved designs are used as YAML files named after them (`NAME.yaml`), which is also the name
    `platoons compare` gives them.
    """
    specs = [ref if ref not in design_names else f"{slug(design_names[ref])}.yaml" for ref in spec["designs"]]
    files = [s for s in specs if s.endswith(".yaml")]
    sets = [shlex.quote(f"{path}={yaml_scalar(value)}") for path, value in spec["changes"].items()]
    changes = "{" + ", ".join(f"{_py(path)}: {_py(value)}" for path, value in spec["changes"].items()) + "}"
    labels = spec["labels"]
    if kind == "run":
        seed = spec["seed"]
        cli = ["platoons", "run", shlex.quote(specs[0]), *([f"--seed {seed}"] if seed is not None else []),
               *(f"--set {s}" for s in sets), "--out", "results/"]
        python = (f"from platoons import load_scenario, simulate\n\n"
                  f"scenario = load_scenario({_py(specs[0])}, {changes})\n"
                  f"result = simulate(scenario, seed={seed!r})\n"
                  f"print(result.metrics[\"outcome_rate\"])\n")
    else:
        cli = ["platoons", "compare", *map(shlex.quote, specs), "--replicates", str(spec["replicates"]),
               "--seed", str(spec["seed"] or 0), *(f"--set {s}" for s in sets), "--out", "results/"]
        lines = "".join(f"    {_py(label)}: load_scenario({_py(s)}, changes),\n" for label, s in zip(labels, specs))
        python = (f"from platoons import load_scenario\n"
                  f"from platoons.experiment import execute, plan, summarize\n\n"
                  f"changes = {changes}\n"
                  f"designs = {{\n{lines}}}\n"
                  f"summary = summarize(execute(plan(designs, {spec['replicates']}, {spec['seed'] or 0})))\n"
                  f"print(summary[{_py(labels[-1])}][\"outcome_rate\"])\n")
    return {"cli": " ".join(cli), "python": python, "files": files}


def _py(value: Any) -> str:
    """A Python literal, strings in double quotes."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _number(value: float) -> float | None:
    return None if value is None or value != value or value in (float("inf"), float("-inf")) else float(value)
