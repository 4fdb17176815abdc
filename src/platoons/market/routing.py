"""Strategic routing: a prime sends each need group's referrals where they earn it most.

Under `referral_policy: profit` a prime does not split referrals by fixed shares. For each need
group it compares what one referral earns it:

- in house: the price less its own delivery cost (staff and overheads over the expected time on
  the caseload);
- passed to a subcontractor: what it keeps of the subcontractor's payments, at no delivery cost:
  its management fee, the outcome pay it keeps where it does not pass the risk down (less the
  fixed fee it pays instead), and under `pass_down: outcome_only` the attachment, service fees
  and block payments it keeps outright.

It fills the most profitable (member, group) pairs first, each member up to its capacity (the
yearly contract value its turnover and management can absorb, and for a subcontractor the
working capital its reserves can carry, shared among the lots it delivers), after any
ring-fenced share each named subcontractor must receive (`minimum_named_share`). A
subcontractor weighs the whole of what it would be sent: it takes loss-making referrals only as
far as its others cover the loss, and nothing unless its compliance cost is covered too. What
nobody takes stays with the prime, which holds the contract.
A prime plans its routing in its bid (at list prices and believed effectiveness: what its
subcontractors are told to expect) and reviews it at each year end (at its contract's price and
true effectiveness: by then it knows). Named subcontractors that earn it less than it earns in
house are left with nothing: bid candy emerges from the prime's own accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from platoons.ledger import Role
from platoons.market.prices import expected_path, income_by_month, outcome_risk_share, worst_cash_position
from platoons.market.state import Market
from platoons.population import monthly_hazard


@dataclass(frozen=True)
class Earnings:
    """What one referral of each need group brings each provider at list prices, and costs it,
    month by month after referral [provider, group, month]."""

    outcome: np.ndarray  # outcome and sustainment pay
    other: np.ndarray  # attachment, service fees and block payments
    cost: np.ndarray  # staff and overheads while on the caseload
    caseload_months: np.ndarray  # [provider, group] expected months on the caseload

    @classmethod
    def of(cls, market: Market, providers: np.ndarray, believed: bool) -> Earnings:
        """At each provider's effectiveness, raised by its optimism where `believed` (a bid's view)."""
        p, world, prices = market.providers, market.world, market.prices
        effect = p.effectiveness[providers] * ((1.0 + p.optimism[providers, None]) if believed else 1.0)
        quality = 1.0 - market.scenario.sector.dynamics.staff_turnover_effect * p.staff_turnover[providers]
        path = expected_path(world, world.no_support_hazard + monthly_hazard(effect) * quality[:, None], prices)
        mult = _multipliers(market)
        outcome = mult[3] * prices.outcome[:, None] * path.outcomes + mult[4] * prices.sustainment[:, None] * path.sustainment_payments
        other = income_by_month(path, prices, mult) - outcome
        other[..., 0] += mult[0] * prices.block
        cost = world.cost_to_serve_gbp[:, None] * (1.0 + p.overhead_rate[providers, None, None]) * path.on_caseload
        return cls(outcome, other, cost, path.caseload_months)

    def take(self, rows: np.ndarray) -> Earnings:
        return Earnings(self.outcome[rows], self.other[rows], self.cost[rows], self.caseload_months[rows])


def _multipliers(market: Market) -> np.ndarray:
    from platoons.market.bidding import contract_multipliers  # bidding plans routing with this module

    return contract_multipliers(market)


@dataclass(frozen=True)
class Offers:
    """One lot's routing problem, per member (row 0 the prime) and need group."""

    value: np.ndarray  # [member, group] what one referral routed to the member earns the prime
    margin: np.ndarray  # [member, group] what it earns the member: pay passed down less its delivery cost
    load: np.ndarray  # [member, group] capacity one referral a month uses (yearly contract value)
    room: np.ndarray  # [member] capacity (yearly contract value it can absorb)
    fixed: np.ndarray  # [member] monthly compliance cost of a member sent anyone
    cash: np.ndarray | None = None  # [member, group] working capital a steady referral a month ties up (GBP)
    reserves: np.ndarray | None = None  # [member] the most of its reserves it puts at risk (inf for the prime)


