"""Each metric in plain words: a label, a unit a person reads, and a definition that names its denominator.

The registry (`platoons.metrics.REGISTRY`) reads these when a metric is declared; the CLI, the
report, the exports and `platoons glossary` show them, while `--json` and the stores keep the
identifiers. Metrics declared for each supply-chain tier, size band or need group are worded by
`family_words`.
"""

from __future__ import annotations

# What a unit identifier reads as, where a metric does not say otherwise.
UNIT_TEXT = {
    "share": "%", "GBP": "GBP", "GBP/outcome": "GBP per outcome", "people": "people", "providers": "providers",
    "index 0-10,000": "index, 0 to 10,000", "share/year": "% per year",
    "lot-months": "lot-months", "contracts": "contracts",
}

# identifier -> (label, definition). Every definition says what is divided by what, or that it is a count.
WORDS: dict[str, tuple[str, str]] = {
    "outcomes": ("Outcomes", "Sustained outcomes paid for over the run: a count of people, not divided by anything."),
    "outcome_rate": ("Outcome rate", "Sustained outcomes over the run divided by everyone referred over the run, served "
                                     "or turned away."),
    "outcome_rate_served": ("Outcome rate among people served", "Sustained outcomes over the run divided by the "
                                                                "referrals that reached a provider (people turned away "
                                                                "are left out)."),
    "spend_gbp": ("Commissioner spend", "What the commissioner paid contract holders (volume reconciliations net of "
                                        "clawbacks included), plus capacity grants, mobilisation and transfer costs and its own costs of tendering, managing and evaluating "
                                        "contracts, less any overspend paid back, over the run: a total, not divided by "
                                        "anything."),
    "spend_vs_budget": ("Spend against budget", "The commissioner's spend per year divided by its budget "
                                                "(design.budget_gbp_per_year); blank without a budget."),
    "commissioning_cost_gbp": ("Commissioning costs", "The commissioner's own costs of procurement, contract "
                                                      "management and evaluation over the run: a total, not divided by "
                                                      "anything."),
    "unserved_lot_months": ("Lot-months without a holder", "Months in which a lot had no contract holder, summed over "
                                                           "lots: a count, not divided by anything."),
    "hand_backs": ("Contracts handed back", "Contracts their holders handed back with notice before insolvency: a "
                                            "count, not divided by anything."),
    "withdrawals": ("Supply-chain withdrawals", "Subcontractors and members that left a supply chain with notice: a "
                                                "count, not divided by anything."),
    "cost_per_outcome_gbp": ("Cost per outcome", "Commissioner spend divided by sustained outcomes over the run."),
    "front_line_share": ("Front-line share", "Pay of front-line staff divided by the whole cost of delivery "
                                             "(commissioner spend, investors' net loss and providers' subsidy), over "
                                             "the run."),
    "provider_subsidy_gbp": ("Providers' subsidy", "Providers' own money spent on the service: reserves consumed by "
                                                   "those that lost money, plus debts written off when providers "
                                                   "failed; a total, not divided by anything."),
    "investor_net_loss_gbp": ("Investors' net loss", "What social investors paid in less what they were paid back, when "
                                                     "that is a loss (0 otherwise): a total, not divided by anything."),
    "whole_cost_gbp": ("Whole cost of delivery", "Commissioner spend plus investors' net loss plus providers' subsidy: "
                                                 "a total, not divided by anything."),
    "whole_cost_per_outcome_gbp": ("Whole cost per outcome", "Whole cost of delivery divided by sustained outcomes over "
                                                             "the run."),
    "failures": ("Provider failures", "Providers whose reserves ran out during the run: a count, not divided by "
                                      "anything."),
    "people_disrupted": ("People disrupted", "People on a caseload, or started and waiting for their outcome to be "
                                             "confirmed, whose provider failed, once per failure: a count, not "
                                             "divided by anything."),
    "small_share_of_spend": ("Small providers' share of income", "Service income received by small providers "
                                                                 "(turnover under GBP 1m at the time) divided by all "
                                                                 "providers' service income, over the run."),
    "share_of_spend_1m_10m": ("Share of income to GBP 1m-10m providers", "Service income received by providers with "
                                                                         "turnover of GBP 1m to 10m at the time "
                                                                         "divided by all providers' service income, "
                                                                         "over the run."),
    "small_providers_delivering": ("Small providers delivering", "Small providers (under GBP 1m) with people on a "
                                                                 "caseload, averaged over the months of the last "
                                                                 "referral year: a count, not divided by anything."),
    "small_providers_active": ("Small providers active at the end", "Small providers (under GBP 1m) still operating "
                                                                    "in the last month: a count, not divided by "
                                                                    "anything."),
    "hhi": ("Market concentration (HHI)", "The sum of squared shares of service income, times 10,000, averaged over "
                                          "the months in which any provider had income; each share is a provider's "
                                          "income divided by all providers' income that month."),
    "entries": ("New providers", "Providers that entered the market during the run: a count, not divided by "
                                 "anything."),
    "mean_effectiveness": ("Provider effectiveness", "Effectiveness of delivering providers weighted by the people "
                                                     "they serve (their caseload divided by all caseloads), averaged "
                                                     "over the last year."),
    "grew_from_small": ("Grew past GBP 1m", "Providers that entered with turnover under GBP 1m and passed GBP 1m "
                                            "during the run: a count, not divided by anything."),
    "grew_past_10m": ("Grew past GBP 10m", "Providers that entered with turnover under GBP 10m and passed GBP 10m "
                                           "during the run: a count, not divided by anything."),
    "referrals_unserved": ("Referrals unserved", "Referrals turned away because no provider held their lot: a count "
                                                 "of people over the run, not divided by anything."),
    "referrals_unserved_share": ("Share of referrals unserved", "Referrals unserved divided by all referrals over "
                                                               "the run."),
    "lot_months_let_share": ("Share of lot-months let", "Months in which a lot had a contract holder, summed over "
                                                        "lots, divided by the number of lots times the months of "
                                                        "the run."),
    "investor_return": ("Investors' return", "What social investors were paid on outcomes divided by what they put "
                                             "in, less one (outcomes finance only)."),
    "bid_candy": ("Bid candy", "Tier-2 subcontractor-years with no referral in the year divided by all tier-2 "
                               "subcontractor-years named in standing contracts, whatever share the prime routes to them."),
    "effort_hardest": ("Effort on the hardest to help", "Effort given to the group least likely to reach an "
                                                        "outcome unaided, summed over its person-months served and divided "
                                                        "by them (1 is full effort; below the easiest group's "
                                                        "means parking)."),
    "effort_easiest": ("Effort on the easiest to help", "Effort given to the group most likely to reach an "
                                                        "outcome unaided, summed over its person-months served and divided "
                                                        "by them (1 is full effort)."),
}

