"""Stewardship: what the commissioner does when a lot has no holder.

A lot is left without a holder when a tender draws no acceptable bid, when its holder fails or
hands the contract back, or when a contract is terminated for performance with no competitor to
take its referrals. The design's policy lists the actions the commissioner tries, in order, until
one gives the lot a holder:

    extend           the incumbent whose contract just expired carries on for `extend_months`
    relax_and_relet  an immediate re-let with the turnover and reserves thresholds and the
                     set-aside lifted and a price cap above list price; retried every `relet_every_months`
    direct_award     the best remaining eligible provider present in the lot that can absorb it,
                     at list price, without competition (direct, prime and consortium designs)
    last_resort      an in-house public service, paid its costs open book
    leave_unserved   nothing now; the lot is re-let every `relet_every_months` (a quarter by
                     default), as before stewardship existed

Every lot an action places is a row of the stewardship table with how it came to be without a holder
(its last contract's end: `failed`, `handed_back`, `terminated`, `expired`; or `never_let`) and its
share of the action's cost, and
every month a lot stays unserved is counted; re-lets under `leave_unserved` are tenders, recorded in the
diagnostics.
"""

from __future__ import annotations

import numpy as np

from platoons.ledger import Account, Kind, Role, to_pence
from platoons.market import exits
from platoons.market.contracting import let_lots, sign_and_hand_over
from platoons.market.bidding import EFFECT_FOR_FULL_QUALITY, QUALITY_WEIGHTS, Team, Win, list_value_per_year
from platoons.market.state import Market
from platoons.population import Providers, open_provider_accounts


def respond(market: Market) -> None:
    """Apply the design's policy to every lot without a holder."""
    policy = market.scenario.design.stewardship.policy
    for action in policy:
        lots = np.flatnonzero(market.lot_contract() < 0)
        if len(lots) == 0:
            return
        ACTIONS[action](market, lots)
    market.count("unserved_lot_months", int((market.lot_contract() < 0).sum()))


def _extend(market: Market, lots: np.ndarray) -> None:
    rules = market.scenario.design.stewardship
    p = market.providers
    for c, contract in enumerate(market.contracts):
        expired_now = contract.ended_by == "expired" and contract.end_month == market.month
        holder_alive = contract.holder < 0 and p.active[contract.members].all() or contract.holder >= 0 and p.active[contract.holder]
        if expired_now and holder_alive and set(contract.lots) <= set(lots.tolist()):
            contract.active, contract.ended_by = True, ""
            contract.end_month = min(market.month + rules.extend_months, market.scenario.run.months)
            _record(market, contract.lots, "extend", 0.0, cause="expired")


def _relax_and_relet(market: Market, lots: np.ndarray) -> None:
    if not _relet_due(market) and not _just_orphaned(market, lots):
        return
    cost = let_lots(market, lots, _end(market), relaxed=True)
    let = set(lots.tolist()) - set(np.flatnonzero(market.lot_contract() < 0).tolist())
    _record(market, tuple(sorted(let)), "relax_and_relet", cost * len(let) / max(len(lots), 1))


def _leave_unserved(market: Market, lots: np.ndarray) -> None:
    if _relet_due(market) and market.month > 0:
        let_lots(market, lots, _end(market))


def _direct_award(market: Market, lots: np.ndarray) -> None:
    """Each lot to the best eligible provider present that can absorb it, at list price."""
    if market.scenario.design.delivery.model in ("alliance", "outcomes_finance"):
        return  # their payment runs through a pooled budget or investors, not a single provider's price
    p, design = market.providers, market.scenario.design
    value = list_value_per_year(market)
    eligible = p.active & ~p.in_house & (p.turnover_gbp >= design.eligibility.min_turnover_gbp)
    absorbable = market.scenario.sector.dynamics.max_contract_to_turnover * (0.5 + p.management) * p.turnover_gbp
    quality = QUALITY_WEIGHTS[0] * np.minimum(1.0, p.effectiveness.mean(axis=1) / EFFECT_FOR_FULL_QUALITY) + QUALITY_WEIGHTS[1] * p.management
    presence = market.presence()
    taken: set[int] = set()
    wins = []
    for lot in lots:
        areas = market.lots.area_share[lot] > 0
        able = eligible & presence[:, areas].all(axis=1) & (absorbable >= value[lot])
        if market.lots.set_aside[lot]:
            able &= p.is_small(market.small_max)  # a set-aside lot stays with small providers
        able[list(taken)] = False
        # It takes the lot only if it expects not to lose money on it at list price and its reserves
        # can carry the working capital payment by results needs.
        reserves = np.maximum(market.ledger.balances[p.account] / 100.0, 0.0)
        appetite = design.bidding.risk_appetite
        willing = [q for q in np.flatnonzero(able)[np.argsort(-quality[able], kind="stable")]
                   if exits.net_per_month(market, int(q), market.lots.referrals[lot], 1.0, 1) >= 0
                   and exits.deepest_cash_position(market, int(q), market.lots.referrals[lot], 1.0) <= appetite * reserves[q]]
        if not willing:
            continue
        best = int(willing[0])
        taken.add(best)
        wins.append(_single_provider_win(market, best, int(lot), 1.0))
    if wins:
        sign_and_hand_over(market, wins, lots, _end(market))
        cost = design.commissioning_costs.procurement_gbp_per_lot
        for win in wins:
            market.ledger.post(Account.COMMISSIONER, Account.COMMISSIONING, to_pence(cost), Kind.PROCUREMENT)
            _record(market, win.lots, "direct_award", cost)


