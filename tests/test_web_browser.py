"""The web app as a user meets it, in headless Chromium (Debian's `chromium`, driven by Playwright) against a live server.

Create a design from a preset, change two parameters (one invalid first), run a comparison and watch its
progress, read the headline and a chart, open the share link in a fresh browser, and check the downloaded
YAML with `platoons validate`. With PLATOONS_WRITE_SCREENSHOTS=1 the results page is saved as docs/img/web.png.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from platoons import load_scenario
from platoons.errors import InputError
from test_report_browser import ARGS, CHROMIUM, COUNT_MARKS, _need_browser
from web_server import Server

SCREENSHOT = Path(__file__).parent.parent / "docs" / "img" / "web.png"
TENDER = Path(__file__).parent.parent / "examples" / "tender"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _need_browser()
    running = Server(tmp_path_factory.mktemp("data"), "--jobs", "1").start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def open_page(browser, server, errors, outside):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    def only_the_server(route):
        if route.request.url.startswith((server.url, "data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    return context, page


def test_design_compare_share_and_download(server, browser, tmp_path):
    errors, outside = [], []
    context, page = open_page(browser, server, errors, outside)
    page.goto(server.url + "/")
    page.click("a[data-preset='regional-prime']")
    page.wait_for_selector("form#editor")
    page.fill("input[name=_name]", "Pilot prime")

    page.fill("input[name='design.bidding.optimism']", "-1")  # invalid first
    page.click("#save")
    shown = page.text_content("[id='error-design.bidding.optimism']")
    with pytest.raises(InputError) as cli:
        load_scenario("regional-prime", {"design.bidding.optimism": -1})
    assert shown == str(cli.value).removeprefix("--set: ")

    page.fill("input[name='design.bidding.optimism']", "0.1")
    page.fill("input[name='design.delivery.prime.management_fee']", "0.05")
    page.click("#save")
    page.wait_for_selector("#share")
    share_design = page.get_attribute("#share", "href")
    assert "/designs/d-" in share_design
    page.click("#show-yaml summary")
    assert "design.delivery.prime.management_fee: 0.05" in page.text_content("#show-yaml pre")

    with page.expect_download() as download:
        page.click("#download-yaml")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "pilot-prime.yaml"
    checked = subprocess.run([sys.executable, "-m", "platoons", "validate", str(saved)], capture_output=True, text=True)
    assert checked.returncode == 0 and "valid" in checked.stdout, checked.stderr

    page.click("#run-it")
    page.select_option("select[name=baseline]", "local-lots")
    page.fill("input[name=replicates]", "3")
    page.fill("input[name=months]", "24")
    page.click("#submit-compare")
    page.wait_for_selector("#bar")
    seen = []
    deadline = time.monotonic() + 300
    while "/jobs/" in page.url and time.monotonic() < deadline:
        try:
            seen.append(page.eval_on_selector("#bar", "bar => [bar.value, bar.max]"))
        except Exception:  # the page moved on to the results while we looked
            break
        time.sleep(0.1)
    page.wait_for_url("**/results/*", timeout=300_000)
    values = [value for value, _ in seen]
    assert values == sorted(values) and len(set(values)) >= 2, seen  # the bar moved, forwards only
    assert seen[-1][1] == 6

    headline = page.text_content("table.headline")
    assert "local-lots" in headline and "pilot-prime" in headline
    assert page.locator("table.headline td.better, table.headline td.worse, table.headline td.lean-better, "
                        "table.headline td.lean-worse, table.headline td.same").count() > 0
    assert "platoons compare local-lots pilot-prime.yaml --replicates 3" in page.text_content("#reproduce-cli")
    share_result = page.get_attribute("#share", "href")
    if os.environ.get("PLATOONS_WRITE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=False)

    page.click("#result-sections a[href$='/market']")
    page.wait_for_url("**/market")
    page.wait_for_function("document.body && document.body.dataset.charts !== undefined", timeout=60_000)
    assert page.evaluate("document.body.dataset.charts") == "ready"
    marks = dict(page.eval_on_selector_all(".chart", COUNT_MARKS))
    assert marks and all(count > 0 for count in marks.values()), marks
    with page.expect_download() as csv:
        page.click(".download a")
    assert Path(csv.value.path()).read_text().count("\n") > 1
    context.close()

    fresh, other = open_page(browser, server, errors, outside)
    other.goto(share_result)
    assert other.text_content("table.headline") == headline
    other.goto(share_design)
    assert other.input_value("input[name='design.delivery.prime.management_fee']") == "0.05"
    fresh.close()
    refused = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    assert errors == [refused] and outside == []  # the invalid value's page only


def test_tender_page_awards_uploaded_files(server, browser):
    errors, outside = [], []
    context, page = open_page(browser, server, errors, outside)
    page.goto(server.url + "/tender")
    for key in ("lots", "bids", "bidders"):
        page.set_input_files(f"input[name={key}]", str(TENDER / f"{key}.csv"))
    page.click("form#tender button")
    page.wait_for_selector("#award-table")
    assert page.locator("#award-table tbody tr").count() == len((TENDER / "lots.csv").read_text().splitlines()) - 1
    assert page.locator("#unawarded li").count() >= 1
    with page.expect_download() as award:
        page.click("#award-csv")
    assert Path(award.value.path()).read_text().startswith("lot_id,reserve_price,bid_id")
    context.close()
    assert errors == [] and outside == []