ROLE_WORDS = {"direct": "direct providers", "prime": "primes", "tier1": "tier-1 subcontractors",
              "subcontractors": "all subcontractors",
              "tier2": "tier-2 subcontractors", "member": "consortium members", "alliance": "alliance members",
              "micro": "micro providers", "small": "small providers", "medium": "medium providers",
              "large": "large providers", "major": "major providers", "super_major": "super-major providers"}


def family_words(name: str) -> tuple[str, str] | None:
    """Label and definition of a metric declared per tier, size band or need group, or None."""
    if name.startswith("margin_"):
        who = ROLE_WORDS.get(name.removeprefix("margin_"), name.removeprefix("margin_"))
        return (f"Margin of {who}", f"Surplus of {who} (service income less their delivery costs) divided by their "
                                    "service income, over the run; missing where that income is below the margin "
                                    "income floor.")
    if name.startswith("pbr_risk_"):
        who = ROLE_WORDS.get(name.removeprefix("pbr_risk_"), name.removeprefix("pbr_risk_"))
        return (f"Payment-by-results risk of {who}", f"Outcome and sustainment pay of {who} divided by their service "
                                                     "income, over the run; missing where that income is below the "
                                                     "margin income floor.")
    if name.startswith("outcome_rate_"):
        group = name.removeprefix("outcome_rate_")
        return (f"Outcome rate: {group}", f"Sustained outcomes of the {group} group divided by all referrals of that "
                                          "group over the run, served or not (parking shows here).")
    return None


def words(name: str) -> tuple[str, str]:
    """(label, definition) of a metric; an unknown one reads as its identifier with spaces."""
    return WORDS.get(name) or family_words(name) or (name.replace("_", " ").capitalize(), "")
