"""Why a tender went as it did: for each lot, how many teams passed each test on the way to a bid.

A team reaches a bid for a lot through a funnel of tests, applied where the bidders decide
(`bidding._choose_bids`) and where the lots are let (`bidding.let_contracts`):

    eligible   its lead meets the tender's turnover and reserves thresholds
    present    it works in the lot's areas (and, for a prime, leads a chain in the lot's region)
    absorb     the lot's yearly value is within what its turnover and management can absorb
    margin     it expects a margin at a price within the tender's price cap
    funded     investors would fund it (outcomes finance: platoons.market.investors; always so otherwise)
    risk       its reserves can carry the lot's payment-by-results cash exposure
    bid        it bid (it could pay for writing the bid)

Only teams that could win a lot are counted: for a set-aside lot, small teams only. For each lot
not let, the binding reason is the first test no team passed (or, when some bid, why none won).
Each tender adds one row per lot to `market.diagnostics`; warnings, `platoons explain` and the
report read those rows and never re-derive them.
"""

from __future__ import annotations

import math

import numpy as np

STAGES = ("eligible", "present", "absorb", "margin", "funded", "risk", "bid")

# The binding reason named after the first stage no team passed.
REASONS = {"present": "not_present", "absorb": "absorbability", "margin": "no_margin", "funded": "no_investor", "risk": "reserves",
           "bid": "bid_budget"}


class Funnel:
    """[team, lot being let] which teams passed each test for each lot, filled in as the bidders decide."""

    def __init__(self, teams, lot_ids: np.ndarray):
        self.teams = teams
        self.lot_ids = np.asarray(lot_ids, dtype=np.int64)
        shape = (len(teams), len(self.lot_ids))
        self.passed = {stage: np.zeros(shape, bool) for stage in STAGES}
        self.turnover_ok = np.zeros(len(teams), bool)
        self.turnover = np.zeros(len(teams))
        self.reserves = np.zeros(len(teams))
        self.limit = np.zeros(len(teams))  # largest yearly contract value each team can absorb
        self.exposure = np.full(shape, np.inf)  # cash exposure the team would carry
        self.bearable = np.zeros(len(teams))  # exposure its reserves can carry
        self.ratio = np.full(shape, np.inf)  # price asked as a share of list price
        self.credible = np.zeros(len(self.lot_ids))  # credible bidders each lot drew (platoons.market.competition)
        self.expected_bidders = np.zeros(len(self.lot_ids))  # bidders the teams expected, on average

    def team(self, t: int, *, turnover: float, reserves: float, limit: float, bearable: float, turnover_ok: bool,
             eligible: bool) -> None:
        self.turnover[t], self.reserves[t], self.limit[t], self.bearable[t] = turnover, reserves, limit, bearable
        self.turnover_ok[t] = turnover_ok
        self.passed["eligible"][t] = eligible

    def stages(self, t: int, present, absorb, margin, funded, risk, bid, exposure, ratio) -> None:
        """Record team t's tests for every lot; each stage counts only teams that passed the ones before."""
        running = self.passed["eligible"][t].copy()
        for stage, ok in zip(STAGES[1:], (present, absorb, margin, funded, risk, bid)):
            running &= np.asarray(ok, bool)
            self.passed[stage][t] = running
        self.exposure[t], self.ratio[t] = exposure, ratio


