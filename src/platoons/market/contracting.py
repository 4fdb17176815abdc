"""Turning tender wins into contracts and placements, and moving people when holders change."""

from __future__ import annotations

import numpy as np

from platoons.ledger import Account, Kind, Role, to_pence
from platoons.market import record
from platoons.market.prices import expected_path, stage_depths
from platoons.market.state import Contract, Market, Placements
from platoons.population import monthly_hazard
from platoons.market.bidding import Win, let_contracts


def let_lots(market: Market, lot_ids: np.ndarray, end_month: int, relaxed: bool = False) -> float:
    """Tender `lot_ids`, sign the winners' contracts and hand the lots' people to them.

    Returns what the tender cost the commissioner (GBP), which is posted to the ledger."""
    bids_before = market.events.get("bids", 0.0)
    wins = let_contracts(market, lot_ids, relaxed)
    market.count("tenders")
    costs = market.scenario.design.commissioning_costs
    cost = costs.procurement_gbp_per_lot * len(lot_ids) + costs.evaluation_gbp_per_bid * (market.events.get("bids", 0.0) - bids_before)
    market.ledger.post(Account.COMMISSIONER, Account.COMMISSIONING, to_pence(cost), Kind.PROCUREMENT)
    sign_and_hand_over(market, wins, lot_ids, end_month)
    return cost


def sign_and_hand_over(market: Market, wins: list[Win], lot_ids: np.ndarray, end_month: int) -> list[Contract]:
    """Sign the winners' contracts and hand the people of the lots they won to them."""
    old = market.placements
    new_contracts = [_sign(market, win, end_month) for win in wins]
    first = len(market.contracts)
    market.contracts.extend(new_contracts)
    fresh = _placements(market, wins, first)
    fresh.cohort[:] = cohort_of(market)
    record.signed(market, fresh)
    market.providers.last_role[fresh.provider] = fresh.role
    let = np.array(sorted({int(l) for win in wins for l in win.lots}), dtype=np.int64)
    # People of a lot that found no new holder stay where they are, waiting for the next re-let.
    moving = np.isin(old.lot, let)
    if moving.any():
        fresh, moved = _hand_over(market, _subset(old, moving), fresh)
        old.caseload[moving] = 0  # moved, not copied
        for lot, (outgoing, people, taken) in moved.items():
            _charge_transition(market, lot, outgoing, fresh, people)
            _pay_for_inherited_caseload(market, taken)
    market.placements = _concat(old, fresh)
    market.count("lots_unlet", len(set(int(l) for l in lot_ids) - set(let.tolist())))
    return new_contracts


def _sign(market: Market, win: Win, end_month: int) -> Contract:
    team = win.team
    if team.lead >= 0:
        holder, account = team.lead, int(market.providers.account[team.lead])
    elif market.scenario.design.delivery.model == "alliance":
        holder, account = -1, int(Account.COMMISSIONER)  # members and commissioner share one budget
    else:
        holder, account = -1, int(market.ledger.open_accounts(1)[0])  # the consortium's centre
    market.count("contracts_let")
    p = market.providers
    band = int(p.size_band(market.scenario.sector.size_band_edges_gbp)[team.lead]) if team.lead >= 0 else -1
    return Contract(
        lots=win.lots, holder=holder, account=account, price_ratio=win.price_ratio,
        start_month=market.month, end_month=end_month, risk_fee_gbp=win.risk_fee_gbp, members=team.providers,
        fee_per_referral_gbp=win.fee_per_referral_gbp, budget_gbp_per_year=win.budget_gbp_per_year,
        replacements=list(win.replacements), holder_size_band=band,
        in_house=bool(team.lead >= 0 and p.in_house[team.lead]),
        bid_outcome_rate=win.bid_outcome_rate, bid_spend_gbp=win.bid_spend_gbp,
    )