def _last_resort(market: Market, lots: np.ndarray) -> None:
    """The in-house service takes every lot left: paid its costs, so it never fails."""
    provider = in_house_provider(market)
    wins = [_single_provider_win(market, provider, int(lot), 0.0) for lot in lots]
    for contract in sign_and_hand_over(market, wins, lots, _end(market)):
        _record(market, contract.lots, "last_resort", 0.0)


def in_house_provider(market: Market) -> int:
    """The commissioner's own service: created the first time it is needed."""
    p = market.providers
    existing = np.flatnonzero(p.in_house & p.active)
    if len(existing):
        return int(existing[0])
    rules = market.scenario.design.stewardship
    one = {name: np.zeros(1, dtype=getattr(p, name).dtype) for name in p.__dataclass_fields__}
    one.update(
        kind=np.array([7], np.int8), reach=np.array([2], np.int8), management=np.ones(1), active=np.ones(1, bool),
        effectiveness=rules.last_resort_effectiveness * p.base_effectiveness[p.active & ~p.in_house].mean(axis=0, keepdims=True),
        turnover_gbp=np.full(1, 1e12),
        other_income_gbp=np.full(1, 1e12), peak_turnover_gbp=np.full(1, 1e12), entry_turnover_gbp=np.full(1, 1e12),
        overhead_rate=np.full(1, rules.last_resort_cost_factor - 1.0), entered_month=np.array([market.month]),
        exit_month=np.array([-1]), bid_cost_factor=np.ones(1), in_house=np.ones(1, bool),
    )
    one["base_effectiveness"] = one["effectiveness"].copy()
    newcomer = Providers(**one)
    open_provider_accounts(newcomer, market.ledger)
    p.extend(newcomer)
    market.year_start_pence = np.append(market.year_start_pence, 0)
    return len(p) - 1


def _single_provider_win(market: Market, provider: int, lot: int, price_ratio: float) -> Win:
    groups = len(market.world.group_names)
    team = Team(f"p{provider}", provider, np.array([provider]), np.array([Role.DIRECT], np.int8), np.ones((1, groups)), -1)
    return Win(team, (lot,), price_ratio, np.zeros(groups))


def _relet_due(market: Market) -> bool:
    """Whether a competitive re-let can run this month (one takes `relet_every_months` to run again)."""
    return market.month % market.scenario.design.stewardship.relet_every_months == 0


def _just_orphaned(market: Market, lots: np.ndarray) -> bool:
    """Whether some lot lost its holder since last month (a re-let need not wait for its round)."""
    return any(c.end_month == market.month or c.ended_by in ("failed", "handed_back", "terminated") and c.end_month >= market.month - 1
               for c in market.contracts if set(c.lots) & set(lots.tolist()) and not c.active)


def _end(market: Market) -> int:
    terms, months = market.scenario.design.contract, market.scenario.run.months
    ends = [c.end_month for c in market.contracts if c.active and not c.in_house]
    return min(max(ends) if ends else market.month + terms.length_months, months) if terms.retender else months


def _record(market: Market, lots, action: str, cost_gbp: float, cause: str | None = None) -> None:
    """One row per lot placed; `cause` when the lot's last contract no longer shows it (an extension
    has already put the expired contract back in force)."""
    for lot in lots:
        market.stewardship.append({"lot": market.lots.names[int(lot)], "month": market.month, "action": action,
                                   "cause": cause or _why_free(market, int(lot)), "cost_gbp": float(cost_gbp) / max(len(lots), 1)})
    market.count(f"stewardship_{action}", len(lots))


def _why_free(market: Market, lot: int) -> str:
    """How the lot came to need the commissioner: how its last contract ended, or `never_let`."""
    ended = [c.ended_by for c in market.contracts if lot in c.lots and not c.active]
    return ended[-1] if ended else "never_let"


ACTIONS = {"extend": _extend, "relax_and_relet": _relax_and_relet, "direct_award": _direct_award,
           "last_resort": _last_resort, "leave_unserved": _leave_unserved}