def record(market, funnel: Funnel, wins, relaxed: bool) -> None:
    """Add one row per lot of this tender to `market.diagnostics`, with the binding reason for lots not let."""
    lots = market.lots
    let = {int(l) for win in wins for l in win.lots}
    value = _lot_values(market, funnel.lot_ids)
    small = small_teams(market, funnel.teams)
    round_ = int(market.events.get("tenders", 0.0))
    for j, lot in enumerate(funnel.lot_ids):
        lot = int(lot)
        reserved = bool(lots.set_aside[lot]) and not relaxed
        could_win = small if reserved else np.ones(len(funnel.teams), bool)
        counts = {stage: int((funnel.passed[stage][:, j] & could_win).sum()) for stage in STAGES}
        row = {"lot": lots.names[lot], "month": market.month, "round": round_, "relaxed": bool(relaxed),
               "set_aside": reserved, "teams": int(could_win.sum()), "credible": int(funnel.credible[j]),
               "expected_bidders": float(funnel.expected_bidders[j]), **counts, "let": lot in let,
               "reason": "", "needed_gbp": math.nan, "best_gbp": math.nan}
        if lot not in let:
            row.update(_binding(market, funnel, j, could_win, counts, value[j], relaxed))
        row.update(_small_binding(market, funnel, j, small, value[j], relaxed))
        market.diagnostics.append(row)


def _small_binding(market, funnel: Funnel, j: int, small: np.ndarray, value: float, relaxed: bool) -> dict:
    """Why no team led by a small provider bid for lot j ('' when one did), and the figures that show it."""
    counts = {stage: int((funnel.passed[stage][:, j] & small).sum()) for stage in STAGES}
    if counts["bid"] > 0:
        return {"small_reason": "", "small_needed_gbp": math.nan, "small_best_gbp": math.nan}
    found = _binding(market, funnel, j, small, counts, value, relaxed, small_only=True)
    if found["reason"] == "not_awarded":  # every stage had a small team: it is the bid that was missing
        found = {"reason": "bid_budget", "needed_gbp": math.nan, "best_gbp": math.nan}
    return {f"small_{key}": found[key] for key in ("reason", "needed_gbp", "best_gbp")}


def _binding(market, funnel: Funnel, j: int, could_win: np.ndarray, counts: dict, value: float, relaxed: bool,
             small_only: bool = False) -> dict:
    """The first test no team that could win lot j passed, and the figures that show it."""
    design = market.scenario.design
    if not could_win.any():
        largest = _largest_limit_present(market, funnel.lot_ids[j], relaxed, small_only)
        return {"reason": "no_team", "needed_gbp": value, "best_gbp": largest}
    if counts["eligible"] == 0:
        candidates = could_win
        if not (funnel.turnover_ok & candidates).any():
            needed = 0.0 if relaxed else design.eligibility.min_turnover_gbp
            return {"reason": "turnover_threshold", "needed_gbp": needed, "best_gbp": float(funnel.turnover[candidates].max())}
        needed = 0.0 if relaxed else design.eligibility.min_reserves_gbp
        return {"reason": "reserves_threshold", "needed_gbp": needed, "best_gbp": float(funnel.reserves[candidates].max())}
    for before, stage in zip(STAGES, STAGES[1:]):
        if counts[stage] == 0:
            reached = funnel.passed[before][:, j] & could_win
            return {"reason": REASONS[stage], **_figures(stage, funnel, j, reached, value)}
    return {"reason": "not_awarded", "needed_gbp": math.nan, "best_gbp": math.nan}


def _figures(stage: str, funnel: Funnel, j: int, reached: np.ndarray, value: float) -> dict:
    """What the lot asked of the teams that reached `stage`, and the best any of them offered."""
    if stage == "absorb":
        return {"needed_gbp": value, "best_gbp": float(funnel.limit[reached].max())}
    if stage == "margin":
        return {"needed_gbp": math.nan, "best_gbp": float(funnel.ratio[reached, j].min())}
    if stage == "risk":
        return {"needed_gbp": float(funnel.exposure[reached, j].min()), "best_gbp": float(funnel.bearable[reached].max())}
    return {"needed_gbp": math.nan, "best_gbp": math.nan}


def _largest_limit_present(market, lot: int, relaxed: bool, small_only: bool = False) -> float:
    """The largest yearly value any provider present in the lot could absorb (small ones only for a
    set-aside lot, or when `small_only`)."""
    from platoons.market.bidding import _absorbable_by

    p = market.providers
    present = p.active & ~p.in_house & market.presence()[:, market.lots.area_share[lot] > 0].any(axis=1)
    if small_only or market.lots.set_aside[lot] and not relaxed:
        present &= p.is_small(market.small_max)
    limits = _absorbable_by(market, p.turnover_gbp[present], p.management[present])
    return float(limits.max()) if len(limits) else 0.0


