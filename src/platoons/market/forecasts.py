"""Volume and mix forecasts: what bidders expect a lot to receive, what the contract is let on,
the fixed staffing a winner commits to on its forecast, and the yearly reconciliation of volumes.

At letting, the commissioner publishes a forecast of each lot's referrals; the referrals that
arrive differ from it by `volume_bias` (negative: fewer than forecast, as in Transforming
Rehabilitation, where volumes came in 16-48% below what was expected at letting [NAO HC 676,
2017]). Each bidder's own forecast scatters around the published one with a mean-one lognormal
error (`volume_error`) and a mix error by need group (`mix_error`) that keeps its total. A bidder
prices on its forecast (fixed compliance spread over the referrals it expects) and the winner
hires staff for the caseload it forecast: `fixed_cost_share` of front-line cost is paid on those
planned places whether or not they fill, so a shortfall spreads fixed costs over fewer people and
the holder loses money. A contract with a `volume_band` is reconciled each year: when the year's
referrals fall outside the band around the contracted volume, the volume-related pay (block, fees,
attachment fees) is brought to what it would have been at the band's edge.
"""

from __future__ import annotations

import numpy as np

from platoons.ledger import Account, Kind, to_pence


def contracted(market) -> np.ndarray:
    """[lot, group] the monthly referrals each lot is let on: the published forecast."""
    return market.lots.referrals / (1.0 + market.scenario.design.bidding.volume_bias)


def bidders_forecasts(market, n_teams: int, lot_ids: np.ndarray) -> np.ndarray:
    """[team, lot being let, group] the monthly referrals each team expects each lot to receive."""
    bidding = market.scenario.design.bidding
    published = contracted(market)[lot_ids][None, :, :]
    shape = (n_teams, len(lot_ids))
    forecast = np.broadcast_to(published, shape + published.shape[-1:]).copy()
    if bidding.volume_error > 0:  # mean one: the error scatters forecasts without biasing them
        rng, s = market.rng["forecast"], bidding.volume_error
        forecast *= rng.lognormal(-s * s / 2, s, shape)[..., None]
    if bidding.mix_error > 0:
        rng, s = market.rng["forecast"], bidding.mix_error
        tilt = rng.lognormal(-s * s / 2, s, forecast.shape)
        total = forecast.sum(-1, keepdims=True)
        forecast = forecast * tilt
        forecast *= total / np.maximum(forecast.sum(-1, keepdims=True), 1e-12)
    return forecast


def staff_cost(market, served: np.ndarray, at_effort_gbp: np.ndarray) -> np.ndarray:
    """[placement] this month's front-line cost: the variable part for the people served (at the
    effort they were given, `at_effort_gbp` [placement, group]), and the
    fixed part for the caseload the holder planned (its places less headroom), or for the people
    served where more came than planned. Fixed costs fall on each provider's part of a lot once,
    spread over its cohorts by caseload."""
    from platoons.market.engine import _delivery_units

    pl, world = market.placements, market.world
    variable = at_effort_gbp.sum(axis=1)
    fixed_share = market.scenario.sector.dynamics.fixed_cost_share
    if fixed_share == 0 or len(pl) == 0:
        return variable
    full = (served * world.cost_to_serve_gbp).sum(axis=1)  # staff hired for the caseload cost the same whatever the effort
    live = pl.live(market)
    unit = _delivery_units(pl)
    places = np.zeros(unit.max() + 1)
    np.maximum.at(places, unit, pl.capacity * live)
    planned = places / (1.0 + market.scenario.sector.dynamics.capacity_headroom)
    people = served.sum(axis=1) * live
    unit_people = np.bincount(unit, weights=people, minlength=len(places))
    unit_cost = np.bincount(unit, weights=full * live, minlength=len(places))
    per_person = unit_cost / np.maximum(unit_people, 1e-12)
    # A part of a lot with nobody this month still pays for its places, at the mean cost to serve.
    per_person = np.where(unit_people > 0, per_person, float(world.cost_to_serve_gbp.mean()))
    fixed = fixed_share * np.maximum(planned, unit_people) * per_person  # [unit]
    spread = np.where(unit_people[unit] > 0, people / np.maximum(unit_people[unit], 1e-12), _first_row(unit, live))
    return (1.0 - fixed_share) * variable + fixed[unit] * spread


def _first_row(unit: np.ndarray, live: np.ndarray) -> np.ndarray:
    """[placement] 1 for the first live row of each unit, so a unit's cost lands once."""
    first = np.zeros(len(unit))
    rows = np.flatnonzero(live)
    _, index = np.unique(unit[rows], return_index=True)
    first[rows[index]] = 1.0
    return first


def note_volume_pay(market, by_group: dict) -> None:
    """Add this month's volume-related pay (block, fees, attachment) to each contract's year."""
    pl = market.placements
    pay = sum(by_group[kind].sum(axis=1) for kind in (Kind.BLOCK, Kind.FEE, Kind.ATTACHMENT))
    totals = np.bincount(pl.contract, weights=pay, minlength=len(market.contracts))
    for c in np.flatnonzero(totals):
        market.contracts[c].volume_pay_gbp += float(totals[c])


def reconcile(market) -> None:
    """At the year end, settle each contract's volume against its band, and start the next year.

    Referrals below (1 - band) of the contracted volume for the months it stood: the commissioner
    tops the year's volume-related pay up to what it would be at the band's floor; above (1 + band):
    the holder pays back what it got beyond the band's ceiling. No band: nothing is reconciled."""
    band = market.scenario.design.contract.volume_band
    pl = market.placements
    if band is not None:
        year_start = market.month - 11
        referred = np.bincount(pl.contract, weights=pl.referred_this_year.sum(axis=1), minlength=len(market.contracts))
        volume = contracted(market).sum(axis=1)
        for c, contract in enumerate(market.contracts):
            months = min(market.month + 1, contract.end_month) - max(contract.start_month, year_start)
            expected = float(volume[list(contract.lots)].sum()) * max(months, 0)
            amount = _reconciliation(contract.volume_pay_gbp, float(referred[c]), expected, band)
            if contract.in_house or amount == 0:
                continue
            if amount > 0:
                market.ledger.post(Account.COMMISSIONER, contract.account, to_pence(amount), Kind.RECONCILIATION)
            else:
                market.ledger.post(contract.account, Account.COMMISSIONER, to_pence(-amount), Kind.RECONCILIATION)
            market.count("reconciliation_gbp", amount)
    for contract in market.contracts:
        contract.volume_pay_gbp = 0.0


def _reconciliation(pay: float, referred: float, expected: float, band: float) -> float:
    """GBP the commissioner pays the holder (negative: the holder pays back) for a year's volume."""
    if referred <= 0 or expected <= 0 or pay <= 0:
        return 0.0
    floor, ceiling = (1.0 - band) * expected, (1.0 + band) * expected
    if referred < floor:
        return pay * (floor / referred - 1.0)
    if referred > ceiling:
        return -pay * (1.0 - ceiling / referred)
    return 0.0
