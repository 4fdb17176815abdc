"""Price competition: how far above its cost a bidder prices, given how many credible rivals it expects.

Before pricing, every team sees a public signal of the competition for each lot: the number of
teams that are eligible, work in the lot's areas and could absorb it at list price (as the
expressions of interest a commissioner publishes would show). Each bidder then shades its price
above its break-even by the symmetric equilibrium of a first-price sealed-bid procurement auction
with independent private costs (Vickrey 1961; Krishna, Auction Theory, 2nd ed., 2010, ch. 2):
with n bidders whose costs are uniform on [c_low, r] (assumption: uniform costs) and r the most
the commissioner pays, a bidder with cost c bids

    b(c) = c + (r - c) / n

so a lone bidder asks the reserve and many bidders price close to cost. Prices here are ratios
to list price, so r is 1 (the list price) and c is the bidder's break-even ratio.
"""

from __future__ import annotations

import numpy as np

from platoons.market.diagnostics import small_teams


def credible_bidders(market, teams, lot_ids: np.ndarray, lot_presence: np.ndarray, list_value: np.ndarray, terms) -> np.ndarray:
    """[team, lot being let] whether each team is a credible bidder for each lot: its lead meets the
    tender's turnover and reserves thresholds, it works in the lot's areas (a regional team only in its
    region), it could absorb the lot at list price, and it may win the lot (small teams only for a
    set-aside lot). `list_value` is [team, lot being let] the lot's yearly value at list prices."""
    turnover, cash, limit, _ = _leads(market, teams)
    eligible = (turnover >= terms.min_turnover_gbp) & (cash >= terms.min_reserves_gbp)
    region = np.array([t.region for t in teams])
    in_region = (region[:, None] < 0) | (region[:, None] == market.lots.region[lot_ids][None, :])
    credible = eligible[:, None] & (lot_presence > 0) & in_region & (list_value <= limit[:, None])
    small = small_teams(market, teams)
    reserved = market.lots.set_aside[lot_ids] & terms.set_asides
    return credible & (small[:, None] | ~reserved[None, :])


def participation(market, teams, credible: np.ndarray, list_value: np.ndarray) -> np.ndarray:
    """[team] the chance a credible team contests any one lot it could bid for. A team spreads itself
    over the lots it is credible for: it contests at most as many as its bid budget pays for (at
    list-price bid costs) and as it could hold (the design's lots-per-provider cap, and what its
    turnover and management can absorb at the typical lot's list value), at most one. A team that
    can hold three of eighteen lots is a sixth of a rival in each."""
    design = market.scenario.design
    bidding = design.bidding
    _, cash, limit, writing = _leads(market, teams)
    cash = np.maximum(cash, 0.0)
    lots = credible.sum(axis=1)
    typical = np.where(credible, list_value, 0.0).sum(axis=1) / np.maximum(lots, 1)
    cost = (bidding.bid_cost_gbp + bidding.bid_cost_share * typical) * writing
    with np.errstate(divide="ignore", invalid="ignore"):
        affordable = np.where(cost > 0, np.floor(bidding.bid_budget_share * cash / cost), np.inf)
        holdable = np.where(typical > 0, np.floor(limit / typical), np.inf)
    holdable = np.maximum(holdable, 1.0)
    if design.lots.max_lots_per_provider is not None:
        holdable = np.minimum(holdable, design.lots.max_lots_per_provider)
    return np.clip(np.minimum(affordable, holdable) / np.maximum(lots, 1), 0.0, 1.0)


def _leads(market, teams) -> tuple[np.ndarray, ...]:
    """[team] the turnover, reserves (GBP) and absorbable yearly value of each team's lead (a
    consortium's members together), and its bid-writing cost factor."""
    from platoons.market.bidding import _absorbable_by

    p = market.providers
    reserves = market.ledger.balances[p.account] / 100.0
    lead = np.array([t.lead for t in teams])
    led = lead >= 0
    size = np.array([len(t.providers) for t in teams])
    members = np.concatenate([t.providers for t in teams]).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(size)[:-1]])
    total = lambda values: np.add.reduceat(values[members], starts)  # noqa: E731
    safe = np.maximum(lead, 0)
    turnover = np.where(led, p.turnover_gbp[safe], total(p.turnover_gbp))
    cash = np.where(led, reserves[safe], total(reserves))
    management = np.where(led, p.management[safe], total(p.management) / size)
    writing = (1.5 - total(p.management) / size) * total(p.bid_cost_factor) / size
    return turnover, cash, _absorbable_by(market, turnover, management), writing


def expected_bidders(credible: np.ndarray, chance: np.ndarray) -> np.ndarray:
    """[team, lot being let] the number of bidders each team expects, itself included: one plus the
    credible teams other than itself, each weighted by its chance of bidding for the lot."""
    weighted = credible * chance[:, None]
    return weighted.sum(axis=0)[None, :] - weighted + 1.0


def chain_cost(market, teams, break_even: np.ndarray) -> np.ndarray:
    """[team, lot being let] the lowest price ratio at which a prime's chain is paid its costs: the
    chain's break-even grossed up for the management fee the prime keeps on the referrals it passes
    down (else its subcontractors, paid less the fee, would decline to join); others' break-even."""
    if market.scenario.design.delivery.model != "prime":
        return break_even
    fee = market.scenario.design.delivery.prime.management_fee
    passed = np.array([1.0 - t.shares[0].mean() if len(t.providers) > 1 else 0.0 for t in teams])
    return break_even / (1.0 - fee * passed)[:, None]


def shade(break_even: np.ndarray, bidders: np.ndarray, bidding) -> np.ndarray:
    """The price ratio a bidder asks: the first-price equilibrium b(c) = c + (1 - c) / n over its
    break-even ratio c; or, under the fixed rule, a set share of the room below the list price
    whatever the rivals. A bidder that cannot break even at list price asks its break-even."""
    if bidding.shading_rule == "fixed":
        keep = bidding.price_shading
    else:
        keep = 1.0 / np.maximum(bidders, 1)
    return np.where(break_even < 1.0, break_even + keep * (1.0 - break_even), break_even)
