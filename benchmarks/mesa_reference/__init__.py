"""The Platoons market written again in Mesa 3, with an agent per provider and per participant.

It serves twice: as the comparison in the benchmark (what the same model costs when written as
most modellers would write it, one object per agent) and as a cross-check of the engine's
monthly dynamics (`tests/test_mesa_crosscheck.py`). It reads the same `Scenario` and covers the
core designs: direct, prime and consortium (not alliances, outcomes finance or minimum
performance levels; `run_reference` refuses them).

Shared with Platoons, so that the cross-check tests the monthly dynamics rather than the set-up:

- the world, lots and prices (`build_world`, `build_lots`, `build_prices`), and the providers
  drawn by `synthesize_providers` at the start and `draw_entrants` at each year end, each
  turned into a `Provider` agent;
- the tender: `platoons.market.bidding.let_contracts` decides who wins which lots at the
  start and at contract end (and in the re-lets of the stewardship policies that re-let). It
  reads a snapshot of the provider agents (`MarketModel._tender_view`); the bid costs it charges
  and the beliefs it updates are copied back to the agents. Contracts and placements are signed
  here;
- the pure valuations on that snapshot: a lot's value at list prices (`list_value_per_year`,
  for direct awards) and a provider's expected monthly net on a flow of referrals
  (`exits.net_per_month`, `exits.income_per_person`, for exit reviews and direct awards);
- the random streams of those pieces: the same `SeedSequence(seed).spawn` split as
  `platoons.simulate`, so one seed gives both implementations the same starting providers,
  the same first tender, the same entrants and the same capacity-grant draws.

Written independently here, one participant or one provider at a time:

- referrals: Poisson arrivals by area and group; each person routed to a lot by the lots'
  shares of the area, then to a placement by the placements' shares of the group; a person
  with no placement to go to (a part of an area no lot covers, a lot with no standing holder)
  is turned away at once and counted as unserved, and still counts in the outcome rates;
- each person's month (`Participant.step`): the start chance (no-support chance plus the
  provider's effect times quality; quality falls with staff turnover, overload and consortium
  friction, and the provider's effect is scaled by the effort its placement gives the group:
  an outcome's worth to it, the pay that reaches it plus its mission, times the chance effort
  adds, over the cost of effort), job loss until the outcome is sustained (back on the caseload, at the months in
  work), the outcome paid `sustain_months` plus the data lag after the start, sustainment
  payments, leaving at `max_months`;
- payments: block, fee, attachment, outcome and sustainment at the winner's price ratio and
  the year's multipliers (below); the prime's management fee, outcome risk passed down (tier 2's
  own share where set) and the fee per referral for the risk not passed; the consortium centre's coordination cost; staff, overhead and compliance costs.
  Money is each agent's reserves in whole pence (no ledger);
- commissioning costs: procurement per lot tendered and per bid, per lot directly awarded, and
  contract management per standing contract each month, all in the commissioner's spend;
- payments follow the programme year's multipliers (or each contract's own year, with
  `design.transitions.taper_by`); a contract that expired or was handed back still pays its
  providers for the outcomes and sustainment of the people in work they supported;
- hand-overs: when a lot is let, only the people on its caseloads move to the new placements;
  people in work stay where they were. Where the lot changes hands the incoming holder (the
  commissioner, for its own service) pays mobilisation per lot and a transfer per person moved,
  and delivers at mobilisation quality for the first months;
- the inherited caseload fee: where a lot changes hands (a re-let or a direct award) the
  commissioner pays, for each person on a caseload moved to a new placement,
  `inherited_attachment_share` of the group's list attachment fee (no yearly taper) at the
  contract's price ratio; the provider that took the person gets it all, through the holder or
  the consortium's centre (the in-house service, paid its costs, gets none);
- exits with notice: at each review every provider delivering a contract works out its forward
  monthly net on its referrals and gives notice when the loss over the remaining term passes
  the share of its reserves it can bear. With `sector.exits.weigh_working_capital` it also
  works out, on each other contract it delivers (a prime's own contracts aside), how far its
  cash is still to fall before the contract ends: referrals arriving steadily from the
  contract's start, each month's with the expected net cash profile of a referral
  (`exits.Economics.net_by_month`, shared like `net_per_month`), followed month by month as a
  running position. One purse pays for all its contracts: while their needs together are more
  than its reserves it gives notice on the contract that needs most. When the notice runs out a
  holder hands the contract back and a subcontractor or member leaves its people, share and
  places to the fellow with most room among those still taking referrals there (a fellow that
  has itself walked away is no heir; with none left, any fellow still active);
- stewardship of lots without a holder, each month after the tender, by the design's policy:
  extending an incumbent whose contract expired this month, a direct award at list price to
  the best-quality eligible provider present that can absorb the lot, expects no loss on it and
  whose reserves (times its risk appetite) carry the deepest fall of its cash over a contract's
  length (a set-aside lot only to a small provider), the in-house provider of last resort (an
  agent opened on first need, at `last_resort_effectiveness` of the active providers' mean
  effectiveness by group, paid exactly its costs), or a re-let (relaxed at once, or each
  quarter);
- failures, joint liability, moving a failed provider's people to a fellow placement or
  ending the contract (its people wait, with the no-support chance, for the commissioner); the
  people disrupted (those being supported by a delivering placement); debts written off;
  capacity grants; the year end (learning, surplus into capacity, shrinking, closing only
  providers that lost their service income, opening in new areas, entry but at the last year
  end); the metrics, accumulated month by month, with the providers' subsidy (each one's
  shortfall below its opening reserves plus debts written off) in the whole cost of delivery.

Left out, and off in the cross-check's scenarios (`left_out_on` names any that a scenario turns
on; the cross-check asserts there are none, so a change of default is caught):

- fixed staff cost (`sector.dynamics.fixed_cost_share`): all front-line cost here is paid per
  person served, at the effort given;
- volume and mix forecasts (`design.bidding.volume_bias`, `volume_error`, `mix_error`): lots
  are let, block-paid and staffed here on the referrals they receive;
- the yearly volume reconciliation (`design.contract.volume_band`);
- routing by profit (`design.delivery.prime.referral_policy: profit`, with its yearly review
  and `minimum_named_share`): here a prime's referrals follow the fixed shares of the tender;
- outcome-only pass-down (`design.delivery.prime.pass_down: outcome_only`): here a prime
  passes every payment down less its fee;
- the roles the engine tags payments with (a directly awarded lot under a prime design paid
  as direct): the reference reports nothing by role.

The monthly dynamics draw from Mesa's `Model.random` and `Model.rng`, not from Platoons'
streams, so the two implementations agree in distribution, not run by run. Platoons follows
each referral cohort in placements of its own; here one placement per contract, lot and
provider holds everyone, since cohorts are bookkeeping and must not change what happens. When
a lot is let again, each person on its caseloads goes to one of the new placements at random
by share; a lot that finds no new holder keeps its people where they are. Placements are kept
after their contract ends: people in work stay in them until they leave the service.

    from mesa_reference import run_reference
    metrics, participant_months = run_reference(load_scenario("default"), seed=1)
"""

