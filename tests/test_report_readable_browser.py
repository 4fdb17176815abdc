"""The report as a board paper, checked in headless Chromium (Debian's `chromium`, driven by Playwright).

Nine designs, as `make run` compares them: Sankey labels that do not overlap and carry amounts, a
headline table that fits 1400 px, PNGs whose title, caption and scenario can be read back from the
file (by OCR with Debian's `tesseract`, and from their text chunks), and a print to A4 PDF with no
chart cut across pages. Skipped where Chromium is missing, unless PLATOONS_BROWSER_TESTS=required.
"""

import os
import re
import shutil
import subprocess
import sys
import unicodedata

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from test_report_browser import ARGS, CHROMIUM, _need_browser

pytestmark = pytest.mark.slow
NINE = ("regional-prime", "consortium", "regional-direct", "local-lots", "local-lots-capacity", "alliance",
        "outcomes-finance", "local-lots-capped", "mixed-packages")

LABEL_BOXES = """chart => Array.from(chart.querySelectorAll('.node-label, text.link-amount')).map(t => {
  const r = t.getBoundingClientRect();
  return {text: t.textContent, link: t.classList.contains('link-amount'), left: r.left, top: r.top, right: r.right,
          bottom: r.bottom};
})"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    _need_browser()
    store = tmp_path_factory.mktemp("nine")
    run = [sys.executable, "-m", "platoons"]
    done = subprocess.run([*run, "compare", "--replicates", "2", "--set", "run.months=36", "--no-report", "--out",
                           str(store)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = [{"design": design, "metric": metric, "parameter": p, "index": index, "value": v * scale, "conf": 0.02}
            for design, scale in (("regional-prime", 1.0), ("local-lots", 0.8))
            for metric in ("cost_per_outcome_gbp", "outcome_rate")
            for p, v in (("referral_volume", 0.5), ("design.bidding.optimism", 0.2), ("effectiveness", 0.35))
            for index, value in (("mu_star", v), ("sigma", v / 2)) for v in [value]]
    pq.write_table(pa.Table.from_pylist(rows), store / "sensitivity.parquet")
    done = subprocess.run([*run, "report", str(store), "--png", str(store / "png")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return store


@pytest.fixture(scope="module")
def page(report):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto((report / "report.html").as_uri())
        page.wait_for_function("document.body.dataset.charts !== undefined", timeout=120_000)
        assert page.evaluate("document.body.dataset.charts") == "ready"
        yield page
        browser.close()


def overlapping(boxes):
    return [(a["text"], b["text"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]]


@pytest.mark.parametrize("design", ["regional-prime", "alliance"])
def test_sankey_labels_carry_amounts_and_do_not_overlap(page, design):
    chart = page.query_selector(f"#chart-money-{design}")
    boxes = chart.evaluate(LABEL_BOXES)
    links = chart.evaluate("c => c.querySelectorAll('.sankey-link').length")
    amounts = [b for b in boxes if b["link"]]
    nodes = [b for b in boxes if not b["link"]]
    assert links > 3 and len(amounts) == links
    assert all(re.fullmatch(r"£[\d.]+(bn|m|k)", b["text"]) for b in amounts)
    assert nodes and all(re.search(r" £[\d.]+(bn|m|k)$", b["text"]) for b in nodes)
    assert overlapping(boxes) == []
    frame = chart.bounding_box()
    assert all(frame["y"] <= b["top"] and b["bottom"] <= frame["y"] + frame["height"] for b in boxes)


def test_headline_table_of_nine_designs_fits_1400_px(page):
    widths = page.eval_on_selector("table.headline", """t => [t.scrollWidth, t.parentElement.clientWidth,
        Math.max(...Array.from(t.querySelectorAll('thead th')).map(th => th.getBoundingClientRect().right))]""")
    table, container, right = widths
    assert table <= container and right <= 1400
    names = page.eval_on_selector_all("table.headline thead th", "ths => ths.map(th => th.textContent)")
    for design in NINE:
        assert any(name.startswith(design) and not name.startswith(design + "-") for name in names), design


def test_time_axes_are_in_years_with_contract_lettings(page):
    for key in ("small-providers", "market"):
        titles = page.eval_on_selector(f"#chart-{key}", "c => Array.from(c.querySelectorAll('text[class^=x][class$=title]')).map(t => t.textContent)")
        assert "year of the run" in titles
        legend = page.eval_on_selector(f"#chart-{key}", "c => Array.from(c.querySelectorAll('.legendtext')).map(t => t.textContent)")
        assert "contracts let" in legend
        ticks = page.eval_on_selector(f"#chart-{key}", "c => Array.from(c.querySelectorAll('g[class^=x][class$=tick] text')).map(t => t.textContent)")
        assert {"0", "1", "2"} <= set(ticks) and "24" not in ticks


def test_sensitivity_is_ranked_in_plain_words(page):
    reading = page.text_content("#block-sensitivity-cost-per-outcome-gbp .reading")
    assert reading == "Referral volume matters most for cost per outcome (mu* 0.45, against 0.315 for effectiveness)."
    order = page.eval_on_selector("#chart-sensitivity-cost-per-outcome-gbp",
                                  "c => Array.from(c.querySelectorAll('.ytick text')).sort((a, b) => a.getBoundingClientRect().top"
                                  " - b.getBoundingClientRect().top).map(t => t.textContent)")
    assert order == ["Referral volume", "Effectiveness", "Optimism"]
    header = page.eval_on_selector_all("#block-sensitivity-table-cost-per-outcome-gbp th", "ths => ths.map(t => t.textContent)")
    assert header == ["Design", "Parameter", "mu*", "sigma"]


def words(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def test_every_png_shows_its_title_caption_and_scenario(report, page):
    from platoons.report.png import read_text

    expected = page.eval_on_selector_all(".chart", """charts => charts.map(c => {
        const b = c.closest('figure');
        return [c.dataset.key, b.querySelector('h3').textContent, b.querySelector('.reading').textContent,
                b.querySelector('.credit').textContent];
    })""")
    tesseract = shutil.which("tesseract")
    if tesseract is None and os.environ.get("PLATOONS_BROWSER_TESTS") == "required":
        pytest.fail("the PNG test needs tesseract (apt-get install tesseract-ocr)")
    assert len(expected) == len(list((report / "png").glob("*.png")))
    for key, title, caption, credit in expected:
        path = report / "png" / f"{key}.png"
        assert read_text(path.read_bytes()) == {"Title": title, "Description": caption, "Source": credit}
        assert "Scenario: default" in credit
        if tesseract is None:
            continue
        seen = set(words(subprocess.run([tesseract, str(path), "stdout"], capture_output=True, text=True).stdout))
        for text, share in ((title, 0.8), (caption, 0.7), (credit, 0.7)):
            wanted = words(text)
            found = sum(w in seen for w in wanted)
            assert found >= share * len(wanted), (key, text, sorted(set(wanted) - seen))


def test_printed_to_a4_no_chart_is_cut_across_pages(page, tmp_path):
    from pypdf import PdfReader

    figures = page.eval_on_selector_all(".chart", """charts => charts.map(c => {
        const b = c.closest('figure');
        return [b.querySelector('h3').textContent, b.querySelector('.credit').textContent.split(' · ')[0]];
    })""")
    page.emulate_media(media="print")
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    # ligatures undone, one space between words, none after a hyphen where a line broke
    pages = [re.sub(r"- ", "-", " ".join(unicodedata.normalize("NFKC", p.extract_text()).split()))
             for p in PdfReader(pdf).pages]
    assert len(pages) > 5
    for title, figure in figures:
        on = [i for i, text in enumerate(pages) if re.search(re.escape(title) + r"(?![-\w])", text)]
        ends = [i for i, text in enumerate(pages) if re.search(figure + " · ", text)]
        assert len(on) == 1 and ends == on, (title, figure, on, ends)
    sizes = [(round(p.mediabox.width), round(p.mediabox.height)) for p in PdfReader(pdf).pages]
    assert set(sizes) == {(842, 595), (595, 842)}  # A4, in points: landscape for the wide tables, else portrait
    assert sizes[0] == (842, 595) and sizes[-1] == (842, 595)  # the headline table, and the glossary