def offers(market: Market, providers: np.ndarray, earnings: Earnings, roles: np.ndarray, ratio: float,
           risk_fee: np.ndarray | None, room: np.ndarray, believed: Earnings | None = None, lots: np.ndarray | float = 1.0) -> Offers:
    """What each member of a chain is worth to the prime (at `earnings`) and, in its own belief
    (`believed`, else the same), to itself, paid at `ratio` of list prices; and the working capital
    a subcontractor's share ties up, against what its reserves can carry (`risk_appetite`).

    `risk_fee` is the fee per referral [group] paid to a subcontractor instead of outcome risk (at
    the contract's price); None in a bid, where the prime expects it to match the outcome pay.
    Room and reserves are shared equally among the `lots` each member delivers.
    """
    rules, p, design = market.scenario.design.delivery.prime, market.providers, market.scenario.design
    at_risk = outcome_risk_share(rules, roles)[:, None, None]

    def passed_down(e: Earnings) -> np.ndarray:
        """[member, group, month] pay passed down for one referral."""
        instead_of_risk = ratio * e.outcome.sum(-1) if risk_fee is None else np.broadcast_to(risk_fee, e.outcome.shape[:2])
        other_down = e.other if rules.pass_down == "all" else 0.0
        passed = (1.0 - rules.management_fee) * (ratio * other_down + at_risk * ratio * e.outcome)
        passed[..., 0] += (1.0 - rules.management_fee) * (1.0 - at_risk[..., 0]) * instead_of_risk
        return passed

    earned = ratio * (earnings.outcome + earnings.other).sum(-1)
    value = earned - passed_down(earnings).sum(-1)
    prime = roles == Role.PRIME
    value[prime] = earned[prime] - earnings.cost[prime].sum(-1)
    own = earnings if believed is None else believed
    net = passed_down(own) - own.cost
    cash = -worst_cash_position(net, design.contract.length_months)
    reserves = design.bidding.risk_appetite * np.maximum(market.ledger.balances[p.account[providers]] / 100.0, 0.0) / lots
    reserves[prime] = np.inf
    fixed = market.scenario.sector.dynamics.compliance_gbp_per_month * (1.5 - p.management[providers])
    return Offers(value, net.sum(-1), 12.0 * earned, room / lots, fixed, cash, reserves)


def route(chain: Offers, flow: np.ndarray, floor: float) -> np.ndarray:
    """[member, group] shares of each group's referrals.

    Ring-fenced floors first (`floor`: the share each subcontractor must receive), then the pairs
    most valuable to the prime, each member within its room and the working capital its reserves
    can carry. A subcontractor weighs the whole of what it would be sent: it takes referrals that
    cost it more than they pay only as far as its other referrals cover the loss, and takes none
    at all unless they also cover its compliance cost; the rest are routed again. What nobody
    takes stays with the prime (row 0), which holds the contract.
    """
    members, groups = chain.value.shape
    flow = np.maximum(flow, 1e-9)
    limit = np.full((members, groups), np.inf)  # referrals a month each member takes of each group
    # Those that could not cover their compliance cost even with the best of what they would take are out at once.
    gain = np.maximum(chain.margin, 0.0)
    best = np.minimum(chain.room * (gain / np.maximum(chain.load, 1e-12)).max(axis=1), gain @ flow)
    limit[best < chain.fixed] = 0.0
    limit[0] = np.inf
    for _ in range(2 * members * groups):
        shares, chosen = _fill(chain, limit, flow, floor)
        sent = chosen * flow
        surplus = (sent * chain.margin).sum(axis=1) - chain.fixed * (sent.sum(axis=1) > 0)
        losing = np.flatnonzero((surplus < -1e-6) & (sent.sum(axis=1) > 0))
        losing = losing[losing > 0]
        if len(losing) == 0:
            return shares
        for i in losing:
            worst = int(np.argmin(np.where(sent[i] > 0, chain.margin[i], np.inf)))
            if chain.margin[i, worst] >= 0:
                limit[i] = 0.0  # it loses only through compliance: it takes nothing
            else:
                limit[i, worst] = max(0.0, sent[i, worst] + surplus[i] / -chain.margin[i, worst])
    return shares


