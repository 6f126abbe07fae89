"""Helpers shared by the tests of the book's structure: the pages of the table of contents,
with the sections of a chapter that is split over several files."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc() -> dict:
    return yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))


def toc_chapters() -> dict[str, list[str]]:
    """Every chapter entry of ``_toc.yml`` (the root page excluded), in order, mapped to the
    list of its pages: the chapter's own file first, then its sections, depth first."""

    def pages(entry: dict) -> list[str]:
        out = [entry["file"]]
        for sub in entry.get("sections", []):
            out += pages(sub)
        return out

    return {c["file"]: pages(c) for part in toc().get("parts", []) for c in part.get("chapters", [])}


def toc_pages() -> list[str]:
    """Every page of the book in reading order, the root page first."""
    return [toc()["root"]] + [p for pages in toc_chapters().values() for p in pages]


def chapter_text(number: int) -> str:
    """The whole markdown source of numbered chapter ``number``, all its files in toc order."""
    for first, pages in toc_chapters().items():
        if Path(first).name.startswith(f"{number:02d}_"):
            return "\n".join((ROOT / f"{p}.md").read_text(encoding="utf-8") for p in pages)
    raise KeyError(f"chapter {number} is not in _toc.yml")
