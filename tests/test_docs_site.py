"""The documentation site, as a reader sees it: every page of the built site loads in a real
headless browser (Debian's chromium, driven by selenium) with no console error, no broken link
and no broken image, and the search finds the `Value` page for "backward".

The site is built by `python -m sphinx -E -W --keep-going -b html docs docs/_build/html` (CI does it
before the tests). Without a built site the tests skip on a developer's machine and fail in CI.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "docs" / "_build" / "html"
BUILD = "python -m sphinx -E -W --keep-going -b html docs docs/_build/html"
IN_CI = os.environ.get("CI", "").lower() in ("true", "1")


def pages() -> list[Path]:
    return sorted(p for p in SITE.rglob("*.html") if "_sources" not in p.parts)


@pytest.fixture(scope="module")
def site():
    if not (SITE / "index.html").is_file():
        message = f"the documentation site is not built; build it with: {BUILD}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    # A site older than its sources would test yesterday's pages.
    built = (SITE / "index.html").stat().st_mtime
    sources = [
        p
        for p in (ROOT / "docs").rglob("*")
        if p.is_file() and not {"_build", "generated", "jupyter_execute"} & set(p.parts)
    ]
    stale = sorted(str(p.relative_to(ROOT)) for p in sources if p.stat().st_mtime > built)
    if stale:
        pytest.fail(f"the site is older than {', '.join(stale[:3])}; rebuild it with: {BUILD}")
    return SITE


@pytest.fixture(scope="module")
def server(site):
    """The site over HTTP on localhost, as a reader's browser gets it (search loads its index)."""
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(site, tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (test extra)")
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        message = (
            "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The system's driver, never one selenium-manager would download.
    service = webdriver.ChromeService(executable_path=driver_path)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def test_the_site_has_every_part(site):
    names = {p.relative_to(site).as_posix() for p in pages()}
    for page in (
        "index.html",
        "tutorial/micrograd.html",
        "tutorial/makemore.html",
        "howto/cli.html",
        "howto/drawings.html",
        "howto/pytorch.html",
        "howto/custom-op.html",
        "explanations/engines.html",
        "explanations/determinism.html",
        "explanations/differences.html",
        "explanations/benchmarks.html",
        "reference/generated/micrograd.engine.html",
        "reference/generated/micrograd.tensor.html",
        "search.html",
    ):
        assert page in names, page


def public_modules() -> list[str]:
    """Every module of the package whose dotted name has no part starting with '_'."""
    names = []
    for path in (ROOT / "micrograd").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if not any(part.startswith("_") for part in parts):
            names.append(".".join(parts))
    return sorted(names)


def test_every_public_module_has_a_reference_page(site):
    modules = public_modules()
    assert {"micrograd.engine", "micrograd.tensor.core", "micrograd.viz"} <= set(modules)
    missing = [
        name
        for name in modules
        if name != "micrograd"  # the package itself: its parts have the pages
        and not (site / "reference" / "generated" / f"{name}.html").is_file()
    ]
    assert not missing, f"no API reference page for {missing}: list them in docs/reference/index.md"
    engine = (site / "reference" / "generated" / "micrograd.engine.html").read_text("utf-8")
    for documented in ("micrograd.engine.Value.backward", "micrograd.engine.Value.tanh"):
        assert f'id="{documented}"' in engine, documented


def test_executed_pages_show_their_outputs(site):
    # myst-nb ran the pages: the numbers and pictures are there, and no cell failed.
    tutorial = (site / "tutorial" / "micrograd.html").read_text(encoding="utf-8")
    assert "a: data    2.0   grad    6.0" in tutorial  # backward() by hand
    images = re.findall(r'<img [^>]*src="([^"]+)"', tutorial)
    assert any(src.endswith(".svg") for src in images), images  # the neuron, by draw_dot
    assert any(src.endswith(".png") for src in images), images  # the decision boundary
    drawings = (site / "howto" / "drawings.html").read_text(encoding="utf-8")
    assert re.search(r'<img [^>]*src="[^"]+\.gif"', drawings)  # the animated backward pass
    makemore = (site / "tutorial" / "makemore.html").read_text(encoding="utf-8")
    assert "average negative log likelihood" in makemore
    for page in pages():
        text = page.read_text(encoding="utf-8")
        assert "Traceback (most recent call last)" not in text, page


def test_every_page_loads_without_console_errors_or_broken_links_and_images(site, server, browser):
    problems = []
    for page in pages():
        relative = page.relative_to(site).as_posix()
        browser.get(server + relative)
        for entry in browser.get_log("browser"):
            if entry["level"] == "SEVERE":
                problems.append(f"{relative}: console: {entry['message']}")
        broken = browser.execute_script(
            "return Array.from(document.images)"
            ".filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src)"
        )
        problems += [f"{relative}: broken image {src}" for src in broken]
        hrefs = browser.execute_script(
            "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"
        )
        for href in hrefs:
            if not href.startswith(server):
                continue  # outside the site (the original micrograd on GitHub, ...)
            path = urllib.parse.unquote(urllib.parse.urlsplit(href).path[len("/") :])
            target = site / path
            if path == "" or path.endswith("/"):
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{relative}: broken link {href}")
    assert not problems, "\n".join(problems[:40])


def test_search_finds_the_value_page_for_backward(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server + "search.html?q=backward")
    results = WebDriverWait(browser, 30).until(
        lambda driver: driver.find_elements(By.CSS_SELECTOR, "#search-results ul.search li a")
    )
    targets = [a.get_attribute("href") for a in results]
    assert any("reference/generated/micrograd.engine.html" in t for t in targets), targets
    titles = [a.text for a in results]
    assert any("micrograd.engine" in t for t in titles), titles
