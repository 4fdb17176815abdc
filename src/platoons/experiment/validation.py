"""Checked against the record: the real-programme presets set against what was published.

Every figure in FACTS.md that a preset can produce is a `Fact`: its published value (or range),
its source, how to read the model's figure off a run, the tolerance within which the model is
said to reproduce it, and its role: a calibration target (fitted), encoded (set in the preset
from the published structure: the check confirms the preset says what was published), or
emergent (neither fitted nor set: a test of the model). `check_record` runs the presets on fixed
seeds; `render` writes docs/validation.md from the result, which is also saved as
validation.json. The result records a hash of what it depends on, so a stale page can be found
without rerunning it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

import numpy as np

WP = "work-programme-2011-calibrated"
TR = "transforming-rehabilitation-2014"
PRESETS = (WP, TR)
REPLICATES = 8
BASE_SEED = 2014
Role = Literal["calibration target", "encoded", "emergent"]


@dataclass(frozen=True)
class Fact:
    key: str
    preset: str
    fact: str
    source: str
    published: float | tuple[float, float]
    tolerance: float  # absolute, in the figure's unit; a range is widened by it on both sides
    role: Role
    unit: str  # "share", "count", "GBP", "GBP bn"
    figure: Callable  # (outcome, scenario) -> float
    note: str = ""


# --- reading figures off a run -------------------------------------------------------------


def _table(outcome, name: str) -> dict[str, list]:
    return outcome.tables[name]


def _first_round(outcome, column: str) -> float:
    rounds = _table(outcome, "tender_rounds")
    return float(rounds[column][0]) if rounds["month"] and rounds["month"][0] == 0 else float("nan")


def _metric(name: str) -> Callable:
    return lambda outcome, scenario: float(outcome.metrics[name])


def _first_bids(outcome, column: str) -> list[float]:
    """A column of contract_years for the contracts won by a bid in the first tender, once each."""
    years = _table(outcome, "contract_years")
    seen, values = set(), []
    rows = zip(years["contract"], years["year"], years["contract_year"], years["bid_outcome_rate"], years[column])
    for c, year, contract_year, bid_rate, value in rows:
        if year == 0 and contract_year == 0 and bid_rate is not None and np.isfinite(bid_rate) and c not in seen:
            seen.add(c)
            values.append(value)
    return values


def _mean_bid_rate(outcome, scenario) -> float:
    return float(np.nanmean(_first_bids(outcome, "bid_outcome_rate")))


def _discount(outcome, scenario) -> float:
    return 1.0 - float(np.mean(_first_bids(outcome, "price_ratio")))


def _referrals_m(outcome, scenario) -> float:
    return float(outcome.timeseries["referrals"].sum()) / 1e6


def _spend_bn(outcome, scenario) -> float:
    return float(outcome.metrics["spend_gbp"]) / 1e9


def _spend_per_decade_bn(outcome, scenario) -> float:
    return _spend_bn(outcome, scenario) / (scenario.run.months / 12) * 10


def _share_of_groups(outcome, groups: tuple[str, ...], year: int) -> float:
    yearly = _table(outcome, "yearly")
    total = sum(r for y, r in zip(yearly["year"], yearly["referrals"]) if y == year)
    mine = sum(r for y, g, r in zip(yearly["year"], yearly["group"], yearly["referrals"]) if y == year and g in groups)
    return mine / total if total else float("nan")


ESA = ("esa_new", "esa_12_18", "ex_ib")


def _expected_per_month(scenario, groups: tuple[str, ...] | None = None) -> float:
    """Referrals a month the commissioner let the contracts on: the areas' volumes at the base mix."""
    areas = sum(a.referrals_per_month for r in scenario.world.regions for a in r.areas)
    share = sum(g.referral_share for g in scenario.world.need_groups if groups is None or g.name in groups)
    return areas * share / sum(g.referral_share for g in scenario.world.need_groups)


def _volume_against_expected(year: int, groups: tuple[str, ...] | None = None) -> Callable:
    def figure(outcome, scenario) -> float:
        yearly = _table(outcome, "yearly")
        got = sum(r for y, g, r in zip(yearly["year"], yearly["group"], yearly["referrals"])
                  if y == year and (groups is None or g in groups))
        return got / (12 * _expected_per_month(scenario, groups))
    return figure


