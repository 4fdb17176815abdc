"""The report's sections, each computed from the store: charts, tables and their readings."""

from __future__ import annotations

import html
import math

import numpy as np

from platoons.metrics import SIZE_BANDS, TIERS, metric_or_plain
from platoons.report.format import money, number, percent, plain
from platoons.report.parts import Chart, Data, Section, Table, design_colours, translucent
from platoons.report.store import Store
from platoons.report.failures import failures_section
from platoons.report.record import record_section
from platoons.report.went_wrong import went_wrong_section
from platoons.report.verdicts import (MAX_UNSERVED_SHARE, MIN_LOT_MONTHS_LET, WORDS, coverage_flags, flag_sentence,
                                      withhold)
from platoons.report.verdicts import paired_verdicts as compare_runs

HEADLINE = (
    "outcome_rate", "outcomes", "cost_per_outcome_gbp", "spend_gbp", "front_line_share", "small_share_of_spend",
    "small_providers_active", "grew_from_small", "failures", "people_disrupted", "hhi", "mean_effectiveness",
    "entries", "bid_candy", "referrals_unserved", "referrals_unserved_share", "lot_months_let_share",
)
TIER_LABELS = {"direct": "direct providers", "prime": "primes", "tier1": "tier-1 subcontractors",
               "tier2": "tier-2 subcontractors", "member": "consortium members"}
TIER_AXIS = {"direct": "direct", "prime": "prime", "tier1": "tier 1", "tier2": "tier 2", "member": "member"}
INTERVAL = (0.05, 0.95)  # the 90% interval across runs, as in the summary table
MAX_SANKEYS = 12
MAX_SENSITIVITY_CHARTS = 12


def build_sections(store: Store) -> list[Section]:
    colours = design_colours(store.designs)
    sections = [
        headline(store),
        went_wrong_section(store),
        money_flows(store),
        risk_and_margin(store, colours),
        small_providers(store, colours),
        outcomes_by_group(store, colours),
        market(store, colours),
        failures_section(store, colours),
        record_section(store),
    ]
    if store.has("sensitivity"):
        sections.append(sensitivity(store))
    from platoons.report.parameters import parameters_section

    sections.append(parameters_section(store))
    sections.append(glossary(store))
    return sections


# Summaries ---------------------------------------------------------------------------------------

def summary(store: Store) -> dict[tuple[str, str], tuple[float, float, float]]:
    """(design, metric) -> (mean, low, high): the summary table, or the same computed from the metrics if it is absent."""
    if store.has("summary"):
        rows = store.query("SELECT design, metric, mean, low, high FROM summary")
    else:
        rows = store.query(f"""
            SELECT design, metric, avg(v), quantile_cont(v, {INTERVAL[0]}), quantile_cont(v, {INTERVAL[1]})
            FROM (SELECT design, metric, value AS v FROM metrics WHERE isfinite(value))
            GROUP BY design, metric ORDER BY design, metric""")
    return {(d, m): tuple(_finite(v) for v in (mean, low, high)) for d, m, mean, low, high in rows}


# Series a report derives from others, per run and month, before taking quantiles across runs.
DERIVED = {
    # small providers' service income over all providers'
    "small_share": ("small_income_gbp", "provider_income_gbp",
                    "{small_income_gbp} / nullif({provider_income_gbp}, 0)"),
    # concentration is undefined, not zero, in a month when no provider has service income
    "hhi": ("hhi", "provider_income_gbp", "CASE WHEN {provider_income_gbp} > 0 THEN {hhi} END"),
}


def bands(store: Store, series: tuple[str, ...]) -> dict[tuple[str, str], tuple[list, list, list, list]]:
    """(design, series) -> months, mean, 5th and 95th percentile across runs (NaN where undefined)."""
    run = ", ".join(store.run_key)
    parts = []
    plain_names = [s for s in series if s not in DERIVED]
    if plain_names:
        names = ", ".join(_sql_text(s) for s in plain_names)
        parts.append(f"SELECT design, month, series, value FROM timeseries WHERE series IN ({names})")
    for name in (s for s in series if s in DERIVED):
        *inputs, formula = DERIVED[name]
        columns = {i: f"sum(value) FILTER (WHERE series = {_sql_text(i)})" for i in inputs}
        parts.append(f"""
            SELECT design, month, {_sql_text(name)} AS series, {formula.format(**columns)} AS value
            FROM timeseries WHERE series IN ({', '.join(_sql_text(i) for i in inputs)})
            GROUP BY design, {run}, month""")
    rows = store.query(f"""
        SELECT design, series, month, avg(v), quantile_cont(v, {INTERVAL[0]}), quantile_cont(v, {INTERVAL[1]})
        FROM (SELECT design, series, month, CASE WHEN isnan(value) THEN NULL ELSE value END AS v
              FROM ({' UNION ALL '.join(parts)}))
        GROUP BY design, series, month ORDER BY design, series, month""")
    out: dict[tuple[str, str], tuple[list, list, list, list]] = {}
    for design, name, month, mean, low, high in rows:
        months, means, lows, highs = out.setdefault((design, name), ([], [], [], []))
        months.append(month), means.append(_finite(mean)), lows.append(_finite(low)), highs.append(_finite(high))
    return out


# Headline ----------------------------------------------------------------------------------------

