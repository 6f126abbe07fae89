"""The built HTML book (``make book`` → ``_build/html``) has every chapter of the table of
contents, each with executed figures and without any error output or traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


PAGES = _toc_files()
ERROR_PATTERNS = [
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r"\b[A-Z][A-Za-z]*Error\b: "),
    re.compile(r"NameError|ModuleNotFoundError|CellExecutionError"),
]


@pytest.fixture(scope="module")
def built() -> Path:
    if not (HTML / "index.html").exists():
        pytest.fail("the HTML book is not built: run `make book` (or `make test`, which builds it)")
    return HTML


@pytest.mark.parametrize("page", PAGES)
def test_page_has_no_errors(built: Path, page: str) -> None:
    path = built / f"{page}.html"
    assert path.exists(), f"{page}.html missing from the built book"
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    main = soup.find("main") or soup
    for bad in main.select(".traceback, .output.error, .output.traceback, .stderr"):
        pytest.fail(f"{page}: error output in the page: {bad.get_text()[:300]!r}")
    outputs = " ".join(o.get_text(" ") for o in main.select(".cell_output"))
    for pat in ERROR_PATTERNS:
        m = pat.search(outputs)
        assert m is None, f"{page}: cell output contains {m.group(0)!r}"
    assert main.find("h1") is not None, f"{page}: no title"


def _has_code(page: str) -> bool:
    source = ROOT / f"{page}.md"
    return source.is_file() and "```{code-cell}" in source.read_text(encoding="utf-8")


# chapters, not the front matter (how to use the book, notation), which runs no code
@pytest.mark.parametrize("page", [p for p in PAGES if p.startswith("chapters/") and _has_code(p)])
def test_chapter_has_executed_figures(built: Path, page: str) -> None:
    soup = BeautifulSoup((built / f"{page}.html").read_text(encoding="utf-8"), "html.parser")
    images = soup.select(".cell_output img")
    assert images, f"{page}: no figure in the executed chapter"
    for img in images:
        src = img.get("src", "")
        if src.startswith("data:"):
            continue
        assert (built / Path(page).parent / src).resolve().exists(), f"{page}: missing image {src}"
