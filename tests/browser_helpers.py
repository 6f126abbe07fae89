"""The one way the browser tests start a browser: Debian's ``chromium`` driven by Playwright
through ``executable_path`` (never a browser Playwright downloads), headless, with the flags
that keep it off the network. A test skips, saying why, only where Playwright or Chromium is
missing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    return None


def launch_chromium() -> Iterator:
    """Yield a launched browser (for a module-scoped fixture: ``yield from``), or skip."""
    if sync_playwright is None:
        pytest.skip("Playwright is not installed (pip install -e '.[dev]' installs it)")
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed: `apt-get install -y chromium` (`make test` "
                    "installs it when run as root); Playwright's own browser is never used")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
