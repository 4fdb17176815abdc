"""Exit before insolvency: providers review their contracts and walk away with notice.

Every `review_every_months`, each provider delivering a contract (direct holder, prime,
subcontractor, consortium member) looks forward: at its own effectiveness (by now it knows it),
the contract's price and the terms it is paid on, the referrals its share brings and its costs,
what will the rest of the term earn or lose? When the expected loss over the remaining months
passes what it can bear (`bearable_loss_share` of its reserves), it gives notice; after
`notice_months` a holder hands the contract back (the commissioner steps in: `stewardship`) and a
subcontractor or member leaves the supply chain (the prime or a fellow member takes its people;
the members left in a consortium review at once on their enlarged shares).
Alliance members are paid their costs and outcomes-finance providers are paid by investors, so
neither reviews. Insolvency remains for losses that notice cannot absorb.

Every hand-back, withdrawal, insolvency and closure is recorded with its cause.
"""

from __future__ import annotations

import numpy as np

from platoons.ledger import Role
from platoons.market.bidding import contract_multipliers
from platoons.market.contracting import reassign
from platoons.market.prices import expected_path, income_by_month, income_per_referral, worst_cash_position
from platoons.market.state import Market
from platoons.population import KINDS, SIZE_BANDS, monthly_hazard

REVIEWING_MODELS = ("direct", "prime", "consortium")


def review(market: Market) -> None:
    _serve_notices(market)
    rules = market.scenario.sector.exits
    if not rules.enabled or market.scenario.design.delivery.model not in REVIEWING_MODELS:
        return
    if market.month % rules.review_every_months != rules.review_every_months - 1:
        return
    _review_units(market)


def _review_units(market: Market, providers: np.ndarray | None = None) -> None:
    """Each provider delivering a contract (only `providers`, when given) looks forward at each of
    its contracts and gives notice on what it cannot bear."""
    rules, pl, p = market.scenario.sector.exits, market.placements, market.providers
    taking = pl.live(market) & (pl.share.sum(axis=1) > 0)
    if providers is not None:
        taking &= np.isin(pl.provider, providers)  # all their contracts: one purse funds them all
    units = sorted({(int(q), int(c)) for q, c in zip(pl.provider[taking], pl.contract[taking])})
    if not units:
        return
    noticed = {(q, c) for q, c, _, _ in market.notices}
    reserves = np.maximum(market.ledger.balances[p.account] / 100.0, 0.0)
    economics = Economics(market, np.unique(np.array([q for q, _ in units], dtype=np.int64)))
    needs: dict[int, list[tuple[float, int, int]]] = {}  # provider -> (working capital ahead, contract, months left)
    for provider, contract in units:
        terms = market.contracts[contract]
        if (provider, contract) in noticed or terms.in_house or p.in_house[provider]:
            continue
        remaining = terms.end_month - market.month - 1
        if remaining <= rules.notice_months:
            continue  # it will be over before notice runs out
        rows = np.flatnonzero(taking & (pl.provider == provider) & (pl.contract == contract))
        loss = -forward_net_per_month(market, provider, contract, rows, economics) * remaining
        bearable = rules.bearable_loss_share * reserves[provider]
        if loss > bearable:
            _give_notice(market, provider, contract, f"expected loss of GBP {loss:,.0f} over the remaining {remaining} months "
                         f"on contract {contract}, more than the GBP {bearable:,.0f} it can bear")
        elif rules.weigh_working_capital and not (terms.holder == provider and market.scenario.design.delivery.model == "prime"):
            needs.setdefault(provider, []).append((working_capital_ahead(market, provider, contract, rows, economics), contract, remaining))
    for provider, ahead in needs.items():
        _hand_back_what_it_cannot_fund(market, provider, ahead, float(reserves[provider]))


def _hand_back_what_it_cannot_fund(market: Market, provider: int, ahead: list[tuple[float, int, int]], reserves: float) -> None:
    """One provider's reserves fund the working capital of all its contracts at once: while their
    sum is more than it holds, it gives notice on the contract that needs most."""
    total = sum(need for need, _, _ in ahead)
    for need, contract, remaining in sorted(ahead, key=lambda a: (-a[0], a[1])):
        if total <= reserves or need <= 0:
            return
        _give_notice(market, provider, contract,
                     f"working capital of GBP {need:,.0f} still needed over the remaining {remaining} months on contract "
                     f"{contract} before payment by results pays it back (GBP {total:,.0f} on all its contracts), more than "
                     f"its GBP {reserves:,.0f} of reserves")
        market.count("notices_for_cash")
        total -= need


def _give_notice(market: Market, provider: int, contract: int, cause: str) -> None:
    market.notices.append((provider, contract, market.month + market.scenario.sector.exits.notice_months, cause))
    market.count("notices")


