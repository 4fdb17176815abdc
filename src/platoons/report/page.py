"""One self-contained HTML page: styles, plotly.js and every figure inline, so it opens offline."""

from __future__ import annotations

import html
import json
from urllib.parse import quote

from platoons.report.parts import Chart, Section
from platoons.report.store import Store

STYLE = """
:root { --ink: #1d2733; --muted: #5b6776; --line: #d9dee5; --panel: #f6f8fa;
        --better: #17693a; --better-bg: #dcf1e3; --lean-better-bg: #f0f8f2;
        --worse: #a5281b; --worse-bg: #fadcd8; --lean-worse-bg: #fcf1ef; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header, main, footer { max-width: 1140px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.8rem; margin: 0 0 4px; }
h2 { font-size: 1.35rem; margin: 40px 0 6px; padding-top: 12px; border-top: 2px solid var(--ink); }
h3 { font-size: 1.05rem; margin: 0 0 2px; }
p { margin: 4px 0 10px; max-width: 80ch; }
.meta { color: var(--muted); }
nav ol { display: flex; flex-wrap: wrap; gap: 4px 18px; padding: 0; margin: 10px 0 16px; list-style: none; }
nav a { color: #0b5cad; text-decoration: none; }
nav a:hover { text-decoration: underline; }
.intro { color: var(--muted); }
.block { margin: 18px 0 34px; }
.reading { font-weight: 600; }
.chart { width: 100%; min-height: 320px; }
.download { margin: 4px 0 0; font-size: 0.85rem; }
.download a { color: #0b5cad; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85rem; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
thead th { background: var(--panel); position: sticky; top: 0; }
table.headline { table-layout: fixed; font-size: 0.8rem; }
table.headline thead th:first-child { width: 12rem; }
table.headline th, table.headline td { padding: 5px 5px; }
table.headline thead th { overflow-wrap: anywhere; }
table.headline td { text-align: right; }
table.headline th[scope=row] { background: #fff; }
.flag { display: inline-block; margin-left: 4px; padding: 0 5px; border-radius: 3px; background: #6b4e00;
        color: #fff; font-size: 0.7rem; font-weight: 600; vertical-align: middle; }
p.flagged { color: #6b4e00; font-weight: 600; }
td.not-compared { background: repeating-linear-gradient(135deg, #fff, #fff 6px, #f1efe8 6px, #f1efe8 12px); }
.value { display: block; font-weight: 600; font-variant-numeric: tabular-nums; }
.interval, .unit { display: block; overflow-wrap: normal; color: var(--muted); font-size: 0.78rem; font-weight: normal; }
.mark { display: block; font-size: 0.75rem; }
.base { display: inline-block; margin-left: 4px; padding: 0 5px; border-radius: 3px; background: var(--ink);
        color: #fff; font-size: 0.7rem; font-weight: 600; vertical-align: middle; }
td.better, span.better { background: var(--better-bg); color: var(--better); }
td.worse, span.worse { background: var(--worse-bg); color: var(--worse); }
td.lean-better, span.lean-better { background: var(--lean-better-bg); }
td.lean-worse, span.lean-worse { background: var(--lean-worse-bg); }
span.better, span.worse, span.lean-better, span.lean-worse { padding: 0 3px; border-radius: 3px; }
table.parameters td.path { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.78rem; }
td.num { font-variant-numeric: tabular-nums; } td.same { color: var(--muted); }
td.source { color: var(--muted); }
.credit { display: none; margin: 2px 0 0; color: var(--muted); font-size: 0.8rem; }
body.png .credit { display: block; }
body.png .download { display: none; }
body.png figure.block { padding: 8px 12px; margin: 0; background: #fff; }
footer { margin-top: 40px; padding-bottom: 40px; color: var(--muted); font-size: 0.85rem; }
@media print {
  @page { size: A4 portrait; margin: 12mm; }
  @page wide { size: A4 landscape; margin: 12mm; }
  header, footer, #headline, #parameters, #glossary { page: wide; }  /* tables of many columns get the long side */
  table.headline thead th:first-child { width: 9rem; }
  .credit { display: block; }
  .chart { min-height: 0; }
  body { font-size: 9pt; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  table { font-size: 8pt; }
  table.headline td, table.headline th[scope=row] { white-space: normal; padding: 3px 4px; }
  header, main, footer { max-width: none; padding: 0; }
  nav, .download, .modebar-container { display: none !important; }
  h2 { break-before: page; break-after: avoid; }
  section:first-of-type h2 { break-before: auto; }
  .block { break-inside: avoid; }
  .block.for-table { break-inside: auto; }
  .scroll { overflow: visible; }
  thead th, table.headline th[scope=row] { position: static; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""

RENDER = """
(function () {
  var figures = JSON.parse(document.getElementById("figures").textContent);
  var config = {displaylogo: false, responsive: true, toImageButtonOptions: {format: "png", scale: 2}};
  var charts = Array.prototype.slice.call(document.querySelectorAll(".chart"));
  Promise.all(charts.map(function (el) {
    var figure = figures[el.dataset.key];
    return Plotly.newPlot(el, figure.data, figure.layout, config).then(function () {
      if (figure.data[0] && figure.data[0].type === "sankey") {
        labelLinks(el);
        el.on("plotly_afterplot", function () { labelLinks(el); });
      }
    });
  })).then(function () {
    document.body.dataset.charts = "ready";
  }, function (error) {
    document.body.dataset.charts = "failed";
    console.error(error);
  });
  // Plotly writes no text on Sankey links: write each link's amount at its middle, moved up or down
  // to the nearest place where it covers no other label and stays inside the chart.
  function amount(millions) {
    if (millions >= 1000) { return "\u00a3" + (millions / 1000).toFixed(2) + "bn"; }
    if (millions >= 0.1) { return "\u00a3" + millions.toFixed(1) + "m"; }
    return "\u00a3" + Math.round(millions * 1000) + "k";
  }
  function overlaps(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }
  function labelLinks(el) {
    Array.prototype.forEach.call(el.querySelectorAll("text.link-amount"), function (t) { t.remove(); });
    var frame = el.getBoundingClientRect();
    var taken = Array.prototype.map.call(el.querySelectorAll(".node-rect"), function (t) {
      return t.getBoundingClientRect();
    });
    // Node labels first, largest nodes first: a label that would cover another moves to the nearest free place.
    Array.prototype.slice.call(el.querySelectorAll(".node-label")).sort(function (a, b) {
      return b.parentNode.__data__.node.value - a.parentNode.__data__.node.value;
    }).forEach(function (label) {
      label.setAttribute("y", 0);
      place(label, 0, taken, frame);
    });
    var links = Array.prototype.slice.call(el.querySelectorAll(".sankey-link")).map(function (path) {
      return {path: path, link: path.__data__.link};
    }).sort(function (a, b) { return b.link.value - a.link.value; });
    links.forEach(function (item) {
      var link = item.link;
      var text = document.createElementNS("http://www.w3.org/2000/svg", "text");
      text.setAttribute("class", "link-amount");
      text.setAttribute("x", (link.source.x1 + link.target.x0) / 2);
      text.setAttribute("text-anchor", "middle");
      text.setAttribute("dominant-baseline", "central");
      text.setAttribute("style", "font: 600 11px system-ui, sans-serif; fill: #1d2733; paint-order: stroke; " +
                        "stroke: rgba(255,255,255,0.85); stroke-width: 3px; pointer-events: none;");
      text.textContent = amount(link.value);
      item.path.parentNode.appendChild(text);
      place(text, (link.y0 + link.y1) / 2, taken, frame);
    });
  }
  // Put a text at `middle` or the nearest height, above or below, where it covers nothing taken and
  // stays inside the chart; node bars are taken from the start.
  function place(text, middle, taken, frame) {
    for (var step = 0; step < 80; step++) {
      var shift = (step % 2 ? 1 : -1) * Math.ceil(step / 2) * 4;
      text.setAttribute("y", middle + shift);
      var box = text.getBoundingClientRect();
      var inside = box.top >= frame.top && box.bottom <= frame.bottom;
      if (inside && !taken.some(function (other) { return overlaps(box, other); })) { break; }
    }
    taken.push(text.getBoundingClientRect());
  }
  function resize() { charts.forEach(function (el) { Plotly.Plots.resize(el); }); }
  window.addEventListener("beforeprint", resize);
  window.addEventListener("afterprint", resize);
})();
"""


def render_page(store: Store, sections: list[Section]) -> str:
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    scenario_line = describe_scenario(store)
    figure_number = 0
    keys: set[str] = set()
    figures: dict[str, str] = {}
    parts = []
    for section in sections:
        blocks = []
        for block in section.blocks:
            key = _unique(block.key, keys)
            if isinstance(block, Chart):
                figures[key] = pio.to_json(block.figure, validate=False, pretty=False)
                body = f"<div class=chart id='chart-{key}' data-key='{key}' role='img' aria-label='{html.escape(block.title)}'></div>"
            else:
                body = block.html
            kind = "for-chart" if isinstance(block, Chart) else "for-table"
            if isinstance(block, Chart):
                figure_number += 1
                credit = f"<p class=credit>Figure {figure_number} · {html.escape(scenario_line)}</p>"
            else:
                credit = ""
            blocks.append(
                f"<figure class='block {kind}' id='block-{key}'><figcaption><h3>{html.escape(block.title)}</h3>"
                f"<p class=reading>{html.escape(block.reading)}</p></figcaption>{body}{credit}"
                f"<p class=download><a download='{html.escape(block.data.filename)}' href='{_data_uri(block.data.csv())}'>"
                f"Download the data (CSV)</a></p></figure>")
        parts.append(f"<section id='{section.key}'><h2>{html.escape(section.title)}</h2>"
                     f"<p class=intro>{section.intro}</p>{''.join(blocks)}</section>")
    figures_json = "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in figures.items()) + "}"
    nav = "".join(f"<li><a href='#{s.key}'>{html.escape(s.title)}</a></li>" for s in sections)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Platoons: {html.escape(', '.join(store.designs))}</title>
<style>{STYLE}</style>
<script>{get_plotlyjs()}</script>
</head>
<body>
<header>
<h1>Commissioning designs compared</h1>
<p class=meta>{_describe_runs(store)}</p>
<nav><ol>{nav}</ol></nav>
</header>
<main>
{''.join(parts)}
</main>
<footer>Made by Platoons from the result store's tables alone; every chart's data can be downloaded beside it.</footer>
<script type="application/json" id="figures">{_script_safe(figures_json)}</script>
<script>{RENDER}</script>
</body>
</html>
"""


