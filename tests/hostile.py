"""What the hostile-input gallery shares: running the CLI in process or as a process, with bounds.

Every gallery case asserts the same four things: the exit status, the words of the message, no
traceback, and that the command ended within a bound (a hard limit, not a timing measure).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from platoons.cli import main
from test_experiment_sweep import TINY_WORLD  # the same tiny world as the sweep tests

BOUND_S = 60  # no hostile input may keep a command busy this long
MEMORY_BOUND = 2 * 2**30  # the test process's peak resident memory, across every in-process case


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def cli(*argv, bound_s: float = BOUND_S) -> Result:
    """`platoons ARGV` in this process, stdout and stderr captured, ended by SIGALRM past `bound_s`."""
    import io

    out, err = io.StringIO(), io.StringIO()

    def overdue(_signum, _frame):
        raise AssertionError(f"platoons {' '.join(map(str, argv))} ran past {bound_s} s")

    previous = signal.signal(signal.SIGALRM, overdue)
    signal.setitimer(signal.ITIMER_REAL, bound_s)
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main([str(a) for a in argv])
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert peak < MEMORY_BOUND, f"platoons {' '.join(map(str, argv))}: this process reached {peak / 2**30:.1f} GiB"
    return Result(code, out.getvalue(), err.getvalue())


# Linux hands a child the high-water mark of the process it was forked from, so a child of a
# large test process would report that process's memory as its own. A small launcher forks the
# command instead and writes the command's own peak to a file.
_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss * 1024))
code = os.waitstatus_to_exitcode(status)
sys.exit(128 - code if code < 0 else code)
"""


def process(*argv, bound_s: float = BOUND_S, cwd: Path | None = None, env: dict | None = None) -> tuple[Result, int]:
    """`platoons ARGV` as a process: its result and its own peak resident memory in bytes."""
    out_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"platoons-out-{os.getpid()}-{time.monotonic_ns()}"
    command = [sys.executable, "-c", _LAUNCHER, f"{out_path}.peak", sys.executable, "-m", "platoons", *map(str, argv)]
    with open(f"{out_path}.out", "w+") as out, open(f"{out_path}.err", "w+") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, cwd=cwd, env={**os.environ, **(env or {})},
                                 start_new_session=True)
        code = _wait(child, bound_s)
        out.seek(0), err.seek(0)
        result = Result(code, out.read(), err.read())
    peak = int(Path(f"{out_path}.peak").read_text())
    for suffix in (".out", ".err", ".peak"):
        Path(f"{out_path}{suffix}").unlink()
    return result, peak


def _wait(child: subprocess.Popen, bound_s: float) -> int:
    try:
        return child.wait(timeout=bound_s)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        raise AssertionError(f"{child.args[5:]} ran past {bound_s} s") from None


def assert_one_line(result: Result, code: int, words: tuple[str, ...] | list[str]) -> None:
    """The command failed with `code` and one error line holding every word, and no traceback."""
    assert "Traceback" not in result.err and "Traceback" not in result.out, result.err
    assert result.code == code, f"exit {result.code}, wanted {code}: {result.err}"
    if code:
        lines = result.err.strip().splitlines()
        assert len(lines) == 1, result.err
        assert lines[0].startswith("error: "), lines[0]
    text = result.err if code else result.out
    for word in words:
        assert word in text, f"{word!r} not in {text!r}"


def tree_digest(directory: Path) -> str:
    """One hash of every file's path and bytes under `directory`: earlier output is intact if it is unchanged."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path



def tiny_experiment(directory: Path, name: str = "experiment.yaml", **fields) -> Path:
    """A small sweep over the tiny world: two designs, one uncertainty, 3 futures x 2 replicates (12 runs)."""
    write_yaml(directory / "tiny.yaml", TINY_WORLD)
    experiment = {
        "name": "tiny", "base": "tiny.yaml",
        "designs": ["local-lots", "regional-direct"],
        "uncertainties": [{"name": "optimism", "path": "design.bidding.optimism", "low": 0.0, "high": 0.7}],
        "sampler": {"method": "lhs", "futures": 3}, "replicates": 2, "seed": 7, **fields,
    }
    return write_yaml(directory / name, experiment)


@dataclass
class Case:
    """A hostile input: `make(tmp)` writes what it needs and returns the command's arguments."""

    id: str
    promise: str
    make: Callable[[Path], list]
    code: int = 2
    words: tuple[str, ...] = ()
    marks: list = field(default_factory=list)


def memory_limit_bytes() -> int:
    from platoons.scenario.limits import MEMORY_LIMIT_GIB

    return int(MEMORY_LIMIT_GIB * 2**30)
