"""Which exact solver runs a component of the award: HiGHS, CP-SAT, or both in a race.

CP-SAT (OR-Tools) is the second backend because it was the faster of the two candidates measured
on the CATS instances (PySCIPOpt's SCIP was the other). ``race`` starts HiGHS and CP-SAT in two
processes, each on one thread, and takes the first proven optimum, stopping the other. Most
components solve in milliseconds, for which two processes would cost more than they could save:
so HiGHS first gets ``HEAD_START_S`` seconds in this process, and only a component it has not
proven optimal by then is raced, for the time that is left.

Where the optimum is not unique, the two solvers (or HiGHS inside or outside its head start) may
prove different awards of equal surplus. So the race then settles the tie the same way whichever
finished first: CP-SAT finds, among the awards that tie with the proven optimum, the one the tie
ranking puts first (``cpsat.canonical``: earlier bids first, two awards alike all but impossible),
starting from the optimum in hand; ``award`` then applies its own tie rule, as in every mode.
The second search gets ``SETTLE_FACTOR`` times as long as the proof took (at least
``SETTLE_MIN_S``, at most what the time limit leaves); one it does not finish in that time leaves
the proven optimum as it was found, so a tender with very many tied awards may still be settled
differently by the two solvers.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import wait

from platoons.tender import cpsat, highs
from platoons.tender.decompose import Model

SOLVERS = ("highs", "cpsat", "race")
HEAD_START_S = 0.25
# Settling a tie may take as long again as the race, or far longer where ties abound (CATS
# scheduling, 256 goods: not settled in 10 s after a 0.1 s proof), so it gets at most this many
# times the time the proof took, and at least SETTLE_MIN_S.
SETTLE_FACTOR = 2.0
SETTLE_MIN_S = 1.0
_BACKENDS = {"highs": highs.solve, "cpsat": cpsat.solve}


def check_solver(solver: str) -> None:
    """Refuse an unknown solver, or one whose optional package is missing."""
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(SOLVERS)} (got {solver!r})")
    if solver != "highs" and not cpsat.available():
        raise ValueError(f"solver {solver!r} needs OR-Tools: pip install 'platoons[solvers]'")


def solve(model: Model, solver: str, time_limit_s: float | None) -> tuple[list[int], float | None]:
    """The chosen columns and, when stopped by the time limit, the best bound (else None)."""
    if solver != "race":
        return _BACKENDS[solver](model, time_limit_s)
    started = time.perf_counter()
    chosen, bound = _first_proven(model, time_limit_s)
    if bound is not None:
        return chosen, bound
    spent = time.perf_counter() - started
    budget = max(SETTLE_MIN_S, SETTLE_FACTOR * spent)
    if time_limit_s is not None:
        budget = min(budget, time_limit_s - spent)
    settled = cpsat.canonical(model, chosen, budget) if budget > 0 else None
    return (chosen if settled is None else settled), None


def _first_proven(model: Model, time_limit_s: float | None) -> tuple[list[int], float | None]:
    """HiGHS alone for its head start, then the race for the time that is left."""
    started = time.perf_counter()
    head_start = HEAD_START_S if time_limit_s is None else min(HEAD_START_S, time_limit_s)
    chosen, bound = highs.solve(model, head_start)
    if bound is None or time_limit_s is not None and time_limit_s <= head_start:
        return chosen, bound
    return race(model, None if time_limit_s is None else time_limit_s - (time.perf_counter() - started))


def race(model: Model, time_limit_s: float | None) -> tuple[list[int], float | None]:
    """Both backends at once; the first proven optimum, else the better incumbent at the limit."""
    # Forked, so the model is not copied through a pipe and no main module is imported again;
    # both solvers run on one thread, so there are no solver threads to lose in the fork.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    running = {}
    for name in _BACKENDS:
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=_run, args=(name, model, time_limit_s, sender), daemon=True)
        process.start()
        sender.close()
        running[receiver] = process
    results: list[tuple[list[int], float | None]] = []
    errors: list[str] = []
    try:
        while running:
            for receiver in wait(list(running)):
                process = running.pop(receiver)
                try:
                    kind, payload = receiver.recv()
                except EOFError:
                    kind, payload = "error", f"solver process ended with code {process.exitcode}"
                receiver.close()
                process.join()
                if kind == "error":
                    errors.append(payload)
                    continue
                if payload[1] is None:
                    return payload
                results.append(payload)
    finally:
        for receiver, process in running.items():
            process.kill()
            process.join()
            receiver.close()
    if not results:
        raise RuntimeError("; ".join(errors))
    gains = model.gains
    chosen = max((chosen for chosen, _ in results), key=lambda picked: float(gains[picked].sum()) if picked else 0.0)
    return chosen, min(bound for _, bound in results)


def _run(name: str, model: Model, time_limit_s: float | None, sender) -> None:
    try:
        sender.send(("ok", _BACKENDS[name](model, time_limit_s)))
    except Exception as error:  # reported to the parent, which still has the other solver
        sender.send(("error", f"{name}: {error}"))
    finally:
        sender.close()
