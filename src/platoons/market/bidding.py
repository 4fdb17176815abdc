"""The simulated tender: who bids, with which team, at what price and quality; then award().

A team is what bids: one provider (direct), a prime with its supply chain, or a consortium of
small providers. Each team prices each lot it can serve from its own, possibly optimistic,
expectation of a referral's path, and bids only where it is eligible, can pay the bid cost,
expects a margin, and can carry the payment-by-results exposure with its reserves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from platoons.ledger import Account, Kind, Role
from platoons.market import competition, diagnostics, forecasts, investors, routing
from platoons.market.prices import expected_path, income_by_month, income_per_referral, outcome_risk_share, worst_cash_position
from platoons.market import record
from platoons.market.state import Market
from platoons.population import monthly_hazard
from platoons.tender import AwardRules, Bid, Lot, award

EFFECT_FOR_FULL_QUALITY = 0.3  # assumption: a yearly extra outcome chance that scores full marks on effectiveness
PACKAGE_DISCOUNT = 0.03
QUALITY_WEIGHTS = (0.6, 0.4)  # assumption: effectiveness and management capacity in a bid's quality score
ROOTS = (1.0, 0.5)  # assumption: local presence score in a provider's home area and elsewhere in its region  # assumption: price cut a bidder offers for a bundle of lots


@dataclass
class Team:
    bidder_id: str
    lead: int  # provider index; -1 for a consortium
    providers: np.ndarray
    roles: np.ndarray
    shares: np.ndarray  # [member, group] share of a lot's referrals each member delivers
    region: int  # -1: may bid anywhere


@dataclass
class Win:
    team: Team
    lots: tuple[int, ...]
    price_ratio: float
    risk_fee_gbp: np.ndarray
    fee_per_referral_gbp: np.ndarray | None = None  # outcomes finance
    budget_gbp_per_year: float = 0.0  # alliance
    replacements: tuple[int, ...] = ()  # alliance
    bid_outcome_rate: np.ndarray | None = None  # [group] outcomes per referral the bid expected
    bid_spend_gbp: np.ndarray | None = None  # [group] delivery cost per referral the bid expected
    forecast_referrals: dict = field(default_factory=dict)  # lot -> [group] monthly referrals the bid planned for


# Who carries the payment-by-results exposure a bidder must be able to bear with its reserves.
PROVIDERS_CARRY_RISK = ("direct", "prime", "consortium")


@dataclass(frozen=True)
class TenderTerms:
    """The eligibility, set-asides and highest price of one tender (relaxed when the commissioner re-lets a lot nobody took)."""

    min_turnover_gbp: float
    min_reserves_gbp: float
    price_cap: float  # highest price as a share of list price
    set_asides: bool

    @classmethod
    def of(cls, market: Market, relaxed: bool) -> TenderTerms:
        design = market.scenario.design
        if relaxed:
            return cls(0.0, 0.0, design.stewardship.relax_price_cap, False)
        return cls(design.eligibility.min_turnover_gbp, design.eligibility.min_reserves_gbp, 1.0, True)


def let_contracts(market: Market, lot_ids: np.ndarray, relaxed: bool = False) -> list[Win]:
    """Run a tender for `lot_ids`: draw beliefs, form teams, price, award, charge bid costs; record why
    each lot was or was not let (platoons.market.diagnostics)."""
    terms = TenderTerms.of(market, relaxed)
    _refresh_optimism(market)
    teams = form_teams(market, terms)
    funnel = diagnostics.Funnel(teams, lot_ids)
    wins = _tender(market, teams, lot_ids, terms, funnel) if teams and len(lot_ids) else []
    diagnostics.record(market, funnel, wins, relaxed)
    return wins


def _tender(market: Market, teams: list[Team], lot_ids: np.ndarray, terms: TenderTerms, funnel) -> list[Win]:
    offers = _price(market, teams, lot_ids, terms)
    if market.scenario.design.delivery.model == "prime":
        declined = subcontractors_declining(market, teams, lot_ids, offers)
        if declined:
            earnings = routing.Earnings.of(market, np.arange(len(market.providers)), believed=True) if _routes_by_profit(market) else None
            teams = _without(market, teams, declined, earnings)
            funnel.teams = teams
            offers = _price(market, teams, lot_ids, terms)
    funnel.credible, funnel.expected_bidders = offers["credible"][lot_ids], offers["expected_bidders"][lot_ids]
    bids, bid_team, bid_lots, bid_ratio, carried = _choose_bids(market, teams, lot_ids, offers, terms, funnel)
    market.count("bids", len(bids))
    small = market.providers.is_small(market.small_max)
    market.count("bids_by_small", sum(1 for i in bid_team if small[teams[i].providers].all() and (teams[i].lead < 0 or small[teams[i].lead])))
    if not bids:
        return []
    rules = _rules(market, teams, offers, carried)
    if market.scenario.design.delivery.model == "alliance":
        return _select_alliances(market, teams, bids, bid_team, bid_lots, bid_ratio, offers, rules, terms)
    lots = [Lot(str(l), float(offers["reserve"][l] * terms.price_cap), bool(market.lots.set_aside[l]) and terms.set_asides) for l in lot_ids]
    result = award(lots, bids, rules)
    won = set(result.winning_bids)
    wins = []
    for i, bid in enumerate(bids):
        if bid.bid_id in won:
            t = bid_team[i]
            fee = offers["cost"][t] * (1.0 + market.scenario.design.delivery.outcomes_finance.investor_margin)
            fee = fee if market.scenario.design.delivery.model == "outcomes_finance" else None
            planned = {int(l): offers["forecast"][t, j] for j, l in enumerate(lot_ids) if int(l) in bid_lots[i]}
            wins.append(Win(teams[t], bid_lots[i], bid_ratio[i], offers["risk_fee"][t] * bid_ratio[i], fee,
                            bid_outcome_rate=offers["believed_rate"][t], bid_spend_gbp=offers["cost"][t], forecast_referrals=planned))
    record.bids(market, [sum(offers["reserve"][l] for l in lots) for lots in bid_lots], [bid.bidder_id for bid in bids],
                [_band_of(market, teams[t]) for t in bid_team], [bid.bid_id in won for bid in bids])
    return wins


def _band_of(market: Market, team: Team) -> str:
    """The bidder's size band: its lead's, or 'consortium' for a team without one."""
    if team.lead < 0:
        return "consortium"
    from platoons.population import SIZE_BANDS

    return SIZE_BANDS[int(market.providers.size_band(market.scenario.sector.size_band_edges_gbp)[team.lead])]


def _select_alliances(market, teams, bids, bid_team, bid_lots, bid_ratio, offers, rules, terms) -> list[Win]:
    """For each lot the commissioner picks the best-quality bidders as alliance members.

    Alliance partners are chosen on quality, not price; each provider joins at most its cap of
    lots; the next in line replace members that fail, without a new tender.
    """
    rules_alliance = market.scenario.design.delivery.alliance
    p = market.providers
    joined: dict[str, int] = {}
    wins = []
    by_lot: dict[int, list[int]] = {}
    for i, lots in enumerate(bid_lots):
        if len(lots) == 1:
            by_lot.setdefault(lots[0], []).append(i)
    for lot, candidates in sorted(by_lot.items()):
        ranked = sorted(candidates, key=lambda i: (-bids[i].quality, bid_ratio[i], i))
        reserved = market.lots.set_aside[lot] and terms.set_asides
        ranked = [i for i in ranked if not reserved or bids[i].bidder_id in rules.small_bidders]
        chosen = []
        for i in ranked:
            bidder = bids[i].bidder_id
            if len(chosen) < rules_alliance.members and joined.get(bidder, 0) < rules.max_lots.get(bidder, 1):
                chosen.append(i)
                joined[bidder] = joined.get(bidder, 0) + 1
        if not chosen:
            continue
        members = np.array([teams[bid_team[i]].lead for i in chosen], dtype=np.int64)
        team = Team(f"alliance-l{lot}", -1, members, np.full(len(members), Role.ALLIANCE, np.int8),
                    allocate_by_need(p, members), -1)
        ratio = float(np.mean([bid_ratio[i] for i in chosen]))
        # The pooled budget is what the members expect the work to cost (open book), plus the margin:
        # each group's referrals at the cost per referral of the members that will take them.
        cost = offers["cost"][[bid_team[i] for i in chosen]]  # [member, group] per referral
        expected = (team.shares * cost).sum(axis=0) @ market.lots.referrals[lot] * 12
        budget = (1 + rules_alliance.budget_margin) * float(expected)
        spare = tuple(int(teams[bid_team[i]].lead) for i in ranked if i not in chosen)
        wins.append(Win(team, (lot,), ratio, np.zeros(len(market.world.group_names)), None, budget, spare))
    return wins


def allocate_by_need(p, members: np.ndarray) -> np.ndarray:
    """Shares of each group's referrals: members better with a group, and bigger, take more of it."""
    weight = p.effectiveness[members] * np.sqrt(p.turnover_gbp[members])[:, None]
    return weight / np.maximum(weight.sum(axis=0, keepdims=True), 1e-12)