from __future__ import annotations

from platoons.scenario.schema import Scenario

from .agents import Participant, Placement, Provider
from .model import MarketModel

CORE_MODELS = ("direct", "prime", "consortium")

__all__ = ["CORE_MODELS", "MarketModel", "Participant", "Placement", "Provider", "left_out_on", "run_reference"]


def left_out_on(scenario: Scenario) -> list[str]:
    """The mechanisms the reference leaves out that the scenario turns on (none: it covers the scenario)."""
    design, dynamics = scenario.design, scenario.sector.dynamics
    on = {
        "sector.dynamics.fixed_cost_share": dynamics.fixed_cost_share != 0,
        "design.bidding.volume_bias": design.bidding.volume_bias != 0,
        "design.bidding.volume_error": design.bidding.volume_error != 0,
        "design.bidding.mix_error": design.bidding.mix_error != 0,
        "design.contract.volume_band": design.contract.volume_band is not None,
    }
    if design.delivery.model == "prime":
        on["design.delivery.prime.referral_policy"] = design.delivery.prime.referral_policy == "profit"
        on["design.delivery.prime.pass_down"] = design.delivery.prime.pass_down != "all"
    return [name for name, is_on in on.items() if is_on]


def run_reference(scenario: Scenario, seed: int) -> tuple[dict[str, float], int]:
    """Run the scenario month by month; return its metrics and its participant-months."""
    if scenario.design.performance.min_points is not None:
        raise ValueError("design.performance.min_points must be None for the Mesa reference (got "
                         f"{scenario.design.performance.min_points}): minimum performance levels are not in it")
    if scenario.design.delivery.model not in CORE_MODELS:
        raise ValueError(f"design.delivery.model must be one of {', '.join(CORE_MODELS)} for the Mesa reference "
                         f"(got {scenario.design.delivery.model!r})")
    model = MarketModel(scenario, seed)
    for _ in range(scenario.run.months):
        model.step()
    return model.metrics(), model.participant_months
