"""Before the tender: will the payment table cover the cost of delivery, and does it fit the budget?

For each need group the commissioner compares what the payment table pays for a referral at the
sector's typical performance with what delivering it typically costs, and counts the providers
whose own effectiveness and overheads let them cover their costs at list prices. When the design
asks for it, the whole payment table is first scaled so its expected yearly cost fits
`design.budget_gbp_per_year`. The rows go to the `affordability` run table; warnings read them.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from platoons.market.bidding import contract_multipliers, list_value_per_year
from platoons.market.prices import PAYMENT_TYPES, expected_path, income_per_referral
from platoons.market.state import Market
from platoons.population import monthly_hazard

TYPICAL_QUALITY = 0.8  # as in bidding.list_value_per_year: typical delivery loses a fifth of the effect


def fit_to_budget(market: Market) -> None:
    """Scale every price in the payment table by the budget over the table's expected yearly cost."""
    budget = market.scenario.design.budget_gbp_per_year
    if not (budget and market.scenario.design.scale_to_budget):
        return
    expected = float(list_value_per_year(market).sum())
    if expected <= 0:
        return
    factor = budget / expected
    market.prices = dataclasses.replace(market.prices, **{name: getattr(market.prices, name) * factor for name in PAYMENT_TYPES})
    market.count("payment_table_scale", factor)


def check(market: Market) -> None:
    """Record, for each need group, price against typical cost and the share of providers covered."""
    world, p, prices = market.world, market.providers, market.prices
    mult = contract_multipliers(market)
    bidders = p.active & ~p.in_house
    typical = world.no_support_hazard + monthly_hazard(p.effectiveness[bidders].mean(axis=0)) * TYPICAL_QUALITY
    path = expected_path(world, typical, prices)
    paid = income_per_referral(path, prices, mult) + mult[0] * prices.block
    overhead = float(np.median(p.overhead_rate[bidders])) if bidders.any() else 0.0
    cost = world.cost_to_serve_gbp * (1.0 + overhead) * path.caseload_months
    # Each provider's own view: its effectiveness and overheads, at list prices.
    own = expected_path(world, world.no_support_hazard + monthly_hazard(p.effectiveness[bidders]) * TYPICAL_QUALITY, prices)
    own_paid = income_per_referral(own, prices, mult) + mult[0] * prices.block
    own_cost = world.cost_to_serve_gbp * (1.0 + p.overhead_rate[bidders, None]) * own.caseload_months
    covered = (own_paid >= own_cost).mean(axis=0) if bidders.any() else np.zeros(len(world.group_names))
    referrals_per_year = world.referrals_per_month.sum(axis=0) * 12
    budget = market.scenario.design.budget_gbp_per_year
    for g, group in enumerate(world.group_names):
        market.affordability.append({
            "group": group, "paid_per_referral_gbp": float(paid[g]), "cost_per_referral_gbp": float(cost[g]),
            "covered_share": float(covered[g]), "referrals_per_year": float(referrals_per_year[g]),
            "expected_spend_gbp_per_year": float(paid[g] * referrals_per_year[g]),
            "budget_gbp_per_year": float(budget) if budget else math.nan,
        })