def _attachment_at_list_price(year: int) -> Callable:
    """Attachment fees paid in a programme year per referral, at list price: each contract's referrals
    count at its price ratio (the in-house service, paid its costs, counts none)."""
    def figure(outcome, scenario) -> float:
        paid = _table(outcome, "payments_by_year")
        amount = sum(a for y, k, a in zip(paid["year"], paid["kind"], paid["amount_gbp"]) if y == year and k == "attachment")
        years = _table(outcome, "contract_years")
        at_list = sum(r * p for y, r, p in zip(years["year"], years["referrals"], years["price_ratio"]) if y == year)
        return amount / at_list if at_list else float("nan")
    return figure


def _within_24_months(outcome, scenario) -> float:
    cohorts = _table(outcome, "referral_cohorts")
    complete = [(o, r) for o, r, rate in zip(cohorts["outcomes_24m"], cohorts["referrals"], cohorts["outcome_rate_24m"])
                if rate is not None and np.isfinite(rate)]
    referred = sum(r for _, r in complete)
    return sum(o for o, _ in complete) / referred if referred else float("nan")


def _subcontractors_named(outcome, scenario) -> float:
    return float(len(set(_table(outcome, "named_subcontractors")["provider"])))


def _fee_share(outcome, scenario) -> float:
    paid = _table(outcome, "payments_by_year")
    total = sum(paid["amount_gbp"])
    return sum(a for k, a in zip(paid["kind"], paid["amount_gbp"]) if k == "fee") / total if total else float("nan")


def _supervised(outcome, scenario) -> float:
    """People on a caseload (being supervised), mean over the months referrals arrive."""
    end = scenario.world.referral_months or scenario.run.months
    return float(np.mean(outcome.timeseries["on_caseload"][:end]))


# --- the facts ------------------------------------------------------------------------------

