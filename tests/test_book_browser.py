"""The built HTML book (``make book`` → ``_build/html``) in a real browser: Debian's
``chromium`` driven by Playwright (``executable_path``; never a browser Playwright downloads).

Every page of the table of contents, served by a local ``http.server`` on a loopback port:
every formula typeset by MathJax (no raw ``\\(``/``\\[`` left in the text, an ``mjx-container``
in every ``.math`` element, no MathJax error), no console error or uncaught exception, no
request to any host but the local server, every image loaded. Search finds pages, and a page
opened from ``file://`` with every network request refused still shows its formulas (the book
zipped and opened on a machine without network).

Skipped, naming why, only where Playwright or Chromium is missing: ``make test`` installs
Chromium with apt-get when run as root (its ``browser`` target), and Playwright with the
``dev`` extra.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from book_helpers import toc_pages
from browser_helpers import launch_chromium

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
PAGES = toc_pages()
LOCAL = "127.0.0.1"
#: words that occur in the book's text (search stems them)
SEARCH_WORDS = ["interference", "scheduler", "MAPPO"]

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def built() -> Path:
    if not (HTML / "index.html").exists():
        pytest.fail("the HTML book is not built: run `make book` (or `make test`, which builds it)")
    return HTML


@pytest.fixture(scope="module")
def server(built: Path):
    handler = functools.partial(_QuietHandler, directory=str(built))
    httpd = http.server.ThreadingHTTPServer((LOCAL, 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOCAL}:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium()


class Tab:
    """One browser tab that records console errors, uncaught exceptions and every request
    to a host other than the local server (which it refuses)."""

    def __init__(self, browser, allow_scheme: str) -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.allow_scheme = allow_scheme
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        self.page.route("**/*", self._route)

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.errors.append(f"console.error: {msg.text} ({msg.location.get('url', '')})")

    def _route(self, route) -> None:
        url = urlsplit(route.request.url)
        local = (url.scheme == "file" if self.allow_scheme == "file"
                 else url.scheme in ("http", "https") and url.hostname == LOCAL)
        if local or url.scheme in ("data", "blob"):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def open(self, url: str) -> None:
        self.errors.clear()
        self.outside.clear()
        self.page.goto(url, wait_until="load")
        # MathJax 3 typesets after load; startup.promise settles when it is done
        self.page.evaluate("""async () => {
            if (!document.querySelector('script[src*="mathjax"]')) return;
            for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup
                                          && MathJax.startup.promise); i++)
                await new Promise(r => setTimeout(r, 50));
            if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
        }""")

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def tab(browser):
    t = Tab(browser, allow_scheme="http")
    yield t
    t.close()


# the page's formulas: .math elements (Sphinx's output for $...$, $$...$$ and amsmath), those
# typeset, MathJax errors, and raw TeX delimiters left in text outside code
MATH_STATE = """() => {
    const math = [...document.querySelectorAll('.math')];
    const skip = 'pre, code, script, style, textarea, mjx-container, .highlight';
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const raw = [];
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (n.parentElement && n.parentElement.closest(skip)) continue;
        const i = Math.max(n.data.indexOf('\\\\('), n.data.indexOf('\\\\['));
        if (i >= 0) raw.push(n.data.slice(Math.max(0, i - 30), i + 50).trim());
    }
    return {
        math: math.length,
        typeset: math.filter(m => m.querySelector('mjx-container')).length,
        containers: document.querySelectorAll('mjx-container').length,
        errors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent).slice(0, 5),
        raw: raw.slice(0, 5),
        mathjax: !!document.querySelector('script[src*="mathjax"]'),
    };
}"""

# every <img>: loaded (lazy ones made eager first), with its natural size
IMAGES_STATE = """async () => {
    const imgs = [...document.querySelectorAll('img')];
    imgs.forEach(img => { img.loading = 'eager'; });
    await Promise.all(imgs.map(img => img.complete ? null : new Promise(r => {
        img.addEventListener('load', r, {once: true});
        img.addEventListener('error', r, {once: true});
        setTimeout(r, 10000);
    })));
    return imgs.filter(img => !(img.complete && img.naturalWidth > 0))
               .map(img => img.getAttribute('src'));
}"""


# widget scripts (require.js, the widget manager, the widget state) and widget views
WIDGETS_STATE = """() => ({
    views: document.querySelectorAll(
        'script[type="application/vnd.jupyter.widget-view+json"]').length,
    scripts: [...document.querySelectorAll('script')].filter(s =>
        /require(\\.min)?\\.js|html-manager|embed-amd/.test(s.src || '') ||
        s.type === 'application/vnd.jupyter.widget-state+json').map(s => s.src || s.type),
})"""


def _check_formulas(page_name: str, state: dict) -> None:
    assert not state["raw"], f"{page_name}: raw TeX left in the page's text: {state['raw']}"
    assert not state["errors"], f"{page_name}: MathJax errors: {state['errors']}"
    if state["math"]:
        assert state["mathjax"], f"{page_name}: {state['math']} formulas but no MathJax script"
        assert state["typeset"] == state["math"], (
            f"{page_name}: only {state['typeset']} of {state['math']} formulas typeset by MathJax")


@pytest.mark.parametrize("page_name", PAGES)
def test_page_in_browser(tab: Tab, server: str, page_name: str) -> None:
    assert (HTML / f"{page_name}.html").exists(), f"{page_name}.html missing from the built book"
    tab.open(f"{server}/{page_name}.html")
    state = tab.page.evaluate(MATH_STATE)
    broken = tab.page.evaluate(IMAGES_STATE)
    widgets = tab.page.evaluate(WIDGETS_STATE)
    _check_formulas(page_name, state)
    assert widgets["views"] or not widgets["scripts"], (
        f"{page_name}: widget scripts on a page without a widget view: {widgets['scripts']}")
    assert not broken, f"{page_name}: images that did not load: {broken}"
    assert not tab.outside, f"{page_name}: requests to other hosts: {tab.outside}"
    assert not tab.errors, f"{page_name}: console errors: {tab.errors}"


@pytest.mark.parametrize("word", SEARCH_WORDS)
def test_search_finds_pages(tab: Tab, server: str, word: str) -> None:
    tab.open(f"{server}/search.html?q={word}")
    summary = tab.page.locator("#search-results .search-summary")
    summary.wait_for(timeout=30000)
    tab.page.wait_for_function(
        "() => /Search finished|did not match/.test("
        "document.querySelector('#search-results .search-summary').textContent)",
        timeout=30000)
    hits = tab.page.locator("#search-results ul.search > li").count()
    assert hits > 0, f"search for {word!r}: {summary.inner_text()!r}"
    assert not tab.outside, f"search page: requests to other hosts: {tab.outside}"
    assert not tab.errors, f"search page: console errors: {tab.errors}"


def test_formulas_render_from_file_url(browser, built: Path) -> None:
    """The page with the most formulas opened from disk, every request that is not file://
    refused: the book zipped and opened on a machine without network."""
    pages = [p for p in PAGES if (built / f"{p}.html").exists()]
    page = max(pages, key=lambda p: (built / f"{p}.html").read_text(encoding="utf-8")
               .count('class="math'))
    offline = Tab(browser, allow_scheme="file")
    try:
        offline.open((built / f"{page}.html").resolve().as_uri())
        state = offline.page.evaluate(MATH_STATE)
        assert state["math"] > 0, f"{page}: no formula found"
        _check_formulas(f"{page} (file://)", state)
        fonts = offline.page.evaluate(
            "() => document.fonts.ready.then(() => [...document.fonts]"
            ".filter(f => f.family.startsWith('MJX') && f.status === 'loaded').length)")
        assert fonts > 0, f"{page} (file://): MathJax's fonts did not load"
        assert not offline.outside, f"{page} (file://): requests leaving the disk: {offline.outside}"
        assert not offline.errors, f"{page} (file://): console errors: {offline.errors}"
    finally:
        offline.close()