def _lot_values(market, lot_ids: np.ndarray) -> np.ndarray:
    from platoons.market.bidding import list_value_per_year

    return list_value_per_year(market)[lot_ids]


def small_teams(market, teams) -> np.ndarray:
    """Teams whose leads (every member of a consortium) are small providers."""
    is_small = market.providers.is_small(market.small_max)
    return np.array([bool(is_small[t.providers if t.lead < 0 else [t.lead]].all()) for t in teams], dtype=bool)


# --- in words: warnings and explanations read the rows above -------------------------------------


def gbp(amount: float) -> str:
    """Money as a person would say it: GBP 1.2m, GBP 400k, GBP 950."""
    if not math.isfinite(amount):
        return "GBP -"
    if abs(amount) >= 1e6:
        return f"GBP {amount / 1e6:,.1f}m"
    if abs(amount) >= 1e4:
        return f"GBP {amount / 1e3:,.0f}k"
    return f"GBP {amount:,.0f}"


def reason_in_words(row: dict, model: str = "direct") -> str:
    """Why a lot was not let in one tender, from its diagnostics row."""
    who = "small provider" if row["set_aside"] else "provider"
    needed, best = row["needed_gbp"], row["best_gbp"]
    reason = row["reason"]
    if reason == "no_team":
        team = "lead a supply chain for it" if model == "prime" else "form a team to bid for it"
        if not math.isfinite(best):
            return f"no {who} could {team}"
        return (f"no {who} could {team}: the lot is worth {gbp(needed)} a year and the largest {who} working there "
                f"can absorb {gbp(best)} (or none meets the turnover threshold)")
    if reason == "turnover_threshold":
        return f"no {who} meets the {gbp(needed)} turnover threshold; the largest {who}'s turnover is {gbp(best)}"
    if reason == "reserves_threshold":
        return f"no {who} has the {gbp(needed)} of reserves required; the most any has is {gbp(best)}"
    if reason == "not_present":
        return f"no eligible {who} works in its areas"
    if reason == "absorbability":
        return f"no {who} can absorb {gbp(needed)} a year; the largest {who}'s limit is {gbp(best)}"
    if reason == "no_margin":
        return f"no {who} expects a margin at the price cap; the cheapest would need {best:.2f} times the list price"
    if reason == "no_investor":
        return (f"no investor would fund a {who} for it: none expected a return above the hurdle given the thresholds, "
                f"the cap and the comparison group, or investors had lost money on earlier cohorts")
    if reason == "reserves":
        return (f"no {who} can carry the payment-by-results risk: the smallest cash exposure is {gbp(needed)}, "
                f"the most any can bear is {gbp(best)}")
    if reason == "bid_budget":
        return f"no {who} could afford the cost of writing a bid"
    if reason == "not_awarded":
        return "bids were made but none won it (lot caps, or a better combination of bids elsewhere)"
    return reason


# How a lot came to be without a holder (the stewardship table's `cause`), in words.
WHY_FREE = {"never_let": "as no tender let them", "expired": "when their contract expired and no re-let placed them",
            "failed": "after their holder failed", "handed_back": "after their holder handed the contract back",
            "terminated": "after their contract was terminated for performance"}


def _rows(table: dict[str, list]) -> list[dict]:
    columns = list(table)
    return [dict(zip(columns, values)) for values in zip(*(table[c] for c in columns))] if columns else []


