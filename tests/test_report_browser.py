"""The report as a reader sees it: opened offline in headless Chromium (Debian's `chromium`, driven by Playwright).

`make test` installs Chromium and sets PLATOONS_BROWSER_TESTS=required, so there these tests run or fail;
elsewhere they are skipped when /usr/bin/chromium is missing.
"""

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
DESIGNS = ("regional-prime", "consortium", "local-lots")

# Drawn marks in each chart: Sankey links and nodes, bars with a shape, lines with points.
COUNT_MARKS = """charts => charts.map(chart => {
  const drawn = sel => Array.from(chart.querySelectorAll(sel)).filter(p => (p.getAttribute('d') || '').length > 4).length;
  return [chart.dataset.key, chart.querySelectorAll('.sankey-link').length + chart.querySelectorAll('.sankey-node').length
          + drawn('.barlayer .point path') + drawn('.scatterlayer path.js-line')];
})"""

pytestmark = pytest.mark.slow


def _need_browser():
    missing = None
    if not Path(CHROMIUM).is_file():
        missing = f"Chromium at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "Playwright for Python (pip install -e '.[test]')"
    if missing and os.environ.get("PLATOONS_BROWSER_TESTS") == "required":
        pytest.fail(f"the browser tests need {missing}")
    if missing:
        pytest.skip(f"needs {missing}")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A comparison with sensitivity indices added, its report and its PNGs, made through the command line."""
    _need_browser()
    store = tmp_path_factory.mktemp("store")
    run = [sys.executable, "-m", "platoons"]
    done = subprocess.run([*run, "compare", *DESIGNS, "--replicates", "2", "--set", "run.months=24", "--no-report",
                           "--out", str(store)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = [{"design": DESIGNS[0], "metric": "outcome_rate", "parameter": p, "index": index, "value": v, "conf": 0.03}
            for p, v in (("design.bidding.optimism", 0.4), ("design.payment.outcome_fee", 0.2)) for index in ("S1", "ST")]
    pq.write_table(pa.Table.from_pylist(rows), store / "sensitivity.parquet")
    done = subprocess.run([*run, "report", str(store), "--png", str(store / "png")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return store


def test_report_renders_offline_without_errors(report, tmp_path):
    from playwright.sync_api import sync_playwright

    errors, outside = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))

        def only_the_file(route):
            if route.request.url.startswith(("file:", "data:", "blob:")):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_the_file)
        page.goto((report / "report.html").as_uri())
        page.wait_for_function("document.body.dataset.charts !== undefined", timeout=60_000)
        assert page.evaluate("document.body.dataset.charts") == "ready"

        marks = dict(page.eval_on_selector_all(".chart", COUNT_MARKS))
        expected = {f"money-{d}" for d in DESIGNS} | {"risk-by-tier", "risk-by-size", "small-providers",
                                                      "outcomes-by-group", "market", "failures", "sensitivity-outcome-rate"}
        assert set(marks) == expected
        assert all(count > 0 for count in marks.values()), marks
        assert page.locator(".js-plotly-plot").count() == len(marks)
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)

        with page.expect_download() as download:
            page.click("#block-headline .download a")
        assert download.value.suggested_filename == "headline.csv"
        assert Path(download.value.path()).read_text().startswith("metric,unit,better,design")

        page.emulate_media(media="print")
        assert page.eval_on_selector("nav", "e => getComputedStyle(e).display") == "none"
        assert page.eval_on_selector(".download", "e => getComputedStyle(e).display") == "none"
        browser.close()
    assert (tmp_path / "report.png").stat().st_size > 50_000
    assert errors == []
    assert outside == []


def test_png_of_every_chart(report):
    pngs = sorted(p.stem for p in (report / "png").glob("*.png"))
    assert pngs == sorted({f"money-{d}" for d in DESIGNS} | {"risk-by-tier", "risk-by-size", "small-providers",
                                                             "outcomes-by-group", "market", "failures", "sensitivity-outcome-rate"})
    for path in (report / "png").glob("*.png"):
        head = path.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        assert width >= 1600 and height >= 500, (path.name, width, height)  # twice screen resolution, for slides
