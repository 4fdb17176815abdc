"""A design that barely ran is flagged everywhere and never called better on failures, disruption or concentration.

The design here lets no lot at all: its turnover threshold is one nobody meets and its commissioner
leaves a lot unserved rather than stepping in, both set for it alone with `--set DESIGN:PATH=VALUE`.
"""

import csv
import io
import json
import os
import re
import subprocess
import sys
from urllib.parse import unquote

import pytest

from platoons.report.verdicts import GUARDED, MAX_UNSERVED_SHARE, MIN_LOT_MONTHS_LET, coverage_flags, withhold

UNLET = ("--set", "local-lots:design.eligibility.min_turnover_gbp=1e11",
         "--set", "local-lots:design.stewardship.policy=[leave_unserved]")


def platoons(*args, columns=80):
    env = dict(os.environ, COLUMNS=str(columns))
    return subprocess.run([sys.executable, "-m", "platoons", *args], capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def unlet(tmp_path_factory):
    store = tmp_path_factory.mktemp("unlet")
    done = platoons("compare", "regional-prime", "local-lots", "--replicates", "3", "--set", "run.months=24",
                    *UNLET, "--executor", "sequential", "--out", str(store), "--json")
    assert done.returncode == 0, done.stderr
    return store, json.loads(done.stdout)


def test_the_unlet_design_ran_without_contracts(unlet):
    _, result = unlet
    design = result["designs"]["local-lots"]
    assert design["lot_months_let_share"]["mean"] == 0.0
    assert design["referrals_unserved_share"]["mean"] == 1.0
    assert design["outcomes"]["mean"] == 0.0
    # A prime may fail and leave its lot unlet until the commissioner steps in, so "let" is nearly, not exactly, all.
    assert result["designs"]["regional-prime"]["lot_months_let_share"]["mean"] > 0.95


def test_json_flags_it_and_withholds_the_guarded_verdicts(unlet):
    _, result = unlet
    assert list(result["barely_ran"]) == ["local-lots"]
    reasons = " ".join(result["barely_ran"]["local-lots"])
    assert "100% of referrals unserved" in reasons and "0% of lot-months let" in reasons
    verdicts = result["verdicts"]["local-lots"]
    for metric in GUARDED:
        assert verdicts.get(metric, "") not in ("better", "lean better"), metric
    assert verdicts["failures"] == "not compared"  # no contract, no failure: it would otherwise look better
    assert verdicts["outcomes"] == "worse"


def test_the_terminal_marks_it(unlet):
    store, _ = unlet
    for columns in (80, 200):
        done = platoons("summarize", str(store), columns=columns)
        assert done.returncode == 0, done.stderr
        assert "local-lots !" in done.stdout
        text = " ".join(done.stdout.split())
        assert "! local-lots barely ran: 100% of referrals unserved" in text
        assert "not compared on provider failures, people disrupted or market concentration (HHI)" in text


def test_the_report_marks_it_and_calls_nothing_guarded_better(unlet):
    store, _ = unlet
    text = (store / "report.html").read_text()
    assert "local-lots barely ran: 100% of referrals unserved" in text
    assert "<span class=flag>barely ran</span>" in text
    data = re.search(r"<a download='headline.csv' href='data:text/csv;charset=utf-8,([^']*)'>", text).group(1)
    rows = [r for r in csv.DictReader(io.StringIO(unquote(data))) if r["design"] == "local-lots"]
    assert rows and all(r["barely_ran"] for r in rows)
    guarded = {r["metric"]: r["against_baseline"] for r in rows if r["metric"] in GUARDED}
    assert set(guarded) == set(GUARDED)
    assert all(v not in ("better", "lean better") for v in guarded.values()), guarded


def test_the_exports_mark_it(unlet):
    from openpyxl import load_workbook

    store, _ = unlet
    book = load_workbook(store / "summary.xlsx", read_only=True)
    rows = {r[0]: r for r in book["Summary"].iter_rows(min_row=3, values_only=True)}
    assert "referrals unserved" in rows["local-lots"][1] and rows["regional-prime"][1] in (None, "")
    verdicts = list(book["Verdicts"].iter_rows(values_only=True))
    header, row = verdicts[0], verdicts[2]
    assert row[header.index("Provider failures")] == "not compared: barely ran"


def test_thresholds_are_applied_as_stated():
    assert 0 < MAX_UNSERVED_SHARE < 1 and 0 < MIN_LOT_MONTHS_LET < 1
    flags = coverage_flags({
        "full": {"referrals_unserved_share": 0.0, "lot_months_let_share": 1.0},
        "edge": {"referrals_unserved_share": MAX_UNSERVED_SHARE, "lot_months_let_share": MIN_LOT_MONTHS_LET},
        "thin": {"referrals_unserved_share": MAX_UNSERVED_SHARE + 0.01, "lot_months_let_share": 1.0},
        "unlet": {"referrals_unserved_share": 0.0, "lot_months_let_share": MIN_LOT_MONTHS_LET - 0.01},
        "older store": {},
    })
    assert {d for d, reasons in flags.items() if reasons} == {"thin", "unlet"}
    verdicts = {("thin", "failures"): ("better", -2.0), ("thin", "outcomes"): ("worse", -9.0),
                ("full", "failures"): ("better", -1.0)}
    judged = withhold(verdicts, flags)
    assert judged[("thin", "failures")][0] == "not compared"
    assert judged[("thin", "outcomes")][0] == "worse" and judged[("full", "failures")][0] == "better"


def test_set_for_one_design_leaves_the_others(tmp_path):
    done = platoons("compare", "regional-prime", "local-lots", "--replicates", "1", "--set", "run.months=12",
                    "--set", "regional-prime:design.eligibility.min_turnover_gbp=1e11",
                    "--set", "regional-prime:design.stewardship.policy=[leave_unserved]", "--executor", "sequential",
                    "--json")
    assert done.returncode == 0, done.stderr
    designs = json.loads(done.stdout)["designs"]
    assert designs["regional-prime"]["lot_months_let_share"]["mean"] == 0.0
    assert designs["local-lots"]["lot_months_let_share"]["mean"] > 0.9
    bad = platoons("compare", "regional-prime", "--replicates", "1", "--set", "nowhere:run.months=12")
    assert bad.returncode == 2 and "nowhere" in bad.stderr and "regional-prime" in bad.stderr
    assert "Traceback" not in bad.stderr