def run_warnings(tables: dict[str, dict[str, list]], metrics: dict[str, float], model: str = "direct") -> list[tuple[str, str]]:
    """(key, sentence) for each thing a person should know went wrong in one run.

    Keys let a comparison count in how many replicates each warning appeared."""
    found = []
    rows = _rows(tables.get("diagnostics", {}))
    by_lot: dict[str, list[dict]] = {}
    for row in rows:
        by_lot.setdefault(row["lot"], []).append(row)
    for lot, lot_rows in by_lot.items():
        first = lot_rows[0]
        if not any(r["let"] for r in lot_rows):
            found.append((f"never_let:{lot}", f"Lot {lot} was never let: {reason_in_words(first, model)}."))
        elif first["set_aside"] and not first["let"]:
            found.append((f"set_aside:{lot}", f"Set-aside lot {lot} found no small provider in its first tender: "
                                               f"{reason_in_words(first, model)}."))
    for action in ("last_resort", "direct_award"):
        steps = [r for r in _rows(tables.get("stewardship", {})) if r["action"] == action]
        what = "the in-house provider of last resort" if action == "last_resort" else "a direct award without competition"
        for cause in dict.fromkeys(r.get("cause") for r in steps):  # results stored before causes were recorded have none
            lots = sorted({r["lot"] for r in steps if r.get("cause") == cause})
            why = f" {WHY_FREE[cause]}" if cause in WHY_FREE else ""
            found.append((f"stewardship:{action}:{cause}", f"{len(lots)} lot(s) went to {what}{why}: {', '.join(lots)}."))
    unserved = metrics.get("referrals_unserved", 0.0) or 0.0
    if unserved > 0:
        people = "person referred was" if round(unserved) == 1 else "people referred were"
        found.append(("unserved", f"{unserved:,.0f} {people} turned away: their lot had no provider."))
    for row in _rows(tables.get("affordability", {})):
        if row["covered_share"] < 0.5:
            found.append((f"below_cost:{row['group']}", affordability_in_words(row)))
    found += _budget_warnings(_rows(tables.get("affordability", {})))
    found += _small_warnings(rows, metrics, model)
    found += _supply_chain_warnings(_rows(tables.get("supply_chains", {})))
    found += _effort_warnings(_rows(tables.get("effort", {})), model)
    budget = metrics.get("spend_vs_budget")
    if budget is not None and math.isfinite(budget) and budget > 1.0:
        found.append(("over_budget", f"Spend ran at {budget:.0%} of the budget."))
    return found


def _budget_warnings(rows: list[dict]) -> list[tuple[str, str]]:
    if not rows or not math.isfinite(rows[0]["budget_gbp_per_year"]):
        return []
    expected, budget = sum(r["expected_spend_gbp_per_year"] for r in rows), rows[0]["budget_gbp_per_year"]
    if expected <= budget * 1.001:
        return []
    return [("unaffordable", f"The payment table is expected to cost {gbp(expected)} a year at typical performance, "
                             f"more than the {gbp(budget)} budget (design.scale_to_budget: true scales it to fit).")]


SMALL_SHARE_FLOOR = 0.01  # assumption: small providers' share of income below which the run says why


def _small_warnings(rows: list[dict], metrics: dict[str, float], model: str) -> list[tuple[str, str]]:
    """Small providers shut out: what stopped them bidding in the first tender, lot by lot, in words."""
    share = metrics.get("small_share_of_spend")
    first_round = min((r["round"] for r in rows), default=None)
    first = [r for r in rows if r["round"] == first_round]
    stopped = [r for r in first if r.get("small_reason")]  # results stored before small reasons were recorded have none
    if share is None or not math.isfinite(share) or share >= SMALL_SHARE_FLOOR or not stopped:
        return []
    reasons = [r["small_reason"] for r in stopped]
    common = max(dict.fromkeys(reasons), key=reasons.count)
    example = next(r for r in stopped if r["small_reason"] == common)
    words = reason_in_words({"reason": common, "needed_gbp": example["small_needed_gbp"], "best_gbp": example["small_best_gbp"],
                             "set_aside": True}, model)
    who = "team led by a small provider" if model in ("prime", "consortium") else "small provider"
    count, where = reasons.count(common), f"at lot {example['lot']}: {words}"
    if count == len(stopped):
        why = where if count == 1 else f"for all of them, as {where}"
    else:
        why = f"the most common reason ({count} lots), {where}"
    return [("small_shut_out", f"Small providers received {share:.1%} of providers' income. In the first tender no {who} "
                               f"bid for {len(stopped)} of {len(first)} lot{'s' if len(first) != 1 else ''}; {why}.")]