L_AND_W = "[sector: L&W] Work Programme statistics: our analysis"
FACTS: tuple[Fact, ...] = (
    Fact("wp_contracts", WP, "Prime contracts let", "[WPC 2013]", 40, 0, "encoded", "count", lambda o, s: _first_round(o, "contracts_signed")),
    Fact("wp_primes", WP, "Distinct primes holding them", "[WPC 2013]", 18, 2, "emergent", "count", lambda o, s: _first_round(o, "distinct_holders"),
         "The cap of 3 contracts per prime is an assumption."),
    Fact("wp_referrals", WP, "People referred over five years (millions)", L_AND_W, 1.95, 0.1, "encoded", "count", _referrals_m),
    Fact("wp_esa_2013", WP, "ESA share of referrals by 2013 (programme year 2)", L_AND_W, 1 / 3, 0.05, "encoded", "share",
         lambda o, s: _share_of_groups(o, ESA, 2)),
    Fact("wp_esa_volume", WP, "ESA/IB referrals in year 1 against the volume the contracts were let on", L_AND_W, 0.39, 0.05, "encoded",
         "share", _volume_against_expected(0, ESA), "The volume let on is the preset's base referral mix (an assumption)."),
    *(Fact(f"wp_attachment_{y}", WP, f"Attachment fee per referral at list price, programme year {y + 1} (GBP)", "[WPC 2013]", fee,
           40, "encoded", "GBP", _attachment_at_list_price(y),
           "All groups: the preset's ESA fee is GBP 600 (part of the GBP 13,720 total), so the mean is a little above JSA's."
           if y == 0 else "") for y, fee in enumerate((400, 300, 200, 0))),
    Fact("wp_bid_rate", WP, "Outcome rate the winning bids promised", "[NAO 2012 via LGiU]", 0.38, 0.05, "emergent", "share", _mean_bid_rate,
         "Published: all bidders' average; model: the winners' expected outcomes per referral."),
    Fact("wp_discount", WP, "Price discount the winning bids offered", "[NAO 2012 via LGiU]", 0.06, 0.03, "emergent", "share", _discount),
    Fact("wp_value", WP, "Total paid over the programme (GBP bn)", "[taen.org.uk]", (3.0, 5.0), 0.0, "emergent", "GBP bn", _spend_bn),
    Fact("wp_subcontractors", WP, "Subcontractors named in the winning bids", "[Third Sector]", 1100, 220, "emergent", "count",
         _subcontractors_named),
    Fact("wp_jsa_18_24", WP, "Job outcome rate, JSA 18-24", L_AND_W, 0.364, 0.03, "calibration target", "share", _metric("outcome_rate_jsa_18_24")),
    Fact("wp_jsa_25_plus", WP, "Job outcome rate, JSA 25+", L_AND_W, 0.317, 0.03, "calibration target", "share", _metric("outcome_rate_jsa_25_plus")),
    Fact("wp_esa_new", WP, "Job outcome rate, new ESA", L_AND_W, 0.151, 0.03, "calibration target", "share", _metric("outcome_rate_esa_new")),
    Fact("wp_esa_12_18", WP, "Job outcome rate, ESA 12-18 month prognosis", L_AND_W, 0.122, 0.03, "calibration target", "share",
         _metric("outcome_rate_esa_12_18")),
    Fact("wp_ex_ib", WP, "Job outcome rate, ex-IB ESA", L_AND_W, 0.054, 0.03, "calibration target", "share", _metric("outcome_rate_ex_ib")),
    Fact("wp_all_groups", WP, "Job outcome rate, all groups", L_AND_W, 0.278, 0.03, "emergent", "share", _metric("outcome_rate"),
         "Follows from the referral mix and the fitted group rates."),
    Fact("wp_within_24", WP, "Job outcomes within 24 months of referral, all groups", L_AND_W, 0.278, 0.03, "emergent", "share",
         _within_24_months, "The published two-year rate measured by referral cohort, as published; the fit uses outcomes over referrals."),
    Fact("tr_lots", TR, "CRC contracts let", "[PAC 2019; JC 2014]", 21, 0, "encoded", "count", lambda o, s: _first_round(o, "contracts_signed")),
    Fact("tr_owners", TR, "Distinct owners holding them", "[PAC 2019; JC 2014]", 8, 1, "emergent", "count",
         lambda o, s: _first_round(o, "distinct_holders"), "The cap of 6 lots per owner is an assumption."),
    Fact("tr_bidders", TR, "Organisations entering the competition", "[NAO HC 676, 2017]", 30, 5, "emergent", "count",
         lambda o, s: _first_round(o, "bidders")),
    Fact("tr_value", TR, "Value over 10 years (GBP bn)", "[PAC 2019; JC 2014]", (5.0, 20.0), 0.0, "emergent", "GBP bn", _spend_per_decade_bn,
         "Model: the commissioner's spend per year over the run, times 10."),
    Fact("tr_fee_share", TR, "Fee-for-service share of payments (mostly fees)", "[JC 2014]", (0.5, 1.0), 0.0, "encoded", "share", _fee_share,
         "The split of the payment table is an assumption."),
    Fact("tr_volume_2015", TR, "Referrals in 2015-16 against the volume let on (up to 34% below)", "[NAO HC 676, 2017]", (0.66, 1.0), 0.0,
         "encoded", "share", _volume_against_expected(0)),
    Fact("tr_volume_2017", TR, "Referrals in 2017-18 against the volume let on (16-48% below)", "[NAO HC 676, 2017]", (0.52, 0.84), 0.0,
         "encoded", "share", _volume_against_expected(2)),
    Fact("tr_supervised", TR, "People supervised at a time (thousands)", "[PAC 2016; press]", (243.0, 260.0), 25.0, "emergent", "count",
         lambda o, s: _supervised(o, s) / 1000, "Model: people on a caseload, mean over the referral months."),
)

@dataclass(frozen=True)
class Direction:
    """What the record describes in words, not numbers: checked as the sign of a figure, never fitted."""

    key: str
    preset: str
    finding: str
    source: str
    figure: Callable  # (outcome, scenario) -> float; the finding holds when its mean is above zero
    reads: str  # what the figure is, in words


