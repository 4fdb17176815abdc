"""The market as a Mesa model stepping monthly; see the package docstring for what it shares."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from typing import Callable

import mesa
import numpy as np

from platoons.ledger import Ledger, Role
from platoons.market.commissioning import month_of_yearly_pence
from platoons.market.exits import Economics, income_per_person, net_per_month
from platoons.market.prices import build_prices
from platoons.market.state import Market
from platoons.population import KINDS, Providers, build_world, draw_entrants, synthesize_providers
from platoons.scenario.schema import Scenario
from platoons.simulate import STREAMS
from platoons.market.bidding import EFFECT_FOR_FULL_QUALITY, QUALITY_WEIGHTS, Team, Win, let_contracts, list_value_per_year
from platoons.market.lots import build_lots

from .agents import SUSTAINING, WAITING, Centre, Contract, Participant, Placement, Provider

SHARED_STREAMS = ("population", "tender", "dynamics", "entry")  # the set-up pieces both implementations share
REGIONAL_REACH_GBP = 1_000_000.0
NATIONAL_REACH_GBP = 50_000_000.0
BLOCK, FEE, ATTACHMENT, OUTCOME, SUSTAINMENT = range(5)


@dataclass(frozen=True)
class Rules:
    """Per-group constants a participant reads each month, as plain lists."""

    sustain_months: list[int]
    paid_after: list[int]  # months in work before the outcome is paid: sustained, then the data lag
    max_months: list[int]
    job_loss: list[float]
    sustainment_payments: list[int]


def yearly_to_monthly(rate: float) -> float:
    """The constant monthly chance that compounds to a yearly chance."""
    return 1.0 - (1.0 - min(max(rate, 0.0), 0.999)) ** (1.0 / 12.0)


def pence(gbp: float) -> int:
    return int(round(gbp * 100))


class MarketModel(mesa.Model):
    """Commissioner, providers and participants; one step is one month."""

    def __init__(self, scenario: Scenario, seed: int):
        children = np.random.SeedSequence(seed).spawn(len(STREAMS) + 1)
        super().__init__(seed=int(children[-1].generate_state(1)[0]))
        self.streams = {name: np.random.default_rng(children[STREAMS.index(name)]) for name in SHARED_STREAMS}
        self.scenario = scenario
        self.design = scenario.design
        self.dynamics = scenario.sector.dynamics
        self.world = build_world(scenario)
        self.lots = build_lots(scenario, self.world)
        self.prices = build_prices(scenario)
        self.groups = len(self.world.group_names)
        self.rules = Rules(
            sustain_months=[int(x) for x in self.world.sustain_months],
            paid_after=[int(x) + self.prices.outcome_lag_months for x in self.world.sustain_months],
            max_months=[int(x) for x in self.world.max_months],
            job_loss=[float(x) for x in self.world.job_loss],
            sustainment_payments=[int(x) for x in self.prices.sustainment_payments],
        )
        self.month = 0
        self.events: Counter[str] = Counter()
        self.providers: list[Provider] = []
        self.contracts: list[Contract] = []
        self.placements: list[Placement] = []
        self.totals: Counter[str] = Counter()  # pence accumulated for the metrics
        self.referred_by_group = np.zeros(self.groups, np.int64)  # placed with a provider
        self.unserved_by_group = np.zeros(self.groups, np.int64)  # turned away: nobody held the lot
        self.outcomes_by_group = np.zeros(self.groups, np.int64)
        self.hhi_by_month: list[float] = []
        self.participant_months = 0
        self.notices: list[tuple[Provider, Contract, int]] = []  # (provider, contract, month it takes effect)
        rng = self.streams["population"]
        self._join(lambda ledger: synthesize_providers(scenario, self.world, ledger, rng))
        for provider in self.providers:
            provider.year_start_pence = provider.reserves_pence

    def step(self) -> None:
        for pl in self.placements:
            pl.new_month()
        if self.month % 12 == 0:
            self.give_capacity_grants()
        self.tender_if_due()
        self.steward()
        self.refer()
        self.deliver()
        self.settle()
        self.manage_contracts()
        self.review_contracts()
        self.handle_failures()
        self.record()
        if self.month % 12 == 11:
            self.close_year()
        self.month += 1

    def count(self, name: str, amount: float = 1) -> None:
        self.events[name] += amount

    @property
    def participants(self) -> mesa.agent.AgentSet:
        return self.agents_by_type.get(Participant, mesa.agent.AgentSet([], random=self.random))

    # --- providers ------------------------------------------------------------------------

    def _join(self, draw: Callable[[Ledger], Providers]) -> None:
        """Turn providers drawn by the shared population code into agents; reserves as opened."""
        ledger = Ledger()
        drawn = draw(ledger)
        for i in range(len(drawn)):
            attributes = {f.name: _item(getattr(drawn, f.name)[i]) for f in fields(Providers) if f.name != "account"}
            attributes["reserves_pence"] = int(ledger.balances[drawn.account[i]])
            attributes["opening_pence"] = attributes["reserves_pence"]
            self.providers.append(Provider(self, len(self.providers), **attributes))

    def small(self, provider: Provider) -> bool:
        return provider.turnover_gbp < self.scenario.sector.small_max_turnover_gbp

    def give_capacity_grants(self) -> None:
        grants = self.design.capacity_grants
        count = int(grants.budget_gbp_per_year // grants.grant_gbp)
        areas = {self.world.area_names.index(a) for a in grants.areas}
        candidates = [
            p.index for p in self.providers
            if p.active and self.small(p) and (grants.target != "small_local" or p.reach == 0)
            and (not areas or p.home_area in areas)
        ]
        if count == 0 or not candidates:
            return
        chosen = np.sort(self.streams["dynamics"].choice(np.array(candidates), size=min(count, len(candidates)), replace=False))
        for i in chosen:
            p = self.providers[i]
            p.reserves_pence += pence(grants.grant_gbp) - pence(grants.grant_gbp * (1.0 - grants.reserves_share))
            p.management = min(1.0, p.management + grants.management_gain)
            p.bid_cost_factor *= 1.0 - grants.bid_writing_gain
            self.totals["spend"] += pence(grants.grant_gbp)
        self.count("grants", len(chosen))

    # --- tendering ------------------------------------------------------------------------

    def tender_if_due(self) -> None:
        terms = self.design.contract
        run_months = self.scenario.run.months

        def end(start: int) -> int:
            return min(start + terms.length_months, run_months) if terms.retender else run_months

        if self.month == 0:
            self.let_lots(list(range(len(self.lots))), end(0))
            return
        expiring = [c for c in self.contracts if c.active and c.end_month == self.month]
        if expiring and terms.retender:
            for contract in expiring:
                contract.end("expired", self.month)
            self.let_lots(sorted({lot for c in expiring for lot in c.lots}), end(self.month))

    def _tender_view(self) -> Market:
        """The providers as the shared tender reads them: arrays, and reserves in a ledger."""
        ledger = Ledger()
        accounts = ledger.open_accounts(len(self.providers))
        ledger.balances[accounts] = [p.reserves_pence for p in self.providers]
        columns = {f.name: np.array([getattr(p, f.name) for p in self.providers]) for f in fields(Providers) if f.name != "account"}
        view = Market(self.scenario, self.world, self.lots, self.prices, Providers(account=accounts, **columns), ledger,
                      {"tender": self.streams["tender"]})
        view.month = self.month
        return view

    def let_lots(self, lot_ids: list[int], end_month: int, relaxed: bool = False) -> None:
        """Tender the lots, pay for the tender, sign the winners' contracts and hand the lots' people to them."""
        view = self._tender_view()
        wins = let_contracts(view, np.array(lot_ids, dtype=np.int64), relaxed)
        for p in self.providers:  # what the tender changed: bid costs paid and beliefs held
            p.reserves_pence = int(view.ledger.balances[view.providers.account[p.index]])
            p.optimism = float(view.providers.optimism[p.index])
        self.events.update(view.events)
        self.count("tenders")
        costs = self.design.commissioning_costs
        self.totals["spend"] += pence(costs.procurement_gbp_per_lot * len(lot_ids) + costs.evaluation_gbp_per_bid * view.events.get("bids", 0))
        self.sign_and_hand_over(wins, end_month)

    def sign_and_hand_over(self, wins: list[Win], end_month: int) -> None:
        """Sign the winners' contracts; the people waiting in the lots they won go to them."""
        fresh = []
        for win in wins:
            members = tuple(self.providers[int(i)] for i in win.team.providers)
            holder = self.providers[win.team.lead] if win.team.lead >= 0 else None
            contract = Contract(len(self.contracts), win.lots, holder, holder or Centre(), win.price_ratio, self.month, end_month,
                                np.asarray(win.risk_fee_gbp, float), members, in_house=holder is not None and holder.in_house)
            self.contracts.append(contract)
            self.count("contracts_let")
            fresh.extend(self._place(contract, win.team))
        # Every placement stays: people in work stay with whoever supported them. People of a lot
        # that found no new holder stay where they are, waiting for a later re-let.
        let = {lot for win in wins for lot in win.lots}
        moving = [pl for pl in self.placements if pl.lot in let]
        self.placements.extend(fresh)
        if moving:
            self._hand_over(moving, fresh)

    def _place(self, contract: Contract, team) -> list[Placement]:
        """One placement per lot and member, with places for the caseload it expects (plus headroom)."""
        headroom = 1.0 + self.dynamics.capacity_headroom
        placements = []
        for lot in contract.lots:
            inflow = self.lots.referrals[lot]
            for member, role, share in zip(contract.members, team.roles, team.shares):
                quality = 1.0 - self.dynamics.staff_turnover_effect * member.staff_turnover
                places = 0.0
                for g in range(self.groups):
                    h = float(self.world.no_support_hazard[g]) + yearly_to_monthly(member.effectiveness[g]) * quality
                    months = sum((1.0 - h) ** k for k in range(self.rules.max_months[g]))  # expected months on the caseload
                    places += share[g] * inflow[g] * months
                placements.append(Placement(contract, lot, member, int(role), np.array(share, float), headroom * places, self.groups))
        return placements

    def _hand_over(self, moving: list[Placement], fresh: list[Placement]) -> None:
        """People on the caseloads of re-let lots go to the new placements of their lot, each by the
        placements' shares (a group no placement takes goes to the first). People in work stay."""
        by_lot: dict[int, list[Placement]] = {}
        for pl in fresh:
            by_lot.setdefault(pl.lot, []).append(pl)
        leaving = set(moving)
        people = [a for a in self.participants if a.placement in leaving and a.stage == WAITING]
        old_providers: dict[int, set[int]] = {}
        for pl in moving:
            old_providers.setdefault(pl.lot, set()).add(pl.provider.index)
        moved: Counter[int] = Counter()
        taken: dict[int, dict[Placement, list[int]]] = {}  # lot -> new placement -> people it took, by group
        for person in people:
            lot = person.placement.lot
            targets = by_lot[lot]
            moved[lot] += 1
            weights = [float(pl.share[person.group]) for pl in targets]
            person.placement = self.random.choices(targets, weights=weights)[0] if sum(weights) > 0 else targets[0]
            taken.setdefault(lot, {}).setdefault(person.placement, [0] * self.groups)[person.group] += 1
        for lot, n in moved.items():
            if old_providers[lot] != {pl.provider.index for pl in by_lot[lot]}:
                self.count("people_transferred", n)
                self._mobilise(by_lot[lot][0].contract, n)
                self._pay_for_inherited_caseload(by_lot[lot][0].contract, taken[lot])
        self._recount(moving + fresh)

    def _mobilise(self, contract: Contract, people: int) -> None:
        """The incoming holder pays to set up the lot and to take on each person's case (the
        commissioner pays for its own service), and delivers at reduced quality for a while."""
        rules = self.design.transitions
        cost = pence(rules.mobilisation_gbp_per_lot) + pence(rules.transfer_gbp_per_person * people)
        if contract.in_house:
            self.totals["spend"] += cost
        else:
            contract.payee.reserves_pence -= cost
        contract.mobilising_until = self.month + rules.mobilisation_months

    def _pay_for_inherited_caseload(self, contract: Contract, taken: dict[Placement, list[int]]) -> None:
        """The commissioner pays the incoming holder, for each person it takes on, a share of the group's
        list attachment fee (no yearly taper) at the contract's price; whoever took the person gets it all."""
        share = self.design.transitions.inherited_attachment_share
        if share == 0 or contract.in_house:  # the in-house service is paid its costs
            return
        fee = [share * contract.price_ratio * float(self.prices.attachment[g]) for g in range(self.groups)]
        for pl, people in taken.items():
            amount = pence(sum(n * f for n, f in zip(people, fee)))
            self.totals["spend"] += amount
            pl.provider.reserves_pence += amount  # through the holder or centre, which keeps none of it
            pl.provider.earn(amount)
            self.count("inherited_fees_gbp", amount / 100.0)

    def _recount(self, placements: list[Placement]) -> None:
        """Rebuild the caseload counts of placements after people moved."""
        for pl in placements:
            pl.waiting = [0] * self.groups
        chosen = set(placements)
        for person in self.participants:
            if person.stage == WAITING and person.placement in chosen:
                person.placement.waiting[person.group] += 1

    # --- lots without a holder --------------------------------------------------------------

    def steward(self) -> None:
        """The commissioner's policy, action by action, for every lot without a standing contract."""
        for action in self.design.stewardship.policy:
            lots = self._unheld_lots()
            if not lots:
                return
            getattr(self, f"_{action}")(lots)
        self.count("unserved_lot_months", len(self._unheld_lots()))

    def _unheld_lots(self) -> list[int]:
        held = {lot for c in self.contracts if c.active for lot in c.lots}
        return [lot for lot in range(len(self.lots)) if lot not in held]

    def _extend(self, lots: list[int]) -> None:
        """An incumbent whose contract expired this month, still standing, carries on."""
        months = self.design.stewardship.extend_months
        for c in self.contracts:
            standing = c.holder.active if c.holder is not None else all(m.active for m in c.members)
            if c.ended_by == "expired" and c.end_month == self.month and standing and set(c.lots) <= set(lots):
                c.active, c.ended_by = True, ""
                c.end_month = min(self.month + months, self.scenario.run.months)
                self.count("stewardship_extend", len(c.lots))

    def _direct_award(self, lots: list[int]) -> None:
        """Each lot, at list price, to the best-quality eligible provider present in all its areas
        that can absorb it and expects no loss on it; one lot each."""
        view = self._tender_view()
        value = list_value_per_year(view)
        min_turnover = self.design.eligibility.min_turnover_gbp
        absorb = self.dynamics.max_contract_to_turnover
        presence = view.presence()
        taken: set[int] = set()
        wins = []
        for lot in lots:
            areas = self.lots.area_share[lot] > 0
            candidates = [
                p for p in self.providers
                if p.active and not p.in_house and p.turnover_gbp >= min_turnover and p.index not in taken
                and presence[p.index, areas].all() and absorb * (0.5 + p.management) * p.turnover_gbp >= value[lot]
                and (self.small(p) or not self.lots.set_aside[lot])  # a set-aside lot stays with small providers
            ]
            candidates.sort(key=lambda p: -(QUALITY_WEIGHTS[0] * min(1.0, float(np.mean(p.effectiveness)) / EFFECT_FOR_FULL_QUALITY)
                                            + QUALITY_WEIGHTS[1] * p.management))
            best = next((p for p in candidates if net_per_month(view, p.index, self.lots.referrals[lot], 1.0, 1) >= 0
                         and self._can_fund(view, p, self.lots.referrals[lot])), None)
            if best is None:
                continue
            taken.add(best.index)
            wins.append(self._single_provider_win(best, lot, 1.0))
        if wins:
            self.sign_and_hand_over(wins, self._steward_end())
            self.totals["spend"] += pence(self.design.commissioning_costs.procurement_gbp_per_lot) * len(wins)
            self.count("stewardship_direct_award", len(wins))

    def _can_fund(self, view: Market, provider: Provider, referrals: np.ndarray) -> bool:
        """Whether the provider's reserves carry the deepest fall of its cash over a contract's length
        on the lot's referrals at list price (as much of them as its risk appetite allows)."""
        months = self.design.contract.length_months
        deepest = -min(0.0, min(self._cash_path(view, provider, referrals, 1.0, months)[:months]))
        return deepest <= self.design.bidding.risk_appetite * max(provider.reserves_pence / 100.0, 0.0)

    def _last_resort(self, lots: list[int]) -> None:
        """The in-house service takes every lot left."""
        provider = self._in_house()
        self.sign_and_hand_over([self._single_provider_win(provider, lot, 0.0) for lot in lots], self._steward_end())
        self.count("stewardship_last_resort", len(lots))

    def _relax_and_relet(self, lots: list[int]) -> None:
        if self.month % self.design.stewardship.relet_every_months and not self._just_orphaned(lots):
            return
        self.let_lots(lots, self._steward_end(), relaxed=True)

    def _leave_unserved(self, lots: list[int]) -> None:
        if self.month % self.design.stewardship.relet_every_months == 0 and self.month > 0:
            self.let_lots(lots, self._steward_end())

    def _just_orphaned(self, lots: list[int]) -> bool:
        return any(
            c.end_month == self.month or c.ended_by in ("failed", "handed_back") and c.end_month >= self.month - 1
            for c in self.contracts if not c.active and set(c.lots) & set(lots)
        )

    def _steward_end(self) -> int:
        """Contracts the commissioner makes in a hurry end with the latest standing competed contract."""
        terms, months = self.design.contract, self.scenario.run.months
        if not terms.retender:
            return months
        ends = [c.end_month for c in self.contracts if c.active and not c.in_house]
        return min(max(ends) if ends else self.month + terms.length_months, months)

    def _single_provider_win(self, provider: Provider, lot: int, price_ratio: float) -> Win:
        team = Team(f"p{provider.index}", provider.index, np.array([provider.index]), np.array([Role.DIRECT], np.int8),
                    np.ones((1, self.groups)), -1)
        return Win(team, (lot,), price_ratio, np.zeros(self.groups))

    def _in_house(self) -> Provider:
        """The commissioner's own service, opened the first time it is needed, with no reserves."""
        for p in self.providers:
            if p.in_house and p.active:
                return p
        rules = self.design.stewardship
        others = [p.base_effectiveness for p in self.providers if p.active and not p.in_house]
        effect = rules.last_resort_effectiveness * np.mean(others, axis=0)  # a share of the sector's mean, by group
        attributes = {f.name: 0 for f in fields(Providers) if f.name != "account"}
        attributes.update(
            kind=7, reach=2, management=1.0, active=True, failed=False, started_small=False, ever_had_income=False,
            in_house=True, effectiveness=effect, base_effectiveness=effect.copy(), experience_years=0.0, staff_turnover=0.0,
            optimism=0.0, turnover_gbp=1e12, other_income_gbp=1e12, peak_turnover_gbp=1e12, entry_turnover_gbp=1e12,
            overhead_rate=rules.last_resort_cost_factor - 1.0, entered_month=self.month, exit_month=-1, bid_cost_factor=1.0,
        )
        provider = Provider(self, len(self.providers), **attributes)
        self.providers.append(provider)
        return provider

    # --- people ---------------------------------------------------------------------------

    def refer(self) -> None:
        """New participants by area and group, each routed to a lot and then to a placement."""
        months = self.scenario.world.referral_months
        if months is not None and self.month >= months:
            return
        by_year = self.world.referrals_by_year
        arrivals = self.rng.poisson(by_year[min(self.month // 12, len(by_year) - 1)])  # [area, group]
        self.count("referrals", int(arrivals.sum()))
        holder = {}
        for c in self.contracts:
            if c.active:
                for lot in c.lots:
                    holder[lot] = c
        by_lot: dict[int, list[Placement]] = {}
        for pl in self.placements:
            if pl.live and holder.get(pl.lot) is pl.contract:
                by_lot.setdefault(pl.lot, []).append(pl)
        for area in range(len(self.world.area_names)):
            lots = [lot for lot in range(len(self.lots)) if self.lots.area_share[lot, area] > 0]
            lot_weights = [float(self.lots.area_share[lot, area]) for lot in lots]
            uncovered = max(0.0, 1.0 - sum(lot_weights))
            for g in range(self.groups):
                n = int(arrivals[area, g])
                if n == 0:
                    continue
                if len(lots) == 1 and lot_weights[0] >= 1.0:
                    chosen = [lots[0]] * n
                else:
                    chosen = self.random.choices(lots + [-1], weights=lot_weights + [uncovered], k=n)
                for lot, k in Counter(chosen).items():
                    self._route(g, k, by_lot.get(lot, []))

    def _route(self, g: int, n: int, placements: list[Placement]) -> None:
        """Each person to a placement by share; with no placement taking the group (a part of an
        area no lot covers, a lot nobody holds) they are turned away at once."""
        weights = [float(pl.share[g]) for pl in placements]
        if sum(weights) <= 0:
            self.unserved_by_group[g] += n
            self.count("referrals_unserved", n)
            return
        for pl in self.random.choices(placements, weights=weights, k=n):
            Participant(self, g, pl)
            pl.waiting[g] += 1
            pl.referred[g] += 1
            pl.referred_this_year += 1
        self.referred_by_group[g] += n

    def deliver(self) -> None:
        """Each placement's start chance this month, then every participant's month."""
        friction_per_member = self.design.delivery.consortium.friction_per_member
        consortium = self.design.delivery.model == "consortium"
        for pl in self.placements:
            if not pl.live:  # waiting for the lot to be re-let, without support
                pl.hazard = [float(self.world.no_support_hazard[g]) for g in range(self.groups)]
                continue
            pl.served = list(pl.waiting)
            load = sum(pl.served)
            overload = min(1.0, pl.capacity / max(load, 1)) ** self.dynamics.overload_elasticity
            quality = (1.0 - self.dynamics.staff_turnover_effect * pl.provider.staff_turnover) * overload
            if consortium:
                quality *= max(0.0, 1.0 - friction_per_member * len(pl.contract.members))
            if self.month < pl.contract.mobilising_until:  # a holder new to the lot is still setting up
                quality *= self.design.transitions.mobilisation_quality
            added = [yearly_to_monthly(pl.provider.effectiveness[g]) * quality for g in range(self.groups)]
            pl.effort = [self._effort(pl, g, added[g]) for g in range(self.groups)]
            pl.hazard = [min(1.0, max(0.0, float(self.world.no_support_hazard[g]) + added[g] * pl.effort[g]))
                         for g in range(self.groups)]
        self.participants.do("step")

    def _effort(self, pl: Placement, g: int, added: float) -> float:
        """Effort for group g: an outcome's worth to the provider times the chance effort adds, over its cost."""
        rules = self.scenario.sector.effort
        if not rules.enabled:
            return 1.0
        c = pl.contract
        borne = 0.0 if c.in_house else (1.0 - self.design.delivery.alliance.commissioner_share
                                         if self.design.delivery.model == "alliance" else 1.0)
        if borne == 0.0:
            return 1.0
        year = self.month // 12 if self.design.transitions.taper_by == "programme_year" else (self.month - c.start_month) // 12
        by_year = self.prices.by_year[min(year, len(self.prices.by_year) - 1)] if len(self.prices.by_year) else np.ones(5)
        keep = 1.0 - float(self.world.job_loss[g])
        sustainment_expected = sum(keep**m for m in range(1, int(self.prices.sustainment_payments[g]) + 1))
        pay = by_year[OUTCOME] * self.prices.outcome[g] + by_year[SUSTAINMENT] * self.prices.sustainment[g] * sustainment_expected
        worth = c.price_ratio * self._share_of_outcome_pay(pl) * pay + rules.mission_gbp_per_outcome[KINDS[pl.provider.kind]]
        lasting = keep ** int(self.world.sustain_months[g])
        cost = 2.0 * rules.variable_cost_share * float(self.world.cost_to_serve_gbp[g]) * borne
        return min(1.0, max(rules.floor, worth * added * lasting / cost))

    def _share_of_outcome_pay(self, pl: Placement) -> float:
        model, c = self.design.delivery.model, pl.contract
        if model == "alliance":
            return 0.0
        if c.holder is pl.provider:
            return 1.0
        if model == "prime":
            rules = self.design.delivery.prime
            risk = rules.risk_passed_down
            if pl.role == Role.TIER2 and rules.tier2_risk_passed_down is not None:
                risk = rules.tier2_risk_passed_down
            return (1.0 - rules.management_fee) * risk
        if model == "consortium" and c.holder is None:
            return 1.0 - self.design.delivery.consortium.coordination_cost
        return 1.0

    # --- money ----------------------------------------------------------------------------

    def settle(self) -> None:
        """The commissioner pays holders, holders pass money down, everyone pays their costs."""
        model = self.design.delivery.model
        prices = self.prices
        price_table = (prices.block, prices.fee, prices.attachment, prices.outcome, prices.sustainment)
        by_programme_year = self.design.transitions.taper_by == "programme_year"
        for pl in self.placements:
            c = pl.contract
            year = self.month // 12 if by_programme_year else (self.month - c.start_month) // 12
            by_year = prices.by_year[min(year, len(prices.by_year) - 1)] if len(prices.by_year) else np.ones(5)
            # A contract that ended in good order still pays for outcomes of the work done under it.
            live = c.active and pl.provider.active
            run_off = c.run_off and pl.provider.active
            scale = [c.price_ratio * (live or (run_off and k in (OUTCOME, SUSTAINMENT))) for k in range(5)]
            counts = (self.lots.referrals[pl.lot] * pl.share, pl.served, pl.referred, pl.outcomes, pl.sustainment)
            gross = [float(np.dot(counts[k], price_table[k])) * by_year[k] * scale[k] for k in range(5)]
            gross_pence = pence(sum(gross))
            for amount in gross:
                paid = pence(amount)
                c.payee.reserves_pence += paid
                self.totals["spend"] += paid
            down = c.payee is not pl.provider
            if model == "consortium" and c.holder is None:  # a lot awarded to one provider is a direct contract
                kept = self.design.delivery.consortium.coordination_cost
                c.payee.reserves_pence -= pence(sum(gross) * kept)
                received = sum(pence(amount * (1.0 - kept)) for amount in gross) if down else 0
            elif model == "prime":
                rules = self.design.delivery.prime
                received = 0
                if down:
                    risk = rules.risk_passed_down
                    if pl.role == Role.TIER2 and rules.tier2_risk_passed_down is not None:
                        risk = rules.tier2_risk_passed_down
                    for k, amount in enumerate(gross):
                        at_risk = risk if k in (OUTCOME, SUSTAINMENT) else 1.0
                        received += pence((1.0 - rules.management_fee) * at_risk * amount)
                    # The outcome pay it does not risk comes as a fee per referral.
                    risk_fee = float(np.dot(pl.referred, c.risk_fee_gbp)) if c.active else 0.0
                    received += pence((1.0 - rules.management_fee) * (1.0 - risk) * risk_fee)
                c.holder.earn(gross_pence - received)
            else:
                received = 0
                pl.provider.earn(gross_pence)
            if down:
                c.payee.reserves_pence -= received
                pl.provider.reserves_pence += received
                pl.provider.earn(received)
            self._pay_costs(pl)

    def _pay_costs(self, pl: Placement) -> None:
        p = pl.provider
        v = self.scenario.sector.effort.variable_cost_share
        staff = sum(n * cost * (1.0 - v + v * e * e) for n, cost, e in zip(pl.served, self.world.cost_to_serve_gbp, pl.effort)) if pl.live else 0.0
        compliance = self.dynamics.compliance_gbp_per_month * (1.5 - p.management) if pl.live and sum(pl.served) else 0.0
        costs = (pence(staff), pence(staff * p.overhead_rate), pence(compliance))
        p.reserves_pence -= sum(costs)
        self.totals["staff"] += costs[0]
        if pl.contract.in_house:  # the commissioner pays its own service exactly what it spent
            p.reserves_pence += sum(costs)
            p.earn(sum(costs))
            self.totals["spend"] += sum(costs)

    def manage_contracts(self) -> None:
        """The commissioner's monthly cost of managing each standing contract."""
        standing = sum(1 for c in self.contracts if c.active)
        self.totals["spend"] += standing * month_of_yearly_pence(self.design.commissioning_costs.contract_management_gbp_per_year, self.month)

    # --- exits with notice ----------------------------------------------------------------

    def review_contracts(self) -> None:
        """Notices falling due take effect; then, every few months, each provider delivering a contract
        gives notice on it when the loss it expects over the rest of the term is more than it can bear."""
        self._serve_notices()
        rules = self.scenario.sector.exits
        if not rules.enabled or self.month % rules.review_every_months != rules.review_every_months - 1:
            return
        taking: dict[tuple[int, int], list[Placement]] = {}
        for pl in self.placements:
            if pl.live and pl.share.sum() > 0:
                taking.setdefault((pl.provider.index, pl.contract.number), []).append(pl)
        noticed = {(p.index, c.number) for p, c, _ in self.notices}
        view = self._tender_view()
        needs: dict[Provider, list[tuple[float, Contract]]] = {}  # the working capital each contract still needs
        for (index, number), rows in sorted(taking.items()):
            provider, contract = self.providers[index], self.contracts[number]
            if (index, number) in noticed or contract.in_house or provider.in_house:
                continue
            remaining = contract.end_month - self.month - 1
            if remaining <= rules.notice_months:
                continue  # over before the notice would run out
            loss = -self._forward_net(view, provider, contract, rows) * remaining
            if loss > rules.bearable_loss_share * max(provider.reserves_pence / 100.0, 0.0):
                self._give_notice(provider, contract)
            elif rules.weigh_working_capital and not (self.design.delivery.model == "prime" and contract.holder is provider):
                needs.setdefault(provider, []).append((self._cash_still_needed(view, provider, contract, rows), contract))
        for provider, ahead in needs.items():
            self._hand_back_what_it_cannot_fund(provider, ahead)

    def _give_notice(self, provider: Provider, contract: Contract) -> None:
        self.notices.append((provider, contract, self.month + self.scenario.sector.exits.notice_months))
        self.count("notices")

    def _hand_back_what_it_cannot_fund(self, provider: Provider, ahead: list[tuple[float, Contract]]) -> None:
        """One purse for all its contracts: while the working capital they still need together is more
        than its reserves, the provider gives notice on the contract that needs most."""
        reserves = max(provider.reserves_pence / 100.0, 0.0)
        still = sum(need for need, _ in ahead)
        for need, contract in sorted(ahead, key=lambda a: (-a[0], a[1].number)):
            if still <= reserves or need <= 0:
                return
            self._give_notice(provider, contract)
            self.count("notices_for_cash")
            still -= need

    def _cash_still_needed(self, view: Market, provider: Provider, contract: Contract, rows: list[Placement]) -> float:
        """How far the provider's cash on this contract is still expected to fall below where it is now
        before the contract ends (GBP): its referrals arrive steadily from the start, each month's
        arrivals with the expected net cash profile of a referral; the position is their running total."""
        referrals = sum((self.lots.referrals[pl.lot] * pl.share for pl in rows), np.zeros(self.groups))
        kept = 1.0
        if self.design.delivery.model == "prime" and contract.holder is not provider:
            kept = 1.0 - self.design.delivery.prime.management_fee
        elif self.design.delivery.model == "consortium" and contract.holder is None:
            kept = 1.0 - self.design.delivery.consortium.coordination_cost
        elapsed, months = self.month - contract.start_month + 1, contract.end_month - contract.start_month
        path = self._cash_path(view, provider, referrals, contract.price_ratio * kept, max(months, elapsed + 1))
        now = path[elapsed - 1] if elapsed > 0 else 0.0
        ahead = path[max(elapsed, 0): max(months, elapsed)]
        return max(0.0, now - min(ahead)) if ahead else 0.0

    @staticmethod
    def _cash_path(view: Market, provider: Provider, referrals: np.ndarray, paid_ratio: float, months: int) -> list[float]:
        """The provider's cash position after each month of a steady inflow of `referrals` [group]:
        each month's arrivals bring the expected net cash profile of a referral, month after month."""
        profile = [float(x) for x in Economics(view, np.array([provider.index])).net_by_month(provider.index, referrals, paid_ratio)]
        position, flow, path = 0.0, 0.0, []
        for m in range(max(months, len(profile))):
            flow += profile[m] if m < len(profile) else 0.0  # this month's net of all cohorts so far
            position += flow
            path.append(position)
        return path

    def _forward_net(self, view: Market, provider: Provider, contract: Contract, rows: list[Placement]) -> float:
        """What the provider expects to make a month from its referrals on this contract, at what it keeps."""
        model = self.design.delivery.model
        referrals = sum((self.lots.referrals[pl.lot] * pl.share for pl in rows), np.zeros(self.groups))
        kept, fee = 1.0, 0.0
        if model == "prime" and contract.holder is provider:
            chain = [pl for pl in self.placements if pl.contract is contract and pl.provider is not provider and pl.live and pl.share.sum() > 0]
            passed = sum((self.lots.referrals[pl.lot] * pl.share for pl in chain), np.zeros(self.groups))
            fee = self.design.delivery.prime.management_fee * float(passed @ income_per_person(view, provider.index, contract.price_ratio))
        elif model == "prime":
            kept = 1.0 - self.design.delivery.prime.management_fee
        elif model == "consortium" and contract.holder is None:
            kept = 1.0 - self.design.delivery.consortium.coordination_cost
        lots = len({pl.lot for pl in rows})
        return net_per_month(view, provider.index, referrals, contract.price_ratio * kept, lots) + fee

    def _serve_notices(self) -> None:
        """A holder hands its contract back; a subcontractor or member leaves it to its fellows."""
        due = [n for n in self.notices if n[2] == self.month]
        self.notices = [n for n in self.notices if n[2] != self.month]
        for provider, contract, _ in due:
            if not contract.active or not provider.active:
                continue
            kind = "hand_backs" if contract.holder is provider else "withdrawals"
            self._leave(provider, [pl for pl in self.placements if pl.provider is provider and pl.contract is contract], "handed_back")
            self.count(kind)

    # --- failure --------------------------------------------------------------------------

    def handle_failures(self) -> None:
        """Providers whose reserves run out fail; under joint liability fellow members cover them first."""
        liability = self.design.delivery.model == "consortium" and self.design.delivery.consortium.joint_liability
        while True:
            failing = [p for p in self.providers if p.active and p.reserves_pence < 0]
            if not failing:
                return
            for p in failing:
                if liability:
                    self._share_loss(p)
                p.written_off_pence += max(-p.reserves_pence, 0)  # creditors write off what is left
                p.reserves_pence = max(p.reserves_pence, 0)
                self._fail(p)

    def _share_loss(self, provider: Provider) -> None:
        fellows = sorted(
            {m.index for c in self.contracts if c.active and c.holder is None and provider in c.members
             for m in c.members if m is not provider and m.active}
        )
        if not fellows:
            return
        deficit = -provider.reserves_pence
        weights = [max(self.providers[i].reserves_pence, 1) for i in fellows]
        total = float(sum(weights))
        shares = [int(np.floor(deficit * w / total)) for w in weights]
        shares[int(np.argmax(weights))] += deficit - sum(shares)
        for i, share in zip(fellows, shares):
            self.providers[i].reserves_pence -= share
        provider.reserves_pence += deficit
        self.count("liability_calls", len(fellows))

    def _fail(self, provider: Provider) -> None:
        mine = [pl for pl in self.placements if pl.provider is provider]
        # Disrupted: people it was supporting (on the caseload or in work awaiting the outcome) in
        # placements that were delivering; people already waiting for a re-let are not counted again.
        delivering = {pl for pl in mine if pl.live}
        self.count("people_disrupted", sum(
            1 for person in self.participants if person.placement in delivering and person.stage != SUSTAINING))
        provider.active = False
        provider.failed = True
        provider.exit_month = self.month
        self.count("failures")
        self._leave(provider, mine, "failed")

    def _leave(self, provider: Provider, mine: list[Placement], cause: str) -> None:
        """The provider leaves its placements: a contract it holds ends (its lots go to the commissioner);
        otherwise the fellow of the same contract and lot with most room takes its people, its share
        of referrals and its places, and with no fellow left the contract ends."""
        people = self._people_by_placement()
        for pl in mine:
            contract = pl.contract
            if contract.holder is provider:
                contract.end(cause, self.month)
                continue
            mates = [m for m in self.placements
                     if m.contract is contract and m.lot == pl.lot and m.provider.active and m.provider is not provider]
            # A fellow that has itself walked away (still active, but taking no referrals here) is no heir.
            mates = [m for m in mates if m.share.sum() > 0] or mates
            if not mates:
                contract.end(cause, self.month)
                continue
            target = max(mates, key=lambda m: m.capacity - people[m])  # first of the roomiest
            for person in self.participants:
                if person.placement is pl:
                    person.placement = target
            people[target] += people[pl]
            people[pl] = 0
            for g in range(self.groups):
                target.waiting[g] += pl.waiting[g]
                pl.waiting[g] = 0
            target.share = target.share + pl.share
            target.capacity += pl.capacity
            pl.share = np.zeros(self.groups)

    def _people_by_placement(self) -> Counter[Placement]:
        return Counter(person.placement for person in self.participants)

    # --- recording and the year end -------------------------------------------------------

    def record(self) -> None:
        incomes = [p.income_this_month_pence for p in self.providers]
        total = sum(incomes)
        small = sum(i for p, i in zip(self.providers, incomes) if self.small(p))
        self.totals["income"] += total
        self.totals["small_income"] += small
        if total > 0:
            self.hhi_by_month.append(sum((i / total) ** 2 for i in incomes) * 10_000)
        for p in self.providers:
            p.income_this_month_pence = 0
        for pl in self.placements:
            self.outcomes_by_group += pl.outcomes
        self.participant_months += len(self.participants)

    def close_year(self) -> None:
        """Learning, surplus into capacity, shrinking without income, closing, entry."""
        d = self.dynamics
        referral_months = self.scenario.world.referral_months
        counting = referral_months is None or self.month < referral_months  # no referrals, no bid candy
        for pl in self.placements:
            if counting and pl.live and pl.role == Role.TIER2:  # every tier 2 named, whatever its share
                self.count("tier2_years")
                self.count("tier2_idle_years", pl.referred_this_year == 0)
            pl.referred_this_year = 0
        delivering = {pl.provider for pl in self.placements if pl.live}
        owned: Counter[Provider] = Counter()
        for pl in self.placements:
            owned[pl.provider] += pl.capacity
        place_cost = 12.0 * float(self.world.cost_to_serve_gbp.mean())
        extra = {}
        for p in self.providers:
            if p in delivering:
                p.experience_years += 1
            p.effectiveness = p.base_effectiveness * (1.0 + min(d.max_learning, d.learning_rate * p.experience_years))
            surplus = max(0.0, (p.reserves_pence - p.year_start_pence) / 100.0)
            extra[p] = d.reinvest_share * surplus / place_cost
        for pl in self.placements:
            if owned[pl.provider] > 0:
                pl.capacity += extra[pl.provider] * pl.capacity / owned[pl.provider]
        closing = []
        for p in self.providers:
            income = p.service_income_pence / 100.0
            p.ever_had_income = p.ever_had_income or income > 0
            lost = p.active and p.ever_had_income and income == 0
            if lost:
                p.other_income_gbp *= 1.0 - d.shrink_rate
            p.turnover_gbp = p.other_income_gbp + income
            p.peak_turnover_gbp = max(p.peak_turnover_gbp, p.turnover_gbp)
            if p.reach == 0 and p.turnover_gbp >= REGIONAL_REACH_GBP:
                p.reach = 1
            if p.reach == 1 and p.turnover_gbp >= NATIONAL_REACH_GBP:
                p.reach = 2
            if lost and p.turnover_gbp < d.exit_turnover_gbp:  # only a provider that lost its income closes
                closing.append(p)
        for p in closing:
            self._fail(p)
            p.failed = False  # closed, not failed
        self.count("closures", len(closing))
        self.count("failures", -len(closing))
        for p in self.providers:
            p.service_income_pence = 0
        if self.month + 1 < self.scenario.run.months:  # nobody enters after the run ends
            before = len(self.providers)
            self._join(lambda ledger: draw_entrants(self.scenario, self.world, ledger, self.streams["entry"], self.month + 1))
            self.count("entries", len(self.providers) - before)
        for p in self.providers:
            p.year_start_pence = p.reserves_pence

    # --- the run --------------------------------------------------------------------------

    def metrics(self) -> dict[str, float]:
        """The cross-checked metrics, with Platoons' definitions."""
        outcomes = float(self.outcomes_by_group.sum())
        arrived = self.referred_by_group + self.unserved_by_group  # everyone referred, served or not
        placed = float(self.referred_by_group.sum())
        spend = self.totals["spend"] / 100.0
        subsidy = self.provider_subsidy_gbp()
        whole = spend + subsidy  # no investors in the designs covered here
        result = {
            "outcomes": outcomes,
            "outcome_rate": outcomes / arrived.sum() if arrived.sum() else 0.0,
            "outcome_rate_served": outcomes / placed if placed else float("nan"),
            "spend_gbp": spend,
            "cost_per_outcome_gbp": spend / outcomes if outcomes else float("nan"),
            "front_line_share": self.totals["staff"] / 100.0 / whole if whole else 0.0,
            "provider_subsidy_gbp": subsidy,
            "whole_cost_gbp": whole,
            "failures": float(self.events["failures"]),
            "people_disrupted": float(self.events["people_disrupted"]),
            "small_share_of_spend": self.totals["small_income"] / self.totals["income"] if self.totals["income"] else 0.0,
            "hhi": float(np.mean(self.hhi_by_month)) if self.hhi_by_month else 0.0,
            "entries": float(self.events["entries"]),
            "referrals_unserved": float(self.events["referrals_unserved"]),
        }
        for g, name in enumerate(self.world.group_names):
            n = arrived[g]
            result[f"outcome_rate_{name}"] = float(self.outcomes_by_group[g] / n) if n else 0.0
        return result

    def provider_subsidy_gbp(self) -> float:
        """Providers' own money that paid for the service: each one's shortfall of its final reserves
        below its opening reserves plus the debts written off in its name (losses only, not netted)."""
        return sum(max(0, p.opening_pence + p.written_off_pence - p.reserves_pence) for p in self.providers) / 100.0


def _item(value):
    """A numpy scalar as a plain Python value; rows of arrays stay arrays."""
    return value.copy() if isinstance(value, np.ndarray) else value.item()