SUBCONTRACTED_FLOOR = 0.05  # a share of referrals below which named subcontractors are said to be mostly bid candy


def _supply_chain_warnings(rows: list[dict]) -> list[tuple[str, str]]:
    """Primes that named subcontractors but sent them almost nothing: why, in the model's terms."""
    subs = [r for r in rows if r["role"] in ("tier1", "tier2")]
    total = sum(r["referrals"] for r in rows)
    if not subs or total <= 0:
        return []
    sent = sum(r["referrals"] for r in subs)
    if sent >= SUBCONTRACTED_FLOOR * total:
        return []
    years, idle = sum(r["named"] for r in subs), sum(r["with_no_referrals"] for r in subs)
    none = f", and {idle / years:.0%} of subcontractor-years named in a contract had no referral" if idle else ""
    return [("bid_candy", f"Primes delivered {1 - sent / total:.0%} of referrals themselves; their subcontractors were "
                          f"sent {sent / total:.1%}{none}. A prime passes down only what earns it more through its fee than it "
                          "would earn delivering it, and a subcontractor declines what it cannot finance through "
                          "payment by results or what does not cover its compliance cost (docs/model.md, 3.16).")]


LOW_EFFORT = 0.5  # assumption: mean effort below half of full effort is worth a word


def _effort_warnings(rows: list[dict], model: str) -> list[tuple[str, str]]:
    """Providers who served people at little more than the minimum service: why, by delivery model."""
    months = sum(r["person_months"] for r in rows)
    if months <= 0:
        return []
    effort = sum(r["mean_effort"] * r["person_months"] for r in rows) / months
    if effort >= LOW_EFFORT:
        return []
    why = ("alliance members are paid their costs whatever the outcomes, so only their mission and their share of any "
           "overspend (design.delivery.alliance.commissioner_share) move them above the contract's minimum service"
           if model == "alliance" else
           "an outcome pays them less than the extra effort it takes costs them: the outcome prices, the price ratio "
           "won or the share of outcome pay passed down are too low to reward it")
    return [("low_effort", f"Providers gave {effort:.0%} of full effort, on average over the months people spent on a "
                           f"caseload: {why} (docs/model.md, 3.15).")]


def affordability_in_words(row: dict) -> str:
    paid, cost, group = gbp(row["paid_per_referral_gbp"]), gbp(row["cost_per_referral_gbp"]), row["group"]
    if row["paid_per_referral_gbp"] < row["cost_per_referral_gbp"]:
        return (f"Prices are below cost for most providers for {group}: the payment table pays about {paid} per "
                f"referral at typical performance against a typical cost of {cost}; {row['covered_share']:.0%} of "
                "providers would cover their costs.")
    # Typical is the sector's average: a few strong providers can lift it above cost while most fall short.
    return (f"Most providers would not cover their costs for {group}: the payment table pays about {paid} per "
            f"referral at the sector's average performance, above the typical cost of {cost}, but only "
            f"{row['covered_share']:.0%} of providers perform well enough to cover their own costs at list prices.")


def design_warnings(runs: list[tuple[dict, dict]], model: str = "direct") -> list[str]:
    """The warnings of a design's runs, each once, with in how many runs it appeared."""
    seen: dict[str, tuple[str, int]] = {}
    for tables, metrics in runs:
        for key, sentence in dict(run_warnings(tables, metrics, model)).items():
            text, count = seen.get(key, (sentence, 0))
            seen[key] = (text, count + 1)
    if len(runs) <= 1:
        return [text for text, _ in seen.values()]
    return [f"{text} (in {count} of {len(runs)} runs)" for text, count in seen.values()]
