"""The worked example in examples/tender, run as a user would, against the award worked by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tender"

# Worked by hand. W = 0.3, so a bid's adjusted price is price x (1 - 0.3 x quality) and its
# surplus is the reserve of its lots minus that.
#
#   bid  bidder  lots            reserve   price    q    adjusted   surplus
#   b01  acorn   north           100,000   90,000  0.8    68,400    31,600
#   b02  beacon  north           100,000   85,000  0.5    72,250    27,750
#   b03  acorn   south           120,000  100,000  0.9    73,000    47,000
#   b04  elm     south           120,000   95,000  0.6    77,900    42,100
#   b05  acorn   east             80,000   72,000  0.5    61,200    18,800
#   b06  cedar   east             80,000   75,000  0.7    59,250    20,750   XOR cedar-one
#   b07  beacon  west+central    240,000  190,000  0.8   144,400    95,600   package
#   b08  dove    west             90,000   80,000  0.6    65,600    24,400
#   b09  elm     central         150,000  130,000  0.7   102,700    47,300
#   b10  elm     central+harbour 200,000  165,000  0.5   140,250    59,750   package
#   b11  beacon  rural            60,000   40,000  0.8    30,400    29,600   barred: rural is set aside, beacon large
#   b12  cedar   rural            60,000   50,000  0.6    41,000    19,000   XOR cedar-one
#   b13  dove    coast            70,000   85,000  0.5    72,250    -2,250   not acceptable
#
# West, central and harbour: b07 alone gives 95,600; the best without it is b08 + b10 =
# 24,400 + 59,750 = 84,150 (or b08 + b09 = 71,700). So b07 wins, and harbour, whose only
# acceptable bid is b10, is lost to a package.
#
# North, south, east and rural: acorn is best on north and south, cedar on east and, as the only
# small bidder there, the only one on rural. But cedar may win only one of east and rural (XOR),
# and acorn at most two lots (cap). Candidates:
#   cedar rural 19,000 + acorn south 47,000 + acorn east 18,800 + beacon north 27,750 = 112,550
#   cedar rural 19,000 + acorn north 31,600 + acorn east 18,800 + elm south 42,100    = 111,500
#   cedar east 20,750 + acorn north 31,600 + acorn south 47,000 (rural unawarded)     =  99,350
#   cedar rural 19,000 + acorn north 31,600 + acorn south 47,000 (east unawarded)     =  97,600
# so the first. Without the cap acorn would take all three (116,400); without the XOR cedar
# would take east and rural and acorn north and south (118,350): both rules bind.
#
# Total surplus: 95,600 + 112,550 = 208,150. Coast has no acceptable bid (b13 is dearer than the
# reserve even after the quality discount).
EXPECTED_OBJECTIVE = 95_600 + 112_550
EXPECTED_AWARDS = [
    {"lot": "north", "bid": "b02", "bidder": "beacon"},
    {"lot": "south", "bid": "b03", "bidder": "acorn"},
    {"lot": "east", "bid": "b05", "bidder": "acorn"},
    {"lot": "west", "bid": "b07", "bidder": "beacon"},
    {"lot": "central", "bid": "b07", "bidder": "beacon"},
    {"lot": "rural", "bid": "b12", "bidder": "cedar"},
]
EXPECTED_UNAWARDED = [
    {"lot": "coast", "reason": "no acceptable bid"},
    {"lot": "harbour", "reason": "lost to a package"},
]


def run_example(*extra: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "platoons", "tender",
         "--lots", str(EXAMPLE / "lots.csv"), "--bids", str(EXAMPLE / "bids.csv"),
         "--bidders", str(EXAMPLE / "bidders.csv"), "--rules", str(EXAMPLE / "rules.yaml"), "--json", *extra],
        capture_output=True, text=True, check=True,
    )
    return json.loads(done.stdout)


def test_the_example_gives_the_award_worked_by_hand() -> None:
    result = run_example()
    assert result["objective"] == pytest.approx(EXPECTED_OBJECTIVE)
    assert (result["optimal"], result["gap"]) == (True, 0.0)
    assert result["awards"] == EXPECTED_AWARDS
    assert result["unawarded"] == EXPECTED_UNAWARDED


def test_ignoring_quality_changes_the_award() -> None:
    # With W = 0 a surplus is reserve - price. West, central and harbour: b07 50,000 against
    # b08 + b10 = 10,000 + 35,000. North: beacon 15,000 beats acorn 10,000; south: elm 25,000
    # beats acorn 20,000; east: acorn 8,000 beats cedar 5,000; rural: cedar 10,000 (beacon is
    # barred). Acorn wins one lot, so its cap no longer binds. 50,000 + 15,000 + 25,000 + 8,000
    # + 10,000 = 108,000.
    result = run_example("--quality-weight", "0")
    assert result["objective"] == pytest.approx(108_000)
    winners = {entry["lot"]: entry["bid"] for entry in result["awards"]}
    assert winners == {"north": "b02", "south": "b04", "east": "b05", "west": "b07", "central": "b07", "rural": "b12"}
