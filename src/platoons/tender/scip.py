"""The award MILP solved by SCIP (through PySCIPOpt, the ``solvers`` extra): the second backend.

The same model as ``platoons.tender.highs``, with gap limits zero, one thread and a fixed seed.
"""

from __future__ import annotations

from platoons.tender.decompose import Model

RANDOM_SEED_SHIFT = 20240229


def available() -> bool:
    try:
        import pyscipopt  # noqa: F401
    except ImportError:
        return False
    return True


def solve(model: Model, time_limit_s: float | None) -> tuple[list[int], float | None]:
    """The chosen columns and, when the time limit stopped the search, the best bound (else None)."""
    import pyscipopt

    scip = pyscipopt.Model()
    scip.hideOutput()
    scip.setParam("limits/gap", 0.0)
    scip.setParam("limits/absgap", 0.0)
    scip.setParam("parallel/maxnthreads", 1)
    scip.setParam("randomization/randomseedshift", RANDOM_SEED_SHIFT)
    if time_limit_s is not None:
        scip.setParam("limits/time", max(time_limit_s, 1e-3))
    x = [scip.addVar(vtype="B", obj=float(gain)) for gain in model.gains]
    scip.setMaximize()
    starts, index, value = model.starts.tolist(), model.index.tolist(), model.value.tolist()
    # Rows are added as linear constraints; SCIP's presolve turns the 0/1 ones into set packing.
    for r, upper in enumerate(model.upper.tolist()):
        span = range(starts[r], starts[r + 1])
        scip.addCons(pyscipopt.quicksum(value[e] * x[index[e]] for e in span) <= upper)
    scip.optimize()
    status = scip.getStatus()
    if scip.getNSols() > 0:
        best = scip.getBestSol()
        chosen = [k for k, var in enumerate(x) if scip.getSolVal(best, var) > 0.5]
    else:
        chosen = []
    if status == "optimal":
        return chosen, None
    if status in ("timelimit", "userinterrupt"):
        return chosen, float(scip.getDualbound())
    raise RuntimeError(f"SCIP stopped with status {status!r}")
