"""Reading a results directory with DuckDB: one view per table, over whole files or part files."""

from __future__ import annotations

import errno
import os
from pathlib import Path

TABLES = ("runs", "metrics", "timeseries", "flows", "summary", "scenarios", "futures", "sensitivity",
          "contracts", "supply_chains", "payments", "yearly", "cohorts", "provider_flows")
DATABASE = "store.duckdb"
PART_GLOB = "part-*.parquet"


def sources(directory: str | Path) -> dict[str, str]:
    """Each table present under `directory` and the Parquet path (or glob) that holds it, relative to it."""
    directory = Path(directory)
    found = {}
    for name in TABLES:
        if (directory / name).is_dir() and any((directory / name).glob(PART_GLOB)):
            found[name] = f"{name}/{PART_GLOB}"
        elif (directory / f"{name}.parquet").is_file():
            found[name] = f"{name}.parquet"
    return found


def open_store(directory: str | Path):
    """A DuckDB connection (in memory) with a view for each table of a results directory."""
    import duckdb

    directory = Path(directory).resolve()
    connection = duckdb.connect()
    for name, pattern in sources(directory).items():
        connection.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_quote(str(directory / pattern))})")
    return connection


def write_views(directory: str | Path) -> Path:
    """`store.duckdb` in `directory`: a view for each table, by paths relative to the directory.

    Open it from inside the directory (`cd DIR && duckdb store.duckdb`), or anywhere with
    `SET file_search_path = 'DIR'`, or use `open_store(DIR)`.
    """
    import duckdb

    directory = Path(directory)
    target = directory / DATABASE
    partial = directory / f"{DATABASE}.partial"
    for leftover in (partial, Path(f"{partial}.wal")):
        leftover.unlink(missing_ok=True)
    wanted = sources(directory)
    try:
        connection = duckdb.connect(str(partial))
        try:
            connection.execute(f"SET file_search_path = {_quote(str(directory.resolve()))}")
            for name, pattern in wanted.items():
                connection.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_quote(pattern)})")
            connection.execute("CHECKPOINT")
        finally:
            connection.close()
    except duckdb.IOException as error:  # a full or failing disk: an environment fault, like OSError
        raise OSError(errno.EIO, str(error).strip().splitlines()[0], str(partial)) from None
    _check_views(partial, set(wanted))
    os.replace(partial, target)
    return target


def _check_views(database: Path, wanted: set[str]) -> None:
    """DuckDB can lose a write on a full disk without an error: read the file back before it counts."""
    import duckdb

    try:
        connection = duckdb.connect(str(database), read_only=True)
        try:
            found = {row[0] for row in connection.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        finally:
            connection.close()
    except duckdb.Error as error:
        raise OSError(errno.EIO, f"{DATABASE} could not be read back ({str(error).splitlines()[0]})", str(database)) from None
    if found != wanted:
        raise OSError(errno.ENOSPC, f"{DATABASE} was not written whole (is the disk full?)", str(database))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