def form_teams(market: Market, terms: TenderTerms) -> list[Team]:
    model = market.scenario.design.delivery.model
    if model == "prime":
        return _prime_teams(market, terms)
    if model == "consortium":
        return _consortia(market)
    p = market.providers
    groups = len(market.world.group_names)
    return [
        Team(f"p{i}", int(i), np.array([i]), np.array([Role.DIRECT]), np.ones((1, groups)), -1)
        for i in np.flatnonzero(p.active & ~p.in_house)
    ]


def _prime_teams(market: Market, terms: TenderTerms) -> list[Team]:
    """Each provider that can lead a region's contract bids there as a prime with a supply chain
    drawn from the providers present in the region that cannot lead one, whatever the threshold."""
    rules = market.scenario.design.delivery.prime
    p, w = market.providers, market.world
    eligible = p.active & ~p.in_house & (p.turnover_gbp >= terms.min_turnover_gbp)
    absorbable = _absorbable_by(market, p.turnover_gbp, p.management)
    value = list_value_per_year(market)
    presence = market.presence()
    earnings = routing.Earnings.of(market, np.arange(len(p)), believed=True) if _routes_by_profit(market) else None
    teams = []
    for region in np.unique(market.lots.region):
        areas = w.area_region == region if region >= 0 else np.ones(len(w.area_names), bool)
        present = p.active & ~p.in_house & presence[:, areas].any(axis=1)
        smallest_lot = value[market.lots.region == region].min()
        leads = eligible & present & (absorbable >= smallest_lot)
        candidates = np.flatnonzero(present & ~leads)
        tier1, tier2 = _supply_chain(p, candidates, rules.tier1_per_contract, rules.tier2_per_contract, np.flatnonzero(areas))
        roles = np.array([Role.PRIME] + [Role.TIER1] * len(tier1) + [Role.TIER2] * len(tier2), dtype=np.int8)
        subs = np.concatenate([tier1, tier2]).astype(np.int64)
        primes = np.flatnonzero(leads)
        for prime, shares in zip(primes, _chain_shares(market, primes, subs, roles, int(region), earnings)):
            teams.append(Team(f"p{prime}", int(prime), np.concatenate([[prime], subs]).astype(np.int64), roles, shares, int(region)))
    return teams


