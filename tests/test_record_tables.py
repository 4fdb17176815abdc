"""The record tables of the real-programme presets are filled, and agree with the ledger and the people account."""

import json
import subprocess
import sys

import numpy as np
import pytest

from platoons import load_scenario, simulate
from platoons.ledger import Account, Kind
from platoons.metrics import COST_KINDS, INCOME_KINDS
from platoons.metrics.tables import COLUMNS

PRESETS = ("work-programme-2011-calibrated", "transforming-rehabilitation-2014")
RECORD_TABLES = ("contract_years", "named_subcontractors", "referral_cohorts", "payments_by_year", "spend_by_group",
                 "exits_by_quarter", "participation", "capacity_grants", "tender_rounds", "tender_outcomes")
FILLED_WHATEVER_HAPPENS = set(RECORD_TABLES) - {"exits_by_quarter"}  # a run may have no exits at all


@pytest.fixture(scope="module", params=PRESETS)
def run(request):
    return simulate(load_scenario(request.param))


def _rows(table: dict) -> int:
    return len(next(iter(table.values())))


def _near(a: float, b: float, postings: int) -> bool:
    return abs(a - b) <= 0.01 * postings + 1e-9 * abs(b)  # each posting rounds to the penny


def test_every_record_table_is_declared_and_filled(run):
    for name in RECORD_TABLES:
        assert tuple(run.tables[name]) == tuple(column for column, _ in COLUMNS[name]), name
        if name in FILLED_WHATEVER_HAPPENS:
            assert _rows(run.tables[name]) > 0, name
    assert sum(run.tables["exits_by_quarter"]["exits"]) == _rows(run.tables["exits"])


def test_payments_by_kind_and_year_sum_to_the_ledger(run):
    j = run.journal
    table = run.tables["payments_by_year"]
    paid = (j["payer"] == Account.COMMISSIONER) & (j["payee"] >= len(Account))
    for year in sorted(set(table["year"])):
        for kind in sorted(set(table["kind"])):
            model = sum(a for y, k, a in zip(table["year"], table["kind"], table["amount_gbp"]) if y == year and k == kind)
            mask = paid & (j["month"] // 12 == year) & (j["kind"] == Kind[kind.upper()])
            assert _near(model, j["amount_pence"][mask].sum() / 100.0, int(mask.sum())), (year, kind)


def test_spend_by_group_sums_to_providers_delivery_costs_in_the_ledger(run):
    j = run.journal
    costs = np.isin(j["kind"], [Kind.STAFF, Kind.OVERHEAD, Kind.COMPLIANCE])
    assert _near(sum(run.tables["spend_by_group"]["spent_gbp"]), j["amount_pence"][costs].sum() / 100.0, int(costs.sum()))
    assert sum(run.tables["spend_by_group"]["referrals"]) == run.timeseries["referrals_placed"].sum()


def test_contract_years_account_for_every_referral_and_outcome(run):
    years = run.tables["contract_years"]
    assert sum(years["referrals"]) == run.timeseries["referrals_placed"].sum()
    assert sum(years["outcomes"]) == run.timeseries["outcomes"].sum()
    named = run.tables["named_subcontractors"]
    assert sum(named["referrals"]) <= sum(years["referrals"])


def test_holders_profit_on_their_contracts_is_their_ledger_net(run):
    """For holders that were never subcontractors: income received less passed on, costs and transitions."""
    j, accounts = run.journal, run.providers["account"]
    years = run.tables["contract_years"]
    final = {c: (holder, profit) for c, holder, profit in zip(years["contract"], years["holder"], years["profit_to_date_gbp"])}
    subcontractors = set(run.tables["named_subcontractors"]["provider"])
    by_holder: dict[int, float] = {}
    for holder, profit in final.values():
        if holder.startswith("p") and holder not in subcontractors and np.isfinite(profit):
            by_holder[int(holder[1:])] = by_holder.get(int(holder[1:]), 0.0) + profit
    assert by_holder
    income, cost = np.isin(j["kind"], [int(k) for k in INCOME_KINDS]), np.isin(j["kind"], [int(k) for k in COST_KINDS])
    for provider, profit in by_holder.items():
        account = accounts[provider]
        mine = (j["payee"] == account) | (j["payer"] == account)
        net = (j["amount_pence"][income & (j["payee"] == account)].sum() - j["amount_pence"][income & (j["payer"] == account)].sum()
               - j["amount_pence"][cost & (j["payer"] == account)].sum()) / 100.0
        assert _near(profit, net, int(mine.sum())), (provider, profit, net)


def test_cohort_rates_count_outcomes_within_the_window_only(run):
    cohorts = run.tables["referral_cohorts"]
    assert sum(cohorts["referrals"]) == run.timeseries["referrals_placed"].sum()
    for o12, o24 in zip(cohorts["outcomes_12m"], cohorts["outcomes_24m"]):
        assert 0 <= o12 <= o24
    assert sum(cohorts["outcomes_24m"]) <= run.timeseries["outcomes"].sum()


def test_tender_rounds_and_outcomes_agree_with_the_contracts(run):
    rounds, outcomes = run.tables["tender_rounds"], run.tables["tender_outcomes"]
    assert sum(rounds["contracts_signed"]) == _rows(run.tables["contracts"])
    assert 0 < sum(outcomes["wins"]) <= sum(rounds["contracts_signed"])
    participation = run.tables["participation"]
    assert all(0 <= h <= n for h, n in zip(participation["holding"], participation["providers"]))


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS)
def test_run_json_carries_the_record_tables(preset):
    out = subprocess.run([sys.executable, "-m", "platoons", "run", preset, "--json"], capture_output=True, text=True, check=True)
    tables = json.loads(out.stdout)["tables"]
    for name in FILLED_WHATEVER_HAPPENS:
        assert _rows(tables[name]) > 0, name
