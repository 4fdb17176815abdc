"""How a command fails in ways the user causes, short of a bug.

- On a signal: SIGINT and SIGTERM unwind the command like an error, so `finally` blocks flush what
  can be flushed, and the command exits 128 + the signal's number with one line.
- On a damaged store: the reader's error becomes one InputError line naming the directory.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator


class Stopped(BaseException):
    """A signal asked the command to stop (a BaseException, so no `except Exception` swallows it)."""

    def __init__(self, signum: int, hint: str = ""):
        self.signum = signum
        self.hint = hint
        super().__init__(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def __str__(self) -> str:
        name = signal.Signals(self.signum).name
        return f"stopped by {name}" + (f"; {self.hint}" if self.hint else "")


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM raise Stopped in the main thread."""

    def stop(signum, _frame):
        raise Stopped(signum)

    caught = (signal.SIGINT, signal.SIGTERM)
    try:
        previous = {s: signal.signal(s, stop) for s in caught}
    except ValueError:  # not the main thread (an embedding application): leave signals alone
        yield
        return
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def damaged_store_errors(directory) -> Iterator[None]:
    """A store whose files cannot be read is bad input: one line naming it, not a reader's traceback."""
    import duckdb
    import pyarrow as pa

    from platoons.errors import InputError

    try:
        yield
    except (duckdb.Error, pa.ArrowException) as error:
        reason = (str(error).strip().splitlines() or [error.__class__.__name__])[0][:200]
        raise InputError(str(directory), "DIRECTORY", "", None, message=(
            f"cannot be read, a file in it is damaged ({reason}); a sweep store is checked and repaired by "
            "platoons sweep EXPERIMENT --out DIR --resume, other results are written again with --force")) from None