def headline(store: Store) -> Section:
    stats = summary(store)
    metrics = [m for m in HEADLINE if any((d, m) in stats for d in store.designs)]
    flags = design_flags(store, stats)
    verdicts = withhold(paired_verdicts(store, metrics), flags)
    base = store.baseline
    head = "".join(f"<th scope='col'>{html.escape(d)}{' <span class=base>baseline</span>' if d == base else ''}"
                   f"{' <span class=flag>barely ran</span>' if flags.get(d) else ''}</th>" for d in store.designs)
    body, rows = [], []
    for metric in metrics:
        meta = metric_or_plain(metric)
        cells = []
        for design in store.designs:
            mean, low, high = stats.get((design, metric), (math.nan,) * 3)
            verdict, diff = verdicts.get((design, metric), ("", 0.0))
            cells.append(
                f"<td class='{verdict.replace(' ', '-')}'><span class=value>{number(mean, meta.unit)}</span>"
                f"<span class=interval>{number(low, meta.unit)} to {number(high, meta.unit)}</span>"
                f"{_verdict_mark(verdict, diff)}</td>")
            rows.append((metric, meta.unit, meta.better, design, design == base, mean, low, high, verdict, meta.label,
                         meta.unit_text, "; ".join(flags.get(design, []))))
        better = {"higher": "higher is better", "lower": "lower is better", "neither": "no better direction"}[meta.better]
        body.append(f"<tr><th scope='row' title='{html.escape(meta.definition)}'>{html.escape(meta.label)}"
                    f"<span class=unit>{html.escape(meta.unit_text)}; {better}</span></th>{''.join(cells)}</tr>")
    table = (f"<table class=headline><thead><tr><th scope='col'>Metric</th>{head}</tr></thead>"
             f"<tbody>{''.join(body)}</tbody></table>")
    notes = "".join(f"<p class=flagged>{html.escape(flag_sentence(d, r))}</p>" for d, r in flags.items() if r)
    data = Data("headline.csv", ("metric", "unit", "better", "design", "baseline", "mean", "low_5pct", "high_95pct",
                                 "against_baseline", "label", "unit_text", "barely_ran"), rows)
    reading = _headline_reading(store, verdicts, metrics, [d for d in store.designs if not flags.get(d)])
    block = Table("headline", "Designs side by side", reading, notes + table, data)
    intro = (f"Each cell is the mean across runs with its 90% interval (5th to 95th percentile) beneath. "
             f"Every design ran on the same seeds as the baseline, {html.escape(base)} (common random numbers), "
             "so each is judged on the paired differences: <span class=better>better</span> or "
             "<span class=worse>worse</span> when the 90% interval of its difference from the baseline lies wholly on one "
             "side, <span class=lean-better>better on average</span> or <span class=lean-worse>worse on average</span> "
             f"when only the mean difference does. A design that leaves more than {MAX_UNSERVED_SHARE:.0%} of referrals "
             f"unserved, or lets fewer than {MIN_LOT_MONTHS_LET:.0%} of its lot-months, is marked "
             "<span class=flag>barely ran</span> and not compared on failures, disruption or concentration (both "
             "thresholds are assumptions). Definitions are in the glossary at the end.")
    return Section("headline", "Headline", intro, [block])


def design_flags(store: Store, stats=None) -> dict[str, list[str]]:
    """design -> why it barely ran (empty when it ran fully), from its mean coverage metrics."""
    stats = summary(store) if stats is None else stats
    means = {d: {m: stats[d, m][0] for m in ("referrals_unserved_share", "lot_months_let_share") if (d, m) in stats}
             for d in store.designs}
    return coverage_flags(means)


def paired_verdicts(store: Store, metrics: list[str]) -> dict[tuple[str, str], tuple[str, float]]:
    """(design, metric) -> (verdict, mean paired difference from the baseline); see platoons.report.verdicts."""
    if not metrics:
        return {}
    names = ", ".join(_sql_text(m) for m in metrics)
    key = ", ".join(store.run_key) or "NULL"
    rows = store.query(f"SELECT design, {key}, metric, value FROM metrics WHERE metric IN ({names})")
    runs: dict[tuple[str, tuple], dict[str, float]] = {}
    for design, *rest in rows:
        *run, metric, value = rest
        runs.setdefault((design, tuple(run)), {})[metric] = _finite(value)
    return compare_runs(((d, k, v) for (d, k), v in runs.items()), store.baseline, metrics)


def _verdict_mark(verdict: str, difference: float) -> str:
    """The verdict in words, after an arrow saying whether the design is higher or lower than the baseline."""
    text = WORDS.get(verdict)
    if not text:
        return ""
    arrow = "▲ " if difference > 0 else "▼ " if difference < 0 else ""
    return f"<span class=mark>{arrow}{text}</span>"


def _headline_reading(store: Store, verdicts, metrics: list[str], ran: list[str]) -> str:
    """Which alternative has the best balance of clearly better and clearly worse, among those that ran fully."""
    if len(store.designs) == 1:
        return f"One design, {store.baseline}: no comparison to draw."
    def count(design, verdict):
        return sum(verdicts.get((design, m), ("",))[0] == verdict for m in metrics)

    counts = {d: (count(d, "better"), count(d, "worse")) for d in store.designs[1:] if d in ran}
    if not counts:
        return f"Every alternative to {store.baseline} barely ran, so none is judged the best balance."
    best = max(counts, key=lambda d: (counts[d][0] - counts[d][1], counts[d][0]))
    good, bad = counts[best]
    if good == 0 and bad == 0:
        return (f"No alternative is clearly better or worse than {store.baseline} on any of the {len(metrics)} "
                "headline metrics across runs.")
    skipped = len(store.designs) - 1 - len(counts)
    return (f"Against {store.baseline}, {best} is clearly better on {good} and clearly worse on {bad} of the "
            f"{len(metrics)} headline metrics, the best balance of the {len(counts)} alternatives"
            + (f" that ran fully ({skipped} barely ran)." if skipped else "."))


