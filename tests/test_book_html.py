"""The built HTML book (``make book`` → ``_build/html``) has every chapter of the table of
contents, each with executed figures and without any error output or traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from book_helpers import toc_chapters, toc_pages
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"


PAGES = toc_pages()
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


# chapters, not the front matter (how to use the book, notation), which runs no code; a chapter
# split into sections has figures somewhere in it, and every section that runs code shows output
CODE_CHAPTERS = {first: [p for p in pages if _has_code(p)] for first, pages in toc_chapters().items()
                 if first.startswith("chapters/") and any(_has_code(p) for p in pages)}


@pytest.mark.parametrize("chapter", list(CODE_CHAPTERS))
def test_chapter_has_executed_figures(built: Path, chapter: str) -> None:
    images = []
    for page in CODE_CHAPTERS[chapter]:
        soup = BeautifulSoup((built / f"{page}.html").read_text(encoding="utf-8"), "html.parser")
        assert soup.select(".cell_output"), f"{page}: runs code but shows no output"
        for img in soup.select(".cell_output img"):
            src = img.get("src", "")
            if not src.startswith("data:"):
                assert (built / Path(page).parent / src).resolve().exists(), f"{page}: missing image {src}"
            images.append(img)
    assert images, f"{chapter}: no figure in the executed chapter"