def _placements(market: Market, wins: list[Win], first_contract: int) -> Placements:
    world, p = market.world, market.providers
    depth = _depth(market)
    rows = {"contract": [], "lot": [], "provider": [], "role": [], "share": [], "capacity": []}
    headroom = 1.0 + market.scenario.sector.dynamics.capacity_headroom
    for c, win in enumerate(wins, start=first_contract):
        m = win.team.providers
        quality = 1.0 - market.scenario.sector.dynamics.staff_turnover_effect * p.staff_turnover[m]
        hazard = world.no_support_hazard[None, :] + monthly_hazard(p.effectiveness[m]) * quality[:, None]
        months_on_caseload = expected_path(world, hazard, market.prices).caseload_months  # [member, group]
        for lot in win.lots:
            inflow = win.forecast_referrals.get(lot, market.lots.referrals[lot])  # [group] per month the winner planned for
            for i, provider in enumerate(m):
                rows["contract"].append(c)
                rows["lot"].append(lot)
                rows["provider"].append(provider)
                rows["role"].append(win.team.roles[i])
                rows["share"].append(win.team.shares[i])
                rows["capacity"].append(headroom * float((win.team.shares[i] * inflow * months_on_caseload[i]).sum()))
    if not rows["contract"]:
        return Placements.empty(len(world.group_names), depth)
    return Placements.new(rows["contract"], rows["lot"], rows["provider"], rows["role"],
                          np.array(rows["share"]), rows["capacity"], depth)


def _depth(market: Market) -> tuple[int, int, int]:
    return stage_depths(market.world, market.prices)


def _hand_over(market: Market, moving: Placements, fresh: Placements) -> tuple[Placements, dict]:
    """People on the caseloads of re-let lots move to the new holders, by referral share, each cohort
    kept apart; people in work stay with the provider that supported them, which is paid for their
    outcomes if its contract ended in good order (run-off). Returns the placements and, for each
    lot that changed hands, who left it and how many people moved.

    The current cohort joins the fresh placements; earlier cohorts get placements of their own
    with the same providers that take no referrals, so cohort outcomes stay traceable.
    """
    carried, moved = [], {}
    for cohort in np.unique(moving.cohort):
        into = fresh if cohort == cohort_of(market) else _copy(fresh, int(cohort))
        _move_by_lot(market, _subset(moving, moving.cohort == cohort), into, moved)
        if into is not fresh:
            into.share[:] = 0.0
            into.named[:] = False
            carried.append(_subset(into, into.people() > 0))
    for part in carried:
        fresh = _concat(fresh, part)
    return fresh, moved


def _copy(rows: Placements, cohort: int) -> Placements:
    copy = Placements.new(rows.contract, rows.lot, rows.provider, rows.role, rows.share.copy(), rows.capacity.copy(),
                          (rows.caseload.shape[2], rows.in_work.shape[2], rows.sustaining.shape[2]))
    copy.cohort[:] = cohort
    return copy


def _move_by_lot(market: Market, moving: Placements, into: Placements, moved: dict) -> None:
    for lot in np.unique(moving.lot):
        source = moving.lot == lot
        target = np.flatnonzero(into.lot == lot)
        people = int(moving.caseload[source].sum())
        if people == 0:
            continue
        pooled = moving.caseload[source].sum(axis=0)  # [group, depth]
        arrived = split(pooled, into.share[target], market.rng["routing"])  # [target, group, depth]
        into.caseload[target] += arrived
        if set(moving.provider[source].tolist()) != set(into.provider[target].tolist()):
            market.count("people_transferred", people)
            outgoing, count, taken = moved.get(int(lot), (set(), 0, {}))
            for row, by_group in zip(target, arrived.sum(axis=2)):
                key = (int(into.contract[row]), int(into.provider[row]), int(into.role[row]))
                taken[key] = taken.get(key, 0) + by_group
            moved[int(lot)] = (outgoing | set(moving.provider[source].tolist()), count + people, taken)