# Money -------------------------------------------------------------------------------------------

NODE_LABELS = {
    "commissioner": "Commissioner", "investors": "Social investors",
    "creditors": "Losses from failures (written off)", "reserves": "Drawn from providers' reserves",
    "investor_capital": "Investors' capital not repaid",
    "prime": "Primes", "centre": "Consortium centres", "alliance": "Alliance members", "direct": "Direct providers",
    "tier1": "Tier-1 subcontractors", "tier2": "Tier-2 subcontractors", "member": "Consortium members",
    "provider": "Providers' own accounts", "front_line": "Front-line delivery", "overheads": "Overheads",
    "compliance": "Compliance and reporting", "bid_costs": "Bid costs", "coordination": "Consortium coordination",
    "capacity_building": "Capacity building", "held": "Management fees and holders' margin",
    "kept": "Subcontractors' and members' surplus", "investor_return": "Investors' return",
    "commissioning": "Commissioning costs", "transition": "Mobilisation and transfers",
}
NODE_COLOURS = {
    "commissioner": "#0072B2", "investors": "#56B4E9", "creditors": "#D55E00", "reserves": "#CC79A7",
    "investor_capital": "#CC79A7", "front_line": "#009E73", "held": "#E69F00", "kept": "#F0C060",
    "investor_return": "#F0C060", "bid_costs": "#B05050",
}
HOLDERS = ("prime", "centre", "alliance", "direct")
# Where money ends or starts in the ledger's fixed accounts; every other node is a party that passes it on.
FIXED = ("commissioner", "front_line", "overheads", "compliance", "bid_costs", "coordination", "capacity_building",
         "creditors", "opening_reserves", "commissioning", "transition")


def _balance(party: str) -> tuple[str, str]:
    """The nodes that take a party's surplus and supply its shortfall."""
    if party == "investors":
        return "investor_return", "investor_capital"
    return ("held" if party in HOLDERS else "kept"), "reserves"


def money_flows(store: Store) -> Section:
    rows = store.query("SELECT design, kind, source, target, sum(amount_gbp) FROM flows GROUP BY ALL")
    by_design: dict[str, dict[tuple[str, str], dict[str, float]]] = {}
    for design, kind, source, target, total in rows:
        links = by_design.setdefault(design, {})
        links.setdefault((source, target), {})[kind] = total / max(store.runs(design), 1)
    shown = store.designs[:MAX_SANKEYS]
    charts = [_sankey(design, by_design.get(design, {})) for design in shown]
    intro = ("Money over the whole run, mean over runs, from the commissioner through contract holders (primes, "
             "consortium centres, direct providers) and their subcontractors or members to what it pays for. "
             "What a party receives and neither passes on nor spends is its retained margin (for a prime or a "
             "consortium centre, its management fee); a party that spends more than it receives draws on reserves. "
             "Losses from failures are providers' debts written off by their creditors.")
    if len(store.designs) > len(shown):
        intro += f" The first {len(shown)} of {len(store.designs)} designs are shown."
    return Section("money", "Where the money goes", intro, charts)


def _sankey(design: str, links: dict[tuple[str, str], dict[str, float]]) -> Chart:
    import plotly.graph_objects as go

    liability = sum(v for (s, t), kinds in links.items() if s == t for v in kinds.values())
    flows = {key: kinds for key, kinds in links.items() if key[0] != key[1]}
    net: dict[str, float] = {}
    for (source, target), kinds in flows.items():
        amount = sum(kinds.values())
        net[source] = net.get(source, 0.0) - amount
        net[target] = net.get(target, 0.0) + amount
    for party, amount in sorted(net.items()):
        if party in FIXED:
            continue
        surplus, shortfall = _balance(party)
        if amount >= 1:
            flows[(party, surplus)] = {"retained": amount}
        elif amount <= -1:
            flows[(shortfall, party)] = {"drawn": -amount}
    order = list(NODE_LABELS)
    nodes = sorted({n for key in flows for n in key}, key=lambda n: (order.index(n) if n in order else len(order), n))
    index = {n: i for i, n in enumerate(nodes)}
    keys = sorted(flows, key=lambda k: (index[k[0]], index[k[1]]))
    colour = {n: NODE_COLOURS.get(n, "#7f7f7f") for n in nodes}
    inflow = {n: sum(sum(flows[k].values()) for k in keys if k[1] == n) for n in nodes}
    outflow = {n: sum(sum(flows[k].values()) for k in keys if k[0] == n) for n in nodes}
    labels = [f"{NODE_LABELS.get(n, n)} {_amount(max(inflow[n], outflow[n]))}" for n in nodes]
    figure = go.Figure(go.Sankey(
        arrangement="snap",
        valueformat=".1f", valuesuffix="m",
        node=dict(label=labels, color=[colour[n] for n in nodes], pad=22, thickness=16,
                  hovertemplate="%{label}<extra></extra>"),
        link=dict(
            source=[index[s] for s, _ in keys], target=[index[t] for _, t in keys],
            value=[sum(flows[k].values()) / 1e6 for k in keys],
            color=[translucent(colour[s], 0.35) for s, _ in keys],
            customdata=[", ".join(f"{kind} {money(v)}" for kind, v in sorted(flows[k].items())) for k in keys],
            hovertemplate="%{source.label} → %{target.label}: £%{value:.1f}m<br>%{customdata}<extra></extra>",
        ),
    ))
    figure.update_layout(**_layout(height=520, margin=dict(l=10, r=10, t=20, b=20)))
    data = Data(f"money-{_slug(design)}.csv", ("design", "source", "target", "kind", "amount_gbp"),
                [(design, s, t, kind, v) for s, t in keys for kind, v in sorted(flows[(s, t)].items())])
    return Chart(f"money-{_slug(design)}", f"Where the money goes: {design}",
                 _money_reading(design, flows, liability), figure, data)


