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
yearly contract value its turnover and management can absorb, shared among the lots it
delivers), after any ring-fenced share each named subcontractor must receive
(`minimum_named_share`). What nobody has room for stays with the prime, which holds the contract.
A prime plans its routing in its bid (at list prices and believed effectiveness: what its
subcontractors are told to expect) and reviews it at each year end (at its contract's price and
true effectiveness: by then it knows). Named subcontractors that earn it less than it earns in
house are left with nothing: bid candy emerges from the prime's own accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from platoons.market.prices import expected_path, income_per_referral, outcome_risk_share
from platoons.market.state import Market
from platoons.population import monthly_hazard


@dataclass(frozen=True)
class Earnings:
    """What one referral of each need group brings each provider at list prices, and costs it [provider, group]."""

    outcome: np.ndarray  # outcome and sustainment pay
    other: np.ndarray  # attachment, service fees and block payments
    cost: np.ndarray  # staff and overheads over the expected time on the caseload
    caseload_months: np.ndarray  # expected months on the caseload

    @classmethod
    def of(cls, market: Market, providers: np.ndarray, believed: bool) -> Earnings:
        """At each provider's effectiveness, raised by its optimism where `believed` (a bid's view)."""
        p, world, prices = market.providers, market.world, market.prices
        effect = p.effectiveness[providers] * ((1.0 + p.optimism[providers, None]) if believed else 1.0)
        quality = 1.0 - market.scenario.sector.dynamics.staff_turnover_effect * p.staff_turnover[providers]
        path = expected_path(world, world.no_support_hazard + monthly_hazard(effect) * quality[:, None], prices)
        mult = _multipliers(market)
        outcome = mult[3] * prices.outcome * path.outcomes.sum(-1) + mult[4] * prices.sustainment * path.sustainment_payments.sum(-1)
        other = income_per_referral(path, prices, mult) - outcome + mult[0] * prices.block
        cost = world.cost_to_serve_gbp * (1.0 + p.overhead_rate[providers, None]) * path.caseload_months
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


def offers(market: Market, providers: np.ndarray, earnings: Earnings, roles: np.ndarray, ratio: float,
           risk_fee: np.ndarray | None, room: np.ndarray, believed: Earnings | None = None) -> Offers:
    """What each member of a chain is worth to the prime (at `earnings`) and, in its own belief
    (`believed`, else the same), to itself, paid at `ratio` of list prices.

    `risk_fee` is the fee per referral [group] paid to a subcontractor instead of outcome risk (at
    the contract's price); None in a bid, where the prime expects it to match the outcome pay.
    """
    rules, p = market.scenario.design.delivery.prime, market.providers
    at_risk = outcome_risk_share(rules, roles)[:, None]

    def passed_down(e: Earnings) -> np.ndarray:
        instead_of_risk = ratio * e.outcome if risk_fee is None else np.broadcast_to(risk_fee, e.outcome.shape)
        other_down = e.other if rules.pass_down == "all" else 0.0
        return (1.0 - rules.management_fee) * (ratio * other_down + at_risk * ratio * e.outcome + (1.0 - at_risk) * instead_of_risk)

    earned = ratio * (earnings.outcome + earnings.other)
    value = earned - passed_down(earnings)
    value[0] = earned[0] - earnings.cost[0]
    own = earnings if believed is None else believed
    fixed = market.scenario.sector.dynamics.compliance_gbp_per_month * (1.5 - p.management[providers])
    return Offers(value, passed_down(own) - own.cost, 12.0 * earned, room, fixed)


def route(chain: Offers, flow: np.ndarray, floor: float, obliged: bool = False) -> np.ndarray:
    """[member, group] shares of each group's referrals.

    Ring-fenced floors first (`floor`: the share each subcontractor must receive), then the pairs
    most valuable to the prime, each member within its room. A subcontractor takes only referrals
    that pay it more than they cost it, and only if what it is sent covers its compliance cost too:
    one that would lose money is left out and the rest routed again. Once the contract is signed
    its subcontractors are `obliged` to take the referrals they are sent (their way out is to
    withdraw with notice, platoons.market.exits). What nobody takes stays with the prime (row 0),
    which holds the contract.
    """
    members = len(chain.room)
    if obliged:
        return _fill(chain, np.ones(chain.value.shape, bool), flow, floor)[0]
    # Those that could not cover their compliance cost even with the best of what they would take are out at once.
    gain = np.maximum(chain.margin, 0.0)
    best = np.minimum(chain.room * (gain / np.maximum(chain.load, 1e-12)).max(axis=1), gain @ flow)
    willing = best >= chain.fixed
    willing[0] = True
    for _ in range(members):
        shares, chosen = _fill(chain, (chain.margin >= 0) & willing[:, None], flow, floor)
        surplus = (chosen * flow * chain.margin).sum(axis=1) - chain.fixed * (chosen.sum(axis=1) > 0)
        losing = (surplus < 0) & (chosen.sum(axis=1) > 0)
        losing[0] = False
        if not losing.any():
            return shares
        willing &= ~losing
    return shares