def _fill(chain: Offers, limit: np.ndarray, flow: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy: the most valuable (member, group) pairs first, each within the member's `limit`
    [member, group] (referrals a month). Returns all shares and those chosen beyond the floors."""
    members, groups = chain.value.shape
    shares = np.zeros((members, groups))
    if members > 1 and floor > 0:
        shares[1:] = min(floor, 1.0 / (members - 1))  # contractual: taken whatever the capacity
    left = flow * (1.0 - shares.sum(axis=0))
    room = chain.room - (shares * flow * chain.load).sum(axis=1)
    cash = np.zeros((members, groups)) if chain.cash is None else chain.cash
    spare = np.full(members, np.inf) if chain.reserves is None else chain.reserves - (shares * flow * cash).sum(axis=1)
    limit = limit.copy()
    limit[0] = np.inf
    cells = np.lexsort((np.arange(members * groups), -chain.value.ravel()))
    cells = cells[limit.ravel()[cells] > 0]
    taken = np.zeros(members * groups)
    # Plain Python numbers: the loop is short (members x groups) but runs for every team in a tender.
    left, room, load, out = left.tolist(), room.tolist(), chain.load.ravel().tolist(), taken.tolist()
    spare, cash, limit = spare.tolist(), cash.ravel().tolist(), limit.ravel().tolist()
    for cell in cells.tolist():
        i, g = divmod(cell, groups)
        if left[g] <= 1e-12 or room[i] <= 0 or spare[i] <= 0:
            continue
        take = min(left[g], limit[cell]) if load[cell] <= 0 else min(left[g], limit[cell], room[i] / load[cell])
        if cash[cell] > 0:
            take = min(take, spare[i] / cash[cell])  # the working capital its reserves can carry
        out[cell] += take
        left[g] -= take
        room[i] -= take * load[cell]
        spare[i] -= take * cash[cell]
    chosen = np.array(out).reshape(members, groups)
    chosen[0] += np.maximum(left, 0.0)
    chosen /= flow
    return shares + chosen, chosen


def absorbable(market: Market, providers: np.ndarray) -> np.ndarray:
    """The largest yearly contract value each provider can take on (as bidders judge it)."""
    p = market.providers
    return market.scenario.sector.dynamics.max_contract_to_turnover * (0.5 + p.management[providers]) * p.turnover_gbp[providers]


def plan(market: Market, leads: np.ndarray, subs: np.ndarray, sub_roles: np.ndarray, flow: np.ndarray,
         earnings: Earnings, lots: int = 1) -> list[np.ndarray]:
    """For each prime in `leads` naming the chain `subs`, the routing [member, group] it plans in its
    bid for a lot of `flow` referrals a month, at list prices and believed effectiveness (`earnings`
    rows for all providers). The subcontractors, named by every prime of the region, keep room and
    reserves for each of the region's `lots`. Worked out for the whole region at once."""
    members = np.concatenate([leads, subs]).astype(np.int64)
    roles = np.concatenate([np.full(len(leads), Role.PRIME), sub_roles]).astype(np.int8)
    spread = np.where(roles == Role.PRIME, 1.0, float(max(lots, 1)))
    region = offers(market, members, earnings.take(members), roles, 1.0, None, absorbable(market, members), lots=spread)
    floor = market.scenario.design.delivery.prime.minimum_named_share
    sub_rows = np.arange(len(leads), len(members))
    # A prime with room for the whole lot takes all that is left of a group when its turn comes, so
    # its plan depends only on how many subcontractors' offers beat its own in each group: primes
    # alike in that share one plan.
    ahead = (region.value[sub_rows][None, :, :] > region.value[: len(leads), None, :]).sum(axis=1)  # [lead, group]
    unbounded = region.room[: len(leads)] >= (flow * region.load[: len(leads)]).sum(axis=1)
    chains, planned = [], {}
    for k in range(len(leads)):
        key = tuple(ahead[k]) if unbounded[k] else None
        if key is None or key not in planned:
            rows = np.concatenate([[k], sub_rows])
            chain = Offers(region.value[rows], region.margin[rows], region.load[rows], region.room[rows], region.fixed[rows],
                           region.cash[rows], region.reserves[rows])
            shares = route(chain, flow, floor)
            if key is not None:
                planned[key] = shares
        chains.append(planned[key] if key is not None else shares)
    return chains


def review(market: Market) -> None:
    """Each year end, every prime routing by profit sets next year's shares of its lots' referrals."""
    design, pl = market.scenario.design, market.placements
    if design.delivery.model != "prime" or design.delivery.prime.referral_policy != "profit" or len(pl) == 0:
        return
    last = market.scenario.world.referral_months
    if last is not None and market.month + 1 >= last:
        return  # no referrals are left to route
    named = pl.named & pl.live(market)
    if not named.any():
        return
    providers = np.unique(pl.provider[named])
    earnings = Earnings.of(market, providers, believed=False)
    beliefs = Earnings.of(market, providers, believed=True)
    row_of = np.searchsorted(providers, pl.provider)
    # A provider's capacity is shared among the lots it delivers, in every contract.
    lots_delivered = np.maximum(np.bincount(row_of[named], minlength=len(providers)), 1)
    room = absorbable(market, providers)
    for c in np.unique(pl.contract[named]):
        contract = market.contracts[int(c)]
        for lot in contract.lots:
            rows = np.flatnonzero(named & (pl.contract == c) & (pl.lot == lot))
            rows = rows[np.argsort(pl.provider[rows] != contract.holder, kind="stable")]  # the prime first
            if len(rows) == 0 or pl.provider[rows[0]] != contract.holder:
                continue
            member = row_of[rows]
            _reroute(market, rows, contract, earnings.take(member), beliefs.take(member), room[member], lots_delivered[member])
    _into_current_cohort(market)


def _reroute(market: Market, rows: np.ndarray, contract, mine: Earnings, beliefs: Earnings, room: np.ndarray, lots: np.ndarray) -> None:
    pl = market.placements
    chain = offers(market, pl.provider[rows], mine, pl.role[rows], contract.price_ratio, contract.risk_fee_gbp, room, beliefs, lots)
    flow = market.lots.referrals[pl.lot[rows[0]]]
    shares = route(chain, flow, market.scenario.design.delivery.prime.minimum_named_share)
    pl.share[rows] = shares * (flow > 0)
    # Each member staffs up for the flow it is now sent (places are never cut: staff stay on).
    needed = (1.0 + market.scenario.sector.dynamics.capacity_headroom) * (shares * flow * mine.caseload_months).sum(axis=1)
    pl.capacity[rows] = np.maximum(pl.capacity[rows], needed)
    market.count("routing_reviews")


def _into_current_cohort(market: Market) -> None:
    """A named provider sent no referrals kept its row from an earlier cohort; now that it is sent
    some, it takes them in a row of the current cohort, as every provider taking referrals does."""
    from platoons.market.contracting import add_placements, cohort_of  # contracting builds on bidding, which plans with this module

    pl = market.placements
    behind = np.flatnonzero(pl.named & (pl.share.sum(axis=1) > 0) & (pl.cohort < cohort_of(market)))
    if len(behind) == 0:
        return
    add_placements(market, behind, cohort=cohort_of(market))
    market.placements.share[behind] = 0.0
    market.placements.named[behind] = False


def named_received(market: Market) -> tuple[np.ndarray, np.ndarray]:
    """Rows of providers named in standing contracts, and the referrals each received this year in
    the same contract and lot, over all its cohorts' rows (a cohort opened mid-year counts too)."""
    pl = market.placements
    named = np.flatnonzero(pl.named & pl.live(market))
    if len(named) == 0:
        return named, np.zeros(0)
    key = (pl.contract * (pl.lot.max() + 1) + pl.lot) * (pl.provider.max() + 1) + pl.provider
    unit, index = np.unique(key, return_inverse=True)
    received = np.bincount(index.reshape(-1), weights=pl.referred_this_year.sum(axis=1), minlength=len(unit))
    return named, received[index.reshape(-1)[named]]
