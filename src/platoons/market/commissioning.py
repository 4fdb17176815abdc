"""The commissioner's own costs of running contracts: management of every standing contract and
evaluation of outcomes-finance contracts, posted monthly. (Tendering costs are posted by each
tender: `contracting.let_lots`.)"""

from __future__ import annotations

from platoons.ledger import Account, Kind, to_pence
from platoons.market.state import Market


def charge(market: Market) -> None:
    costs = market.scenario.design.commissioning_costs
    standing = [c for c in market.contracts if c.active]
    management = costs.contract_management_gbp_per_year / 12 * len(standing)
    market.ledger.post(Account.COMMISSIONER, Account.COMMISSIONING, to_pence(management), Kind.CONTRACT_MANAGEMENT)
    if market.scenario.design.delivery.model == "outcomes_finance":
        evaluated = sum(1 for c in standing if not c.in_house)
        evaluation = costs.outcomes_evaluation_gbp_per_year / 12 * evaluated
        market.ledger.post(Account.COMMISSIONER, Account.COMMISSIONING, to_pence(evaluation), Kind.EVALUATION)
