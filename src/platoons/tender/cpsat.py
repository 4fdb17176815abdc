"""The award MILP solved by OR-Tools CP-SAT (the ``solvers`` extra): the second backend.

CP-SAT optimises integers, so each bid's surplus is counted in millionths of a pound, rounded
(coarser, by powers of ten, only if the total would not fit in 60 bits). The optimum it proves is
exact for those rounded surpluses: it can differ from HiGHS's only between awards whose totals
differ by less than a millionth of a pound per winning bid, which ``award`` treats as ties. One
worker and a fixed seed: the same model gives the same answer every time.
"""

from __future__ import annotations

import math

from platoons.tender.decompose import Model

RANDOM_SEED = 20240229
UNITS_PER_POUND = 1e6


def available() -> bool:
    try:
        from ortools.sat.python import cp_model  # noqa: F401
    except ImportError:
        return False
    return True


def solve(model: Model, time_limit_s: float | None) -> tuple[list[int], float | None]:
    """The chosen columns and, when the time limit stopped the search, the best bound (else None)."""
    from ortools.sat.python import cp_model

    scale = _scale(float(model.gains.sum()))
    weights = [int(round(gain * scale)) for gain in model.gains.tolist()]
    program = cp_model.CpModel()
    x = [program.new_bool_var(f"x{k}") for k in range(len(weights))]
    starts, index, value = model.starts.tolist(), model.index.tolist(), model.value.tolist()
    for r, upper in enumerate(model.upper.tolist()):
        span = range(starts[r], starts[r + 1])
        if upper == 1.0 and all(value[e] == 1.0 for e in span):
            program.add_at_most_one(x[index[e]] for e in span)
        else:  # a bidder's cap: package sizes and the cap are whole numbers
            program.add(sum(int(value[e]) * x[index[e]] for e in span) <= int(upper))
    program.maximize(sum(w * var for w, var in zip(weights, x, strict=True)))

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = RANDOM_SEED
    solver.parameters.relative_gap_limit = 0.0
    solver.parameters.absolute_gap_limit = 0.0
    if time_limit_s is not None:
        solver.parameters.max_time_in_seconds = max(time_limit_s, 1e-3)
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


def _scale(total: float) -> float:
    """Units per pound: a millionth, or coarser by powers of ten so the total stays below 2^60."""
    if total * UNITS_PER_POUND < 2.0**60:
        return UNITS_PER_POUND
    return UNITS_PER_POUND / 10.0 ** math.ceil(math.log10(total * UNITS_PER_POUND / 2.0**60))
