"""The commissioner's own costs of running contracts: management of every standing contract and
evaluation of outcomes-finance contracts, posted monthly. (Tendering costs are posted by each
tender: `contracting.let_lots`.)"""

from __future__ import annotations

from platoons.ledger import Account, Kind, to_pence
from platoons.market.state import Market


def charge(market: Market) -> None:
    costs = market.scenario.design.commissioning_costs
    standing = [c for c in market.contracts if c.active]
    management = len(standing) * month_of_yearly_pence(costs.contract_management_gbp_per_year, market.month)
    market.ledger.post(Account.COMMISSIONER, Account.COMMISSIONING, management, Kind.CONTRACT_MANAGEMENT)
    if market.scenario.design.delivery.model == "outcomes_finance":
        evaluated = sum(1 for c in standing if not c.in_house)
        evaluation = evaluated * month_of_yearly_pence(costs.outcomes_evaluation_gbp_per_year, market.month)
        market.ledger.post(Account.COMMISSIONER, Account.COMMISSIONING, evaluation, Kind.EVALUATION)


def month_of_yearly_pence(per_year_gbp: float, month: int) -> int:
    """This month's twelfth of a yearly cost, in whole pence, rounded so that any twelve months in a
    row add up to the yearly cost exactly (rounding each twelfth alone drifts by up to 6p a year)."""
    k = month % 12
    return int(to_pence(per_year_gbp * (k + 1) / 12) - to_pence(per_year_gbp * k / 12))