def _chain_shares(market: Market, primes: np.ndarray, subs: np.ndarray, roles: np.ndarray, region: int, earnings) -> list[np.ndarray]:
    """For each prime of a region naming `subs`, the shares [member, group] its bid plans: fixed by
    the referral policy, or by its own profit for a typical lot of the region (platoons.market.routing)."""
    if not _routes_by_profit(market):
        return [_prime_shares(market, roles)] * len(primes)
    in_region = market.lots.region == region if region >= 0 else np.ones(len(market.lots), bool)
    return routing.plan(market, primes, subs, roles[1:], market.lots.referrals[in_region].mean(axis=0), earnings, int(in_region.sum()))


def contract_multipliers(market: Market) -> np.ndarray:
    """Mean payment-table multipliers over a contract let now: from the programme's current year when
    the table follows programme years, else from the contract's own first year."""
    months = market.scenario.design.contract.length_months
    start = market.month if market.scenario.design.transitions.taper_by == "programme_year" else 0
    return market.prices.mean_multipliers(months, start)


def list_value_per_year(market: Market) -> np.ndarray:
    """[lot] what each lot pays in a year at list prices and the sector's typical performance."""
    p, world = market.providers, market.world
    months = market.scenario.design.contract.length_months
    mult = contract_multipliers(market)
    typical = world.no_support_hazard + monthly_hazard(p.effectiveness[p.active].mean(axis=0)) * 0.8
    path = expected_path(world, typical, market.prices)
    per_referral = income_per_referral(path, market.prices, mult) + mult[0] * market.prices.block
    return forecasts.contracted(market) @ per_referral * 12