def _amount(gbp: float) -> str:
    """Money as the Sankey writes it on its links (see page.RENDER): £1.23bn, £45.6m or £789k."""
    millions = gbp / 1e6
    if millions >= 1000:
        return f"£{millions / 1000:.2f}bn"
    if millions >= 0.1:
        return f"£{millions:.1f}m"
    return f"£{round(millions * 1000)}k"


def _money_reading(design: str, flows, liability: float) -> str:
    def total(predicate) -> float:
        return sum(sum(kinds.values()) for key, kinds in flows.items() if predicate(*key))

    spend = total(lambda s, t: s == "commissioner")
    if spend <= 0:
        return f"Under {design}, the commissioner paid nothing out."
    front = total(lambda s, t: t == "front_line")
    held = total(lambda s, t: t == "held")
    losses = total(lambda s, t: s == "creditors")
    kept = (f"contract holders keep {money(held)} ({percent(held / spend)}) as management fees and margin" if held >= 1
            else "contract holders keep no margin")
    sentence = (f"Under {design}, {percent(front / spend)} of the commissioner's {money(spend)} reaches front-line "
                f"delivery and {kept}")
    if losses > 0:
        sentence += f", while failures leave {money(losses)} of debts written off"
    if liability > 0:
        sentence += f" and members cover {money(liability)} of failed members' losses"
    invested = total(lambda s, t: s == "investors")
    if invested > 0:
        repaid = total(lambda s, t: s == "commissioner" and t == "investors")
        sentence += f"; social investors put in {money(invested)} and are paid {money(repaid)} on outcomes"
    return sentence + "."


# Risk and margin ---------------------------------------------------------------------------------

def risk_and_margin(store: Store, colours: dict[str, str]) -> Section:
    stats = summary(store)
    edges = _band_edges(store)
    tiers = [(t, TIER_AXIS.get(t, t), TIER_LABELS.get(t, t)) for t in TIERS.values()]
    bands_ = [(b, f"{b}<br>{edges[i]}" if i < len(edges) else b,
               f"{b} providers ({edges[i]})" if i < len(edges) else f"{b} providers") for i, b in enumerate(SIZE_BANDS)]
    charts = [_risk_chart("risk-by-tier", "Margin and payment-by-results risk by tier", tiers, "tier", store, stats, colours),
              _risk_chart("risk-by-size", "Margin and payment-by-results risk by provider size", bands_, "size_band",
                          store, stats, colours)]
    intro = ("Margin is surplus over service income; risk is the share of service income that depends on outcomes. "
             "Bars are means across runs, whiskers the 90% interval; a tier a design does not use has no bar. "
             "Size bands are by turnover at the end of the run.")
    return Section("risk", "Risk and margin by tier and size", intro, charts)