def _charge_transition(market: Market, lot: int, outgoing: set, fresh: Placements, people: int) -> None:
    """The incoming holder pays to mobilise a lot it takes over and to take on each person's case,
    and delivers at reduced quality while it mobilises."""
    rules = market.scenario.design.transitions
    rows = np.flatnonzero(fresh.lot == lot)
    contract = market.contracts[int(fresh.contract[rows[0]])]
    mobilise, transfer = rules.mobilisation_gbp_per_lot, rules.transfer_gbp_per_person * people
    payer = Account.COMMISSIONER if contract.in_house else contract.account  # the in-house service is paid its costs
    market.ledger.post(payer, Account.TRANSITION, to_pence(mobilise), Kind.MOBILISATION)
    market.ledger.post(payer, Account.TRANSITION, to_pence(transfer), Kind.TRANSFER)
    contract.mobilising_until = market.month + rules.mobilisation_months
    if not contract.in_house:
        record.holder_money(market, np.array([int(fresh.contract[rows[0]])]), np.array([-float(mobilise + transfer)]))
    market.transitions.append({
        "lot": market.lots.names[lot], "month": market.month,
        "from_providers": ";".join(f"p{q}" for q in sorted(outgoing)),
        "to_providers": ";".join(f"p{q}" for q in sorted(set(fresh.provider[rows].tolist()))),
        "people": people, "cost_gbp": float(mobilise + transfer),
    })


PAID_BY_RESULTS = ("direct", "prime", "consortium")  # alliances are paid their costs, outcomes finance by investors


def _pay_for_inherited_caseload(market: Market, taken: dict) -> None:
    """The commissioner pays each incoming provider an attachment-like fee for every person it takes on.

    A person on a caseload that changes hands starts again with a provider that bears the cost of
    supporting them at once, while the outcome payments for them lie the sustain period and the
    data lag ahead; at referral the attachment fee paid for that start. Without it a provider that
    takes over a lot (at a re-let or a direct award) inherits a caseload of tens of thousands whose
    costs no income meets for months, and fails. The fee is `inherited_attachment_share` of the
    group's list attachment fee, at the contract's price ratio, paid to the contract's account
    and passed in full to the subcontractors or members who took the people (it is no margin).
    """
    share = market.scenario.design.transitions.inherited_attachment_share
    if share == 0 or market.scenario.design.delivery.model not in PAID_BY_RESULTS:
        return
    p = market.providers
    for contract_id in sorted({c for c, _, _ in taken}):
        contract = market.contracts[contract_id]
        if contract.in_house:
            continue  # the in-house service is paid its costs
        parts = {(q, role): people for (c, q, role), people in taken.items() if c == contract_id}
        fee = share * contract.price_ratio * market.prices.attachment  # [group] per person
        amounts = {key: to_pence(float(people @ fee)) for key, people in parts.items()}
        total = sum(amounts.values())
        if total == 0:
            continue
        holder_role = next((role for (q, role) in parts if q == contract.holder), None)
        holder_role = holder_role if holder_role is not None else (Role.CENTRE if contract.holder < 0 else Role.PRIME)
        market.ledger.post(Account.COMMISSIONER, contract.account, total, Kind.INHERITED, holder_role)
        passed = 0
        for (q, role), amount in sorted(amounts.items()):
            if int(p.account[q]) != contract.account and amount > 0:
                market.ledger.post(contract.account, int(p.account[q]), amount, Kind.INHERITED, role)
                market.add_income(np.array([q]), np.array([amount]))
                passed += amount
        if contract.holder >= 0:
            market.add_income(np.array([contract.holder]), np.array([total - passed]))
        record.holder_money(market, np.array([contract_id]), np.array([(total - passed) / 100.0]))
        market.count("inherited_fees_gbp", total / 100.0)


