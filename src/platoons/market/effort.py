"""Effort: how hard each provider works for each need group, chosen from what an outcome pays it.

Every month each placement chooses an effort e between the contract's minimum service (the
floor) and 1 for each need group. Effort scales the outcome chance the provider adds (the
no-support chance is nobody's doing) and the variable part of the front-line cost: a person-month
at effort e costs c (1 - v + v e^2), so full effort costs what the world says it costs to serve.
The provider works where an outcome's worth to it equals the cost of the effort that buys it:

    e* = worth of an outcome x added monthly start chance x chance the job lasts to payment
         / (2 v c x share of the cost the provider bears)

An outcome's worth is the money that reaches this provider for it (its contract's price, the
year's multipliers on the outcome and sustainment prices, less what a prime keeps or a consortium
centre takes) plus its mission value. Hence parking: under flat prices the group whose outcomes
are least likely gets least effort; differential prices for that group, or payment that does not
depend on outcomes, change it. Alliance members are paid their costs and bear only the part of
an overspend the commissioner does not; the commissioner's provider of last resort, paid open
book, bears none and gives full effort.
"""

from __future__ import annotations

import numpy as np

from platoons.market.prices import outcome_risk_share
from platoons.market.state import Market
from platoons.population import KINDS


def choose(market: Market, added_hazard: np.ndarray) -> np.ndarray:
    """Effort [placement, group] given each placement's added monthly start chance at full effort."""
    rules = market.scenario.sector.effort
    if not rules.enabled or len(market.placements) == 0:
        return np.ones_like(added_hazard)
    world = market.world
    lasting = (1.0 - world.job_loss) ** world.sustain_months  # a start is paid only if the job lasts
    gain = worth_of_outcome(market) * added_hazard * lasting[None, :]
    # Only the part of staff cost that is not fixed on the places planned responds to effort.
    flexible = 1.0 - market.scenario.sector.dynamics.fixed_cost_share
    cost = 2.0 * rules.variable_cost_share * flexible * world.cost_to_serve_gbp[None, :] * cost_borne(market)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        chosen = np.where(cost > 0, gain / cost, 1.0)
    return np.clip(chosen, rules.floor, 1.0)


def cost_of(effort: np.ndarray, variable_cost_share: float) -> np.ndarray:
    """A person-month's front-line cost at `effort`, as a share of the full cost."""
    return 1.0 - variable_cost_share + variable_cost_share * effort**2


def worth_of_outcome(market: Market) -> np.ndarray:
    """[placement, group] GBP an outcome brings the placement's provider: its pay for it and its mission."""
    pl, p, prices = market.placements, market.providers, market.prices
    contracts = market.contracts
    start = np.array([c.start_month for c in contracts])[pl.contract]
    ratio = np.array([c.price_ratio for c in contracts])[pl.contract]
    years = np.full(len(pl), market.month // 12) if market.scenario.design.transitions.taper_by == "programme_year" \
        else (market.month - start) // 12
    mult = prices.multipliers_for(years)
    sustained = _sustainment_payments_expected(market.world.job_loss, prices.sustainment_payments)
    pay = mult[:, 3, None] * prices.outcome[None, :] + mult[:, 4, None] * prices.sustainment[None, :] * sustained[None, :]
    mission = np.array([market.scenario.sector.effort.mission_gbp_per_outcome[k] for k in KINDS])[p.kind[pl.provider]]
    return (ratio * _share_reaching_provider(market))[:, None] * pay + mission[:, None]


def _sustainment_payments_expected(job_loss: np.ndarray, most: np.ndarray) -> np.ndarray:
    """[group] sustainment payments expected after an outcome: one a month while the job lasts, up to the most."""
    keep = 1.0 - job_loss
    return np.array([sum(k**m for m in range(1, int(n) + 1)) for k, n in zip(keep, most)])


def _share_reaching_provider(market: Market) -> np.ndarray:
    """[placement] share of the outcome pay on its contract that reaches the placement's provider."""
    pl, design = market.placements, market.scenario.design
    model = design.delivery.model
    holder = np.array([c.holder for c in market.contracts], dtype=np.int64)[pl.contract]
    own = holder == pl.provider
    if model == "alliance":
        return np.zeros(len(pl))  # members are paid their costs, whatever the outcomes
    if model == "prime":
        rules = design.delivery.prime
        passed = (1.0 - rules.management_fee) * outcome_risk_share(rules, pl.role)
        return np.where(own, 1.0, passed)
    if model == "consortium":
        return np.where(own | (holder >= 0), 1.0, 1.0 - design.delivery.consortium.coordination_cost)
    # Direct holders keep all of it; under outcomes finance investors manage providers to the outcome prices.
    return np.ones(len(pl))


def cost_borne(market: Market) -> np.ndarray:
    """[placement] share of its own delivery cost a provider bears."""
    pl, design = market.placements, market.scenario.design
    in_house = np.array([c.in_house for c in market.contracts], dtype=bool)[pl.contract]
    borne = np.ones(len(pl))
    if design.delivery.model == "alliance":
        borne[:] = 1.0 - design.delivery.alliance.commissioner_share
    return np.where(in_house, 0.0, borne)