def _margin_gap(outcome, scenario) -> float:
    return float(outcome.metrics["margin_prime"] - outcome.metrics["margin_subcontractors"])


DIRECTIONS: tuple[Direction, ...] = (
    Direction("wp_bid_candy", WP, "Named subcontractors were sent few or no referrals (bid candy)", "[Third Sector]",
              _metric("bid_candy"), "tier-2 subcontractor-years with no referral over all tier-2 subcontractor-years"),
    Direction("wp_parking", WP, "The hardest to help got less support than the easiest (parking)", "[WPC 2013]",
              lambda o, s: float(o.metrics["effort_easiest"] - o.metrics["effort_hardest"]),
              "effort given to the easiest group less effort given to the hardest, per person-month served"),
    Direction("wp_margins", WP, "Primes kept the margin and pushed risk down the supply chain", "[Third Sector]", _margin_gap,
              "primes' margin less their subcontractors' (tier 1 and tier 2 together; each tier's is in the run's metrics)"),
)

NOT_COMPARED = (
    ("Work Programme", "The ESA share of referrals was 3% of the first cohort [sector: L&W]",
     "The preset's referral mix changes by year; year 1's ESA/IB share (11%) is set so that 39% of the forecast "
     "ESA/IB volume arrives in year 1, which is compared; a first cohort of 3% lies inside that year."),
    ("Work Programme", "Providers invested about GBP 580m up front [press]",
     "Bidders need working capital for their payment-by-results exposure, but the run does not record it as one figure."),
    ("Work Programme", "40 contracts of GBP 10-50m each [taen.org.uk]",
     "Inconsistent with GBP 3-5bn over 40 contracts (GBP 75-125m each); the total is compared instead."),
    ("Work Programme", "A small charity subcontractor might net about 50% of the gross outcome price [WPC 2011 evidence]",
     "A pre-launch claim, not a measurement; margins by tier are in the run's metrics."),
    ("Work Programme", "Non-intervention job outcome rates: JSA about 5% a year, ESA about 11-15% [press: FullFact; sector]",
     "JSA's 5% is encoded; the preset's ESA no-support rates (1-3% a year) are assumptions: at 11-15% a year, no support "
     "alone would exceed the published ESA two-year outcome rates the model is fitted to."),
    ("Work Programme", "Prime management fees",
     "Not published: an assumption (30%), read from the pre-launch claim that a small charity subcontractor might net "
     "about 50% of the gross outcome price [WPC 2011 evidence]."),
    ("Transforming Rehabilitation", "Nearly 60% of short-sentence releases reoffend within 12 months; baseline binary reoffending about 47.5% [PAC 2016; press]",
     "Set through the need groups' no-support rates (encoded); the run does not record reoffending within 12 months as a figure."),
    ("Transforming Rehabilitation", "Tier 1 owners carry payment-by-results risk, tier 2 some, tier 3 none [JC 2014]",
     "Encoded as the preset's risk passed down (tier 1 subcontractors half, tier 2, the published tier 3, none); the "
     "payment-by-results share of tier-2 income is below the metrics' income floor in these runs, so it is not a figure."),
    ("Transforming Rehabilitation", "35 probation trusts; about 45,000 short-sentence releases a year",
     "History before the contracts, and a subgroup the preset does not separate."),
    ("The voluntary sector", "NCVO size bands, government income, reserves and staff turnover [NCVO]",
     "Inputs to every preset's provider sector (population synthesis), not outcomes of a programme."),
)


# --- running and judging ----------------------------------------------------------------------