def split(pooled: np.ndarray, shares: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Whole people [group, depth] divided at random among placements by share [placement, group].

    Each cell is divided by a multinomial draw, as referrals are; rounding each small cell down
    and giving the remainders to the largest share would hand nearly everyone to one placement.
    """
    weights = shares.astype(float).copy()
    weights[0, weights.sum(axis=0) <= 0] = 1.0  # a group nobody takes goes to the first placement
    weights /= weights.sum(axis=0, keepdims=True)
    draws = rng.multinomial(pooled, weights.T[:, None, :])  # [group, depth, placement]
    return np.moveaxis(draws, -1, 0)


def cohort_of(market: Market) -> int:
    return market.month // market.scenario.run.cohort_months


def open_cohort_if_due(market: Market) -> None:
    """At each cohort boundary, new referrals go to fresh placements, so that each referral cohort
    is followed on its own (cohort outcome rates; outcomes finance pays by cohort)."""
    if market.month == 0 or market.month % market.scenario.run.cohort_months:
        return
    pl = market.placements
    # A named provider sent no referrals keeps its row (and its place in the chain) until it is sent some.
    taking = np.flatnonzero((pl.share.sum(axis=1) > 0) & (pl.cohort < cohort_of(market)))
    if len(taking) == 0:
        return
    add_placements(market, taking, cohort=cohort_of(market))
    market.placements.share[taking] = 0.0
    market.placements.named[taking] = False


def add_placements(market: Market, template: np.ndarray, provider: np.ndarray | None = None, cohort: int | None = None) -> np.ndarray:
    """New empty placements copying rows `template` (optionally for other providers or a new cohort)."""
    pl = market.placements
    fresh = Placements.new(pl.contract[template], pl.lot[template],
                           pl.provider[template] if provider is None else provider, pl.role[template],
                           pl.share[template].copy(), pl.capacity[template].copy(), _depth(market))
    fresh.cohort[:] = pl.cohort[template] if cohort is None else cohort
    first = len(pl)
    market.placements = _concat(pl, fresh)
    return np.arange(first, first + len(template))


def move_people(market: Market, source: np.ndarray, target: int) -> None:
    """Move everyone in placements `source` to placement `target`."""
    pl = market.placements
    for stock in ("caseload", "in_work", "sustaining"):
        array = getattr(pl, stock)
        array[target] += array[source].sum(axis=0)
        array[source] = 0


def _subset(pl: Placements, mask: np.ndarray) -> Placements:
    return Placements(**{name: getattr(pl, name)[mask] for name in pl.__dataclass_fields__})


def _concat(a: Placements, b: Placements) -> Placements:
    return Placements(**{name: np.concatenate([getattr(a, name), getattr(b, name)]) for name in a.__dataclass_fields__})



def reassign(market: Market, provider: int, rows: np.ndarray, cause: str) -> int:
    """A provider leaves its placements `rows` (it failed, closed or withdrew). A contract it holds
    ends; in an alliance the next in line joins; otherwise the fellow provider of the same contract
    and lot with most room takes over its people (into its row of the same cohort) and its referral
    share and places (into its newest row). Returns the people moved to another provider."""
    from platoons.market import alliance  # alliance builds on this module

    p = market.providers
    moved = 0
    people = market.placements.people()  # kept up to date as people move, rather than recounted per row
    for row in rows:
        pl = market.placements
        contract = market.contracts[pl.contract[row]]
        if contract.holder == provider:
            contract.end(cause, market.month)  # the chain falls with its holder; the commissioner steps in
            continue
        if alliance.replace_member(market, contract, int(row)):
            moved += int(market.placements.people()[row])
            people = market.placements.people()
            continue
        same_unit = (pl.contract == pl.contract[row]) & (pl.lot == pl.lot[row]) & p.active[pl.provider] & (pl.provider != provider)
        # A fellow that has itself left the chain (it is still active, but takes no referrals here
        # and is no longer named) is no heir: handing it people back would put them with a provider
        # that walked away. With no fellow left in the chain, the contract ends and the commissioner steps in.
        staying = np.unique(pl.provider[same_unit & (pl.share.sum(axis=1) > 0)])
        if len(staying) == 0:
            staying = np.unique(pl.provider[same_unit & pl.named])
        mates = np.flatnonzero(same_unit & np.isin(pl.provider, staying))
        if len(mates) == 0:
            contract.end(cause, market.month)
            continue
        fellows = np.unique(pl.provider[mates])
        room = [pl.capacity[mates[pl.provider[mates] == q]].max() - people[mates[pl.provider[mates] == q]].sum() for q in fellows]
        rows_of = mates[pl.provider[mates] == fellows[int(np.argmax(room))]]
        heir = rows_of[np.argmax(pl.cohort[rows_of])]
        peer = rows_of[pl.cohort[rows_of] == pl.cohort[row]]
        moved += int(people[row])
        target = int(peer[0] if len(peer) else heir)
        move_people(market, np.array([row]), target)
        people[target] += people[row]
        people[row] = 0
        pl.share[heir] += pl.share[row]
        pl.capacity[heir] += pl.capacity[row]
        pl.share[row] = 0.0
        pl.named[(pl.provider == provider) & (pl.contract == pl.contract[row])] = False  # it has left the chain
    return moved