def _risk_chart(key, title, groups, column, store: Store, stats, colours) -> Chart:
    """Two panels, margin and risk, of bars by group (tier or size band) and design.

    `groups` holds (metric suffix, axis label, label in a sentence) for each group.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    def cell(design, prefix, group):
        return stats.get((design, f"{prefix}_{group}"), (math.nan,) * 3)

    present = [g for g in groups
               if any(math.isfinite(cell(d, p, g[0])[0]) for d in store.designs for p in ("margin", "pbr_risk"))]
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Margin", "Share of income at payment-by-results risk"),
                           horizontal_spacing=0.1)
    rows = []
    for design in store.designs:
        for col, prefix in ((1, "margin"), (2, "pbr_risk")):
            cells = [cell(design, prefix, g) for g, _, _ in present]
            rows.extend((design, g, prefix, *c) for (g, _, _), c in zip(present, cells))
            figure.add_trace(go.Bar(
                name=design, legendgroup=design, showlegend=col == 1, marker_color=colours[design],
                x=[axis for _, axis, _ in present], y=[_none(c[0]) for c in cells],
                error_y=dict(type="data", symmetric=False, array=[_none(c[2] - c[0]) for c in cells],
                             arrayminus=[_none(c[0] - c[1]) for c in cells], thickness=1, width=3),
                hovertemplate="%{x}: %{y:.1%}<extra>" + html.escape(design) + "</extra>",
            ), row=1, col=col)
    figure.update_yaxes(tickformat=".0%")
    figure.update_xaxes(tickangle=0)
    figure.update_layout(**_layout(barmode="group", height=440, legend=dict(orientation="h", yanchor="top", y=-0.2, x=0)))
    data = Data(f"{key}.csv", ("design", column, "metric", "mean", "low_5pct", "high_95pct"), rows)
    return Chart(key, title, _risk_reading(present, store, cell), figure, data)


def _risk_reading(groups, store: Store, cell) -> str:
    def extreme(prefix, pick):
        cells = [(cell(d, prefix, g)[0], d, label) for d in store.designs for g, _, label in groups
                 if math.isfinite(cell(d, prefix, g)[0])]
        return pick(cells) if cells else None

    risk, thin = extreme("pbr_risk", max), extreme("margin", min)
    if risk is None or thin is None:
        return "No design in the store paid any of these groups."
    return (f"The most payment-by-results risk sits with {risk[2]} under {risk[1]} ({percent(risk[0])} of their income "
            f"depends on outcomes); the thinnest margin is that of {thin[2]} under {thin[1]} ({percent(thin[0])}).")


def _band_edges(store: Store) -> list[str]:
    scenario = store.scenarios.get(store.baseline)
    if not scenario:
        return []
    edges = [_short_money(e) for e in scenario.get("sector", {}).get("size_band_edges_gbp", ())]
    if not edges:
        return []
    return [f"under {edges[0]}"] + [f"{a} to {b}" for a, b in zip(edges, edges[1:])] + [f"{edges[-1]} and over"]


def _short_money(value: float) -> str:
    if value >= 1e6:
        return f"£{value / 1e6:g}m"
    if value >= 1e3:
        return f"£{value / 1e3:g}k"
    return f"£{value:g}"


# Small providers ---------------------------------------------------------------------------------

SMALL_PANELS = (("active_small", "Active small providers", ""), ("small_share", "Small providers' share of service income", ".0%"),
                ("failures", "Provider failures, cumulative (all sizes)", ""), ("entries", "New entrants, cumulative", ""))


def small_providers(store: Store, colours: dict[str, str]) -> Section:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    series = bands(store, tuple(name for name, _, _ in SMALL_PANELS))
    figure = make_subplots(rows=2, cols=2, subplot_titles=[title for _, title, _ in SMALL_PANELS],
                           vertical_spacing=0.14, horizontal_spacing=0.09)
    rows = []
    for design in store.designs:
        for i, (name, title, fmt) in enumerate(SMALL_PANELS):
            months, mean, low, high = series.get((design, name), ([], [], [], []))
            rows.extend((design, name, m, a, lo, hi) for m, a, lo, hi in zip(months, mean, low, high))
            figure.add_trace(go.Scatter(
                x=_years(months), y=[_none(v) for v in mean], mode="lines", name=design, legendgroup=design,
                showlegend=i == 0, line=dict(color=colours[design], width=2), customdata=months,
                hovertemplate=f"month %{{customdata}}: %{{y:{fmt or ',.1f'}}}<extra>{html.escape(design)}</extra>",
            ), row=i // 2 + 1, col=i % 2 + 1)
    figure.update_yaxes(tickformat=".0%", row=1, col=2)
    _year_axes(figure, store, rows=2, cols=2)
    figure.update_layout(**_layout(height=560))
    data = Data("small-providers.csv", ("design", "series", "month", "mean", "low_5pct", "high_95pct"), rows)
    chart = Chart("small-providers", "Active small providers, their share of income, failures and entries", _small_reading(store), figure, data)
    intro = ("Lines are means across runs. Small providers are those below the scenario's small-provider turnover; "
             "their share is of all providers' service income in the month. The 5th and 95th percentiles are in the CSV.")
    return Section("small", "Small providers over time", intro, [chart])


def _small_reading(store: Store) -> str:
    stats = summary(store)
    share = {d: stats.get((d, "small_share_of_spend"), (math.nan,))[0] for d in store.designs}
    share = {d: v for d, v in share.items() if math.isfinite(v)}
    if not share:
        return "The store has no small providers' share of spend."
    base = store.baseline
    best = max(share, key=share.get)
    active = {d: stats.get((d, "small_providers_active"), (math.nan,))[0] for d in store.designs}
    if best == base or base not in share:
        low = min(share, key=share.get)
        if low == best:
            return f"{best} gives small providers {percent(share[best])} of spend."
        return f"{best} gives small providers the largest share of spend, {percent(share[best])}, against {percent(share[low])} under {low}."
    sentence = f"{best} gives small providers {percent(share[best])} of spend against {percent(share[base])} under {base}"
    if math.isfinite(active.get(best, math.nan)) and math.isfinite(active.get(base, math.nan)):
        sentence += f", and ends with {number(active[best], 'providers')} of them active against {number(active[base], 'providers')}"
    return sentence + "."


# Outcomes by need group --------------------------------------------------------------------------

def outcomes_by_group(store: Store, colours: dict[str, str]) -> Section:
    import plotly.graph_objects as go

    stats = summary(store)
    groups = _need_groups(store, stats)
    categories = [("outcome_rate", "all groups")] + [(f"outcome_rate_{g}", g) for g in groups]
    figure = go.Figure()
    rows = []
    for design in store.designs:
        cells = [stats.get((design, metric), (math.nan,) * 3) for metric, _ in categories]
        rows.extend((design, label, *cell) for (_, label), cell in zip(categories, cells))
        figure.add_trace(go.Bar(
            name=design, marker_color=colours[design], x=[label for _, label in categories], y=[_none(c[0]) for c in cells],
            error_y=dict(type="data", symmetric=False, array=[_none(c[2] - c[0]) for c in cells],
                         arrayminus=[_none(c[0] - c[1]) for c in cells], thickness=1, width=3),
            hovertemplate="%{x}: %{y:.1%}<extra>" + html.escape(design) + "</extra>",
        ))
    figure.update_yaxes(tickformat=".0%", title_text="outcomes over referrals")
    figure.update_layout(**_layout(barmode="group", height=420))
    data = Data("outcomes-by-group.csv", ("design", "need_group", "mean", "low_5pct", "high_95pct"), rows)
    chart = Chart("outcomes-by-group", "Outcome rate by need group", _outcomes_reading(store, stats, groups), figure, data)
    intro = ("Sustained outcomes over referrals for each need group, groups in order of their no-support outcome rate, "
             "hardest to help last. A group far below the others under one design is being parked.")
    return Section("outcomes", "Outcomes by need group", intro, [chart])


def _need_groups(store: Store, stats) -> list[str]:
    scenario = store.scenarios.get(store.baseline)
    groups = (scenario or {}).get("world", {}).get("need_groups")
    if groups:
        return [g["name"] for g in sorted(groups, key=lambda g: -g.get("no_support_outcome_rate", 0.0))]
    return sorted({m.removeprefix("outcome_rate_") for _, m in stats if m.startswith("outcome_rate_")})


def _outcomes_reading(store: Store, stats, groups: list[str]) -> str:
    if not groups:
        return "The store has no outcome rates by need group."
    hardest = groups[-1]
    ratio = {}
    for design in store.designs:
        rate = stats.get((design, f"outcome_rate_{hardest}"), (math.nan,))[0]
        overall = stats.get((design, "outcome_rate"), (math.nan,))[0]
        if math.isfinite(rate) and math.isfinite(overall) and overall > 0:
            ratio[design] = (rate / overall, rate, overall)
    if not ratio:
        return f"No design reports an outcome rate for the {hardest} group."
    worst, best = min(ratio, key=lambda d: ratio[d][0]), max(ratio, key=lambda d: ratio[d][0])
    sentence = (f"Under {worst}, the {hardest} group's outcome rate is {percent(ratio[worst][1])} against "
                f"{percent(ratio[worst][2])} overall")
    if best != worst:
        sentence += f"; under {best} it is {percent(ratio[best][1])} against {percent(ratio[best][2])}"
    return sentence + "."


# Market ------------------------------------------------------------------------------------------

def market(store: Store, colours: dict[str, str]) -> Section:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    panels = (("hhi", "Market concentration (HHI of service income)", ",.0f"),
              ("mean_effectiveness", "Mean effectiveness of delivering providers", ".3f"))
    series = bands(store, tuple(name for name, _, _ in panels))
    figure = make_subplots(rows=2, cols=1, subplot_titles=[title for _, title, _ in panels], vertical_spacing=0.12,
                           shared_xaxes=True)
    alpha = max(0.06, 0.3 / math.sqrt(len(store.designs)))  # many overlapping bands stay readable
    rows = []
    for design in store.designs:
        for i, (name, _, fmt) in enumerate(panels):
            months, mean, low, high = series.get((design, name), ([], [], [], []))
            rows.extend((design, name, m, a, lo, hi) for m, a, lo, hi in zip(months, mean, low, high))
            band = dict(x=_years(months), mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip",
                        legendgroup=design)
            figure.add_trace(go.Scatter(y=[_none(v) for v in low], **band), row=i + 1, col=1)
            figure.add_trace(go.Scatter(y=[_none(v) for v in high], fill="tonexty",
                                        fillcolor=translucent(colours[design], alpha), **band), row=i + 1, col=1)
            figure.add_trace(go.Scatter(
                x=_years(months), y=[_none(v) for v in mean], mode="lines", name=design, legendgroup=design,
                showlegend=i == 0, line=dict(color=colours[design], width=2), customdata=months,
                hovertemplate=f"month %{{customdata}}: %{{y:{fmt}}}<extra>{html.escape(design)}</extra>",
            ), row=i + 1, col=1)
    _year_axes(figure, store, rows=2, cols=1)
    figure.update_layout(**_layout(height=600))
    data = Data("market.csv", ("design", "series", "month", "mean", "low_5pct", "high_95pct"), rows)
    chart = Chart("market", "Concentration and effectiveness over time", _market_reading(store, series), figure, data)
    intro = ("Lines are means across runs; shaded bands the 5th to 95th percentile. HHI runs from near 0 "
             "(many small shares) to 10,000 (one provider has all the income); effectiveness is the caseload-weighted "
             "gain in monthly chance of work that delivering providers add, per year.")
    return Section("market", "Market concentration and effectiveness", intro, [chart])


def _market_reading(store: Store, series) -> str:
    def at_end(name):
        """Each design's mean in the last month of the run, where it is defined then."""
        ends = {d: series[(d, name)] for d in store.designs if (d, name) in series}
        final = max((months[-1] for months, *_ in ends.values() if months), default=None)
        return {d: mean[-1] for d, (months, mean, _, _) in ends.items()
                if months and months[-1] == final and math.isfinite(mean[-1])}

    hhi, effectiveness = at_end("hhi"), at_end("mean_effectiveness")
    if not hhi:
        return "No design has any provider with service income in the last month."
    high, low = max(hhi, key=hhi.get), min(hhi, key=hhi.get)
    sentence = f"In the last month, concentration is highest under {high} (HHI {hhi[high]:,.0f})"
    if low != high:
        sentence += f" and lowest under {low} ({hhi[low]:,.0f})"
    if effectiveness:
        best = max(effectiveness, key=effectiveness.get)
        sentence += f"; mean effectiveness is highest under {best} ({plain(effectiveness[best])})"
    missing = [d for d in store.designs if d not in hhi]
    if missing:
        sentence += f"; {', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no provider with income by then"
    return sentence + "."


