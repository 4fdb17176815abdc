"""The state of a market during a run: contracts, placements and people, all as arrays."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from platoons.ledger import Ledger
from platoons.market.prices import Prices
from platoons.population import Providers, World
from platoons.scenario.schema import Scenario
from platoons.market.lots import LotBook


@dataclass
class Contract:
    """A contract for one or more lots, held by a provider or by a consortium centre."""

    lots: tuple[int, ...]
    holder: int  # provider index; -1 for a consortium (the centre is an account, not a provider)
    account: int  # the holder's ledger account
    price_ratio: float  # winner's price as a share of list prices
    start_month: int
    end_month: int
    risk_fee_gbp: np.ndarray  # [group] per referral, paid to subcontractors instead of outcome risk
    members: np.ndarray  # providers that deliver it
    active: bool = True
    fee_per_referral_gbp: np.ndarray | None = None  # outcomes finance: what investors pay per referral [group]
    budget_gbp_per_year: float = 0.0  # alliance: the pooled budget
    replacements: list[int] = field(default_factory=list)  # alliance: next in line when a member fails
    comparison: dict[int, np.ndarray] = field(default_factory=dict)  # outcomes finance: comparison outcomes by cohort
    years_below_minimum: int = 0
    paid_cohorts: set[int] = field(default_factory=set)
    holder_size_band: int = -1  # the holder's size band when it signed (platoons.population.SIZE_BANDS)
    in_house: bool = False  # the commissioner's provider of last resort, paid its costs open book
    ended_by: str = ""  # expired, handed_back, failed or terminated; "" while it stands
    mobilising_until: int = -1  # month until which an incoming holder delivers at reduced quality
    bid_outcome_rate: np.ndarray | None = None  # [group] outcomes per referral the winning bid expected
    bid_spend_gbp: np.ndarray | None = None  # [group] delivery cost per referral the winning bid expected
    volume_pay_gbp: float = 0.0  # volume-related pay this year, for the volume band (platoons.market.forecasts)

    @property
    def run_off(self) -> bool:
        """A contract that ended in good order still pays its holder for outcomes of work done under it."""
        return self.ended_by in ("expired", "handed_back")

    def end(self, cause: str, month: int) -> None:
        self.active = False
        self.ended_by = cause
        self.end_month = min(self.end_month, month)


@dataclass
class Placements:
    """Who delivers which lot of which contract, and the people each has: one row a placement.

    People are held as counts by need group and by months since they joined a stage, which
    is exact: people in the same placement, group and month face the same chances.
    """

    contract: np.ndarray
    lot: np.ndarray
    provider: np.ndarray
    role: np.ndarray
    share: np.ndarray  # [placement, group] share of the lot's referrals
    capacity: np.ndarray  # places
    caseload: np.ndarray  # [placement, group, months on the programme]
    in_work: np.ndarray  # [placement, group, months in work before the outcome]
    sustaining: np.ndarray  # [placement, group, sustainment payments made]
    referred_this_year: np.ndarray  # [placement, group] people referred since the year began
    outcomes_this_year: np.ndarray  # [placement, group] outcomes since the year began
    paid_this_year: np.ndarray  # [placement] GBP paid for delivery since the year began (alliance)
    cohort: np.ndarray  # [placement] referral cohort the placement takes (outcomes finance; else 0)
    referred_total: np.ndarray  # [placement, group]
    outcomes_total: np.ndarray  # [placement, group]
    # [placement] the row through which a provider named in the contract takes the current cohort's
    # referrals, whatever its share: a named subcontractor given no share is still named (bid candy).
    named: np.ndarray

    def __len__(self) -> int:
        return len(self.contract)

    @classmethod
    def empty(cls, groups: int, depth: tuple[int, int, int]) -> Placements:
        return cls.new(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int8),
                       np.zeros((0, groups)), np.zeros(0), depth)

    @classmethod
    def new(cls, contract, lot, provider, role, share, capacity, depth: tuple[int, int, int]) -> Placements:
        n, groups = share.shape
        return cls(
            contract=np.asarray(contract, np.int64), lot=np.asarray(lot, np.int64),
            provider=np.asarray(provider, np.int64), role=np.asarray(role, np.int8),
            share=share, capacity=np.asarray(capacity, float),
            caseload=np.zeros((n, groups, depth[0]), np.int64),
            in_work=np.zeros((n, groups, depth[1]), np.int64),
            sustaining=np.zeros((n, groups, depth[2]), np.int64),
            referred_this_year=np.zeros((n, groups), np.int64),
            outcomes_this_year=np.zeros((n, groups), np.int64),
            paid_this_year=np.zeros(n),
            cohort=np.zeros(n, np.int64),
            referred_total=np.zeros((n, groups), np.int64),
            outcomes_total=np.zeros((n, groups), np.int64),
            named=np.ones(n, bool),
        )

    def live(self, market: Market) -> np.ndarray:
        """Placements whose provider is active and whose contract stands: they deliver."""
        if len(self) == 0:
            return np.zeros(0, bool)
        standing = np.array([c.active for c in market.contracts], dtype=bool)
        return market.providers.active[self.provider] & standing[self.contract]

    def people(self) -> np.ndarray:
        """People in each placement, waiting or in work [placement]."""
        return self.caseload.sum(axis=(1, 2)) + self.in_work.sum(axis=(1, 2)) + self.sustaining.sum(axis=(1, 2))


@dataclass
class Market:
    """Everything a run changes, plus what it reads."""

    scenario: Scenario
    world: World
    lots: LotBook
    prices: Prices
    providers: Providers
    ledger: Ledger
    rng: dict[str, np.random.Generator]
    contracts: list[Contract] = field(default_factory=list)
    placements: Placements | None = None
    month: int = 0
    events: dict[str, float] = field(default_factory=dict)  # running counts of things that happened
    year_start_pence: np.ndarray | None = None  # providers' balances when the year began
    area_share: np.ndarray | None = None  # [lot, area] share of each area's referrals; moves with performance
    payments_by_group: np.ndarray | None = None  # [posting kind, group] GBP the commissioner paid
    yearly_chains: list[dict] = field(default_factory=list)  # referrals by role and year
    cohort_referrals: dict[int, np.ndarray] = field(default_factory=dict)  # [group] by referral cohort
    cohort_outcomes: dict[int, np.ndarray] = field(default_factory=dict)  # [group] by referral cohort
    unserved_by_group: np.ndarray | None = None  # [group] referrals turned away: no provider to go to
    notices: list[tuple[int, int, int, str]] = field(default_factory=list)  # (provider, contract, month due, cause)
    exits: list[dict] = field(default_factory=list)  # hand-backs, withdrawals, insolvencies and closures
    stewardship: list[dict] = field(default_factory=list)  # what the commissioner did for lots without a holder
    transitions: list[dict] = field(default_factory=list)  # lots changing hands and what it cost
    diagnostics: list[dict] = field(default_factory=list)  # each tender's funnel per lot (platoons.market.diagnostics)
    affordability: list[dict] = field(default_factory=list)  # price against cost by need group (platoons.market.affordability)
    record: object = None  # what the record tables read (platoons.market.record.Record)

    def add_income(self, providers: np.ndarray, pence: np.ndarray) -> None:
        """Record providers' service income (it sets their turnover at the year end)."""
        np.add.at(self.providers.service_income_pence, providers, pence)

    def count(self, name: str, amount: float = 1.0) -> None:
        self.events[name] = self.events.get(name, 0.0) + float(amount)

    @property
    def small_max(self) -> float:
        return self.scenario.sector.small_max_turnover_gbp

    def lot_contract(self) -> np.ndarray:
        """The active contract of each lot, -1 where none."""
        holder = np.full(len(self.lots), -1, dtype=np.int64)
        for c, contract in enumerate(self.contracts):
            if contract.active:
                holder[list(contract.lots)] = c
        return holder

    def presence(self) -> np.ndarray:
        """[provider, area] whether the provider can deliver in the area."""
        p, w = self.providers, self.world
        national = (p.reach == 2)[:, None]
        regional = (p.reach == 1)[:, None] & (p.home_region[:, None] == w.area_region[None, :])
        local = p.home_area[:, None] == np.arange(len(w.area_names))[None, :]
        return national | regional | local