def inputs_hash(replicates: int = REPLICATES, base_seed: int = BASE_SEED) -> str:
    """What the result depends on: the presets as resolved, the model's code, and these facts."""
    from platoons import __version__, load_scenario

    digest = hashlib.sha256(f"{__version__}|{replicates}|{base_seed}".encode())
    for preset in PRESETS:
        digest.update(load_scenario(preset).model_dump_json().encode())
    package = Path(__file__).resolve().parent.parent
    for folder in ("market", "population", "metrics", "ledger", "scenario", "tender"):
        for path in sorted((package / folder).glob("*.py")):
            digest.update(path.read_bytes())
    for path in (package / "simulate.py", Path(__file__).resolve()):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def check_record(replicates: int = REPLICATES, base_seed: int = BASE_SEED, executor: str = "processes",
                 workers: int | None = None) -> dict:
    """Run the presets on fixed seeds and set every fact against the model's figures."""
    from platoons import load_scenario
    from platoons.experiment import execute, plan

    scenarios = {preset: load_scenario(preset) for preset in PRESETS}
    values: dict[str, list[float]] = {check.key: [] for check in FACTS + DIRECTIONS}
    for outcome in execute(plan(scenarios, replicates, base_seed), executor, workers):
        for check in FACTS + DIRECTIONS:
            if check.preset == outcome.design:
                values[check.key].append(check.figure(outcome, scenarios[check.preset]))
    return {
        "inputs_hash": inputs_hash(replicates, base_seed), "replicates": replicates, "base_seed": base_seed,
        "presets": list(PRESETS), "facts": [_judge(fact, values[fact.key]) for fact in FACTS],
        "directions": [_judge_direction(d, values[d.key]) for d in DIRECTIONS],
        "not_compared": [{"programme": p, "fact": f, "why": w} for p, f, w in NOT_COMPARED],
    }