# Sensitivity -------------------------------------------------------------------------------------

PREFERRED_INDEX = ("ST", "mu_star", "S1", "mu", "sigma")
INDEX_LABELS = {"ST": "total-effect index (ST)", "S1": "first-order index (S1)", "mu_star": "mean absolute effect (mu*)",
                "mu": "mean effect (mu)", "sigma": "spread of effects (sigma)"}


def sensitivity(store: Store) -> Section:
    """Per metric, a ranked bar chart of the parameters' main index and a table of every index beneath it."""
    rows = store.query("SELECT design, metric, parameter, \"index\", value, conf FROM sensitivity")
    rows = [(d, m, p, str(i), _finite(v), _finite(c)) for d, m, p, i, v, c in rows]
    designs = [d for d in store.designs if any(r[0] == d for r in rows)] + sorted(
        {r[0] for r in rows} - set(store.designs))
    colours = design_colours(store.designs + [d for d in designs if d not in store.designs])
    metrics = sorted({r[1] for r in rows}, key=lambda m: (HEADLINE.index(m) if m in HEADLINE else len(HEADLINE), m))
    blocks: list = []
    for metric in metrics[:MAX_SENSITIVITY_CHARTS]:
        mine = [r for r in rows if r[1] == metric]
        blocks += [_sensitivity_chart(metric, mine, designs, colours), _sensitivity_table(metric, mine, designs)]
    intro = ("How much each uncertain parameter moves each metric across the sweep's futures. Bars rank the "
             "parameters by their main index (the total-effect Sobol index ST, or the Morris mean absolute effect "
             "mu*), largest at the top; whiskers are the confidence half-widths the sweep reported. The table beneath "
             "each chart gives every index: S1 (first order) and ST (total) for Sobol, mu* and sigma (how much the "
             "effect varies with the other parameters) for Morris.")
    if len(metrics) > MAX_SENSITIVITY_CHARTS:
        intro += f" The first {MAX_SENSITIVITY_CHARTS} of the {len(metrics)} metrics with indices are shown."
    return Section("sensitivity", "Sensitivity", intro, blocks)


