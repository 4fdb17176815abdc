"""Failures and exits, and the commissioner's response: who left and how, what was done for the lots they left,
and what changing provider cost.

Read from the runs' `exits`, `stewardship` and `transitions` tables and the `unserved_lot_months` metric; every
figure is a mean per run of the design, so designs with different numbers of runs compare.
"""

from __future__ import annotations

import math

from platoons.report.format import money, number
from platoons.report.parts import Chart, Data, Section
from platoons.report.store import Store, read_table

EXITS = {"insolvency": "insolvent", "hand_back": "handed a contract back", "withdrawal": "withdrew from a chain",
         "closure": "closed"}
ACTIONS = {"extend": "extended the incumbent", "direct_award": "awarded directly", "relax_and_relet": "re-let on relaxed terms",
           "last_resort": "provider of last resort", "leave_unserved": "left unserved"}


def failures_section(store: Store, colours: dict[str, str]) -> Section:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    exits, people = per_run(store, "exits", "exit", EXITS, weight="people")
    actions, _ = per_run(store, "stewardship", "action", ACTIONS)
    changes, moved, cost = transitions_per_run(store)
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                           subplot_titles=["Providers leaving, per run", "The commissioner stepping in, per lot and run"])
    rows = []
    for design in store.designs:
        for col, (counts, words, panel) in enumerate(((exits, EXITS, "exits"), (actions, ACTIONS, "stewardship")), 1):
            values = [counts.get((design, kind), 0.0) for kind in words]
            rows.extend((design, panel, kind, value) for kind, value in zip(words, values))
            figure.add_trace(go.Bar(x=list(words.values()), y=values, name=design, legendgroup=design, showlegend=col == 1,
                                    marker_color=colours[design],
                                    hovertemplate=f"%{{x}}: %{{y:,.1f}} a run<extra>{design}</extra>"), row=1, col=col)
        rows.append((design, "exits", "people_moved", people.get(design, 0.0)))
        rows.extend((design, "transitions", what, value.get(design, 0.0))
                    for what, value in (("changes_of_provider", changes), ("people_transferred", moved), ("cost_gbp", cost)))
    figure.update_layout(barmode="group", height=460, margin=dict(l=60, r=20, t=60, b=90), font=dict(size=13),
                         legend=dict(orientation="h", y=-0.25))
    data = Data("failures.csv", ("design", "panel", "what", "mean_per_run"), rows)
    chart = Chart("failures", "Providers leaving and the commissioner's response",
                  reading(store, exits, actions, people) + " " + transitions_reading(changes, moved, cost), figure, data)
    intro = ("Means per run. A provider that expects a loss it cannot bear, or cannot fund the working capital payment "
             "by results needs, hands a contract back or withdraws from a supply chain with notice; one whose reserves "
             "run out goes insolvent; one that lost all its service income closes. When a lot is left without a holder "
             "the commissioner acts under the design's stewardship policy (counted once per lot). A change of provider "
             "at a re-let or hand-back moves people and staff, at a cost in mobilisation and transfers (in the CSV).")
    return Section("failures", "Failures and exits", intro, [chart])


def per_run(store: Store, name: str, column: str, words: dict[str, str], weight: str | None = None):
    """Mean rows per run of each design by `column` (only its known values), and the mean of `weight` per run."""
    table = read_table(store.directory, name)
    counts: dict[tuple[str, str], float] = {}
    totals: dict[str, float] = {}
    for row in table.to_pylist() if table is not None else []:
        design, runs = row["design"], max(store.runs(row["design"]), 1)
        if row[column] in words:
            counts[design, row[column]] = counts.get((design, row[column]), 0.0) + 1.0 / runs
        if weight:
            totals[design] = totals.get(design, 0.0) + float(row[weight] or 0) / runs
    return counts, totals


def transitions_per_run(store: Store) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """By design, per run: changes of provider, people transferred, and their cost in GBP."""
    table = read_table(store.directory, "transitions")
    changes: dict[str, float] = {}
    moved: dict[str, float] = {}
    cost: dict[str, float] = {}
    for row in table.to_pylist() if table is not None else []:
        design, runs = row["design"], max(store.runs(row["design"]), 1)
        changes[design] = changes.get(design, 0.0) + 1.0 / runs
        moved[design] = moved.get(design, 0.0) + float(row["people"] or 0) / runs
        cost[design] = cost.get(design, 0.0) + float(row["cost_gbp"] or 0) / runs
    return changes, moved, cost


def reading(store: Store, exits, actions, people) -> str:
    left = {d: sum(exits.get((d, k), 0.0) for k in EXITS) for d in store.designs}
    if not any(left.values()):
        return "No provider failed or walked away in any run."
    worst = max(left, key=left.get)
    insolvent = exits.get((worst, "insolvency"), 0.0)
    sentence = (f"{worst} loses the most providers, {left[worst]:.1f} a run ({insolvent:.1f} insolvent), "
                f"moving {number(people.get(worst, 0.0), 'people')} people")
    base = store.baseline
    if worst != base:
        sentence += f", against {left[base]:.1f} a run under {base}"
    stepped = sum(actions.get((worst, k), 0.0) for k in ACTIONS if k != "leave_unserved")
    unserved = _mean_metric(store, worst, "unserved_lot_months")
    sentence += f"; the commissioner stepped in for {stepped:.1f} lots a run"
    if math.isfinite(unserved) and unserved > 0:
        sentence += f" and lots went {unserved:,.0f} lot-months a run without a holder"
    return sentence + "."


def _mean_metric(store: Store, design: str, metric: str) -> float:
    rows = store.query("SELECT avg(value) FROM metrics WHERE design = ? AND metric = ?", [design, metric])
    return float(rows[0][0]) if rows and rows[0][0] is not None else math.nan


def transitions_reading(changes: dict[str, float], moved: dict[str, float], cost: dict[str, float]) -> str:
    if not changes:
        return "No lot changed provider."
    most = max(changes, key=changes.get)
    return (f"Under {most} {changes[most]:.1f} lots a run changed provider, moving {number(moved.get(most, 0.0), 'people')} "
            f"people at a cost of {money(cost.get(most, 0.0))} in mobilisation and transfers.")