def _judge(fact: Fact, values: list[float]) -> dict:
    finite = np.array([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    mean = float(finite.mean()) if len(finite) else float("nan")
    low, high = (float(np.quantile(finite, 0.05)), float(np.quantile(finite, 0.95))) if len(finite) else (float("nan"),) * 2
    lo, hi = fact.published if isinstance(fact.published, tuple) else (fact.published, fact.published)
    within = bool(np.isfinite(mean) and lo - fact.tolerance - 1e-9 <= mean <= hi + fact.tolerance + 1e-9)
    return {"key": fact.key, "preset": fact.preset, "fact": fact.fact, "source": fact.source,
            "published": list(fact.published) if isinstance(fact.published, tuple) else fact.published,
            "tolerance": fact.tolerance, "unit": fact.unit, "role": fact.role, "mean": _round(mean), "low": _round(low),
            "high": _round(high), "within_tolerance": within, "note": fact.note}


def _judge_direction(direction: Direction, values: list[float]) -> dict:
    finite = np.array([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    mean = float(finite.mean()) if len(finite) else float("nan")
    return {"key": direction.key, "preset": direction.preset, "finding": direction.finding, "source": direction.source,
            "reads": direction.reads, "mean": _round(mean), "replicates_holding": int((finite > 0).sum()),
            "replicates": len(finite), "holds": bool(np.isfinite(mean) and mean > 0)}


def _round(value: float) -> float | None:
    return None if not np.isfinite(value) else float(f"{value:.6g}")


def save(result: dict, json_path: Path, markdown_path: Path) -> None:
    json_path.write_text(json.dumps(result, indent=1) + "\n")
    markdown_path.write_text(render(result))


# --- the page ---------------------------------------------------------------------------------

COMMAND = "platoons check-record"
TITLES = {WP: "The Work Programme (2011), calibrated", TR: "Transforming Rehabilitation (2014)"}
ROLE_NOTES = {
    "calibration target": "fitted: the calibration chose parameters to match it",
    "encoded": "set in the preset from the published structure; the check confirms the preset says it",
    "emergent": "neither fitted nor set: a test of the model",
}


def _show(value, unit: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return " - ".join(_show(v, unit) for v in value)
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit == "GBP":
        return f"GBP {value:,.0f}"
    if unit == "GBP bn":
        return f"GBP {value:.2f}bn"
    return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"


def _tolerance(fact: dict) -> str:
    if not fact["tolerance"]:
        return "the range" if isinstance(fact["published"], list) else "exact"
    unit = fact["unit"]
    return f"{100 * fact['tolerance']:.0f} points" if unit == "share" else _show(fact["tolerance"], unit)


def _directions(directions: list[dict], preset: str) -> list[str]:
    """Findings the record states in words, each checked as the sign of a figure (emergent, never fitted)."""
    mine = [d for d in directions if d["preset"] == preset]
    if not mine:
        return []
    lines = ["", "Findings stated in words, checked as the sign of a figure (emergent: nothing was fitted to them):", "",
             "| finding | source | figure | model mean | replicates where it holds | holds |", "|---|---|---|---|---|---|"]
    for d in mine:
        mean = "-" if d["mean"] is None else f"{d['mean']:.3g}"
        lines.append(f"| {d['finding']} | {d['source']} | {d['reads']} | {mean} | {d['replicates_holding']} of "
                     f"{d['replicates']} | {'yes' if d['holds'] else '**no**'} |")
    return lines


def render(result: dict) -> str:
    """docs/validation.md, from a check's result (the page is generated; edit this, not the page)."""
    facts = result["facts"]
    lines = [
        "# Validation: what the model reproduces, and what it does not",
        "",
        f"Generated by `{COMMAND}` (do not edit by hand): the real-programme presets run on "
        f"{result['replicates']} replicates (base seed {result['base_seed']}), and each figure in `FACTS.md` that a preset can "
        "produce set against the model's: mean and 90% interval over the replicates, and whether the mean is within the "
        "stated tolerance of the published figure (or range). The same results are in `validation.json`; a test fails when "
        "the presets, the model's code or these facts change without the page being regenerated.",
        "",
        "Each figure has a role: " + "; ".join(f"**{role}**, {note}" for role, note in ROLE_NOTES.items()) + ". "
        "Only the calibration targets were fitted (`calibration/work-programme-2011.yaml`, "
        "`platoons calibrate work-programme-2011 --targets calibration/work-programme-2011.yaml`); a miss on an emergent "
        "figure is a finding about the model, not a tuning target. The definitions of the run tables the figures are read "
        "from are in `docs/model.md` (section 3.10).",
        "",
    ]
    for preset in result["presets"]:
        mine = [f for f in facts if f["preset"] == preset]
        met = sum(f["within_tolerance"] for f in mine)
        lines += [f"## {TITLES.get(preset, preset)}", "", f"```\nplatoons run {preset} --json\n```", "",
                  f"{met} of {len(mine)} figures within tolerance.", "",
                  "| figure | source | published | model mean [90% interval] | tolerance | within | role |",
                  "|---|---|---|---|---|---|---|"]
        for f in mine:
            model = f"{_show(f['mean'], f['unit'])} [{_show(f['low'], f['unit'])}, {_show(f['high'], f['unit'])}]"
            lines.append(f"| {f['fact']} | {f['source']} | {_show(f['published'], f['unit'])} | {model} | {_tolerance(f)} | "
                         f"{'yes' if f['within_tolerance'] else '**no**'} | {f['role']} |")
        notes = [f for f in mine if f["note"]]
        if notes:
            lines += ["", "Notes:", ""] + [f"- {f['fact']}: {f['note']}" for f in notes]
        lines += _directions(result.get("directions", []), preset)
        lines.append("")
    lines += ["## Not compared", "", "Facts in `FACTS.md` that no preset produces as a figure, and why:", ""]
    lines += [f"- {row['programme']}: {row['fact']}. {row['why']}" for row in result["not_compared"]]
    lines += ["", "## The synthetic default world", "",
              "The default preset's numbers are assumptions sized to an employment service of about 94,000 referrals a "
              "year; nothing published describes it, so it is not checked here. Its mechanisms are checked on small cases "
              "with known answers in `tests/test_mechanisms.py` and `tests/test_designs.py`, its money in "
              "`tests/test_engine.py` (conservation) and its people in `tests/test_integrity.py`. Comparisons of designs "
              "on the real programmes' people and payment tables (for example the Work Programme let as local lots) are "
              "model results, not validations: nothing published says what another design would have done.", ""]
    lines += ["## How to read a miss", "",
              "A calibration target out of tolerance means the preset needs refitting after a change to the model. An "
              "encoded figure out of tolerance means the preset does not say what was published. An emergent figure out "
              "of tolerance is what the model does not reproduce: its mechanisms, or the assumptions beside them, differ "
              "from the real programme, and conclusions that rest on that figure should be drawn with care.", ""]
    return "\n".join(lines)
