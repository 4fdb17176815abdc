"""The award MILP solved by OR-Tools CP-SAT (the ``solvers`` extra): the second backend.

CP-SAT optimises integers, so each bid's surplus is counted in units of ``2^-TOTAL_BITS`` of the
surplus of all the component's bids together, rounded. Rounding moves a bid's surplus by at most
half a unit, about 4 x 10^-16 of the total, so the optimum CP-SAT proves is within ``award``'s tie
tolerance (one part in 10^9) of the true one unless the winners number in the millions or the
optimum is a tiny part of the whole. One worker and a fixed seed: the same model gives the same
answer every time.
"""

from __future__ import annotations

import numpy as np

from platoons.tender.award import TIE_RELATIVE
from platoons.tender.decompose import Model

RANDOM_SEED = 20240229
TOTAL_BITS = 50  # the whole component's surplus in units: within the 53 bits a double holds exactly
RANK_BITS = 16  # bits of the pseudo-random part of a bid's rank among tied awards


def available() -> bool:
    try:
        from ortools.sat.python import cp_model  # noqa: F401
    except ImportError:
        return False
    return True


def solve(model: Model, time_limit_s: float | None) -> tuple[list[int], float | None]:
    """The chosen columns and, when the time limit stopped the search, the best bound (else None)."""
    from ortools.sat.python import cp_model

    weights, scale = _weights(model)
    program, x = _program(model)
    program.maximize(cp_model.LinearExpr.weighted_sum(x, weights))
    solver = _solver(time_limit_s)
    status = solver.solve(program)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = [k for k, var in enumerate(x) if solver.boolean_value(var)]
    else:
        chosen = []
    if status == cp_model.OPTIMAL:
        return chosen, None
    if status == cp_model.FEASIBLE:
        return chosen, float(solver.best_objective_bound) / scale
    if status == cp_model.UNKNOWN:  # stopped before any solution: its bound may not be one yet
        return chosen, float(model.gains.sum())
    raise RuntimeError(f"CP-SAT stopped with status {solver.status_name(status)!r}")


def canonical(model: Model, optimum: list[int], time_limit_s: float | None) -> list[int] | None:
    """Of the awards whose surplus ties with ``optimum`` (a proven optimum), the one the tie
    ranking puts first; None if that is not proven within the time limit.

    Each bid b of n is ranked ``(n - b) 2^RANK_BITS + h_b``, ``h_b`` a fixed pseudo-random number
    below ``2^RANK_BITS``, and the award with the largest sum of ranks wins: earlier bids rank
    higher, and the pseudo-random parts make two awards with the same sum all but impossible, so
    the answer does not depend on which solver found the ``optimum`` this starts from. Ties are
    awards within ``award``'s tie tolerance (one part in 10^9), widened by the rounding of each
    winning bid's surplus to whole units.
    """
    from ortools.sat.python import cp_model

    weights, _ = _weights(model)
    best = sum(weights[k] for k in optimum)
    n = len(weights)
    hashes = np.random.default_rng(RANDOM_SEED).integers(0, 2**RANK_BITS, n).tolist()
    program, x = _program(model)
    program.add(cp_model.LinearExpr.weighted_sum(x, weights) >= best - int(TIE_RELATIVE * best) - len(optimum))
    program.maximize(cp_model.LinearExpr.weighted_sum(x, [(n - b) * 2**RANK_BITS + hashes[b] for b in range(n)]))
    chosen = set(optimum)
    for k, var in enumerate(x):
        program.add_hint(var, k in chosen)
    solver = _solver(time_limit_s)
    if solver.solve(program) != cp_model.OPTIMAL:
        return None
    return [k for k, var in enumerate(x) if solver.boolean_value(var)]


def _weights(model: Model) -> tuple[list[int], float]:
    scale = _scale(float(model.gains.sum()))
    return [int(round(gain * scale)) for gain in model.gains.tolist()], scale


def _program(model: Model):
    """The award's constraints over one boolean per column."""
    from ortools.sat.python import cp_model

    program = cp_model.CpModel()
    x = [program.new_bool_var(f"x{k}") for k in range(len(model.gains))]
    starts, index, value = model.starts.tolist(), model.index.tolist(), model.value.tolist()
    for r, upper in enumerate(model.upper.tolist()):
        span = range(starts[r], starts[r + 1])
        if upper == 1.0 and all(value[e] == 1.0 for e in span):
            program.add_at_most_one(x[index[e]] for e in span)
        else:  # a bidder's cap: package sizes and the cap are whole numbers
            program.add(sum(int(value[e]) * x[index[e]] for e in span) <= int(upper))
    return program, x


def _solver(time_limit_s: float | None):
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = RANDOM_SEED
    solver.parameters.relative_gap_limit = 0.0
    solver.parameters.absolute_gap_limit = 0.0
    if time_limit_s is not None:
        solver.parameters.max_time_in_seconds = max(time_limit_s, 1e-3)
    return solver


def _scale(total: float) -> float:
    """Units per pound: the component's whole surplus ``total`` (> 0) is ``2^TOTAL_BITS`` units."""
    return 2.0**TOTAL_BITS / total