def describe_scenario(store: Store) -> str:
    """The line that names what a chart is of, shown under it when it is exported or printed."""
    scenario = store.scenarios.get(store.baseline) or {}
    name = scenario.get("name") or store.directory.name
    designs = len(store.designs)
    return (f"Scenario: {name}; {designs} design{'s' if designs != 1 else ''}, baseline {store.baseline}; "
            "made with Platoons")


def _describe_runs(store: Store) -> str:
    counts = sorted({(store.runs(d), store.futures(d)) for d in store.designs})
    runs = "{} run{}".format(*_count(counts[0][0], counts[-1][0]))
    futures = "" if counts[-1][1] == 1 else " in {} future{}".format(*_count(counts[0][1], counts[-1][1]))
    scenario = store.scenarios.get(store.baseline)
    months = (scenario or {}).get("run", {}).get("months")
    months = f" of {months} months" if months else ""
    designs = ", ".join(html.escape(d) for d in store.designs)
    return (f"{len(store.designs)} design{'s' if len(store.designs) != 1 else ''} ({designs}); baseline "
            f"<strong>{html.escape(store.baseline)}</strong>; {runs}{months} per design{futures}, every design on the "
            "same seeds (common random numbers).")


def _count(low: int, high: int) -> tuple[str, str]:
    return (str(low) if low == high else f"{low} to {high}"), ("" if low == high == 1 else "s")


def _unique(key: str, taken: set[str]) -> str:
    candidate, n = key, 2
    while candidate in taken:
        candidate, n = f"{key}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _data_uri(text: str) -> str:
    return "data:text/csv;charset=utf-8," + quote(text, safe="")


def _script_safe(text: str) -> str:
    """JSON that cannot close the script element holding it."""
    return text.replace("<", "\\u003c")
