"""award(): the exact optimum, checked against exhaustive search, and the rules it keeps."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platoons.tender import Award, AwardRules, Bid, Lot, LotAward, UnawardedLot, award
from platoons.tender.bruteforce import award_exhaustively, is_feasible

LOT_IDS = ("L1", "L2", "L3", "L4", "L5", "L6")
BIDDER_IDS = ("acorn", "beacon", "cedar", "dove")


@st.composite
def tenders(draw) -> tuple[list[Lot], list[Bid], AwardRules]:
    """Small tenders with packages, XOR groups, per-bidder caps and set-aside lots."""
    n_lots = draw(st.integers(1, 6))
    lot_ids = LOT_IDS[:n_lots]
    # Whole pounds make exact ties common; fractions make them rare. Both are drawn.
    money = st.one_of(st.integers(0, 100).map(float), st.floats(0, 100, allow_nan=False))
    lots = [Lot(lot_id, draw(money), draw(st.integers(0, 3)) == 0) for lot_id in lot_ids]
    n_bids = draw(st.integers(0, 12))
    bids = []
    for k in range(n_bids):
        package = draw(st.lists(st.sampled_from(lot_ids), min_size=1, max_size=min(3, n_lots), unique=True))
        bids.append(
            Bid(
                bid_id=f"b{k:02d}",
                bidder_id=draw(st.sampled_from(BIDDER_IDS)),
                lots=tuple(package),
                price=draw(st.one_of(st.integers(0, 150).map(float), st.floats(0, 150, allow_nan=False))),
                quality=draw(st.sampled_from([0.0, 0.25, 0.5, 1.0]) | st.floats(0, 1)),
                xor_group=draw(st.none() | st.sampled_from(["x", "y"])),
            )
        )
    rules = AwardRules(
        quality_weight=draw(st.sampled_from([0.0, 0.3, 1.0]) | st.floats(0, 1)),
        max_lots=draw(st.dictionaries(st.sampled_from(BIDDER_IDS), st.integers(0, 3), max_size=2)),
        default_max_lots=draw(st.none() | st.integers(1, 4)),
        small_bidders=frozenset(draw(st.sets(st.sampled_from(BIDDER_IDS), max_size=3))),
    )
    return lots, bids, rules


def assert_consistent(lots: list[Lot], bids: list[Bid], rules: AwardRules, result: Award) -> None:
    """The award keeps every rule, and its listing matches its winning bids."""
    by_id = {bid.bid_id: bid for bid in bids}
    winners = [by_id[bid_id] for bid_id in result.winning_bids]
    assert is_feasible(lots, winners, rules)
    assert [bid.bid_id for bid in bids if bid.bid_id in set(result.winning_bids)] == list(result.winning_bids)
    reserve = {lot.lot_id: lot.reserve_price for lot in lots}
    gains = {bid.bid_id: sum(reserve[x] for x in bid.lots) - bid.price * (1 - rules.quality_weight * bid.quality)
             for bid in bids}
    assert all(gains[bid.bid_id] > 0 for bid in winners)
    assert math.isclose(result.objective, math.fsum(gains[bid.bid_id] for bid in winners), abs_tol=1e-9)
    expected_awards = [
        LotAward(lot.lot_id, bid.bid_id, bid.bidder_id) for lot in lots for bid in winners if lot.lot_id in bid.lots
    ]
    assert list(result.awards) == expected_awards
    awarded = {entry.lot_id for entry in result.awards}
    assert [entry.lot_id for entry in result.unawarded] == [lot.lot_id for lot in lots if lot.lot_id not in awarded]
    set_aside = {lot.lot_id for lot in lots if lot.set_aside}
    for entry in result.unawarded:
        naming = [bid for bid in bids if entry.lot_id in bid.lots]
        acceptable = [bid for bid in naming if gains[bid.bid_id] > 0 and is_feasible(lots, [bid], rules)]
        if not naming:
            assert entry.reason == "no bid"
        elif not acceptable:
            assert entry.reason == "no acceptable bid"
        else:
            assert entry.reason == "lost to a package"
    for entry in result.awards:
        if entry.lot_id in set_aside:
            assert entry.bidder_id in rules.small_bidders


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tenders())
def test_objective_equals_exhaustive_search(tender) -> None:
    lots, bids, rules = tender
    result = award(lots, bids, rules)
    best = award_exhaustively(lots, bids, rules)
    assert result.optimal and result.gap == 0.0
    assert math.isclose(result.objective, best.objective, rel_tol=1e-9, abs_tol=1e-9)
    assert_consistent(lots, bids, rules, result)
    assert_consistent(lots, bids, rules, best)


def test_a_set_aside_lot_never_goes_to_a_large_bidder() -> None:
    lots = [Lot("rural", 100.0, set_aside=True), Lot("town", 100.0)]
    bids = [
        Bid("big-rural", "big", ("rural",), 10.0, 1.0),  # by far the best value, but big is large
        Bid("big-both", "big", ("rural", "town"), 20.0, 1.0),
        Bid("small-rural", "small", ("rural",), 90.0, 0.0),
        Bid("big-town", "big", ("town",), 50.0, 0.0),
    ]
    result = award(lots, bids, AwardRules(small_bidders=frozenset({"small"})))
    assert result.awards == (LotAward("rural", "small-rural", "small"), LotAward("town", "big-town", "big"))
    assert award(lots, bids[:2]).unawarded == (
        UnawardedLot("rural", "no acceptable bid"),
        UnawardedLot("town", "no acceptable bid"),
    )


def test_a_cap_of_one_spreads_the_lots() -> None:
    lots = [Lot(f"L{j}", 100.0) for j in range(3)]
    # "cheap" is the best bid on every lot; the others are each a little worse on one lot.
    bids = [Bid(f"cheap-{j}", "cheap", (f"L{j}",), 50.0, 0.0) for j in range(3)]
    bids += [Bid(f"other{j}-{j}", f"other{j}", (f"L{j}",), 60.0 + j, 0.0) for j in range(3)]
    uncapped = award(lots, bids)
    assert {entry.bidder_id for entry in uncapped.awards} == {"cheap"}
    capped = award(lots, bids, AwardRules(default_max_lots=1))
    assert sorted(entry.bidder_id for entry in capped.awards) == ["cheap", "other0", "other1"]
    # cheap keeps the lot where the runner-up is worst (L2: 62 vs 50); 50 + 60 + 61 paid.
    assert capped.winning_bids == ("cheap-2", "other0-0", "other1-1")
    assert capped.objective == pytest.approx(300 - (50 + 60 + 61))


def test_the_cap_counts_lots_not_bids() -> None:
    lots = [Lot("A", 100.0), Lot("B", 100.0), Lot("C", 100.0)]
    bids = [Bid("package", "acorn", ("A", "B", "C"), 30.0, 0.0), Bid("single", "beacon", ("A",), 95.0, 0.0)]
    result = award(lots, bids, AwardRules(max_lots={"acorn": 2}))
    assert result.winning_bids == ("single",)
    assert result.unawarded == (UnawardedLot("B", "no acceptable bid"), UnawardedLot("C", "no acceptable bid"))


def test_xor_group_lets_one_bid_win() -> None:
    lots = [Lot("A", 100.0), Lot("B", 100.0)]
    bids = [
        Bid("a", "acorn", ("A",), 10.0, 0.0, xor_group="acorn"),
        Bid("b", "acorn", ("B",), 20.0, 0.0, xor_group="acorn"),
        Bid("rival", "beacon", ("A",), 50.0, 0.0),
    ]
    # Either acorn takes A (90) and B goes unawarded, or acorn takes B (80) and beacon A (50).
    result = award(lots, bids)
    assert result.winning_bids == ("b", "rival")
    assert result.objective == pytest.approx(130.0)


def test_unawarded_reasons() -> None:
    lots = [Lot("none", 10.0), Lot("dear", 10.0), Lot("joined", 10.0), Lot("core", 100.0)]
    bids = [
        Bid("too-dear", "acorn", ("dear",), 20.0, 0.0),  # surplus 10 - 20 < 0
        Bid("pair", "beacon", ("joined", "core"), 60.0, 0.0),  # surplus 50
        Bid("core-only", "cedar", ("core",), 30.0, 0.0),  # surplus 70: wins, so the pair loses
    ]
    result = award(lots, bids)
    assert result.winning_bids == ("core-only",)
    assert result.unawarded == (
        UnawardedLot("none", "no bid"),
        UnawardedLot("dear", "no acceptable bid"),
        UnawardedLot("joined", "lost to a package"),
    )


def test_zero_surplus_is_never_awarded() -> None:
    result = award([Lot("A", 100.0)], [Bid("even", "acorn", ("A",), 100.0, 0.0)])
    assert result.winning_bids == ()
    assert result.unawarded == (UnawardedLot("A", "no acceptable bid"),)


def test_ties_go_to_the_earlier_bid() -> None:
    lots = [Lot("A", 100.0)]
    first = Bid("first", "acorn", ("A",), 80.0, 0.5)
    second = Bid("second", "beacon", ("A",), 80.0, 0.5)
    assert award(lots, [first, second]).winning_bids == ("first",)
    assert award(lots, [second, first]).winning_bids == ("second",)


def test_an_earlier_package_beats_later_bids_of_equal_total() -> None:
    lots = [Lot("A", 100.0), Lot("B", 100.0)]
    package = Bid("package", "acorn", ("A", "B"), 100.0, 0.0)  # surplus 100
    singles = [Bid("a", "beacon", ("A",), 40.0, 0.0), Bid("b", "cedar", ("B",), 60.0, 0.0)]  # 60 + 40
    assert award(lots, [package, *singles]).winning_bids == ("package",)
    assert award(lots, [*singles, package]).objective == pytest.approx(100.0)


def random_tender(n_bids: int, n_lots: int, seed: int) -> tuple[list[Lot], list[Bid], AwardRules]:
    """A random tender of a realistic size: packages of 1-4 lots, some XOR pairs and caps."""
    rng = np.random.default_rng(seed)
    cost = rng.uniform(1_000, 10_000, n_lots)
    lots = [Lot(f"L{j}", round(1.1 * cost[j], 2), bool(rng.random() < 0.1)) for j in range(n_lots)]
    bids = []
    for k in range(n_bids):
        package = rng.choice(n_lots, size=int(rng.integers(1, 5)), replace=False)
        price = float(np.sum(cost[package] * rng.uniform(0.8, 1.2, len(package))))
        bids.append(
            Bid(f"b{k}", f"p{k // 3}", tuple(lots[j].lot_id for j in package), round(price, 2),
                round(float(rng.uniform()), 2), f"p{k // 3}" if k % 3 else None)
        )
    small = frozenset(f"p{i}" for i in range(0, n_bids // 3 + 1, 2))
    return lots, bids, AwardRules(default_max_lots=6, small_bidders=small)


def test_the_same_input_gives_the_same_award() -> None:
    lots, bids, rules = random_tender(600, 60, seed=7)
    first, second = award(lots, bids, rules), award(lots, bids, rules)
    assert first.optimal
    assert (first.awards, first.unawarded, first.winning_bids, first.objective) == (
        second.awards,
        second.unawarded,
        second.winning_bids,
        second.objective,
    )
    assert_consistent(lots, bids, rules, first)


def test_a_time_limit_returns_a_feasible_award_and_its_gap() -> None:
    lots, bids, rules = random_tender(3000, 120, seed=11)
    limited = award(lots, bids, AwardRules(**{**_rules_fields(rules), "time_limit_s": 0.05}))
    assert not limited.optimal  # 3,000 bids over 120 lots take HiGHS longer than that
    assert 0.0 < limited.gap <= 1.0
    assert_consistent(lots, bids, rules, limited)


def _rules_fields(rules: AwardRules) -> dict:
    return {name: getattr(rules, name) for name in rules.__slots__}


def test_trivial_tenders_do_not_start_the_solver() -> None:
    script = (
        "import sys\n"
        "from platoons.tender import Bid, Lot, award\n"
        "lots = [Lot('A', 10.0)]\n"
        "empty = award(lots, [])\n"
        "dear = award(lots, [Bid('b', 'x', ('A',), 50.0, 0.0)])\n"
        "assert empty.optimal and empty.objective == 0 and empty.unawarded[0].reason == 'no bid'\n"
        "assert dear.unawarded[0].reason == 'no acceptable bid'\n"
        "print('highspy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_an_award_runs_after_another_highs_in_the_process_set_its_threads() -> None:
    # HiGHS keeps one thread pool per process and refuses to run at another thread count; in a
    # process of its own, so the pool this sets up does not outlive the test.
    script = (
        "import highspy\n"
        "from platoons.tender import Bid, Lot, award\n"
        "theirs = highspy.Highs()\n"
        "theirs.setOptionValue('output_flag', False)\n"
        "theirs.setOptionValue('threads', 2)\n"
        "theirs.addVar(0.0, 1.0)\n"
        "theirs.run()\n"
        "lots = [Lot('A', 10.0), Lot('B', 10.0)]\n"
        "bids = [Bid('a', 'x', ('A',), 4.0, 0.0), Bid('ab', 'y', ('A', 'B'), 9.0, 0.0), Bid('b', 'z', ('B',), 4.0, 0.0)]\n"
        "print(award(lots, bids).winning_bids)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "('a', 'b')"  # after the banner highspy.Highs prints


@pytest.mark.parametrize(
    ("lots", "bids", "words"),
    [
        ([Lot("A", 1.0)], [Bid("b", "x", ("Z",), 1.0, 0.5)], "known lot ids"),
        ([Lot("A", 1.0), Lot("A", 2.0)], [], "lot_id must be unique"),
        ([Lot("A", 1.0)], [Bid("b", "x", ("A",), 1.0, 0.5)] * 2, "bid_id must be unique"),
        ([Lot("A", 1.0)], [Bid("b", "x", ("A",), -1.0, 0.5)], "price must be >= 0"),
        ([Lot("A", 1.0)], [Bid("b", "x", ("A",), 1.0, 1.5)], "quality must be in [0, 1]"),
        ([Lot("A", 1.0)], [Bid("b", "x", (), 1.0, 0.5)], "at least one lot"),
        ([Lot("A", 1.0)], [Bid("b", "x", ("A", "A"), 1.0, 0.5)], "must not repeat"),
    ],
)
def test_meaningless_input_is_a_value_error(lots, bids, words) -> None:
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        award(lots, bids)


def _optimal_sets(lots: list[Lot], bids: list[Bid], rules: AwardRules, objective: float) -> int:
    """How many sets of bids of positive surplus reach ``objective`` (to one part in 10^9)."""
    from itertools import combinations

    reserve = {lot.lot_id: lot.reserve_price for lot in lots}
    gains = [sum(reserve[x] for x in b.lots) - b.price * (1 - rules.quality_weight * b.quality) for b in bids]
    positive = [i for i, gain in enumerate(gains) if gain > 0]
    count = 0
    for size in range(len(positive) + 1):
        for chosen in combinations(positive, size):
            total = math.fsum(gains[i] for i in chosen)
            if math.isclose(total, objective, rel_tol=1e-9, abs_tol=1e-9) and is_feasible(lots, [bids[i] for i in chosen], rules):
                count += 1
    return count


MODES = [("highs", True), ("highs", False), ("cpsat", True), ("race", True)]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tenders())
def test_every_mode_finds_the_optimum_and_the_same_award_when_it_is_unique(tender) -> None:
    pytest.importorskip("ortools", reason="cpsat and race need OR-Tools (the solvers extra)")
    lots, bids, rules = tender
    best = award_exhaustively(lots, bids, rules)
    unique = _optimal_sets(lots, bids, rules, best.objective) == 1
    for solver, decompose in MODES:
        result = award(lots, bids, AwardRules(**{**_rules_fields(rules), "solver": solver, "decompose": decompose}))
        assert result.optimal
        assert math.isclose(result.objective, best.objective, rel_tol=1e-9, abs_tol=1e-6)
        assert_consistent(lots, bids, rules, result)
        if unique:
            assert result.winning_bids == best.winning_bids


def test_decomposition_splits_on_shared_lots_groups_and_caps_only() -> None:
    from platoons.tender.decompose import build_rows, split

    gains = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 6.0])
    # 0 and 1 share a lot; 2 and 3 share an XOR group; 4 and 5 a binding cap; nothing links the pairs.
    rows = build_rows([[0, 1], [2, 3]], [([4, 5], [2.0, 3.0], 4.0)])
    components = split(gains, *rows)
    assert [c.members.tolist() for c in components] == [[0, 1], [2, 3], [4, 5]]
    assert components[2].model.value.tolist() == [2.0, 3.0] and components[2].model.upper.tolist() == [4.0]
    whole = split(gains, *rows, decompose=False)
    assert [c.members.tolist() for c in whole] == [[0, 1, 2, 3, 4, 5]]
    linked = split(gains, *build_rows([[0, 1], [1, 2], [2, 3]], []))
    assert [c.members.tolist() for c in linked] == [[0, 1, 2, 3], [4], [5]]


def test_independent_regions_are_solved_apart_with_the_same_award() -> None:
    lots, bids, rules = random_tender(400, 40, seed=3)
    # Two copies of the tender on disjoint lots and bidders: two components at least.
    twin_lots = [Lot(f"x{lot.lot_id}", lot.reserve_price, lot.set_aside) for lot in lots]
    twin_bids = [Bid(f"x{b.bid_id}", f"x{b.bidder_id}", tuple(f"x{j}" for j in b.lots), b.price, b.quality,
                     None if b.xor_group is None else f"x{b.xor_group}") for b in bids]
    small = rules.small_bidders | {f"x{k}" for k in rules.small_bidders}
    rules = AwardRules(default_max_lots=6, small_bidders=small)
    single = award(lots, bids, rules)
    together = award(lots + twin_lots, bids + twin_bids, rules)
    apart = award(lots + twin_lots, bids + twin_bids, AwardRules(**{**_rules_fields(rules), "decompose": False}))
    assert together.optimal and apart.optimal
    assert together.objective == pytest.approx(2 * single.objective, rel=1e-12)
    assert apart.objective == pytest.approx(together.objective, rel=1e-9)
    assert together.winning_bids == single.winning_bids + tuple(f"x{b}" for b in single.winning_bids)


def test_an_unknown_solver_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="solver must be one of highs, cpsat, race"):
        award([Lot("A", 1.0)], [], AwardRules(solver="gurobi"))


def test_amounts_beyond_a_trillion_are_refused() -> None:
    with pytest.raises(ValueError, match="reserve_price must be >= 0 and <= 1e"):
        award([Lot("A", 1e20)], [])
    with pytest.raises(ValueError, match="price must be >= 0 and <= 1e"):
        award([Lot("A", 1.0)], [Bid("b", "x", ("A",), 1e300, 0.5)])


def test_a_race_stopped_by_the_time_limit_returns_the_better_incumbent_and_its_gap() -> None:
    pytest.importorskip("ortools", reason="race needs OR-Tools (the solvers extra)")
    lots, bids, rules = random_tender(3000, 120, seed=11)
    limited = award(lots, bids, AwardRules(**{**_rules_fields(rules), "time_limit_s": 0.05, "solver": "race"}))
    assert not limited.optimal
    assert 0.0 < limited.gap <= 1.0
    assert_consistent(lots, bids, rules, limited)


def random_model(n_bids: int, n_lots: int, seed: int):
    """A set-packing award model: each bid takes one to four of the lots, each lot a row, and is
    worth about its size (which leaves the linear relaxation far from integral: a hard model)."""
    from platoons.tender.decompose import Model, build_rows

    rng = np.random.default_rng(seed)
    members: dict[int, list[int]] = {}
    sizes = rng.integers(1, 5, n_bids)
    for k in range(n_bids):
        for lot in rng.choice(n_lots, size=int(sizes[k]), replace=False).tolist():
            members.setdefault(lot, []).append(k)
    starts, index, value, upper = build_rows([row for row in members.values() if len(row) > 1], [])
    return Model(sizes * rng.uniform(0.9, 1.1, n_bids), starts, index, value, upper)


def _packs(model, chosen: list[int]) -> bool:
    x = np.zeros(len(model.gains))
    x[chosen] = 1.0
    rows = np.add.reduceat(model.value * x[model.index], model.starts[:-1]) if model.n_rows else np.zeros(0)
    return bool(np.all(rows <= model.upper + 1e-9))


def test_a_race_between_two_processes_returns_the_proven_optimum() -> None:
    pytest.importorskip("ortools", reason="race needs OR-Tools (the solvers extra)")
    from platoons.tender import highs
    from platoons.tender.portfolio import race

    model = random_model(300, 40, seed=5)
    alone, proven = highs.solve(model, None)
    raced, raced_bound = race(model, None)
    assert proven is None and raced_bound is None and _packs(model, raced)
    assert model.gains[raced].sum() == pytest.approx(model.gains[alone].sum(), rel=1e-9)


def test_a_race_stopped_by_its_time_limit_returns_a_feasible_incumbent_and_a_bound() -> None:
    pytest.importorskip("ortools", reason="race needs OR-Tools (the solvers extra)")
    from platoons.tender.portfolio import race

    model = random_model(4000, 120, seed=9)
    chosen, bound = race(model, 0.05)
    assert bound is not None and _packs(model, chosen)
    assert bound >= model.gains[chosen].sum() - 1e-6


def test_a_race_settles_a_tie_the_same_way_whichever_solver_proved_the_optimum() -> None:
    pytest.importorskip("ortools", reason="race needs OR-Tools (the solvers extra)")
    from platoons.tender import cpsat, highs
    from platoons.tender.decompose import Model, build_rows
    from platoons.tender.portfolio import solve

    # Every bid is worth its size, so every award that covers all 20 lots ties at 20.
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 4, 60)
    members: dict[int, list[int]] = {}
    for k, size in enumerate(sizes.tolist()):
        for lot in rng.choice(20, size=size, replace=False).tolist():
            members.setdefault(lot, []).append(k)
    model = Model(sizes.astype(float), *build_rows([row for row in members.values() if len(row) > 1], []))
    by_highs, _ = highs.solve(model, None)
    by_cpsat, _ = cpsat.solve(model, None)
    assert sorted(by_highs) != sorted(by_cpsat)  # two optima of equal surplus: the case to settle
    assert model.gains[by_highs].sum() == model.gains[by_cpsat].sum() == 20.0
    settled = cpsat.canonical(model, by_highs, None)
    assert settled == cpsat.canonical(model, by_cpsat, None)
    assert model.gains[settled].sum() == 20.0 and _packs(model, settled)
    assert solve(model, "race", None) == (settled, None)
