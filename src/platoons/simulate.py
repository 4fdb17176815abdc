"""The one entry point of a run: `simulate(scenario, seed) -> RunResult`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from platoons.ledger import Kind, Ledger
from platoons.market import affordability
from platoons.market.engine import Month, step
from platoons.market.prices import build_prices, stage_depths
from platoons.market.state import Market, Placements
from platoons.population import build_world, synthesize_providers
from platoons.scenario.schema import Scenario
from platoons.market.lots import build_lots

STREAMS = ("population", "referrals", "routing", "delivery", "tender", "dynamics", "entry", "evaluation", "forecast")


@dataclass
class RunResult:
    """Everything a run tells: metrics, monthly series, the ledger and the providers."""

    scenario: Scenario
    seed: int
    metrics: dict[str, float]
    timeseries: dict[str, np.ndarray]
    journal: dict[str, np.ndarray]
    providers: dict[str, np.ndarray]
    events: dict[str, float]
    balances: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.int64))
    tables: dict[str, dict[str, list]] = field(default_factory=dict)  # see platoons.metrics.tables

    def ledger_totals(self) -> dict[str, int]:
        """Pence moved by posting kind."""
        from platoons.ledger import Kind

        sums = np.bincount(self.journal["kind"], weights=self.journal["amount_pence"], minlength=len(Kind))
        return {kind.name.lower(): int(sums[kind]) for kind in Kind}


def simulate(scenario: Scenario, seed: int | None = None) -> RunResult:
    """Run one scenario month by month; the same scenario and seed give the same result."""
    from platoons.metrics import compute_metrics

    seed = scenario.run.seed if seed is None else seed
    market = _start(scenario, seed)
    recorder = Recorder(market)
    for _ in range(scenario.run.months):
        step(market, recorder)
    from platoons.metrics.tables import run_tables

    result = RunResult(
        scenario=scenario, seed=seed, metrics={}, timeseries=recorder.series(), journal=market.ledger.journal(),
        providers=_provider_table(market), events=dict(market.events), balances=market.ledger.balances.copy(),
    )
    result.tables = run_tables(market, result)
    result.metrics = compute_metrics(result)
    return result


def _start(scenario: Scenario, seed: int) -> Market:
    # One stream per subsystem, so a new draw in one part does not shift another; the same
    # seed gives every design the same providers and the same referrals (common random numbers).
    streams = dict(zip(STREAMS, (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(STREAMS)))))
    world = build_world(scenario)
    ledger = Ledger()
    providers = synthesize_providers(scenario, world, ledger, streams["population"])
    prices = build_prices(scenario)
    lots = build_lots(scenario, world)
    market = Market(scenario, world, lots, prices, providers, ledger, streams)
    market.placements = Placements.empty(len(world.group_names), stage_depths(world, prices))
    market.year_start_pence = ledger.balances[providers.account].copy()
    market.area_share = lots.area_share.copy()
    market.payments_by_group = np.zeros((len(Kind), len(world.group_names)))
    market.unserved_by_group = np.zeros(len(world.group_names), dtype=np.int64)
    affordability.fit_to_budget(market)
    affordability.check(market)
    return market


class Recorder:
    """Monthly time series, read off the market after each step."""

    def __init__(self, market: Market):
        self.rows: dict[str, list[float]] = {}
        self.groups = market.world.group_names
        self.last_income = np.zeros(len(market.providers), dtype=np.int64)
        self.last_unserved = np.zeros(len(self.groups), dtype=np.int64)

    def __call__(self, market: Market, month: Month) -> None:
        p, pl = market.providers, market.placements
        income = p.service_income_pence - np.pad(self.last_income, (0, len(p) - len(self.last_income)))
        self.last_income = p.service_income_pence.copy() if market.month % 12 != 11 else np.zeros(len(p), np.int64)
        small = p.is_small(market.small_max)
        served_by = np.bincount(pl.provider, weights=month.served.sum(axis=1), minlength=len(p))
        total_income = income.sum()
        shares = income / total_income if total_income > 0 else np.zeros(len(p))
        effect = p.effectiveness.mean(axis=1)
        unserved = market.unserved_by_group - self.last_unserved
        self.last_unserved = market.unserved_by_group.copy()
        arrived = month.referred.sum(axis=0) + unserved  # [group] everyone referred, served or not
        row = {
            "month": market.month,
            "referrals": arrived.sum(),
            "referrals_placed": month.referred.sum(),
            "served": month.served.sum(),
            "starts": month.starts.sum(),
            "outcomes": month.outcomes.sum(),
            "active_providers": p.active.sum(),
            "active_small": (p.active & small).sum(),
            "delivering_providers": (served_by > 0).sum(),
            "delivering_small": ((served_by > 0) & small).sum(),
            "provider_income_gbp": total_income / 100,
            "small_income_gbp": income[small].sum() / 100,
            "income_1m_10m_gbp": income[~small & (p.turnover_gbp < 10_000_000.0)].sum() / 100,
            "hhi": float((shares**2).sum() * 10_000),
            "mean_effectiveness": float((effect * served_by).sum() / served_by.sum()) if served_by.sum() else np.nan,
            "failures": market.events.get("failures", 0.0),
            "people_disrupted": market.events.get("people_disrupted", 0.0),
            "entries": market.events.get("entries", 0.0),
            "ledger_total_pence": market.ledger.total(),
            "lots": len(market.lots),  # with lots_let, the share of lot-months let
            "lots_let": (market.lot_contract() >= 0).sum(),
        }
        row.update(people_account(market))
        for g, name in enumerate(self.groups):
            row[f"referrals_{name}"] = arrived[g]
            row[f"outcomes_{name}"] = month.outcomes[:, g].sum()
        for key, value in row.items():
            self.rows.setdefault(key, []).append(float(value))

    def series(self) -> dict[str, np.ndarray]:
        return {key: np.array(values) for key, values in self.rows.items()}


PEOPLE_STATES = ("waiting", "on_caseload", "in_work", "sustained", "left_with_outcome", "left_without_outcome",
                 "left_unserved")


def people_account(market: Market) -> dict[str, float]:
    """Where everyone ever referred is at the end of the month: each person in exactly one state.

    waiting: on the caseload of a fallen contract or failed provider, awaiting a new holder;
    on_caseload: supported by a delivering placement; in_work: started, outcome not yet paid;
    sustained: outcome paid, earning sustainment payments; left_*: gone, with or without an
    outcome, or turned away on referral because no provider held the lot (cumulative).
    """
    pl = market.placements
    live = pl.live(market)
    caseload = pl.caseload.sum(axis=(1, 2))
    return {
        "waiting": float(caseload[~live].sum()),
        "on_caseload": float(caseload[live].sum()),
        "in_work": float(pl.in_work.sum()),
        "sustained": float(pl.sustaining.sum()),
        "left_with_outcome": market.events.get("left_with_outcome", 0.0),
        "left_without_outcome": market.events.get("left_without_outcome", 0.0),
        "left_unserved": float(market.unserved_by_group.sum()),
    }


def _provider_table(market: Market) -> dict[str, np.ndarray]:
    p = market.providers
    return {
        "kind": p.kind.copy(), "account": p.account.copy(), "turnover_gbp": p.turnover_gbp.copy(),
        "management": p.management.copy(), "effectiveness": p.effectiveness.mean(axis=1),
        "active": p.active.copy(), "failed": p.failed.copy(), "started_small": p.started_small.copy(),
        "entered_month": p.entered_month.copy(), "exit_month": p.exit_month.copy(),
        "reserves_gbp": market.ledger.balances[p.account] / 100.0,
        "small": p.is_small(market.small_max),
        "size_band": p.size_band(market.scenario.sector.size_band_edges_gbp),
        "entry_size_band": p.size_band(market.scenario.sector.size_band_edges_gbp, p.entry_turnover_gbp),
        "peak_turnover_gbp": p.peak_turnover_gbp.copy(), "entry_turnover_gbp": p.entry_turnover_gbp.copy(),
    }