def _main_index(mine) -> str:
    indices = {r[3] for r in mine}
    return min(indices, key=lambda i: (PREFERRED_INDEX.index(i) if i in PREFERRED_INDEX else 99, i))


def _sensitivity_chart(metric: str, mine, designs: list[str], colours) -> Chart:
    import plotly.graph_objects as go

    index = _main_index(mine)
    meta = metric_or_plain(metric)
    main = [r for r in mine if r[3] == index]
    # Rank by the mean of the main index over the designs that have it.
    by_parameter: dict[str, list[float]] = {}
    for r in main:
        if math.isfinite(r[4]):
            by_parameter.setdefault(r[2], []).append(r[4])
    ranked = sorted(by_parameter, key=lambda p: -float(np.mean(by_parameter[p])))
    ranked += sorted({r[2] for r in mine} - set(ranked))
    shown = [d for d in designs if any(r[0] == d for r in main)]
    figure = go.Figure()
    for design in shown:
        cell = {r[2]: r for r in main if r[0] == design}
        figure.add_trace(go.Bar(
            name=design, orientation="h", y=[parameter_label(p) for p in ranked], marker_color=colours[design],
            x=[_none(cell[p][4]) if p in cell else None for p in ranked],
            error_x=dict(type="data", array=[_none(cell[p][5]) if p in cell else None for p in ranked], thickness=1,
                         width=3),
            hovertemplate="%{y}: %{x:.3f}<extra>" + html.escape(design) + "</extra>", showlegend=len(shown) > 1,
        ))
    figure.update_yaxes(automargin=True, autorange="reversed")
    figure.update_xaxes(title_text=INDEX_LABELS.get(index, index), rangemode="tozero")
    figure.update_layout(**_layout(barmode="group", height=max(300, 90 + 26 * len(ranked) * max(1, len(shown)))))
    if ranked and ranked[0] in by_parameter:
        top = ranked[0]
        reading = (f"{parameter_label(top)} matters most for {_lower(meta.label)} ({index.replace('_star', '*')} "
                   f"{plain(float(np.mean(by_parameter[top])))}")
        if len(ranked) > 1 and ranked[1] in by_parameter:
            reading += f", against {plain(float(np.mean(by_parameter[ranked[1]])))} for {_lower(parameter_label(ranked[1]))}"
        reading += ")."
    else:
        reading = f"No parameter has a finite {index} index for {_lower(meta.label)}."
    slug = _slug(metric)
    return Chart(f"sensitivity-{slug}", f"What moves {_lower(meta.label)}", reading, figure,
                 Data(f"sensitivity-{slug}.csv", ("design", "metric", "parameter", "index", "value", "conf"), mine))