def _supply_chain(p, candidates: np.ndarray, n_tier1: int, n_tier2: int, areas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tier 1: the largest end-to-end providers. Tier 2: the specialists that raise the bid's score
    most, named to win: for each need group the one the bid can claim is best with it (hardest group
    first), then in each of the region's areas the one rooted there that is best with the hardest
    group (local presence), then the rest best with the hardest group."""
    by_size = candidates[np.lexsort((candidates, -p.turnover_gbp[candidates]))]
    tier1 = by_size[:n_tier1]
    rest = np.setdiff1d(candidates, tier1)
    if len(rest) == 0 or n_tier2 == 0:
        return tier1, rest[:0]
    by_skill = rest[np.lexsort((rest, -p.effectiveness[rest, -1]))]
    claimed = p.effectiveness[rest] * (1.0 + p.optimism[rest, None])
    best_by_group = rest[np.argmax(claimed, axis=0)][::-1]
    rooted = [by_skill[p.home_area[by_skill] == area][:1] for area in areas]
    picks = np.concatenate([best_by_group, *rooted, by_skill])
    _, first = np.unique(picks, return_index=True)
    return tier1, picks[np.sort(first)][:n_tier2]


def subcontractors_declining(market: Market, teams: list[Team], lot_ids: np.ndarray, offers) -> set[tuple[int, int]]:
    """(region, provider) pairs of subcontractors that will not join their region's supply chains.

    Each subcontractor looks once at everything it would be committed to: every lot being let in
    each region whose chains name it (for one lot only one prime can win, so each lot counts once).
    On its own terms (the primes' price less the management fee, the outcome risk its tier
    carries, its own effectiveness, costs and compliance) it joins only if it expects not to lose
    money on any of those lots and its reserves can carry its deepest cash positions summed over them.
    """
    chains = {}
    for region in {team.region for team in teams}:
        # Every prime of a region names the same subcontractors; each weighs the most referrals
        # any of the region's primes plans to send it (under profit routing, perhaps none).
        rivals = [team for team in teams if team.region == region]
        first = rivals[0]
        chains[region] = Team(first.bidder_id, first.lead, first.providers, first.roles,
                              np.max([team.shares for team in rivals], axis=0), region)
    rows, pairs = [], []  # (team, row in team); (row index, lot, primes' median price ratio)
    for region, team in chains.items():
        in_region = [t for t, other in enumerate(teams) if other.region == region]
        for lot in lot_ids[market.lots.region[lot_ids] == region] if region >= 0 else lot_ids:
            ratios = offers["ratio"][in_region, lot]
            ratios = ratios[np.isfinite(ratios) & (ratios <= 1.0)]
            if len(ratios) == 0:
                continue  # no prime can bid for the lot: nothing to commit to
            pairs.extend((len(rows) + r, int(lot), float(np.median(ratios))) for r in range(len(team.providers) - 1))
        rows.extend((team, r) for r in range(1, len(team.providers)))
    if not pairs:
        return set()
    cash, gain = _subcontract_terms(market, rows, np.array(pairs))
    subs = np.array([int(team.providers[r]) for team, r in rows])
    row_of_pair = np.array(pairs)[:, 0].astype(np.int64)
    exposure = np.bincount(subs[row_of_pair], weights=cash, minlength=len(market.providers))
    worst = np.full(len(market.providers), np.inf)
    np.minimum.at(worst, subs[row_of_pair], gain)
    reserves = np.maximum(market.ledger.balances[market.providers.account] / 100.0, 0.0)
    unwilling = (worst < 0) | (exposure > market.scenario.design.bidding.risk_appetite * reserves)
    market.count("subcontractors_declined", int(unwilling[np.unique(subs)].sum()))
    return {(team.region, int(team.providers[r])) for team, r in rows if unwilling[team.providers[r]]}


def _subcontract_terms(market: Market, rows: list[tuple[Team, int]], pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each (row, lot, price ratio) pair: the subcontractor's deepest cash position (as a positive
    amount) and its expected monthly profit, both at a steady monthly inflow of its referrals."""
    scenario, world, p = market.scenario, market.world, market.providers
    rules, dynamics = scenario.design.delivery.prime, scenario.sector.dynamics
    subs = np.array([int(team.providers[r]) for team, r in rows])
    roles = np.array([team.roles[r] for team, r in rows], dtype=np.int8)
    shares = np.array([team.shares[r] for team, r in rows])  # [row, group]
    months = scenario.design.contract.length_months
    mult = contract_multipliers(market)
    at_risk = outcome_risk_share(rules, roles)[:, None, None]
    quality = 1.0 - dynamics.staff_turnover_effect * p.staff_turnover[subs]
    hazard = world.no_support_hazard + monthly_hazard(p.effectiveness[subs] * (1.0 + p.optimism[subs, None])) * quality[:, None]
    path = expected_path(world, hazard, market.prices)
    flows = income_by_month(path, market.prices, mult)  # [row, group, month]
    flows[..., 0] += mult[0] * market.prices.block
    outcome_flows = (mult[3] * market.prices.outcome[:, None] * path.outcomes
                     + mult[4] * market.prices.sustainment[:, None] * path.sustainment_payments)
    # Outcome pay it does not risk comes as a fee per referral at the expected outcome pay.
    paid = flows - (1.0 - at_risk) * outcome_flows
    paid[..., 0] += ((1.0 - at_risk) * outcome_flows).sum(axis=-1)
    if rules.pass_down == "outcome_only":
        paid -= flows - outcome_flows  # the prime keeps attachment fees, service fees and block payments
    cost = world.cost_to_serve_gbp[:, None] * (1.0 + p.overhead_rate[subs, None, None]) * path.on_caseload
    row, lot, ratio = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64), pairs[:, 2]
    referrals = market.lots.referrals[lot] * shares[row]  # [pair, group] per month
    net = (ratio * (1.0 - rules.management_fee))[:, None] * np.einsum("pg,pgm->pm", referrals, paid[row])
    net -= np.einsum("pg,pgm->pm", referrals, cost[row])
    # Compliance falls only on a subcontractor sent people: named and sent none, it neither gains nor loses.
    net[:, 0] -= dynamics.compliance_gbp_per_month * (1.5 - p.management[subs[row]]) * (referrals.sum(axis=1) > 0)
    return -worst_cash_position(net, months), net.sum(axis=1)


def _routes_by_profit(market: Market) -> bool:
    return market.scenario.design.delivery.prime.referral_policy == "profit"


def _without(market: Market, teams: list[Team], declined: set[tuple[int, int]], earnings) -> list[Team]:
    """The teams without the subcontractors that declined, their shares planned again; every prime
    of a region names the same chain, so each region's chains are planned together."""
    by_region: dict[int, list[int]] = {}
    for t, team in enumerate(teams):
        by_region.setdefault(team.region, []).append(t)
    out = list(teams)
    for region, members in by_region.items():
        first = teams[members[0]]
        keep = np.array([row == 0 or (region, int(q)) not in declined for row, q in enumerate(first.providers)])
        if keep.all():
            continue
        roles, subs = first.roles[keep], first.providers[keep][1:]
        primes = np.array([teams[t].lead for t in members], dtype=np.int64)
        for t, shares in zip(members, _chain_shares(market, primes, subs, roles, region, earnings)):
            team = teams[t]
            out[t] = Team(team.bidder_id, team.lead, np.concatenate([[team.lead], subs]).astype(np.int64), roles, shares, region)
    return out


def _prime_shares(market: Market, roles: np.ndarray) -> np.ndarray:
    n1, n2 = int((roles == Role.TIER1).sum()), int((roles == Role.TIER2).sum())
    table = _prime_share_table(market.scenario.design.delivery.prime, tuple(market.world.no_support_hazard), n1, n2)
    shares = np.empty((len(roles), table.shape[1]))
    shares[0] = table[0]
    shares[roles == Role.TIER1] = table[1]
    shares[roles == Role.TIER2] = table[2]
    return shares


