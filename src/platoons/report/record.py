"""What the published evaluations measured, per design: the record run tables set side by side.

Each figure is worked out per run from one of the record tables (`docs/model.md` 3.10) and averaged over the
design's runs; its definition names the table and what it divides by, so a figure can be set against an
evaluation's own (`platoons check-record` does that for the real programmes).
"""

from __future__ import annotations

import html
import math

from platoons.report.format import money, percent, plain
from platoons.report.parts import Data, Section, Table
from platoons.report.store import Store, read_table

SMALL = "('micro', 'small', 'medium')"  # NCVO bands under GBP 1m
# (label, table, SQL of one figure per run over that table's rows, format)
MEASURES = (
    ("Outcome rate the winning bids promised", "contract_years",
     "sum(bid_outcome_rate * referrals) / nullif(sum(referrals), 0)", percent),
    ("Outcome rate the contracts delivered (outcomes over referrals, all contract years)", "contract_years",
     "sum(outcomes) / nullif(sum(referrals), 0)", percent),
    ("Contract reviews below the minimum performance level", "contract_years",
     "count(*) FILTER (WHERE review = 'below') / nullif(count(*) FILTER (WHERE review IN ('met', 'below')), 0)", percent),
    ("Outcomes within 12 months of referral, per referral (cohorts followed 12 months)", "referral_cohorts",
     "sum(outcomes_12m) FILTER (WHERE outcome_rate_12m IS NOT NULL) / "
     "nullif(sum(referrals) FILTER (WHERE outcome_rate_12m IS NOT NULL), 0)", percent),
    ("Outcomes within 24 months of referral, per referral (cohorts followed 24 months)", "referral_cohorts",
     "sum(outcomes_24m) FILTER (WHERE outcome_rate_24m IS NOT NULL) / "
     "nullif(sum(referrals) FILTER (WHERE outcome_rate_24m IS NOT NULL), 0)", percent),
    ("Named subcontractor-years with no referral, over all named subcontractor-years", "named_subcontractors",
     "count(*) FILTER (WHERE referrals = 0) / nullif(count(*), 0)", percent),
    ("Spent on delivery per referral (GBP)", "spend_by_group", "sum(spent_gbp) / nullif(sum(referrals), 0)", money),
    ("The winning bids' expected cost per referral (GBP)", "spend_by_group",
     "sum(bid_per_referral_gbp * referrals) / nullif(sum(referrals), 0)", money),
    ("Contracts won by providers under GBP 1m, over all contracts won", "tender_outcomes",
     f"coalesce(sum(wins) FILTER (WHERE bidder_size_band IN {SMALL}), 0) / nullif(sum(wins), 0)", percent),
    ("Bids from providers under GBP 1m, over all bids", "tender_outcomes",
     f"coalesce(sum(bids) FILTER (WHERE bidder_size_band IN {SMALL}), 0) / nullif(sum(bids), 0)", percent),
    ("Distinct contract holders after the first tender", "tender_rounds",
     "arg_min(distinct_holders, month)", plain),
    ("Providers under GBP 1m holding a contract or chain place in the last year, over all of them", "participation",
     f"coalesce(sum(holding) FILTER (WHERE size_band IN {SMALL} AND year = last_year), 0) / "
     f"nullif(sum(providers) FILTER (WHERE size_band IN {SMALL} AND year = last_year), 0)", percent),
)


def record_section(store: Store) -> Section:
    values = {(label, design): value for label, design, value in figures(store)}
    head = "".join(f"<th scope='col'>{html.escape(d)}</th>" for d in store.designs)
    body, rows = [], []
    for label, table, _, fmt in MEASURES:
        cells = []
        for design in store.designs:
            value = values.get((label, design), math.nan)
            rows.append((label, table, design, value))
            cells.append(f"<td>{fmt(value) if math.isfinite(value) else 'n/a'}</td>")
        body.append(f"<tr><th scope='row' title='from the {table} table'>{html.escape(label)}</th>{''.join(cells)}</tr>")
    block = (f"<div class=scroll><table class=record><thead><tr><th scope='col'>figure</th>{head}</tr></thead>"
             f"<tbody>{''.join(body)}</tbody></table></div>")
    data = Data("record.csv", ("figure", "table", "design", "mean_per_run"), rows)
    intro = ("The figures the programmes' evaluations published, worked out the same way for each design from the runs' "
             "record tables (contract years, referral cohorts, named subcontractors, spend by need group, tender "
             "outcomes and rounds, participation by size band), each a mean over the design's runs. n/a: the design "
             "has nothing to count (no contracts reviewed, no subcontractors, cohorts not followed long enough).")
    return Section("record", "What the evaluations measure", intro,
                   [Table("record", "Figures as the evaluations measured them", reading(store, values), block, data)])


def figures(store: Store) -> list[tuple[str, str, float]]:
    """(label, design, mean over the design's runs) for every measure whose table the store holds."""
    import duckdb

    out = []
    with duckdb.connect() as con:
        con.execute("SET threads TO 1")
        for name in {table for _, table, _, _ in MEASURES}:
            table = read_table(store.directory, name)
            if table is None or table.num_rows == 0:
                continue
            con.register("raw", table)
            key = ", ".join(c for c in ("design", "future", "replicate") if c in table.column_names)
            last = f", max(year) OVER (PARTITION BY {key}) AS last_year" if "year" in table.column_names else ""
            con.execute(f"CREATE OR REPLACE TEMP VIEW t AS SELECT *{last} FROM raw")
            for label, source, sql, _ in MEASURES:
                if source == name:
                    rows = con.execute(f"SELECT design, avg(v) FROM (SELECT {key}, ({sql}) AS v FROM t GROUP BY {key}) "
                                       "WHERE v IS NOT NULL AND isfinite(v) GROUP BY design").fetchall()
                    out.extend((label, design, float(value)) for design, value in rows)
            con.execute("DROP VIEW t")
            con.unregister("raw")
    return out


def reading(store: Store, values: dict) -> str:
    promised, delivered = MEASURES[0][0], MEASURES[1][0]
    gaps = {d: values[promised, d] - values[delivered, d] for d in store.designs
            if (promised, d) in values and (delivered, d) in values}
    if not gaps:
        return "The runs hold no contracts to set their promises against what they delivered."
    worst = max(gaps, key=gaps.get)
    return (f"The winning bids under {worst} promised {percent(values[promised, worst])} and delivered "
            f"{percent(values[delivered, worst])}, the widest gap between promise and delivery of the designs.")
