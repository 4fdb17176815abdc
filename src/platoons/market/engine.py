"""The monthly market engine: one step a month, in a fixed order.

    capacity grants (each year) -> tender (at the start and at contract end) -> stewardship of
    lots without a holder -> referrals -> delivery -> settlement -> commissioning costs ->
    exits (reviews and notices) -> failures -> record -> year end (learning, growth, shrinking, entry)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from platoons.ledger import Account, Kind, Role, to_pence
from platoons.market import alliance, commissioning, effort, exits, forecasts, outcomes_finance, performance, record, routing, stewardship
from platoons.market.contracting import let_lots, open_cohort_if_due, reassign
from platoons.market.prices import outcome_risk_share
from platoons.market.state import Market
from platoons.population import draw_entrants, monthly_hazard


@dataclass
class Month:
    """What happened to people in each placement this month [placement, group]."""

    referred: np.ndarray
    served: np.ndarray
    starts: np.ndarray
    outcomes: np.ndarray
    sustainment: np.ndarray
    effort: np.ndarray  # [placement, group] effort each placement gave each group (platoons.market.effort)

    def staff_cost_gbp(self, world, variable_cost_share: float) -> np.ndarray:
        """[placement, group] front-line cost of the people served at the effort they were given."""
        return self.served * world.cost_to_serve_gbp[None, :] * effort.cost_of(self.effort, variable_cost_share)


def step(market: Market, record) -> None:
    """Advance the market by one month."""
    market.ledger.month = market.month
    if market.month % 12 == 0:
        give_capacity_grants(market)  # before the tender, so that what grants buy can show in bids
    tender_if_due(market)
    stewardship.respond(market)
    open_cohort_if_due(market)
    month = deliver(market, refer(market))
    settle(market, month)
    commissioning.charge(market)
    exits.review(market)
    handle_failures(market)
    record(market, month)
    if market.month % 12 == 11:
        close_year(market)
    market.month += 1


# --- tendering -----------------------------------------------------------------------------


def tender_if_due(market: Market) -> None:
    terms = market.scenario.design.contract
    run_months = market.scenario.run.months
    end = lambda start: min(start + terms.length_months, run_months) if terms.retender else run_months  # noqa: E731
    if market.month == 0:
        let_lots(market, np.arange(len(market.lots)), end(0))
        return
    expiring = [c for c in market.contracts if c.active and c.end_month == market.month]
    if expiring and terms.retender:
        for contract in expiring:
            contract.end("expired", market.month)
        lots = np.unique(np.concatenate([np.array(c.lots) for c in expiring]))
        let_lots(market, lots, end(market.month))


# --- capacity grants -----------------------------------------------------------------------


def give_capacity_grants(market: Market) -> None:
    """A year's grants to randomly chosen eligible small providers; each buys management capacity."""
    grants = market.scenario.design.capacity_grants
    count = int(grants.budget_gbp_per_year // grants.grant_gbp)
    p = market.providers
    eligible = p.active & p.is_small(market.small_max)
    if grants.target == "small_local":
        eligible &= p.reach == 0
    if grants.areas:
        eligible &= np.isin(p.home_area, [market.world.area_names.index(a) for a in grants.areas])
    candidates = np.flatnonzero(eligible)
    if count == 0 or len(candidates) == 0:
        return
    chosen = np.sort(market.rng["dynamics"].choice(candidates, size=min(count, len(candidates)), replace=False))
    amount = to_pence(grants.grant_gbp)
    spent = to_pence(grants.grant_gbp * (1.0 - grants.reserves_share))
    market.ledger.post(Account.COMMISSIONER, p.account[chosen], amount, Kind.GRANT)
    market.ledger.post(p.account[chosen], Account.CAPACITY_BUILDING, spent, Kind.CAPACITY_SPEND)
    p.management[chosen] = np.minimum(1.0, p.management[chosen] + grants.management_gain)
    p.bid_cost_factor[chosen] *= 1.0 - grants.bid_writing_gain
    market.count("grants", len(chosen))


# --- people --------------------------------------------------------------------------------


def refer(market: Market) -> np.ndarray:
    """This month's referrals, by area and group, routed to placements [placement, group]."""
    world, pl = market.world, market.placements
    rng = market.rng["referrals"]
    referral_months = market.scenario.world.referral_months
    if referral_months is not None and market.month >= referral_months:
        return np.zeros(pl.share.shape, dtype=np.int64)
    rates = world.referrals_by_year[min(market.month // 12, len(world.referrals_by_year) - 1)]
    by_area = rng.poisson(rates)  # [area, group], the same whatever the design
    by_lot = _split_areas(by_area, market.area_share, rng)
    holder = market.lot_contract()
    market.count("referrals", by_area.sum())
    referred = np.zeros(pl.share.shape, dtype=np.int64)
    unserved = by_area.sum(axis=0) - by_lot.sum(axis=0)  # [group] in parts of areas no lot covers
    live = market.placements.live(market)
    delivery_rng = market.rng["routing"]
    for lot in range(len(holder)):
        rows = np.flatnonzero((pl.lot == lot) & (pl.contract == holder[lot]) & live) if holder[lot] >= 0 else []
        shares = pl.share[rows].T if len(rows) else np.zeros((by_lot.shape[1], 0))  # [group, placement]
        taken = shares.sum(axis=1) > 0
        unserved += np.where(taken, 0, by_lot[lot])
        if not taken.any():
            continue
        shares = shares / np.maximum(shares.sum(axis=1, keepdims=True), 1e-12)
        referred[rows] = delivery_rng.multinomial(np.where(taken, by_lot[lot], 0), shares).T
    # A referral with no provider to go to is turned away: it leaves at once, counted as unserved.
    market.unserved_by_group += unserved
    market.count("referrals_unserved", unserved.sum())
    pl.caseload[:, :, 0] += referred
    pl.referred_this_year += referred
    pl.referred_total += referred
    _add_by_cohort(market.cohort_referrals, pl.cohort, referred)
    return referred


def _add_by_cohort(totals: dict[int, np.ndarray], cohort: np.ndarray, counts: np.ndarray) -> None:
    for k in np.unique(cohort[counts.sum(axis=1) > 0]):
        totals[int(k)] = totals.get(int(k), 0) + counts[cohort == k].sum(axis=0)


def _split_areas(by_area: np.ndarray, area_share: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Referrals of each area divided among the lots that cover it, at random by share."""
    covering = (area_share > 0).sum(axis=0)
    whole = (covering == 1) & (area_share.max(axis=0) >= 1.0)
    by_lot = (area_share[:, whole] > 0).astype(np.int64) @ by_area[whole]
    for area in np.flatnonzero(~whole):
        lots = np.flatnonzero(area_share[:, area] > 0)
        probabilities = np.append(area_share[lots, area], max(0.0, 1.0 - area_share[lots, area].sum()))
        draws = rng.multinomial(by_area[area], probabilities / probabilities.sum())  # [group, lot + uncovered]
        by_lot[lots] += draws[:, :-1].T
    return by_lot


def deliver(market: Market, referred: np.ndarray) -> Month:
    """Support, job starts, sustained outcomes, sustainment and exits, drawn for whole cohorts."""
    world, pl, p = market.world, market.placements, market.providers
    rng = market.rng["delivery"]
    dynamics = market.scenario.sector.dynamics
    live = market.placements.live(market)
    served = pl.caseload.sum(axis=2) * live[:, None]
    unit = _delivery_units(pl)  # cohorts of one provider in one lot share its places
    load = np.bincount(unit, weights=served.sum(axis=1))[unit]
    places = np.zeros(unit.max() + 1 if len(unit) else 0)
    np.maximum.at(places, unit, pl.capacity)
    overload = np.minimum(1.0, places[unit] / np.maximum(load, 1)) ** dynamics.overload_elasticity
    quality = (1.0 - dynamics.staff_turnover_effect * p.staff_turnover[pl.provider]) * overload * _friction(market) * _mobilising(market)
    added = monthly_hazard(p.effectiveness[pl.provider]) * quality[:, None]  # at full effort
    given = effort.choose(market, added)
    hazard = world.no_support_hazard[None, :] + added * given
    # People whose contract has fallen wait for the lot to be re-let without support: the no-support chance.
    hazard = np.where(live[:, None], np.clip(hazard, 0.0, 1.0), world.no_support_hazard[None, :])

    keep = 1.0 - world.job_loss
    at_risk = np.arange(pl.in_work.shape[2])[None, :] < world.sustain_months[:, None]  # jobs are not lost awaiting data
    lost_job = _draw(rng, pl.in_work, (world.job_loss[:, None] * at_risk)[None])
    pl.in_work -= lost_job
    paid_at = world.sustain_months + market.prices.outcome_lag_months
    outcomes = _take_last(pl.in_work, paid_at - 1)
    _age(pl.in_work)
    starts = _draw(rng, pl.caseload, hazard[:, :, None])
    pl.caseload -= starts
    new_starts = starts.sum(axis=2)
    immediate = paid_at == 0
    outcomes[:, immediate] += new_starts[:, immediate]
    pl.in_work[:, ~immediate, 0] += new_starts[:, ~immediate]

    left_in_work = _draw(rng, pl.sustaining, (1.0 - keep)[None, :, None])
    pl.sustaining -= left_in_work
    payments = _paid_sustainment(pl.sustaining, market.prices.sustainment_payments)
    finished = _take_last(pl.sustaining, market.prices.sustainment_payments - 1).sum()
    _age(pl.sustaining)
    with_payments = market.prices.sustainment_payments > 0
    pl.sustaining[:, :, 0] += outcomes * with_payments[None, :]
    market.count("left_with_outcome", left_in_work.sum() + finished + outcomes[:, ~with_payments].sum())

    market.count("left_without_outcome", _take_last(pl.caseload, world.max_months - 1).sum())
    _age(pl.caseload)
    _rejoin_caseload(pl.caseload, lost_job, world.max_months)
    pl.outcomes_total += outcomes
    pl.outcomes_this_year += outcomes
    _add_by_cohort(market.cohort_outcomes, pl.cohort, outcomes)
    record.outcomes(market, pl.cohort, outcomes)
    market.count("starts", new_starts.sum())
    market.count("outcomes", outcomes.sum())
    return Month(referred, served, new_starts, outcomes, payments, given)


def _draw(rng: np.random.Generator, counts: np.ndarray, chance: np.ndarray) -> np.ndarray:
    """Binomial draws for the occupied cells only (most are empty; an empty cell draws nothing)."""
    occupied = counts > 0
    if occupied.size and occupied.mean() > 0.25:  # selecting cells costs more than drawing the empty ones
        return rng.binomial(counts, chance)
    drawn = np.zeros_like(counts)
    drawn[occupied] = rng.binomial(counts[occupied], np.broadcast_to(chance, counts.shape)[occupied])
    return drawn


def _delivery_units(pl) -> np.ndarray:
    """Index of each placement's (contract, lot, provider), whatever its cohort."""
    if len(pl) == 0:
        return np.zeros(0, dtype=np.int64)
    key = (pl.contract * (pl.lot.max() + 1) + pl.lot) * (pl.provider.max() + 1) + pl.provider
    return np.unique(key, return_inverse=True)[1].reshape(-1)


def _mobilising(market: Market) -> np.ndarray:
    """Quality of each placement while its holder mobilises a lot it took over (1 otherwise)."""
    pl = market.placements
    until = np.array([c.mobilising_until for c in market.contracts], dtype=np.int64)[pl.contract] if len(pl) else np.zeros(0)
    return np.where(market.month < until, market.scenario.design.transitions.mobilisation_quality, 1.0)


def _friction(market: Market) -> np.ndarray:
    """Quality lost in consortia to a weak centre and infighting, growing with membership."""
    pl = market.placements
    if market.scenario.design.delivery.model != "consortium":
        return np.ones(len(pl))
    members = np.array([len(c.members) for c in market.contracts])[pl.contract] if len(pl) else np.zeros(0)
    return np.maximum(0.0, 1.0 - market.scenario.design.delivery.consortium.friction_per_member * members)


def _take_last(stock: np.ndarray, last_index: np.ndarray) -> np.ndarray:
    """Remove and return, per group, the people at the last stage index [placement, group]."""
    taken = np.zeros(stock.shape[:2], dtype=np.int64)
    for g, index in enumerate(last_index):
        if 0 <= index < stock.shape[2]:
            taken[:, g] = stock[:, g, index]
            stock[:, g, index:] = 0
    return taken


def _rejoin_caseload(caseload: np.ndarray, lost_job: np.ndarray, max_months: np.ndarray) -> None:
    """People who lose their job before an outcome is paid go back on the caseload, as the real
    programmes kept them. The engine does not remember how long they waited before starting, so
    each rejoins at its months in work (a lower bound on its time on the programme)."""
    depth = lost_job.shape[2]
    for g, last in enumerate(max_months - 1):
        k = min(int(last), depth)
        caseload[:, g, :k] += lost_job[:, g, :k]
        if k < depth:
            caseload[:, g, k] += lost_job[:, g, k:].sum(axis=1)


def _age(stock: np.ndarray) -> None:
    stock[:, :, 1:] = stock[:, :, :-1].copy()
    stock[:, :, 0] = 0


def _paid_sustainment(sustaining: np.ndarray, most: np.ndarray) -> np.ndarray:
    """People still in work who earn a sustainment payment this month [placement, group]."""
    index = np.arange(sustaining.shape[2])
    due = index[None, :] < most[:, None]  # [group, depth]: payments made so far below the most
    return (sustaining * due[None]).sum(axis=2)


# --- money ---------------------------------------------------------------------------------


def settle(market: Market, month: Month) -> None:
    """Commissioner pays holders; holders pass money down; everyone pays their costs."""
    pl = market.placements
    if len(pl) == 0:
        return
    model = market.scenario.design.delivery.model
    costs = delivery_costs(market, month)
    in_house = np.array([c.in_house for c in market.contracts], dtype=bool)[pl.contract]
    if in_house.any() and model != "alliance":  # alliances reimburse every placement anyway
        alliance.reimburse(market, {kind: amount * in_house for kind, amount in costs.items()})
    if model == "alliance":
        alliance.reimburse(market, costs)
    elif model == "outcomes_finance":
        outcomes_finance.fund(market, month)
        outcomes_finance.evaluate_cohorts(market)
    else:
        gross = _gross_payments(market, month)  # {kind: [placement] GBP}
        account = np.array([c.account for c in market.contracts], dtype=np.int64)[pl.contract]
        holder_role = {"direct": Role.DIRECT, "prime": Role.PRIME, "consortium": Role.CENTRE}[model]
        # A lot awarded directly to one provider under a prime or consortium design is a direct
        # contract: its income is tagged as its costs are, so margins by tier compare like with like.
        holder_role = np.where(pl.role == Role.DIRECT, Role.DIRECT, holder_role)
        for kind, amount in gross.items():
            market.ledger.post(Account.COMMISSIONER, account, to_pence(amount), kind, holder_role)
        record.holder_money(market, pl.contract, sum(gross.values()))
        _pass_down(market, month, gross, account)
    own = market.providers.account[pl.provider]
    sinks = {Kind.STAFF: Account.FRONT_LINE, Kind.OVERHEAD: Account.OVERHEADS, Kind.COMPLIANCE: Account.COMPLIANCE}
    for kind, amount in costs.items():
        market.ledger.post(own, sinks[kind], to_pence(amount), kind, pl.role)
    record.spending(market, month, costs)
    record.holder_costs(market, sum(costs.values()))


def _gross_payments(market: Market, month: Month) -> dict[Kind, np.ndarray]:
    pl, prices = market.placements, market.prices
    contracts = market.contracts
    start = np.array([c.start_month for c in contracts])[pl.contract]
    ratio = np.array([c.price_ratio for c in contracts])[pl.contract]
    live = np.array([c.active for c in contracts], dtype=bool)[pl.contract] & market.providers.active[pl.provider]
    run_off = np.array([c.run_off for c in contracts], dtype=bool)[pl.contract] & market.providers.active[pl.provider]
    mult = prices.multipliers_for(_payment_years(market, start)) * (ratio * live)[:, None]  # [placement, payment type]
    # Outcomes of work done under a contract that ended in good order are still paid to whoever did it.
    mult[:, 3:] += prices.multipliers_for(_payment_years(market, start))[:, 3:] * (ratio * run_off)[:, None]
    expected = forecasts.contracted(market)[pl.lot] * pl.share  # block pays for the contracted, not actual, referrals
    per_group = {
        Kind.BLOCK: expected * prices.block,
        Kind.FEE: month.served * prices.fee,
        Kind.ATTACHMENT: month.referred * prices.attachment,
        Kind.OUTCOME: month.outcomes * prices.outcome,
        Kind.SUSTAINMENT: month.sustainment * prices.sustainment,
    }
    by_group = {kind: amounts * mult[:, i, None] for i, (kind, amounts) in enumerate(per_group.items())}
    for kind, amounts in by_group.items():
        market.payments_by_group[int(kind)] += amounts.sum(axis=0)
    record.payments(market, by_group)
    forecasts.note_volume_pay(market, by_group)
    return {kind: amounts.sum(axis=1) for kind, amounts in by_group.items()}


def _payment_years(market: Market, start: np.ndarray) -> np.ndarray:
    """The year of the payment table that applies: the programme's year, or each contract's own."""
    if market.scenario.design.transitions.taper_by == "programme_year":
        return np.full(len(start), market.month // 12)
    return (market.month - start) // 12


def _pass_down(market: Market, month: Month, gross: dict[Kind, np.ndarray], holder_account: np.ndarray) -> None:
    """Primes keep their fee and pass on outcome risk; consortium centres keep coordination costs.

    Money passed down keeps the kind it arrived as, so risk by tier reads straight from the ledger.
    """
    pl, p, design = market.placements, market.providers, market.scenario.design
    own = p.account[pl.provider]
    down = own != holder_account
    total = sum(gross.values())
    received = np.zeros(len(pl), dtype=np.int64)
    if design.delivery.model == "consortium":
        kept = design.delivery.consortium.coordination_cost
        centre = ~_held_by_a_provider(market)
        market.ledger.post(holder_account, Account.COORDINATION, to_pence(total * kept * centre), Kind.COORDINATION, Role.CENTRE)
        for kind, amount in gross.items():
            passed = to_pence(amount * (1.0 - kept)) * down
            market.ledger.post(holder_account, own, passed, kind, pl.role)
            received += passed
    elif design.delivery.model == "prime":
        rules = design.delivery.prime
        risk_share = outcome_risk_share(rules, pl.role)
        for kind, amount in gross.items():
            outcome_pay = kind in (Kind.OUTCOME, Kind.SUSTAINMENT)
            # Under `outcome_only` the prime keeps attachment fees, service fees and block payments outright.
            at_risk = risk_share if outcome_pay else float(rules.pass_down == "all")
            passed = to_pence((1.0 - rules.management_fee) * at_risk * amount) * down
            market.ledger.post(holder_account, own, passed, kind, pl.role)
            received += passed
        live = np.array([c.active for c in market.contracts], dtype=bool)[pl.contract]
        risk_fee = np.array([c.risk_fee_gbp for c in market.contracts])[pl.contract]  # already at the winner's price
        fee = to_pence((1.0 - rules.management_fee) * (1.0 - risk_share) * (month.referred * risk_fee).sum(axis=1) * live) * down
        market.ledger.post(holder_account, own, fee, Kind.RISK_FEE, pl.role)
        received += fee
    gross_pence = to_pence(total)
    coordination = total * design.delivery.consortium.coordination_cost if design.delivery.model == "consortium" else 0.0
    record.holder_money(market, pl.contract, -received / 100.0 - coordination)
    market.add_income(pl.provider, np.where(down, received, 0))
    if design.delivery.model == "prime":
        # The prime's income is what it keeps of its subcontractors' money plus its in-house money.
        holders = np.array([max(c.holder, 0) for c in market.contracts])[pl.contract]
        market.add_income(holders, np.where(down, gross_pence - received, gross_pence))
    elif design.delivery.model == "direct":
        market.add_income(pl.provider, gross_pence)
    else:
        market.add_income(pl.provider, np.where(_held_by_a_provider(market), gross_pence, 0))


def _held_by_a_provider(market: Market) -> np.ndarray:
    """[placement] whether its contract is held by one provider (not a consortium's centre)."""
    holder = np.array([c.holder for c in market.contracts], dtype=np.int64)[market.placements.contract]
    return holder >= 0


def delivery_costs(market: Market, month: Month) -> dict[Kind, np.ndarray]:
    """This month's front-line, overhead and compliance costs of each placement, in GBP."""
    pl, p, world = market.placements, market.providers, market.world
    dynamics = market.scenario.sector.dynamics
    live = market.placements.live(market)
    # At the effort given; part of it fixed on the places the holder planned (platoons.market.forecasts).
    staff = forecasts.staff_cost(market, month.served, month.staff_cost_gbp(world, market.scenario.sector.effort.variable_cost_share))
    # Compliance and reporting fall once a month on each provider's part of a lot that has people
    # to report on, whatever the number of cohorts; the cost is spread over its cohorts by caseload.
    served = month.served.sum(axis=1) * live
    unit = _delivery_units(pl)
    unit_served = np.bincount(unit, weights=served)[unit] if len(pl) else np.zeros(0)
    per_unit = dynamics.compliance_gbp_per_month * (1.5 - p.management[pl.provider])
    compliance = np.where(unit_served > 0, per_unit * served / np.maximum(unit_served, 1e-12), 0.0)
    return {Kind.STAFF: staff, Kind.OVERHEAD: staff * p.overhead_rate[pl.provider], Kind.COMPLIANCE: compliance}


# --- failure -------------------------------------------------------------------------------


def handle_failures(market: Market) -> None:
    """Providers whose reserves run out fail; joint liability spreads their loss to fellow members."""
    p, ledger = market.providers, market.ledger
    liability = market.scenario.design.delivery.model == "consortium" and market.scenario.design.delivery.consortium.joint_liability
    for _ in range(len(p)):
        failing = np.flatnonzero(p.active & (ledger.balances[p.account] < 0))
        if len(failing) == 0:
            return
        for provider in failing:
            shortfall = -int(ledger.balances[p.account[provider]])
            covered = _share_loss(market, int(provider)) if liability else False
            deficit = -int(ledger.balances[p.account[provider]])
            ledger.post(Account.CREDITORS, p.account[provider], deficit, Kind.WRITE_OFF)
            _fail(market, int(provider), cause=_insolvency_cause(market, int(provider), shortfall, covered))


def _insolvency_cause(market: Market, provider: int, deficit_pence: int, covered: bool = False) -> str:
    """Why a provider failed, in words: how far short it fell, who paid its creditors, and what it was delivering."""
    pl = market.placements
    mine = (pl.provider == provider) & pl.live(market)
    contracts = sorted({int(c) for c in pl.contract[mine]})
    lots = sorted({market.lots.names[int(l)] for l in pl.lot[mine]})
    delivering = (f" while delivering contract(s) {', '.join(map(str, contracts))} (lots {', '.join(lots)})"
                  if contracts else " with no contract to deliver")
    paid = ", paid by its fellow members under joint liability" if covered else ""
    return f"its reserves ran out, GBP {deficit_pence / 100:,.0f} short{paid}{delivering}"


def _share_loss(market: Market, provider: int) -> bool:
    """Fellow members of the failing provider's consortia cover its deficit, pro rata to reserves,
    whatever that leaves them (liability is joint and several); whether any fellow was there to."""
    p, ledger, pl = market.providers, market.ledger, market.placements
    # A member that has left a contract (with notice) is no longer liable for what is lost after it left.
    delivering = pl.live(market) & (pl.share.sum(axis=1) > 0)
    fellows = set()
    for c, contract in enumerate(market.contracts):
        if contract.active and contract.holder < 0 and provider in contract.members:
            still = set(pl.provider[delivering & (pl.contract == c)].tolist())
            fellows.update(int(m) for m in contract.members if m != provider and p.active[m] and int(m) in still)
    if not fellows:
        return False
    fellows = np.array(sorted(fellows))
    deficit = -int(ledger.balances[p.account[provider]])
    weights = np.maximum(ledger.balances[p.account[fellows]], 1).astype(float)
    shares = np.floor(deficit * weights / weights.sum()).astype(np.int64)
    shares[np.argmax(weights)] += deficit - shares.sum()
    ledger.post(p.account[fellows], p.account[provider], shares, Kind.LIABILITY, Role.MEMBER)
    market.count("liability_calls", len(fellows))
    return True


def _fail(market: Market, provider: int, exit_kind: str = "insolvency", cause: str = "its reserves ran out") -> None:
    p, pl = market.providers, market.placements
    mine = np.flatnonzero(pl.provider == provider)
    # Disrupted: people being supported (on a caseload or in work awaiting the outcome) by a
    # placement that was delivering; people already waiting for a re-let are not counted again.
    supported = pl.caseload[mine].sum(axis=(1, 2)) + pl.in_work[mine].sum(axis=(1, 2))
    market.count("people_disrupted", int(supported[pl.live(market)[mine]].sum()))
    p.active[provider] = False
    p.failed[provider] = True
    p.exit_month[provider] = market.month
    market.count("failures")
    moved = reassign(market, provider, mine, "failed")
    exits.record(market, provider, exit_kind, cause, moved)


# --- the year end --------------------------------------------------------------------------


def close_year(market: Market) -> None:
    """Learning from experience, surplus into capacity, shrinking without income, entry."""
    forecasts.reconcile(market)  # volumes outside a contract's band, before the year's referrals are cleared
    p, pl = market.providers, market.placements
    dynamics = market.scenario.sector.dynamics
    referral_months = market.scenario.world.referral_months
    if referral_months is None or market.month < referral_months:  # no referrals, no bid candy to count
        # Every tier 2 named in a standing contract counts, whatever share the prime gives it.
        named, received = routing.named_received(market)
        tier2 = pl.role[named] == Role.TIER2
        market.count("tier2_years", tier2.sum())
        market.count("tier2_idle_years", (tier2 & (received == 0)).sum())
        _record_supply_chains(market, named, received)
    performance.review(market)
    record.close_year(market)
    pl.referred_this_year[:] = 0
    pl.outcomes_this_year[:] = 0
    delivering = np.zeros(len(p), bool)
    delivering[pl.provider[market.placements.live(market)]] = True
    p.experience_years[delivering] += 1
    gain = np.minimum(dynamics.max_learning, dynamics.learning_rate * p.experience_years)
    p.effectiveness = p.base_effectiveness * (1.0 + gain[:, None])

    alliance.share_gain_and_pain(market)
    income = p.service_income_pence / 100.0
    _grow_capacity(market)
    p.ever_had_income |= income > 0
    lost = p.active & p.ever_had_income & (income == 0)
    p.other_income_gbp[lost] *= 1.0 - dynamics.shrink_rate
    p.turnover_gbp = p.other_income_gbp + income
    p.peak_turnover_gbp = np.maximum(p.peak_turnover_gbp, p.turnover_gbp)
    _open_in_new_areas(market)
    # Only a provider that lost its service income shrinks towards closure; a small group that never
    # held a contract lives on its other income, however small.
    closing = np.flatnonzero(lost & (p.turnover_gbp < dynamics.exit_turnover_gbp))
    for provider in closing:
        _fail(market, int(provider), "closure", "it lost its service income and shrank below the exit floor")
        p.failed[provider] = False  # closed, not failed
    market.count("closures", len(closing))
    market.count("failures", -len(closing))
    p.service_income_pence[:] = 0

    if market.month + 1 < market.scenario.run.months:  # nobody enters after the run ends
        entrants = draw_entrants(market.scenario, market.world, market.ledger, market.rng["entry"], market.month + 1)
        p.extend(entrants)
        market.count("entries", len(entrants))
    market.year_start_pence = market.ledger.balances[p.account].copy()
    routing.review(market)


REGIONAL_REACH_GBP = 1_000_000.0  # assumption: turnover at which an area provider opens across its region
NATIONAL_REACH_GBP = 50_000_000.0  # assumption: turnover at which a regional provider opens nationally


def _record_supply_chains(market: Market, named: np.ndarray, received: np.ndarray) -> None:
    """This year's referrals to each role, and how many providers named in it received none.

    `named` are the rows of providers named in standing contracts, `received` what each row's
    provider received this year in that contract and lot (routing.named_received)."""
    pl = market.placements
    for role in np.unique(pl.role[named]):
        mine = pl.role[named] == role
        by_provider = np.bincount(pl.provider[named][mine], weights=received[mine], minlength=len(market.providers))
        providers = np.unique(pl.provider[named][mine])
        market.yearly_chains.append({
            "year": market.month // 12, "role": Role(int(role)).name.lower(), "named": len(providers),
            "with_no_referrals": int((by_provider[providers] == 0).sum()), "referrals": int(by_provider.sum()),
        })


def _open_in_new_areas(market: Market) -> None:
    """Providers that have grown open in new areas: growth is how small providers take bigger lots."""
    p = market.providers
    p.reach[(p.reach == 0) & (p.turnover_gbp >= REGIONAL_REACH_GBP)] = 1
    p.reach[(p.reach == 1) & (p.turnover_gbp >= NATIONAL_REACH_GBP)] = 2


def _grow_capacity(market: Market) -> None:
    """A share of each provider's surplus buys places in its parts of lots (pro rata to their places).

    A provider's part of a lot is one delivery unit whatever its cohorts, and its places are the
    unit's (the cohort rows copy them), so the places bought are shared among units, not rows.
    """
    p, pl, world = market.providers, market.placements, market.world
    if len(pl) == 0:
        return
    reinvest = market.scenario.sector.dynamics.reinvest_share
    surplus = np.maximum(0.0, (market.ledger.balances[p.account] - market.year_start_pence) / 100.0)
    place_cost = 12.0 * float(world.cost_to_serve_gbp.mean())
    unit = _delivery_units(pl)
    places = np.zeros(unit.max() + 1)
    np.maximum.at(places, unit, pl.capacity)
    unit_provider = np.zeros(len(places), dtype=np.int64)
    unit_provider[unit] = pl.provider
    owned = np.bincount(unit_provider, weights=places, minlength=len(p))
    extra = reinvest * surplus / place_cost
    bought = extra[unit_provider] * places / np.maximum(owned[unit_provider], 1e-9)
    pl.capacity += bought[unit]