def _sensitivity_table(metric: str, mine, designs: list[str]) -> Table:
    meta = metric_or_plain(metric)
    indices = sorted({r[3] for r in mine}, key=lambda i: (PREFERRED_INDEX.index(i) if i in PREFERRED_INDEX else 99, i))
    main = _main_index(mine)
    cells = {(r[0], r[2], r[3]): (r[4], r[5]) for r in mine}
    head = "".join(f"<th scope='col'>{html.escape(i.replace('_star', '*'))}</th>" for i in indices)
    body, rows = [], []
    for design in [d for d in designs if any(r[0] == d for r in mine)]:
        params = sorted({r[2] for r in mine if r[0] == design},
                        key=lambda p: -_finite_or(cells.get((design, p, main), (math.nan,))[0], -math.inf))
        for parameter in params:
            values = [cells.get((design, parameter, i), (math.nan, math.nan)) for i in indices]
            rows.append((design, parameter_label(parameter), parameter, *(v for v, _ in values)))
            body.append(f"<tr><td>{html.escape(design)}</td><td>{html.escape(parameter_label(parameter))}</td>"
                        + "".join(f"<td class=num>{plain(v)}" + (f" ± {plain(c)}" if math.isfinite(c) else "") + "</td>"
                                  for v, c in values) + "</tr>")
    table = (f"<div class=scroll><table class=sensitivity><thead><tr><th>Design</th><th>Parameter</th>{head}</tr>"
             f"</thead><tbody>{''.join(body)}</tbody></table></div>")
    reading = f"Every index for {_lower(meta.label)}, parameters in order of {main} for each design."
    return Table(f"sensitivity-table-{_slug(metric)}", f"Indices for {_lower(meta.label)}", reading, table,
                 Data(f"sensitivity-table-{_slug(metric)}.csv", ("design", "parameter", "path", *indices), rows))


def parameter_label(parameter: str) -> str:
    """An uncertain parameter in words: its last path part, spaced ("design.bidding.optimism" -> "Optimism")."""
    last = parameter.rsplit(".", 1)[-1].removesuffix("_gbp")
    return last.replace("_", " ").capitalize()


def _lower(label: str) -> str:
    """A label inside a sentence: lower case first letter, unless it starts an acronym."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


# Glossary ----------------------------------------------------------------------------------------

def glossary(store: Store) -> Section:
    """Every metric the store holds, in plain words, with its identifier for --json and the stores."""
    from platoons.report.export import ordered_metrics

    names = ordered_metrics({m for _, m in summary(store)})
    better = {"higher": "higher is better", "lower": "lower is better", "neither": "no better direction"}
    rows, body = [], []
    for name in names:
        meta = metric_or_plain(name)
        rows.append((meta.label, name, meta.unit_text, meta.better, meta.definition))
        body.append(f"<tr><th scope='row'>{html.escape(meta.label)}<span class=unit><code>{html.escape(name)}</code>"
                    f"</span></th><td>{html.escape(meta.unit_text)}</td><td>{better[meta.better]}</td>"
                    f"<td>{html.escape(meta.definition)}</td></tr>")
    table = ("<table class=glossary><thead><tr><th>Metric</th><th>Unit</th><th>Better</th><th>Definition</th></tr>"
             f"</thead><tbody>{''.join(body)}</tbody></table>")
    data = Data("glossary.csv", ("label", "metric", "unit", "better", "definition"), rows)
    reading = f"The {len(names)} metrics of this report, each with what it divides by."
    intro = ("What each metric means. Identifiers (in grey) are the names used by <code>--json</code>, the result "
             "store and <code>platoons describe METRIC</code>.")
    return Section("glossary", "Glossary", intro, [Table("glossary", "Metrics in plain words", reading, table, data)])


# Helpers -----------------------------------------------------------------------------------------

def _years(months: list) -> list[float]:
    """Months of the run as years, for time axes people read: month 18 is year 1.5."""
    return [m / 12 for m in months]


def _year_axes(figure, store: Store, rows: int, cols: int) -> None:
    """Year ticks on every time axis, and a dotted line wherever a design lets its contracts."""
    import plotly.graph_objects as go

    figure.update_xaxes(dtick=1, tick0=0)
    figure.update_xaxes(title_text="year of the run", row=rows)
    starts = contract_starts(store)
    for month in starts:
        for row in range(1, rows + 1):
            for col in range(1, cols + 1):
                figure.add_vline(x=month / 12, line=dict(color="#5b6776", width=1, dash="dot"), row=row, col=col)
    if starts:  # a legend entry says what the dotted lines are
        figure.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="contracts let",
                                    line=dict(color="#5b6776", width=1, dash="dot"), hoverinfo="skip"), row=1, col=1)


def contract_starts(store: Store) -> list[int]:
    """Months at which any design lets its contracts on schedule: the start and each re-tender."""
    months = set()
    for scenario in store.scenarios.values():
        terms = scenario.get("design", {}).get("contract", {})
        length, run = terms.get("length_months"), scenario.get("run", {}).get("months", 0)
        if not length:
            continue
        months.update(range(0, run, length) if terms.get("retender", True) else (0,))
    return sorted(months)



def _layout(**overrides) -> dict:
    layout = dict(
        template="plotly_white", font=dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=13),
        margin=dict(l=60, r=20, t=40, b=40), legend=dict(orientation="h", yanchor="top", y=-0.12, x=0),
        hoverlabel=dict(namelength=-1),
    )
    layout.update(overrides)
    return layout


def _finite(value) -> float:
    return float(value) if value is not None and math.isfinite(value) else math.nan


def _finite_or(value: float, default: float) -> float:
    return value if math.isfinite(value) else default


def _none(value: float):
    """Plotly draws nothing for None; NaN would be sent as null anyway, but not by every encoder."""
    return value if value is not None and math.isfinite(value) else None


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-") or "design"


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
