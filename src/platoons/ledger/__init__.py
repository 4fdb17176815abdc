"""The double-entry ledger: the only place money moves.

Every movement is a posting of a whole number of pence from a payer account to a payee
account, so balances always sum to zero. The market posts here; metrics read from here.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Account(IntEnum):
    """The accounts that exist in every run; organisations open theirs after these."""

    COMMISSIONER = 0
    FRONT_LINE = 1  # front-line staff delivering the service
    OVERHEADS = 2
    COMPLIANCE = 3  # contract management, reporting and evidence
    BID_COSTS = 4
    COORDINATION = 5  # consortium centres' coordination spending
    CAPACITY_BUILDING = 6  # what capacity grants buy (training, systems, management)
    CREDITORS = 7  # losses written off when a provider fails
    OPENING_RESERVES = 8  # where organisations' starting reserves come from
    INVESTORS = 9
    COMMISSIONING = 10  # the commissioner's own costs: procurement, contract management, evaluation
    TRANSITION = 11  # what changing provider costs: mobilisation and transfers


class Kind(IntEnum):
    """What a posting is for."""

    OPENING = 0
    BLOCK = 1
    FEE = 2
    ATTACHMENT = 3
    OUTCOME = 4
    SUSTAINMENT = 5
    RISK_FEE = 6  # fee a prime pays instead of passing outcome risk down
    STAFF = 7
    OVERHEAD = 8
    COMPLIANCE = 9
    BID = 10
    COORDINATION = 11
    GRANT = 12
    CAPACITY_SPEND = 13
    LIABILITY = 14  # a member covering a failed member's loss
    WRITE_OFF = 15
    GAIN_SHARE = 16  # an alliance's surplus shared with its members
    PAIN_SHARE = 17  # members' share of an alliance's overspend
    PROCUREMENT = 18  # running a tender: per lot and per bid evaluated
    CONTRACT_MANAGEMENT = 19
    EVALUATION = 20  # evaluating an outcomes-finance contract
    MOBILISATION = 21  # an incoming holder setting up a lot it takes over
    TRANSFER = 22  # moving a person's case (and staff) to a new provider
    INHERITED = 23  # the commissioner paying an incoming provider for each person on a caseload it takes over
    RECONCILIATION = 24  # yearly settlement of volumes outside a contract's volume band (either way)


class Role(IntEnum):
    """The part an organisation plays in the posting's contract."""

    NONE = 0
    DIRECT = 1  # holds the contract and delivers it
    PRIME = 2
    TIER1 = 3
    TIER2 = 4
    CENTRE = 5  # consortium centre
    MEMBER = 6
    ALLIANCE = 7  # member of an alliance contract


COMMISSIONER_PAYMENTS = (Kind.BLOCK, Kind.FEE, Kind.ATTACHMENT, Kind.OUTCOME, Kind.SUSTAINMENT, Kind.GAIN_SHARE, Kind.INHERITED)
COMMISSIONING_COSTS = (Kind.PROCUREMENT, Kind.CONTRACT_MANAGEMENT, Kind.EVALUATION)
COSTS = (Kind.STAFF, Kind.OVERHEAD, Kind.COMPLIANCE, Kind.BID, Kind.COORDINATION, Kind.CAPACITY_SPEND)


class Ledger:
    """Balances in integer pence and the journal of every posting."""

    def __init__(self) -> None:
        self.balances = np.zeros(len(Account), dtype=np.int64)
        self._journal: list[tuple[np.ndarray, ...]] = []
        self.month = 0

    def open_accounts(self, count: int) -> np.ndarray:
        """New zero-balance accounts for organisations; returns their account numbers."""
        first = len(self.balances)
        self.balances = np.concatenate([self.balances, np.zeros(count, dtype=np.int64)])
        return np.arange(first, first + count, dtype=np.int64)

    def post(self, payer, payee, amount_pence, kind: Kind, role=Role.NONE) -> None:
        """Move money: each of `amount_pence` (>= 0) from `payer` to `payee`; arrays broadcast."""
        amount = np.asarray(amount_pence, dtype=np.int64)
        if (amount < 0).any():
            raise ValueError("a posting moves a non-negative amount")
        if not (amount > 0).any():
            return  # nothing moves (many prices and costs are zero)
        payer, payee, amount, role = np.broadcast_arrays(
            np.asarray(payer, dtype=np.int64),
            np.asarray(payee, dtype=np.int64),
            amount,
            np.asarray(role, dtype=np.int8),
        )
        keep = amount > 0
        payer, payee, amount, role = payer[keep], payee[keep], amount[keep], role[keep]
        np.subtract.at(self.balances, payer, amount)
        np.add.at(self.balances, payee, amount)
        self._journal.append(
            (np.full(len(amount), self.month, np.int32), payer, payee, amount, np.full(len(amount), int(kind), np.int8), role)
        )

    def journal(self) -> dict[str, np.ndarray]:
        """Every posting so far, as columns."""
        names = ("month", "payer", "payee", "amount_pence", "kind", "role")
        if not self._journal:
            return {n: np.zeros(0, dtype=np.int64) for n in names}
        return {n: np.concatenate([entry[i] for entry in self._journal]) for i, n in enumerate(names)}

    def total(self) -> int:
        return int(self.balances.sum())


def to_pence(amount_gbp) -> np.ndarray:
    """GBP amounts as whole pence, rounded half away from zero."""
    return np.rint(np.asarray(amount_gbp, dtype=np.float64) * 100).astype(np.int64)
