"""CATS instances read as tenders: the mapping, and the optimum checked against SCIP on the real files."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from platoons.cli import main
from platoons.tender import AwardRules, Bid, Lot, award
from platoons.tender.cats import read_cats

CATS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "cats"
SMALL = ("arbitrary_g20_b50", "regions_g64_b100", "matching_g64_b500", "paths_g100_b300", "scheduling_g64_b500",
         "L2_g100_b500", "L4_g100_b500")
TINY = "% a comment\ngoods 3\nbids 4\ndummy 1\n\n0\t900.5\t0\t1\t#\n1\t600\t1\t2\t3\t#\n2\t500\t2\t3\t#\n3\t300\t2\t#\n"


def cats_file(name: str) -> Path:
    path = CATS_DIR / f"{name}.txt"
    if not path.exists():
        pytest.skip(f"the CATS instances are not in {CATS_DIR}")
    return path


def test_the_mapping_makes_surplus_equal_to_the_cats_value(tmp_path: Path) -> None:
    path = tmp_path / "tiny.txt"
    path.write_text(TINY)
    tender = read_cats(path)
    assert tender.lots == (Lot("g0", 1000.0), Lot("g1", 1000.0), Lot("g2", 1000.0))
    assert tender.bids == (
        Bid("b0", "b0", ("g0", "g1"), 1099.5, 0.0),
        Bid("b1", "d3", ("g1", "g2"), 1400.0, 0.0, "d3"),
        Bid("b2", "d3", ("g2",), 500.0, 0.0, "d3"),
        Bid("b3", "b3", ("g2",), 700.0, 0.0),
    )
    # b0 + b2 (900.5 + 500) beats b1 (600) and b0 + b3 (1200.5); b1 and b2 are exclusive.
    result = award(tender.lots, tender.bids, tender.rules)
    assert result.winning_bids == ("b0", "b2") and result.objective == pytest.approx(1400.5)
    as_lots = read_cats(path, dummy="lots")
    assert as_lots.lots[-1] == Lot("d3", 0.0) and as_lots.bids[1].lots == ("g1", "g2", "d3")
    assert award(as_lots.lots, as_lots.bids).winning_bids == ("b0", "b2")


def test_a_bid_worth_more_than_1000_a_good_raises_the_reserve(tmp_path: Path) -> None:
    path = tmp_path / "dear.txt"
    path.write_text("goods 2\nbids 1\n0\t4500\t0\t1\t#\n")
    tender = read_cats(path)
    assert tender.lots[0].reserve_price == 10_000.0 and tender.bids[0].price == 15_500.0


def scip_optimum(path: Path) -> float:
    """The instance solved as CATS states it (set packing over all goods, dummy goods included) by SCIP."""
    pyscipopt = pytest.importorskip("pyscipopt", reason="the cross-check needs PySCIPOpt (the solvers extra)")
    bids = []
    for line in path.read_text().splitlines():
        words = line.split()
        if words and words[-1] == "#":
            bids.append((float(words[1]), {int(word) for word in words[2:-1]}))
    model = pyscipopt.Model()
    model.hideOutput()
    model.setParam("limits/gap", 0.0)
    x = [model.addVar(vtype="B", obj=value) for value, _ in bids]
    for good in set().union(*(goods for _, goods in bids)):
        model.addCons(pyscipopt.quicksum(x[i] for i, (_, goods) in enumerate(bids) if good in goods) <= 1)
    model.setMaximize()
    model.optimize()
    assert model.getStatus() == "optimal"
    return model.getObjVal()


@pytest.mark.slow
@pytest.mark.parametrize("name", SMALL)
def test_the_optimum_matches_scip_on_the_small_cats_instances(name: str) -> None:
    path = cats_file(name)
    tender = read_cats(path)
    result = award(tender.lots, tender.bids, tender.rules)
    assert result.optimal
    assert math.isclose(result.objective, scip_optimum(path), rel_tol=1e-9, abs_tol=1e-6)
    # The award is feasible as CATS states it: no good, dummy goods included, sold twice.
    goods_of = {f"b{line.split()[0]}": line.split()[2:-1] for line in path.read_text().splitlines()
                if line.strip().endswith("#")}
    sold = [good for bid_id in result.winning_bids for good in goods_of[bid_id]]
    assert len(sold) == len(set(sold))


@pytest.mark.slow
@pytest.mark.parametrize("name", SMALL[:4])
def test_every_solver_mode_gives_the_same_award_on_cats(name: str) -> None:
    pytest.importorskip("ortools", reason="cpsat and race need OR-Tools (the solvers extra)")
    tender = read_cats(cats_file(name))
    results = {
        (solver, decompose): award(tender.lots, tender.bids, replace(tender.rules, solver=solver, decompose=decompose))
        for solver in ("highs", "cpsat", "race")
        for decompose in (True, False)
    }
    reference = results["highs", True]
    for result in results.values():
        assert result.optimal
        assert result.winning_bids == reference.winning_bids
        assert result.objective == pytest.approx(reference.objective, rel=1e-12)


def test_the_command_line_reads_cats(capsys) -> None:
    path = cats_file("arbitrary_g20_b50")
    try:
        main(["tender", "--cats", str(path), "--json"])
    except SystemExit as done:
        assert done.code in (0, None)
    result = json.loads(capsys.readouterr().out)
    assert result["optimal"] is True and result["objective"] == pytest.approx(1378.18)


def test_rules_apply_to_cats_tenders(tmp_path: Path) -> None:
    path = tmp_path / "tiny.txt"
    path.write_text(TINY)
    tender = read_cats(path, rules=AwardRules(default_max_lots=1))
    # With a cap of one lot per bidder, b0 (two lots) cannot win: b2 or b3 takes g2 alone.
    assert award(tender.lots, tender.bids, tender.rules).winning_bids == ("b2",)


@pytest.mark.slow
def test_symmetric_optima_give_the_same_total_in_every_mode() -> None:
    """CATS scheduling has many optimal awards (the same job in different slots, at the same value):
    the backends may pick different ones, with the same total surplus."""
    pytest.importorskip("ortools", reason="cpsat and race need OR-Tools (the solvers extra)")
    tender = read_cats(cats_file("scheduling_g64_b500"))
    objectives = [award(tender.lots, tender.bids, replace(tender.rules, solver=solver)).objective
                  for solver in ("highs", "cpsat", "race")]
    assert objectives == pytest.approx([objectives[0]] * 3, rel=1e-12)
