"""Each chart of a report as a PNG for slides, drawn by a headless Chromium through Playwright."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from platoons.errors import InputError

CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run")
CHROMIUM_ENV = "PLATOONS_CHROMIUM"  # a Chromium other than the system one


def chromium_path() -> str:
    for candidate in (os.environ.get(CHROMIUM_ENV), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise InputError("--png", "browser", "", "", message=(
        f"drawing PNGs needs Chromium at /usr/bin/chromium (apt-get install chromium) or {CHROMIUM_ENV} naming one"))


def write_pngs(report: str | Path, directory: str | Path, scale: float = 2.0) -> list[Path]:
    """`directory/<chart>.png` for every chart in the report at `scale` times screen resolution."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise InputError("--png", "browser", "", "", message=(
            "drawing PNGs needs Playwright for Python (pip install playwright; no browser download needed)")) from None
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    executable = chromium_path()
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900}, device_scale_factor=scale)
            page.route("**/*", _offline)
            page.goto(Path(report).resolve().as_uri())
            page.wait_for_function("document.body.dataset.charts !== undefined", timeout=120_000)
            if page.evaluate("document.body.dataset.charts") != "ready":
                raise RuntimeError(f"{report}: the charts did not render")
            for element in page.query_selector_all(".chart"):
                path = directory / f"{element.get_attribute('data-key')}.png"
                element.screenshot(path=str(path))
                written.append(path)
        finally:
            browser.close()
    return written


def _offline(route) -> None:
    """The report needs nothing from outside its own file."""
    if route.request.url.startswith(("file:", "data:", "blob:")):
        route.continue_()
    else:
        route.abort()
