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
            # Each PNG is the whole figure: its title, its reading as a caption, the chart and the scenario line.
            page.evaluate("document.body.classList.add('png')")
            for element in page.query_selector_all(".chart"):
                key = element.get_attribute("data-key")
                block = page.query_selector(f"#block-{key}")
                words = block.evaluate("""b => [b.querySelector('h3').textContent, b.querySelector('.reading').textContent,
                                                b.querySelector('.credit').textContent]""")
                path = directory / f"{key}.png"
                path.write_bytes(with_text(block.screenshot(), dict(zip(("Title", "Description", "Source"), words))))
                written.append(path)
        finally:
            browser.close()
    return written


def with_text(png: bytes, fields: dict[str, str]) -> bytes:
    """The PNG with `fields` as text chunks after its header, so slides and file browsers can show them."""
    import struct
    import zlib

    chunks = b""
    for key, value in fields.items():
        # iTXt: keyword, no compression, no language tag, UTF-8 text
        body = key.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8")
        chunks += struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))
    header_end = 8 + 4 + 4 + 13 + 4  # signature, then the IHDR chunk: length, type, 13 bytes, CRC
    return png[:header_end] + chunks + png[header_end:]


def read_text(png: bytes) -> dict[str, str]:
    """The iTXt chunks of a PNG, as written by `with_text`."""
    import struct

    fields, at = {}, 8
    while at < len(png):
        (length,), kind = struct.unpack(">I", png[at:at + 4]), png[at + 4:at + 8]
        if kind == b"iTXt":
            key, _, rest = png[at + 8:at + 8 + length].partition(b"\0")
            fields[key.decode("latin-1")] = rest[4:].decode("utf-8")
        at += 12 + length
    return fields


def _offline(route) -> None:
    """The report needs nothing from outside its own file."""
    if route.request.url.startswith(("file:", "data:", "blob:")):
        route.continue_()
    else:
        route.abort()