def _fill(chain: Offers, takes: np.ndarray, flow: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy: the most valuable (member, group) pairs first. Returns all shares and those chosen beyond the floors."""
    members, groups = chain.value.shape
    shares = np.zeros((members, groups))
    if members > 1 and floor > 0:
        shares[1:] = min(floor, 1.0 / (members - 1))  # contractual: taken whatever the capacity
    flow = np.maximum(flow, 1e-9)
    left = flow * (1.0 - shares.sum(axis=0))
    room = chain.room - (shares * flow * chain.load).sum(axis=1)
    takes = takes.copy()
    takes[0] = True
    cells = np.lexsort((np.arange(members * groups), -chain.value.ravel()))
    cells = cells[takes.ravel()[cells]]
    taken = np.zeros(members * groups)
    # Plain Python numbers: the loop is short (members x groups) but runs for every team in a tender.
    left, room, load, out = left.tolist(), room.tolist(), chain.load.ravel().tolist(), taken.tolist()
    for cell in cells.tolist():
        i, g = divmod(cell, groups)
        if left[g] <= 1e-12 or room[i] <= 0:
            continue
        take = left[g] if load[cell] <= 0 else min(left[g], room[i] / load[cell])
        out[cell] += take
        left[g] -= take
        room[i] -= take * load[cell]
    chosen = np.array(out).reshape(members, groups)
    chosen[0] += np.maximum(left, 0.0)
    chosen /= flow
    return shares + chosen, chosen


def absorbable(market: Market, providers: np.ndarray) -> np.ndarray:
    """The largest yearly contract value each provider can take on (as bidders judge it)."""
    p = market.providers
    return market.scenario.sector.dynamics.max_contract_to_turnover * (0.5 + p.management[providers]) * p.turnover_gbp[providers]


def plan(market: Market, providers: np.ndarray, roles: np.ndarray, flow: np.ndarray, earnings: Earnings) -> np.ndarray:
    """[member, group] the routing a prime (member 0) plans in its bid for a lot of `flow` referrals a month,
    at list prices and believed effectiveness (`earnings` rows for `providers`)."""
    chain = offers(market, providers, earnings, roles, 1.0, None, absorbable(market, providers))
    return route(chain, flow, market.scenario.design.delivery.prime.minimum_named_share)


def review(market: Market) -> None:
    """Each year end, every prime routing by profit sets next year's shares of its lots' referrals."""
    design, pl = market.scenario.design, market.placements
    if design.delivery.model != "prime" or design.delivery.prime.referral_policy != "profit" or len(pl) == 0:
        return
    named = pl.named & pl.live(market)
    if not named.any():
        return
    providers = np.unique(pl.provider[named])
    earnings = Earnings.of(market, providers, believed=False)
    beliefs = Earnings.of(market, providers, believed=True)
    row_of = np.searchsorted(providers, pl.provider)
    # A provider's capacity is shared among the lots it delivers, in every contract.
    lots_delivered = np.bincount(row_of[named], minlength=len(providers))
    room = absorbable(market, providers) / np.maximum(lots_delivered, 1)
    for c in np.unique(pl.contract[named]):
        contract = market.contracts[int(c)]
        for lot in contract.lots:
            rows = np.flatnonzero(named & (pl.contract == c) & (pl.lot == lot))
            rows = rows[np.argsort(pl.provider[rows] != contract.holder, kind="stable")]  # the prime first
            if len(rows) == 0 or pl.provider[rows[0]] != contract.holder:
                continue
            _reroute(market, rows, contract, earnings.take(row_of[rows]), beliefs.take(row_of[rows]), room[row_of[rows]])
    _into_current_cohort(market)


def _reroute(market: Market, rows: np.ndarray, contract, mine: Earnings, beliefs: Earnings, room: np.ndarray) -> None:
    pl = market.placements
    chain = offers(market, pl.provider[rows], mine, pl.role[rows], contract.price_ratio, contract.risk_fee_gbp, room, beliefs)
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