class Economics:
    """What one referral is expected to earn at list prices and to cost, by need group, for a set of
    providers at their own (true) effectiveness: worked out for all of them at once."""

    def __init__(self, market: Market, providers: np.ndarray):
        p, world, dynamics = market.providers, market.world, market.scenario.sector.dynamics
        quality = 1.0 - dynamics.staff_turnover_effect * p.staff_turnover[providers]
        path = expected_path(world, world.no_support_hazard + monthly_hazard(p.effectiveness[providers]) * quality[:, None], market.prices)
        mult = contract_multipliers(market)
        self.row = {int(q): i for i, q in enumerate(providers)}
        self.income = income_per_referral(path, market.prices, mult) + mult[0] * market.prices.block  # [provider, group]
        self.outcome_income = mult[3] * market.prices.outcome * path.outcomes.sum(-1) + mult[4] * market.prices.sustainment * path.sustainment_payments.sum(-1)
        self.cost = world.cost_to_serve_gbp * (1.0 + p.overhead_rate[providers, None]) * path.caseload_months
        self.compliance = dynamics.compliance_gbp_per_month * (1.5 - p.management[providers])
        self.income_by_month = income_by_month(path, market.prices, mult)  # [provider, group, month after referral]
        self.income_by_month[..., 0] += mult[0] * market.prices.block
        self.cost_by_month = world.cost_to_serve_gbp[:, None] * (1.0 + p.overhead_rate[providers, None, None]) * path.on_caseload

    def net_by_month(self, provider: int, referrals: np.ndarray, paid_ratio: float) -> np.ndarray:
        """Expected net cash of one month's `referrals` [group] in each month after they arrive."""
        i = self.row[provider]
        net = referrals @ (paid_ratio * self.income_by_month[i] - self.cost_by_month[i])
        net[0] -= self.compliance[i]
        return net

    def net_per_month(self, provider: int, referrals: np.ndarray, paid_ratio: float, lots: int, outcome_only: bool = False) -> float:
        """Expected monthly surplus from a steady inflow of `referrals` [group] paid at `paid_ratio` of list
        prices (of outcome pay only, for a subcontractor of a prime that keeps the rest)."""
        i = self.row[provider]
        income = self.outcome_income[i] if outcome_only else self.income[i]
        return float(referrals @ (paid_ratio * income - self.cost[i]) - self.compliance[i] * lots)


def forward_net_per_month(market: Market, provider: int, contract: int, rows: np.ndarray, economics: Economics) -> float:
    """What a provider expects to make each month from here on its placements `rows` of a contract."""
    design, pl = market.scenario.design, market.placements
    terms = market.contracts[contract]
    referrals = (market.lots.referrals[pl.lot[rows]] * pl.share[rows]).sum(axis=0)  # [group] per month
    kept, fee = 1.0, 0.0
    outcome_only = design.delivery.model == "prime" and design.delivery.prime.pass_down == "outcome_only"
    if design.delivery.model == "prime" and terms.holder == provider:
        # A prime also keeps its fee on what its supply chain earns (and all but outcome pay under `outcome_only`).
        chain = np.flatnonzero((pl.contract == contract) & (pl.provider != provider) & pl.live(market) & (pl.share.sum(axis=1) > 0))
        passed = (market.lots.referrals[pl.lot[chain]] * pl.share[chain]).sum(axis=0)
        m, i = design.delivery.prime.management_fee, economics.row[provider]
        kept_per_referral = m * economics.income[i] + (1.0 - m) * (economics.income[i] - economics.outcome_income[i]) * outcome_only
        fee = terms.price_ratio * passed @ kept_per_referral
    elif design.delivery.model == "prime":
        kept = 1.0 - design.delivery.prime.management_fee
        return economics.net_per_month(provider, referrals, terms.price_ratio * kept, len(np.unique(pl.lot[rows])), outcome_only)
    elif design.delivery.model == "consortium" and terms.holder < 0:
        kept = 1.0 - design.delivery.consortium.coordination_cost
    return economics.net_per_month(provider, referrals, terms.price_ratio * kept, len(np.unique(pl.lot[rows]))) + fee


def net_per_month(market: Market, provider: int, referrals: np.ndarray, paid_ratio: float, lots: int) -> float:
    """A provider's expected monthly surplus from a steady inflow of `referrals` [group] paid at
    `paid_ratio` of list prices, at its own (true) effectiveness, less its costs and compliance."""
    return Economics(market, np.array([provider])).net_per_month(provider, referrals, paid_ratio, lots)


