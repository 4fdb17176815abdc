"""Reading a result directory: each table is `NAME.parquet` or a `NAME/` folder of Parquet parts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from platoons.errors import InputError

COLUMNS = {  # the columns a report reads from each table; more may be there
    "runs": ("design",),
    "metrics": ("design", "replicate", "metric", "value"),
    "timeseries": ("design", "replicate", "month", "series", "value"),
    "flows": ("design", "kind", "source", "target", "amount_gbp"),
    "summary": ("design", "metric", "mean", "low", "high"),
    "scenarios": ("design", "order", "scenario_json"),
    "sensitivity": ("design", "metric", "parameter", "index", "value", "conf"),
}
REQUIRED = ("runs", "metrics", "timeseries", "flows")
OPTIONAL = ("summary", "scenarios", "sensitivity")  # a sweep still running has no summary yet


def read_table(directory: str | Path, name: str) -> pa.Table | None:
    """The table `name` under `directory`, or None when the directory has neither form of it."""
    import pyarrow.dataset as ds

    directory = Path(directory)
    single, folder = directory / f"{name}.parquet", directory / name
    if single.is_file() and folder.is_dir():
        raise InputError(str(directory), name, f"either {name}.parquet or a {name}/ folder of parts, not both", "both")
    if single.is_file():
        return ds.dataset(single, format="parquet").to_table()
    if folder.is_dir():
        parts = sorted(str(p) for p in folder.rglob("*.parquet") if p.is_file())
        if not parts:
            return None
        return ds.dataset(parts, format="parquet", partitioning="hive", partition_base_dir=str(folder)).to_table()
    return None


@dataclass(frozen=True)
class Store:
    """The tables a report reads, and what is derived once from them."""

    directory: Path
    tables: dict[str, pa.Table]
    designs: list[str]  # baseline first
    scenarios: dict[str, dict]  # design -> scenario data, where the store has them

    @property
    def baseline(self) -> str:
        return self.designs[0]

    def has(self, name: str) -> bool:
        return name in self.tables and self.tables[name].num_rows > 0

    @property
    def run_key(self) -> tuple[str, ...]:
        """The columns that tell a design's runs apart: the replicate and, in a sweep, the future."""
        columns = set(self.tables["metrics"].column_names) & set(self.tables["timeseries"].column_names)
        return tuple(c for c in ("future", "replicate") if c in columns)

    def runs(self, design: str) -> int:
        """How many runs of `design` the store holds (one row each in `runs`)."""
        return self.tables["runs"].column("design").to_pylist().count(design)

    def futures(self, design: str) -> int:
        runs = self.tables["runs"]
        if "future" not in runs.column_names:
            return 1
        return len({f for d, f in zip(runs.column("design").to_pylist(), runs.column("future").to_pylist()) if d == design})

    def query(self, sql: str, parameters: list | None = None) -> list[tuple]:
        """Rows of a DuckDB query over the tables, each available under its own name."""
        import duckdb

        with duckdb.connect() as con:
            con.execute("SET threads TO 1")  # one thread sums in one order: the same report, byte for byte
            for name, table in self.tables.items():
                con.register(name, table)
            return con.execute(sql, parameters).fetchall()


def open_store(directory: str | Path) -> Store:
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(str(directory), "DIR", "a result directory written by `platoons compare --out`", str(directory))
    tables = {}
    for name in REQUIRED + OPTIONAL:
        table = read_table(directory, name)
        if table is None and name in REQUIRED:
            raise InputError(str(directory), name, f"a {name}.parquet file or {name}/ folder in the result directory",
                             "missing")
        if table is not None:
            missing = [c for c in COLUMNS[name] if c not in table.column_names]
            if missing:
                raise InputError(str(directory), name, f"a table with the columns {', '.join(COLUMNS[name])}",
                                 f"no {', '.join(missing)}")
            tables[name] = table
    if tables["runs"].num_rows == 0:
        raise InputError(str(directory), "runs", "at least one run", "no runs")
    scenarios = _scenarios(tables.get("scenarios"))
    return Store(directory, tables, _design_order(tables["runs"], scenarios), scenarios)


def _scenarios(table: pa.Table | None) -> dict[str, dict]:
    if table is None or table.num_rows == 0:
        return {}
    rows = sorted(table.to_pylist(), key=lambda r: r["order"])
    return {r["design"]: json.loads(r["scenario_json"]) for r in rows}


def _design_order(runs: pa.Table, scenarios: dict[str, dict]) -> list[str]:
    """The scenarios' order (baseline first); designs without a scenario follow in order of appearance."""
    seen = dict.fromkeys(runs.column("design").to_pylist())
    return [d for d in scenarios if d in seen] + [d for d in seen if d not in scenarios]
