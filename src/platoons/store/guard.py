"""Guarding a results directory: one writer at a time, and a result appears whole or not at all.

- A lock file beside the directory (`.NAME.lock`, holding the writer's pid and start time) refuses
  a second writer; a lock whose process is gone is stale and is taken over.
- `publish` writes a new result into a staging folder beside the target and swaps it in with
  renames, so a reader (or a kill) sees the old result or the new one, never a mix.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from platoons.errors import InputError

FRESH_LOCK_S = 5.0
STORE_MARKERS = ("experiment.json", "store.duckdb", "runs.parquet", "runs")


def lock_path(directory: Path) -> Path:
    directory = directory.absolute()  # `--out .` has no name of its own
    return directory.parent / f".{directory.name}.lock"


def check_target(directory: Path) -> None:
    """Refuse, before any work, an --out that cannot become a results directory."""
    where = str(directory)
    if directory.exists() and not directory.is_dir():
        raise InputError(where, "--out", "", None, message="is a file, not a directory; use another --out")
    ancestor = directory.absolute().parent
    while not ancestor.exists():  # missing folders on the way are created when the result is written
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(where, "--out", "", None, message=f"cannot be created: {ancestor} is not a directory")
    probe_in = directory if directory.is_dir() else ancestor
    try:
        probe = probe_in / f".platoons-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise InputError(where, "--out", "", None,
                         message=f"cannot be written ({error.strerror}); use another --out") from None


def is_store(directory: Path) -> bool:
    return any((directory / marker).exists() for marker in STORE_MARKERS)


def holds_only_leftovers(directory: Path) -> bool:
    """Whether a directory holds nothing but `.partial` files: a store killed before its first rename."""
    return all(entry.name.endswith((".partial", ".partial.wal")) for entry in directory.iterdir())


@contextmanager
def hold_lock(directory: Path) -> Iterator[Path]:
    """Be the only platoons process writing `directory` while the block runs."""
    directory = Path(directory)
    check_target(directory)
    lock = lock_path(directory)
    lock.parent.mkdir(parents=True, exist_ok=True)
    me = _identity(os.getpid())
    for _ in range(2):
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(lock)
            if holder is not None and _alive(holder):
                raise InputError(str(directory), "--out", "", None, message=(
                    f"is being written by another platoons process (pid {holder['pid']}); wait for it to finish, "
                    f"or remove {lock} if that process is gone")) from None
            lock.unlink(missing_ok=True)  # stale: its writer died without removing it
            continue
        with os.fdopen(descriptor, "w") as stream:
            json.dump(me, stream)
        break
    else:
        raise InputError(str(directory), "--out", "", None, message=f"could not take the lock {lock}; try again")
    try:
        yield lock
    finally:
        if _holder(lock) == me:
            lock.unlink(missing_ok=True)


def check_replaceable(directory: Path, force: bool) -> None:
    """Refuse, before any work, to overwrite results without --force, or anything that is not results."""
    check_target(directory)
    where = str(directory)
    if directory.is_dir() and any(directory.iterdir()):
        if not is_store(directory):
            raise InputError(where, "--out", "", None, message=(
                "is a folder that is not a results store; use another --out (--force only replaces a store)"))
        if not force:
            raise InputError(where, "--out", "", None, message="already holds results; use --force to replace them")


def publish(directory: Path, write: Callable[[Path], None], *, force: bool = False) -> None:
    """Write a result with `write(staging)` and put it at `directory`, replacing a store only with `force`.

    Call it while holding the lock of `directory`.
    """
    check_replaceable(Path(directory), force)
    directory = Path(directory).absolute()
    for kind in ("new", "old"):  # a writer killed mid-way left these; we hold the lock, so none is live
        for leftover in directory.parent.glob(f".{directory.name}.{kind}-*"):
            shutil.rmtree(leftover, ignore_errors=True)
    staging = directory.parent / f".{directory.name}.new-{os.getpid()}"
    retired = directory.parent / f".{directory.name}.old-{os.getpid()}"
    staging.mkdir()
    try:
        write(staging)
        if directory.exists():
            os.rename(directory, retired)
        os.rename(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if retired.exists() and not directory.exists():
            os.rename(retired, directory)  # put the old result back
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _identity(pid: int) -> dict:
    import psutil

    try:
        return {"pid": pid, "started": psutil.Process(pid).create_time()}
    except psutil.Error:
        return {"pid": pid, "started": None}


def _holder(lock: Path) -> dict | None:
    """Who holds a lock; a lock still being written (empty, seconds old) counts as held by someone."""
    try:
        text = lock.read_text()
        if not text and time.time() - lock.stat().st_mtime < FRESH_LOCK_S:
            return {"pid": -1, "started": None, "fresh": True}
        holder = json.loads(text)
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) and isinstance(holder.get("pid"), int) else None


def _alive(holder: dict) -> bool:
    """Whether the process that wrote a lock still runs (the same process, not a reused pid)."""
    import psutil

    if holder.get("fresh"):
        return True
    try:
        process = psutil.Process(holder["pid"])
        return process.status() != psutil.STATUS_ZOMBIE and process.create_time() == holder.get("started")
    except psutil.Error:
        return False