def deepest_cash_position(market: Market, provider: int, referrals: np.ndarray, paid_ratio: float) -> float:
    """How far a provider's cash falls (GBP, positive) before a steady inflow of `referrals` [group]
    pays for itself, over a contract's length: the working capital payment by results needs."""
    net = Economics(market, np.array([provider])).net_by_month(provider, referrals, paid_ratio)
    return float(-worst_cash_position(net, market.scenario.design.contract.length_months))


def working_capital_ahead(market: Market, provider: int, contract: int, rows: np.ndarray, economics: Economics | None = None) -> float:
    """How much further (GBP, positive) a provider's cash is expected to fall on its placements `rows`
    of a contract before the contract ends: the working capital payment by results still needs.

    Its referrals arrive as a steady inflow from the contract's start; the cumulative cash position
    of that inflow is followed month by month, and what matters now is how far below today's
    position it goes between now and the end (0 when the trough is behind it). A provider that
    cannot fund that from its reserves runs out of cash before the outcome payments arrive, however
    profitable the whole term, so it hands back with notice instead of waiting to fail.
    """
    pl, terms = market.placements, market.contracts[contract]
    referrals = (market.lots.referrals[pl.lot[rows]] * pl.share[rows]).sum(axis=0)
    kept = 1.0
    if market.scenario.design.delivery.model == "prime" and terms.holder != provider:
        kept = 1.0 - market.scenario.design.delivery.prime.management_fee
    elif market.scenario.design.delivery.model == "consortium" and terms.holder < 0:
        kept = 1.0 - market.scenario.design.delivery.consortium.coordination_cost
    economics = economics or Economics(market, np.array([provider]))
    net = economics.net_by_month(provider, referrals, terms.price_ratio * kept)
    elapsed, end = market.month - terms.start_month + 1, terms.end_month - terms.start_month
    return float(cash_still_needed(net, elapsed, end))


def cash_still_needed(net_by_month: np.ndarray, elapsed: int, months: int) -> float:
    """How far the cumulative cash position of a steady inflow (one referral a month with profile
    `net_by_month`) falls below its level after `elapsed` months, before month `months`."""
    horizon = max(months, len(net_by_month), elapsed + 1)
    profile = np.zeros(horizon)
    profile[: len(net_by_month)] = net_by_month
    position = np.cumsum(np.cumsum(profile))  # the running total after each month
    now = position[min(elapsed, horizon) - 1] if elapsed > 0 else 0.0
    ahead = position[max(elapsed, 0): max(months, elapsed)]
    return max(0.0, now - float(ahead.min())) if len(ahead) else 0.0


def income_per_person(market: Market, provider: int, paid_ratio: float) -> np.ndarray:
    """[group] what one referral is expected to earn a provider paid at `paid_ratio` of list prices."""
    economics = Economics(market, np.array([provider]))
    return paid_ratio * economics.income[0]


def _serve_notices(market: Market) -> None:
    """Notices that fall due take effect: the holder hands back, the subcontractor or member leaves."""
    due = [n for n in market.notices if n[2] == market.month]
    market.notices = [n for n in market.notices if n[2] != market.month]
    p, pl = market.providers, market.placements
    for provider, contract, _, cause in due:
        terms = market.contracts[contract]
        if not terms.active or not p.active[provider]:
            continue
        rows = np.flatnonzero((pl.provider == provider) & (pl.contract == contract))
        people = int(pl.caseload[rows].sum())
        kind = "hand_back" if terms.holder == provider else "withdrawal"
        moved = reassign(market, provider, rows, "handed_back")
        record(market, provider, kind, cause, moved if kind == "withdrawal" else people)
        market.count(f"{kind}s")
        if kind == "withdrawal" and terms.holder < 0 and terms.active:
            _review_heirs(market, contract)


def _review_heirs(market: Market, contract: int) -> None:
    """The members left in a consortium contract review at once: a leaver's referrals and people
    have just become theirs, and a member would not carry a share it cannot bear until its next
    review (nor would it have agreed to)."""
    pl = market.placements
    staying = pl.live(market) & (pl.share.sum(axis=1) > 0) & (pl.contract == contract)
    _review_units(market, np.unique(pl.provider[staying]))


def record(market: Market, provider: int, kind: str, cause: str, people: int) -> None:
    """One row of the exits table: who left what, when, why, and how many people it affected."""
    p = market.providers
    band = int(p.size_band(market.scenario.sector.size_band_edges_gbp)[provider])
    market.exits.append({
        "provider": f"p{provider}", "exit": kind, "role": Role(int(p.last_role[provider])).name.lower() if p.last_role[provider] else "none",
        "kind": KINDS[p.kind[provider]], "size_band": SIZE_BANDS[band], "month": market.month, "cause": cause, "people": int(people),
    })