@lru_cache(maxsize=256)
def _prime_share_table(rules, no_support_hazard: tuple[float, ...], n1: int, n2: int) -> np.ndarray:
    """Shares of each group for the prime, one tier-1 and one tier-2 subcontractor [3, group]."""
    groups = len(no_support_hazard)
    tier2 = rules.tier2_share if n2 else 0.0
    if rules.referral_policy == "starve_tier2":
        tier2 *= rules.starve_factor
    tier1 = (1.0 - rules.in_house_share - rules.tier2_share) if n1 else 0.0
    in_house = 1.0 - tier1 - tier2
    # Under `cream` the prime keeps more of the easiest group and passes on more of the hardest;
    # groups run from easiest (highest no-support chance) to hardest.
    ease = np.argsort(np.argsort(-np.asarray(no_support_hazard), kind="stable"), kind="stable")
    tilt = 1.0 - 2.0 * ease / max(groups - 1, 1) if rules.referral_policy == "cream" else np.zeros(groups)
    keep = np.clip(in_house * (1.0 + rules.cream_strength * tilt), 0.0, 1.0)
    passed = 1.0 - keep
    outside = tier1 + tier2
    table = np.zeros((3, groups))
    table[0] = keep if outside > 0 else 1.0
    if outside > 0:
        table[1] = passed * tier1 / outside / max(n1, 1)
        table[2] = passed * tier2 / outside / max(n2, 1)
    table.setflags(write=False)
    return table


def _consortia(market: Market) -> list[Team]:
    """Providers too small to bid alone band together by region, largest first, in consortia of up to `members`."""
    rules = market.scenario.design.delivery.consortium
    p, w = market.providers, market.world
    small = p.active & ~p.in_house & (p.turnover_gbp < rules.max_member_turnover_gbp)
    groups = len(w.group_names)
    teams = []
    for region in range(len(w.region_names)):
        local = np.flatnonzero(small & (p.home_region == region) & (p.reach < 2))
        local = local[np.lexsort((local, -p.turnover_gbp[local]))]
        for k, start in enumerate(range(0, len(local) - 1, rules.members)):
            members = local[start : start + rules.members]
            if len(members) < 2:
                continue
            weight = p.turnover_gbp[members] / p.turnover_gbp[members].sum()
            shares = np.repeat(weight[:, None], groups, axis=1)
            roles = np.full(len(members), Role.MEMBER, dtype=np.int8)
            teams.append(Team(f"c{region}-{k}", -1, members.astype(np.int64), roles, shares, region))
    return teams


def _refresh_optimism(market: Market) -> None:
    """Newcomers draw their optimism; those who have delivered have learned half of the truth."""
    p = market.providers
    bidding = market.scenario.design.bidding
    fresh = p.experience_years == 0
    draws = market.rng["tender"].normal(bidding.optimism, bidding.optimism_spread, len(p))
    p.optimism = np.where(fresh, np.maximum(draws, 0.0), p.optimism * 0.5)


