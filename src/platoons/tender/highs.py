"""The award MILP solved by HiGHS: the default backend, and the one module that imports highspy."""

from __future__ import annotations

import numpy as np

from platoons.tender.decompose import Model

RANDOM_SEED = 20240229
# At its default tolerances (10^-7 dual feasibility, 10^-6 MIP feasibility) HiGHS took an award
# of 2.99999994 for the optimum of 3, outside the award's tie tolerance (one part in 10^9); at
# 10^-9 it tells them apart, with presolve and without. The cost on the CATS instances: a quarter
# more time on L6 (5.9 s to 7.4 s), a few per cent on L3, nothing measurable on the others.
TOLERANCE = 1e-9
# Where packages cover on average more than this share of the rows (lots, XOR groups, caps),
# HiGHS's presolve spends longer probing the dense cliques than the search itself would take
# (CATS L2, 256 goods and 2,000 bids: no incumbent after 20 s of probing; 0.9 s proven optimal
# without presolve), so presolve is off for such models. Sparse models keep it: there it pays
# (CATS scheduling, 64 goods: 0.05 s with presolve, 1 s without). Without presolve, HiGHS's
# feasibility-jump heuristic costs about 8 ms however small the model (a component of three bids:
# 8 ms with it, 0.7 ms without) and costs L2 more than it saves (256 goods: 0.85 s with it,
# 0.41 s without), so it is off with presolve; with presolve a small model never reaches it.
DENSE_PACKAGES = 0.25


def solve(model: Model, time_limit_s: float | None) -> tuple[list[int], float | None]:
    """The chosen columns and, when the time limit stopped the search, the best bound (else None).

    Relative and absolute gap zero, one thread and a fixed seed: the same model gives the same
    answer every time.
    """
    import highspy

    n, m = len(model.gains), model.n_rows
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = m
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = np.asarray(model.gains, dtype=np.float64)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n)
    lp.row_lower_ = np.full(m, -highspy.kHighsInf)
    lp.row_upper_ = np.asarray(model.upper, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = m
    lp.a_matrix_.start_ = model.starts.astype(np.int32)
    lp.a_matrix_.index_ = model.index.astype(np.int32)
    lp.a_matrix_.value_ = model.value
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n

    # The compiled class: highspy.Highs also starts Python callbacks, which prints HiGHS's banner
    # on standard output (and so into `platoons tender --json`) before output_flag can be set.
    dense = _dense(model)
    solver = getattr(highspy, "_Highs", highspy.Highs)()
    for option, setting in (
        ("output_flag", False),
        ("threads", 1),
        ("random_seed", RANDOM_SEED),
        ("mip_rel_gap", 0.0),
        ("mip_abs_gap", 0.0),
        ("dual_feasibility_tolerance", TOLERANCE),
        ("mip_feasibility_tolerance", TOLERANCE),
        ("presolve", "off" if dense else "choose"),
        ("mip_heuristic_run_feasibility_jump", not dense),
    ):
        solver.setOptionValue(option, setting)
    if time_limit_s is not None:
        solver.setOptionValue("time_limit", max(time_limit_s, 1e-3))
    solver.passModel(lp)
    if solver.run() == highspy.HighsStatus.kError and solver.getModelStatus() == highspy.HighsModelStatus.kNotset:
        # HiGHS keeps one thread pool per process, and refuses to run at another thread count
        # than the pool's: another HiGHS in the same process (the caller's own, say) set it up.
        solver.resetGlobalScheduler(True)
        solver.run()
    status = solver.getModelStatus()
    info = solver.getInfo()
    if info.primal_solution_status != highspy.kSolutionStatusFeasible:
        chosen: list[int] = []  # no incumbent yet: awarding nothing is always feasible
    else:
        chosen = np.flatnonzero(np.asarray(solver.getSolution().col_value) > 0.5).tolist()
    if status == highspy.HighsModelStatus.kOptimal:
        return chosen, None
    if status in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kInterrupt):
        return chosen, float(info.mip_dual_bound)
    if chosen:  # stopped for another reason (numerical trouble) with an award in hand: not proven
        bound = float(info.mip_dual_bound)
        return chosen, bound if np.isfinite(bound) else float(np.sum(model.gains))
    raise RuntimeError(f"HiGHS stopped with status {solver.modelStatusToString(status)!r}")


def _dense(model: Model) -> bool:
    """Whether the constraint matrix is denser than ``DENSE_PACKAGES``."""
    cells = len(model.gains) * model.n_rows
    return cells > 0 and len(model.index) > DENSE_PACKAGES * cells
