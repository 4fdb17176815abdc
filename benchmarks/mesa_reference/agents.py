"""The agents of the Mesa reference: one object per participant and per provider.

Placements, contracts and consortium centres are plain objects the agents point to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mesa
import numpy as np

WAITING, IN_WORK, SUSTAINING = 0, 1, 2  # a participant's stage: on the caseload, in work until the outcome is paid, after


class Participant(mesa.Agent):
    """A person referred to the service, from referral until they leave it."""

    def __init__(self, model: mesa.Model, group: int, placement: Placement):
        super().__init__(model)
        self.group = group
        self.placement = placement
        self.stage = WAITING
        self.months = 0  # months in the current stage before this one

    def step(self) -> None:
        """One month: a chance to start work, or keep it; an outcome, a payment, or leaving."""
        g, pl, rules = self.group, self.placement, self.model.rules
        if self.stage == WAITING:
            if self.random.random() < pl.hazard[g]:
                pl.waiting[g] -= 1
                pl.starts[g] += 1
                if rules.paid_after[g] == 0:
                    self._reach_outcome()
                else:
                    self.stage, self.months = IN_WORK, 0
            elif self.months == rules.max_months[g] - 1:
                pl.waiting[g] -= 1
                self.model.count("left_without_outcome")
                self.remove()
            else:
                self.months += 1
        elif self.stage == IN_WORK:
            if self.months < rules.sustain_months[g] and self.random.random() < rules.job_loss[g]:
                self._rejoin_caseload()  # no job is lost once the outcome is sustained and its data awaited
            elif self.months == rules.paid_after[g] - 1:
                self._reach_outcome()
            else:
                self.months += 1
        else:
            if self.random.random() < rules.job_loss[g]:
                self.remove()
                return
            pl.sustainment[g] += 1
            if self.months == rules.sustainment_payments[g] - 1:
                self.remove()
            else:
                self.months += 1

    def _rejoin_caseload(self) -> None:
        """Back on the caseload after losing the job, next month; as in Platoons, the time waited
        before starting is forgotten: the months on the caseload restart at the months in work."""
        self.stage = WAITING
        self.months = min(self.months, self.model.rules.max_months[self.group] - 1)
        self.placement.waiting[self.group] += 1

    def _reach_outcome(self) -> None:
        self.placement.outcomes[self.group] += 1
        if self.model.rules.sustainment_payments[self.group] > 0:
            self.stage, self.months = SUSTAINING, 0
        else:
            self.remove()


class Provider(mesa.Agent):
    """An organisation that can bid, deliver, earn, grow, learn and fail."""

    def __init__(self, model: mesa.Model, index: int, **attributes):
        super().__init__(model)
        self.index = index  # position among providers, in order of arrival (ties break on it)
        self.kind = 0
        self.reserves_pence = 0
        self.turnover_gbp = 0.0
        self.other_income_gbp = 0.0
        self.management = 0.0
        self.effectiveness = np.zeros(0)
        self.base_effectiveness = np.zeros(0)
        self.experience_years = 0.0
        self.staff_turnover = 0.0
        self.overhead_rate = 0.0
        self.reach = 0
        self.home_area = 0
        self.home_region = 0
        self.optimism = 0.0
        self.active = True
        self.failed = False
        self.started_small = False
        self.opening_pence = 0  # reserves when it entered
        self.written_off_pence = 0  # debts creditors wrote off when it failed
        self.entered_month = 0
        self.exit_month = -1
        self.service_income_pence = 0  # this year's
        self.income_this_month_pence = 0
        self.bid_cost_factor = 1.0
        self.peak_turnover_gbp = 0.0
        self.ever_had_income = False
        self.year_start_pence = 0
        self.in_house = False  # the commissioner's own provider of last resort, paid its costs
        for name, value in attributes.items():
            setattr(self, name, value)

    def earn(self, pence: int) -> None:
        """Service income: it sets the provider's turnover at the year end."""
        self.service_income_pence += pence
        self.income_this_month_pence += pence


@dataclass(eq=False)
class Centre:
    """A consortium's coordinating centre: it holds the contract but delivers nothing."""

    reserves_pence: int = 0


@dataclass(eq=False)
class Contract:
    number: int  # position among contracts, in order of signing (reviews go in this order)
    lots: tuple[int, ...]
    holder: Provider | None  # None for a consortium
    payee: Provider | Centre  # who the commissioner pays
    price_ratio: float
    start_month: int
    end_month: int
    risk_fee_gbp: np.ndarray  # [group] per referral, at the winner's price
    members: tuple[Provider, ...]
    in_house: bool = False  # held by the provider of last resort
    active: bool = True
    ended_by: str = ""  # expired, handed_back or failed; "" while it stands
    mobilising_until: int = -1  # the month until which it delivers at mobilisation quality

    @property
    def run_off(self) -> bool:
        """Ended in good order: outcomes of work done under it are still paid to whoever did it."""
        return self.ended_by in ("expired", "handed_back")

    def end(self, cause: str, month: int) -> None:
        self.active = False
        self.ended_by = cause
        self.end_month = min(self.end_month, month)


@dataclass(eq=False)
class Placement:
    """A provider's part of one lot of one contract, and this month's tallies by group."""

    contract: Contract
    lot: int
    provider: Provider
    role: int
    share: np.ndarray  # [group] share of the lot's referrals
    capacity: float
    groups: int
    waiting: list[int] = field(default_factory=list)  # people on the caseload now, by group
    hazard: list[float] = field(default_factory=list)  # this month's start chance, by group
    effort: list[float] = field(default_factory=list)  # this month's effort, by group
    referred_this_year: int = 0

    def __post_init__(self) -> None:
        self.waiting = [0] * self.groups
        self.hazard = [0.0] * self.groups
        self.effort = [1.0] * self.groups
        self.new_month()

    def new_month(self) -> None:
        n = self.groups
        self.referred, self.served, self.starts = [0] * n, [0] * n, [0] * n
        self.outcomes, self.sustainment = [0] * n, [0] * n

    @property
    def live(self) -> bool:
        return self.provider.active and self.contract.active
