"""Alliance contracts: members and commissioner share one budget and its gains and pains.

Members are paid their delivery costs as they fall (open book). At each year end the year's
spending is set against the pooled budget; the commissioner keeps its agreed share of a
surplus (or bears its share of an overspend) and members receive (or pay) the rest in
proportion to what each was paid. A member that fails is replaced by the next in line from
the original selection, without a new tender.
"""

from __future__ import annotations

import numpy as np

from platoons.ledger import Account, Kind, Role, to_pence
from platoons.market.contracting import add_placements, move_people
from platoons.market.state import Contract, Market


def reimburse(market: Market, costs: dict[Kind, np.ndarray]) -> None:
    pl = market.placements
    pence = sum(to_pence(amount) for amount in costs.values())  # exactly what each cost posting will take
    market.ledger.post(Account.COMMISSIONER, market.providers.account[pl.provider], pence, Kind.FEE, pl.role)
    pl.paid_this_year += pence / 100.0
    market.add_income(pl.provider, pence)


def share_gain_and_pain(market: Market) -> None:
    """Settle each alliance's year against its pooled budget."""
    if market.scenario.design.delivery.model != "alliance":
        return
    pl, p = market.placements, market.providers
    commissioner_share = market.scenario.design.delivery.alliance.commissioner_share
    for c, contract in enumerate(market.contracts):
        rows = np.flatnonzero((pl.contract == c) & (pl.paid_this_year > 0))
        if not contract.active or contract.in_house or len(rows) == 0:
            continue
        spent = pl.paid_this_year[rows].sum()
        surplus = contract.budget_gbp_per_year - spent
        members_part = split_pro_rata((1.0 - commissioner_share) * abs(surplus), pl.paid_this_year[rows])
        accounts = p.account[pl.provider[rows]]
        if surplus >= 0:
            market.ledger.post(Account.COMMISSIONER, accounts, members_part, Kind.GAIN_SHARE, Role.ALLIANCE)
            market.add_income(pl.provider[rows], members_part)
        else:
            market.ledger.post(accounts, Account.COMMISSIONER, members_part, Kind.PAIN_SHARE, Role.ALLIANCE)
        market.count("alliance_surplus_gbp", surplus)
    pl.paid_this_year[:] = 0.0


def split_pro_rata(amount_gbp: float, weights: np.ndarray) -> np.ndarray:
    """Whole pence that sum exactly to the amount, in proportion to weights; remainder to the largest."""
    total = to_pence(amount_gbp)
    parts = np.floor(total * weights / weights.sum()).astype(np.int64)
    parts[np.argmax(weights)] += total - parts.sum()
    return parts


def replace_member(market: Market, contract: Contract, row: int) -> bool:
    """Bring in the next provider in line for a failed member; False when none is left."""
    if contract.holder >= 0 or market.scenario.design.delivery.model != "alliance":
        return False
    p = market.providers
    while contract.replacements:
        candidate = contract.replacements.pop(0)
        if p.active[candidate]:
            new = add_placements(market, np.array([row]), provider=np.array([candidate]))
            move_people(market, np.array([row]), int(new[0]))
            market.placements.share[row] = 0.0
            contract.members = np.append(contract.members, candidate)
            market.count("alliance_replacements")
            return True
    return False
