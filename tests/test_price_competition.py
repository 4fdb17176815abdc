"""Price competition: a bidder shades its price above break-even by the first-price auction
equilibrium with the number of credible rivals it expects (platoons.market.competition)."""

import numpy as np

from platoons import simulate
from platoons.market import bidding, competition
from platoons.simulate import _start
from small_world import small

ONE_LEAD = 5e7  # in the small world only one provider's turnover meets this threshold
THREE_LEADS = 2e7  # and three meet this one


RIVALS = {"design.bidding.shading_rule": "rivals"}


def offers(changes):
    """Every team's offers for one national lot in month 0 of the small world."""
    market = _start(small({"design.lots.structure": "national", **RIVALS, **changes}), 1)
    terms = bidding.TenderTerms.of(market, False)
    bidding._refresh_optimism(market)
    teams = bidding.form_teams(market, terms)
    lots = np.arange(len(market.lots))
    return bidding._price(market, teams, lots, terms)


def test_the_equilibrium_bid_is_cost_plus_the_room_to_the_reserve_over_n():
    assert np.allclose(competition.shade(np.array([0.6, 0.6, 0.6, 1.2]), np.array([1, 2, 4, 3]), small(RIVALS).design.bidding),
                       [1.0, 0.8, 0.7, 1.2])


def test_a_lone_bidder_asks_the_list_price():
    lone = offers({"design.eligibility.min_turnover_gbp": ONE_LEAD})
    assert lone["credible"][0] == 1 and lone["expected_bidders"][0] == 1
    assert lone["ratio"][0, 0] == 1.0  # the reserve: list prices at typical performance


def test_three_bidders_price_at_cost_plus_a_third_of_the_room():
    changes = {"design.eligibility.min_turnover_gbp": THREE_LEADS, "design.delivery.model": "direct"}
    at_cost = offers({**changes, "design.bidding.shading_rule": "fixed", "design.bidding.price_shading": 0.0})["ratio"][:, 0]
    shaded = offers(changes)
    assert shaded["credible"][0] == 3
    priced = at_cost < 1
    # Each of the three credible bidders expects the other two and itself; a provider that cannot
    # bid (under the turnover threshold) would expect all three and itself.
    implied = (1.0 - at_cost[priced]) / (shaded["ratio"][priced, 0] - at_cost[priced])
    assert np.allclose(np.sort(implied)[:3], 3.0, rtol=0, atol=1e-9)
    assert np.allclose(np.sort(implied)[3:], 4.0, rtol=0, atol=1e-9)


def test_more_rivals_lower_the_prices_paid():
    def mean_price(threshold):
        runs = [simulate(small({"design.eligibility.min_turnover_gbp": threshold, "design.lots.structure": "national", **RIVALS}), seed)
                for seed in (1, 2, 3)]
        return np.mean([r.tables["contracts"]["price_ratio"][0] for r in runs])

    assert mean_price(ONE_LEAD) == 1.0
    assert mean_price(THREE_LEADS) < 0.9


def test_the_fixed_rule_ignores_the_rivals():
    fixed = small({"design.bidding.shading_rule": "fixed", "design.bidding.price_shading": 0.85}).design.bidding
    assert np.allclose(competition.shade(np.array([0.6, 0.6]), np.array([1, 10]), fixed), [0.94, 0.94])


def test_a_prime_prices_room_for_the_fee_it_keeps_on_what_it_passes_down():
    market = _start(small({"design.delivery.prime.management_fee": 0.2, **RIVALS}), 1)
    terms = bidding.TenderTerms.of(market, False)
    teams = bidding.form_teams(market, terms)
    passed = 1.0 - teams[0].shares[0].mean()
    assert passed > 0
    assert np.isclose(competition.chain_cost(market, teams[:1], np.array([[0.6]]))[0, 0], 0.6 / (1 - 0.2 * passed))