def _price(market: Market, teams: list[Team], lot_ids: np.ndarray, terms: TenderTerms) -> dict[str, np.ndarray]:
    """Every team's view of the lots being let: price ratio, quality, exposure and annual value.

    Arrays span all lots so they can be indexed by lot; lots not being let are left unpriced.
    """
    scenario, world, p = market.scenario, market.world, market.providers
    design, dynamics = scenario.design, scenario.sector.dynamics
    months = design.contract.length_months
    mult = contract_multipliers(market)
    referrals = forecasts.contracted(market)[lot_ids]  # [lot being let, group] the published forecast
    forecast = forecasts.bidders_forecasts(market, len(teams), lot_ids)  # [team, lot being let, group] each team's own
    n_groups = len(world.group_names)

    # One row per team member, summed per team: the teams' members laid end to end.
    members = Members(teams)
    m = members.provider
    consortium = np.array([t.lead < 0 for t in teams])
    friction = np.maximum(1.0 - design.delivery.consortium.friction_per_member * members.size, 0.0)
    quality = (1.0 - dynamics.staff_turnover_effect * p.staff_turnover[m]) * np.where(consortium, friction, 1.0)[members.team]
    effect = monthly_hazard(p.effectiveness[m] * (1.0 + p.optimism[m, None])) * quality[:, None]
    believed = members.total(members.shares * effect)
    cost_rate = world.cost_to_serve_gbp * members.total(members.shares * (1.0 + p.overhead_rate[m, None]))
    compliance = members.total(dynamics.compliance_gbp_per_month * (1.5 - p.management[m]))
    coordination = np.where(consortium, design.delivery.consortium.coordination_cost, 0.0)
    leads = np.array([max(t.lead, 0) for t in teams])
    management = np.where(consortium, members.total(p.management[m]) / members.size, p.management[leads])
    risk_fee = np.zeros((len(teams), n_groups))
    hazard = world.no_support_hazard[None, :] + believed
    path = expected_path(world, hazard, market.prices)
    income = income_per_referral(path, market.prices, mult) + mult[0] * market.prices.block  # [team, group]
    cost = cost_rate * path.caseload_months
    if design.delivery.model == "prime":
        # The part of outcome pay not passed down becomes a fee per referral at the prime's expectation.
        outcome_pay = mult[3] * market.prices.outcome * path.outcomes.sum(-1) + mult[4] * market.prices.sustainment * path.sustainment_payments.sum(-1)
        risk_fee = outcome_pay  # expected outcome pay per referral; a subcontractor gets the share it does not risk

    income_lot = np.einsum("tg,tlg->tl", income, forecast)  # [team, lot] per month at list prices, on its forecast
    cost_lot = np.einsum("tg,tlg->tl", cost, forecast) + compliance[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        break_even = cost_lot * (1.0 + design.bidding.target_margin) / (income_lot * (1.0 - coordination[:, None]))
    # The commissioner's reserve: list prices at the sector's typical performance, over the contract.
    reserve = list_value_per_year(market)[lot_ids] / 12 * months

    believed_yearly = members.total(members.shares * p.effectiveness[m] * (1.0 + p.optimism[m, None])).mean(axis=1)
    if design.award.chain_scored_as == "named":
        believed_yearly = _named_chain_effect(members, p)
    effect_score = np.minimum(1.0, believed_yearly / EFFECT_FOR_FULL_QUALITY)
    covers = (market.lots.area_share[lot_ids] > 0).T.astype(float)  # [area, lot being let]
    per_lot = np.maximum(covers.sum(axis=0), 1.0)
    presence = market.presence().astype(float)
    rooted = _rootedness(market)
    lot_presence = members.most(presence[m]) @ covers / per_lot
    lot_roots = members.most(rooted[m]) @ covers / per_lot
    credible = competition.credible_bidders(market, teams, lot_ids, lot_presence, income_lot * 12, terms)
    bidders = competition.expected_bidders(credible, competition.participation(market, teams, credible, income_lot * 12))
    ratio = _asking_ratio(market, teams, break_even, bidders, cost_lot, income_lot)
    funded = _funded(market, lot_ids, referrals, cost, path.outcomes.sum(axis=-1))
    quality = np.clip(QUALITY_WEIGHTS[0] * effect_score[:, None] + QUALITY_WEIGHTS[1] * management[:, None]
                      + design.award.local_presence_weight * lot_roots, 0.0, 1.0)
    exposure = _exposure(market, path, cost_rate, ratio * (1 - coordination)[:, None], forecast, (lot_presence > 0) & (ratio <= terms.price_cap))
    by_lot = {
        "ratio": (ratio, np.inf), "quality": (quality, 0.0), "exposure": (exposure, np.inf),
        "annual_value": (np.minimum(ratio, terms.price_cap) * income_lot * 12, 0.0), "lot_presence": (lot_presence, 0.0),
        "funded": (funded, False),
    }
    offers = {name: _spread(values, lot_ids, len(market.lots), empty) for name, (values, empty) in by_lot.items()}
    offers["reserve"] = _spread(reserve[None, :], lot_ids, len(market.lots), 0.0)[0]
    offers["credible"] = _spread(credible.sum(axis=0)[None, :].astype(float), lot_ids, len(market.lots), 0.0)[0]
    offers["expected_bidders"] = _spread(bidders.mean(axis=0)[None, :], lot_ids, len(market.lots), 0.0)[0]
    return {**offers, "risk_fee": risk_fee, "cost": cost, "believed_rate": path.outcomes.sum(axis=-1), "forecast": forecast}


def _asking_ratio(market: Market, teams: list[Team], break_even: np.ndarray, bidders: np.ndarray, cost_lot: np.ndarray, income_lot: np.ndarray) -> np.ndarray:
    """[team, lot being let] the price each team asks, as a share of list price: its break-even shaded up by
    the competition it expects (platoons.market.competition); under outcomes finance, the investors' fee."""
    design = market.scenario.design
    if design.delivery.model == "outcomes_finance":
        # Investors pay providers cost plus an agreed mark-up; the outcome prices are theirs to earn.
        with np.errstate(divide="ignore", invalid="ignore"):
            return cost_lot * (1.0 + design.delivery.outcomes_finance.investor_margin) / income_lot
    if design.bidding.shading_rule == "rivals":
        break_even = competition.chain_cost(market, teams, break_even)
    return competition.shade(break_even, bidders, design.bidding)


def _funded(market: Market, lot_ids: np.ndarray, referrals: np.ndarray, cost: np.ndarray, believed_rate: np.ndarray) -> np.ndarray:
    """[team, lot being let] whether the team has a backer: investors under outcomes finance
    (platoons.market.investors), its own reserves otherwise."""
    rules = market.scenario.design.delivery.outcomes_finance
    if market.scenario.design.delivery.model != "outcomes_finance":
        return np.ones((len(cost), len(lot_ids)), bool)
    return investors.willing(market, lot_ids, referrals, cost * (1.0 + rules.investor_margin), believed_rate)


def _exposure(market: Market, path, cost_rate: np.ndarray, paid_ratio: np.ndarray, referrals: np.ndarray,
              feasible: np.ndarray) -> np.ndarray:
    """[team, lot being let] payment-by-results exposure: the deepest cash position of a lot's steady
    monthly inflow (`referrals` [team, lot being let, group], as the team forecasts it) at the team's price,
    worked out only where the team could bid (inf elsewhere)."""
    months = market.scenario.design.contract.length_months
    mult = contract_multipliers(market)
    flows = income_by_month(path, market.prices, mult)
    flows[..., 0] += mult[0] * market.prices.block
    team, lot = np.nonzero(feasible)
    # Net cash month by month after referral, per (team, lot): income at the team's price less cost.
    income = np.einsum("pg,pgm->pm", referrals[team, lot], flows[team])
    cost = np.einsum("pg,pgm->pm", referrals[team, lot], cost_rate[team, :, None] * path.on_caseload[team])
    exposure = np.full(feasible.shape, np.inf)
    exposure[team, lot] = -worst_cash_position(paid_ratio[team, lot, None] * income - cost, months)
    return exposure


def _spread(values: np.ndarray, lot_ids: np.ndarray, n_lots: int, empty: float) -> np.ndarray:
    """[team, lot being let] values placed in a [team, lot] array."""
    full = np.full((values.shape[0], n_lots), empty)
    full[:, lot_ids] = values
    return full


def _named_chain_effect(members: Members, p) -> np.ndarray:
    """[team] the yearly effect the award credits when it scores the supply chain as named: each need
    group at the best effectiveness the team's members claim, whatever the shares its bid plans."""
    return members.most(p.effectiveness[members.provider] * (1.0 + p.optimism[members.provider, None])).mean(axis=1)


def _rootedness(market: Market) -> np.ndarray:
    """[provider, area] how rooted a provider is in an area, for the award's local presence weight.

    A provider is rooted in its home area, half so in the rest of its region if it works there,
    and national providers nowhere; growing does not uproot a provider from home.
    """
    p, w = market.providers, market.world
    home = p.home_area[:, None] == np.arange(len(w.area_names))[None, :]
    region = (p.reach == 1)[:, None] & (p.home_region[:, None] == w.area_region[None, :])
    return np.where(p.reach[:, None] == 2, 0.0, np.maximum(home * ROOTS[0], region * ROOTS[1]))


class Members:
    """Every team's members end to end, to sum or take maxima per team without a loop."""

    def __init__(self, teams: list[Team]):
        self.size = np.array([len(t.providers) for t in teams])
        self.starts = np.concatenate([[0], np.cumsum(self.size)[:-1]])
        self.provider = np.concatenate([t.providers for t in teams]).astype(np.int64)
        self.shares = np.concatenate([t.shares for t in teams])
        self.team = np.repeat(np.arange(len(teams)), self.size)

    def total(self, values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, self.starts, axis=0)

    def most(self, values: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(values, self.starts, axis=0)


def _choose_bids(market: Market, teams: list[Team], lot_ids: np.ndarray, offers: dict[str, np.ndarray], terms: TenderTerms,
                 funnel: diagnostics.Funnel):
    """Each team bids for its most profitable feasible lots until its bid budget runs out; `funnel`
    records which tests each team passed for each lot. Also returns, by bidder, how many of the lots
    it bid for its reserves can carry at once: each lot's exposure fits them alone, but one purse
    funds the working capital of every lot it wins."""
    design, p, ledger = market.scenario.design, market.providers, market.ledger
    bidding = design.bidding
    reserves = ledger.balances[p.account] / 100.0
    bids: list[Bid] = []
    bid_team, bid_lots, bid_ratio = [], [], []
    charges: dict[int, int] = {}  # bid costs in pence by provider, posted together
    largest: dict[str, float] = {}  # by bidder: the largest exposure among the lots it bid for
    purse: dict[str, float] = {}  # by bidder: the exposure its reserves bear
    for t, team in enumerate(teams):
        m = team.providers
        lead_turnover = p.turnover_gbp[team.lead] if team.lead >= 0 else p.turnover_gbp[m].sum()
        lead_reserves = reserves[team.lead] if team.lead >= 0 else reserves[m].sum()
        limit = _absorbable(market, team, lead_turnover)
        carries_risk = design.delivery.model in PROVIDERS_CARRY_RISK
        bearable = bidding.risk_appetite * max(lead_reserves, 0.0)
        turnover_ok = lead_turnover >= terms.min_turnover_gbp
        eligible = turnover_ok and lead_reserves >= terms.min_reserves_gbp
        funnel.team(t, turnover=float(lead_turnover), reserves=float(lead_reserves), limit=float(limit),
                    bearable=float(bearable), turnover_ok=bool(turnover_ok), eligible=bool(eligible))
        if not eligible:
            continue
        ratio = offers["ratio"][t, lot_ids]
        value = offers["annual_value"][t, lot_ids]
        present = offers["lot_presence"][t, lot_ids] > 0
        if team.region >= 0:
            present &= market.lots.region[lot_ids] == team.region
        margin = ratio <= terms.price_cap
        # An alliance member delivers its share of a lot, not the whole of it.
        portion = 1.0 / design.delivery.alliance.members if design.delivery.model == "alliance" else 1.0
        absorb = value * portion <= limit
        carried = _exposure_share(market, team) if carries_risk else 0.0
        # A lead passing all risk down carries none of it, even of a lot it could not price.
        exposure = offers["exposure"][t, lot_ids] * carried if carried > 0 else np.zeros(len(lot_ids))
        risk = exposure <= bearable
        funded = offers["funded"][t, lot_ids].astype(bool)
        ok = present & margin & funded & absorb & risk
        writing = (1.5 - p.management[m].mean()) * p.bid_cost_factor[m].mean()
        cost = (bidding.bid_cost_gbp + bidding.bid_cost_share * value) * writing
        profit = value * (1.0 - ratio)
        budget = bidding.bid_budget_share * max(lead_reserves, 0.0)
        spent = 0.0
        chosen = []
        for j in np.lexsort((lot_ids, -profit)):
            if ok[j] and spent + cost[j] <= budget:
                spent += cost[j]
                chosen.append(j)
        funnel.stages(t, present, absorb, margin, funded, risk, np.isin(np.arange(len(lot_ids)), chosen), exposure, ratio)
        if chosen and exposure[chosen].max() > 0:
            largest[team.bidder_id] = max(largest.get(team.bidder_id, 0.0), float(exposure[chosen].max()))
            purse[team.bidder_id] = bearable
        for j in chosen:
            lot = int(lot_ids[j])
            bids.append(Bid(f"{team.bidder_id}-r{team.region}-l{lot}", team.bidder_id, (str(lot),),
                            float(max(ratio[j], 0.0) * offers["reserve"][lot]), float(offers["quality"][t, lot])))
            bid_team.append(t), bid_lots.append((lot,)), bid_ratio.append(float(max(ratio[j], 0.0)))
        _charge_bid_costs(market, team, float(spent), charges)
        if design.lots.package_bids and len(chosen) >= 2:
            _add_packages(market, t, team, lot_ids, chosen, ratio, offers, bids, bid_team, bid_lots, bid_ratio)
    if charges:
        payers = np.fromiter(charges, dtype=np.int64)
        market.ledger.post(p.account[payers], Account.BID_COSTS, np.fromiter(charges.values(), dtype=np.int64), Kind.BID)
    carried = {bidder: max(1, int(purse[bidder] // largest[bidder])) for bidder in largest}
    return bids, bid_team, bid_lots, bid_ratio, carried


def _add_packages(market, t, team, lot_ids, chosen, ratio, offers, bids, bid_team, bid_lots, bid_ratio) -> None:
    """A bundle of the lots a team bid for in each region, at a small discount for scale."""
    regions = market.lots.region[lot_ids[chosen]]
    for region in np.unique(regions):
        picked = [int(lot_ids[j]) for j, r in zip(chosen, regions) if r == region]
        if len(picked) < 2:
            continue
        chosen_ratio = np.array([ratio[j] for j, r in zip(chosen, regions) if r == region])
        package_ratio = float(np.average(chosen_ratio, weights=offers["reserve"][picked]) * (1 - PACKAGE_DISCOUNT))
        quality = float(np.mean(offers["quality"][t, picked]))
        price = package_ratio * float(offers["reserve"][picked].sum())
        bids.append(Bid(f"{team.bidder_id}-r{team.region}-pkg{region}", team.bidder_id, tuple(str(l) for l in picked), price, quality))
        bid_team.append(t), bid_lots.append(tuple(picked)), bid_ratio.append(package_ratio)


def _absorbable(market: Market, team: Team, turnover: float) -> float:
    """The largest yearly contract value a team can take on; stronger management absorbs more."""
    p = market.providers
    management = p.management[team.lead] if team.lead >= 0 else p.management[team.providers].mean()
    return _absorbable_by(market, turnover, management)


def _absorbable_by(market: Market, turnover, management):
    return market.scenario.sector.dynamics.max_contract_to_turnover * (0.5 + management) * turnover


def _exposure_share(market: Market, team: Team) -> float:
    """Share of the team's payment-by-results exposure its lead (or the consortium) carries."""
    if team.lead < 0:
        return 1.0
    passed = 1.0 - team.shares[0].mean()
    return 1.0 - passed * market.scenario.design.delivery.prime.risk_passed_down if len(team.providers) > 1 else 1.0


def _charge_bid_costs(market: Market, team: Team, cost_gbp: float, charges: dict[int, int]) -> None:
    """Add a team's bid costs (pence, split among a consortium's members) to `charges`."""
    if cost_gbp <= 0:
        return
    payers = team.providers if team.lead < 0 else np.array([team.lead])
    each = int(round(cost_gbp * 100 / len(payers)))
    for payer in payers:
        charges[int(payer)] = charges.get(int(payer), 0) + each


def _rules(market: Market, teams: list[Team], offers: dict[str, np.ndarray], carried: dict[str, int]) -> AwardRules:
    """Caps: the design's lots-per-provider cap, what each team's turnover can absorb, and how many of
    the lots it bid for its reserves can fund at once (`carried`)."""
    p = market.providers
    design = market.scenario.design
    typical_value = float(np.median(offers["annual_value"][offers["annual_value"] > 0])) if (offers["annual_value"] > 0).any() else 1.0
    caps: dict[str, int] = {}
    small: set[str] = set()
    is_small = p.is_small(market.small_max)
    for team in teams:
        turnover = p.turnover_gbp[team.lead] if team.lead >= 0 else p.turnover_gbp[team.providers].sum()
        cap = max(1, int(_absorbable(market, team, turnover) // typical_value))
        if design.lots.max_lots_per_provider is not None:
            cap = min(cap, design.lots.max_lots_per_provider)
        caps[team.bidder_id] = min(cap, carried.get(team.bidder_id, cap))
        leads = team.providers if team.lead < 0 else np.array([team.lead])
        if is_small[leads].all():
            small.add(team.bidder_id)
    return AwardRules(quality_weight=design.award.quality_weight, max_lots=caps, small_bidders=frozenset(small))
