"""A progress bar with an ETA and runs per second, for long runs in a terminal."""

from __future__ import annotations

import time
from typing import Iterator, TypeVar

Item = TypeVar("Item")


def with_progress(items: Iterator[Item], total: int, show: bool, label: str, done: int = 0) -> Iterator[Item]:
    """Yield items while a progress bar counts them; `done` items were finished before (a resume)."""
    if not show:
        yield from items
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    started = time.perf_counter()
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        bar = progress.add_task(label, total=total, completed=done, rate="")
        for count, item in enumerate(items, start=1):
            rate = count / max(time.perf_counter() - started, 1e-9)
            progress.update(bar, advance=1, rate=f"{rate:.1f} runs/s")
            yield item
