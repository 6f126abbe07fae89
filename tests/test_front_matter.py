"""The book's front matter: "How to use this book" and "Notation and glossary" come first in
the table of contents, every numbered chapter is listed, and the two pages say what the
course relies on (the reading paths, the overloaded letters, the equation labels)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from book_helpers import toc_pages

ROOT = Path(__file__).resolve().parents[1]
HOW_TO_USE = "chapters/00_how_to_use"
NOTATION = "chapters/00_notation"


def _toc_files() -> list[str]:
    return toc_pages()[1:]


def _page(name: str) -> str:
    return (ROOT / f"{name}.md").read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    """The text under a level-2 heading that starts with ``heading``, up to the next one."""
    match = re.search(rf"^## {re.escape(heading)}.*?$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no section '## {heading}'"
    return match.group(1)


def test_front_matter_comes_first_in_its_own_part() -> None:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    first = toc["parts"][0]
    assert first["caption"] == "Front matter"
    assert [c["file"] for c in first["chapters"]] == [HOW_TO_USE, NOTATION]
    files = _toc_files()
    assert files.index(HOW_TO_USE) < files.index(NOTATION) < files.index("chapters/01_rrm_intro")


def test_every_numbered_chapter_is_in_the_toc() -> None:
    files = set(_toc_files())
    chapters = sorted(p for p in (ROOT / "chapters").glob("*.md") if re.match(r"\d\d", p.name))
    assert chapters
    missing = [p.name for p in chapters if f"chapters/{p.stem}" not in files]
    assert not missing, f"chapters missing from _toc.yml: {missing}"
    for name in files:
        assert (ROOT / f"{name}.md").exists(), f"_toc.yml lists {name}, which does not exist"


def test_front_matter_pages_are_jupytext_notebooks_like_the_chapters() -> None:
    header = _page("chapters/10_how_we_measure").split("\n---\n", 1)[0]
    for name in (HOW_TO_USE, NOTATION, "chapters/99_bibliography"):
        assert _page(name).startswith(header + "\n---\n"), f"{name}: jupytext header differs"


def test_notation_resolves_the_overloaded_letters() -> None:
    overloads = _section(_page(NOTATION), "Letters with more than one meaning")
    meanings = {
        r"\lambda": ["load", "GAE", "PF exponent"],
        "W": ["Little", "minislots", "bandwidth", "WMMSE"],
        "L": ["Little", "packet size", "chunk length", "square"],
        r"\rho": ["utilisation", "fading", "ratio"],
        r"\eta": ["ITLinQ", "averaging factor", "learning rate"],
        r"\alpha": ["independent set", "path gain", "CQL"],
    }
    for letter, words in meanings.items():
        block = re.search(
            rf"^\| \${re.escape(letter)}\$ \|.*?(?=^\| \$(?!{re.escape(letter)}\$)|\Z)",
            overloads,
            re.M | re.S,
        )
        assert block, f"no row for ${letter}$ in the overload table"
        rows = block.group(0)
        assert rows.count("\n|") >= len(words) - 1, f"${letter}$: one row per meaning"
        for word in words:
            assert word in rows, f"${letter}$: the meaning '{word}' is missing"


def test_notation_defines_the_equation_labels() -> None:
    labels = _section(_page(NOTATION), "Equation labels")
    assert re.search(r"\(Z-n\)\*\* is equation \(n\) of Zhang & Guo", labels)
    assert re.search(r"\(E-n\)\*\* is equation \(n\) of Eldeeb & Alves", labels)
    cited = set()
    for path in (ROOT / "chapters").glob("[0-9][0-9]*.md"):
        if not path.name.startswith("00_"):
            cited |= set(re.findall(r"\b([ZE]-\d+)\b", path.read_text(encoding="utf-8")))
    listed = set(re.findall(r"\(([ZE]-\d+)\)", labels))
    assert cited, "the chapters cite no (Z-n) or (E-n) labels"
    assert not cited - listed, f"labels cited in the chapters but not listed: {cited - listed}"


def test_notation_lists_the_acronyms() -> None:
    acronyms = _section(_page(NOTATION), "Acronyms")
    names = "MAPPO CTDE CQL SAC DQN GAE GMS LLQ Q-CSMA FP WMMSE ITLinQ SINR PF TDM AP UE Dec-POMDP"
    for name in names.split():
        assert re.search(rf"^\| ([^|]*\b)?{re.escape(name)}\b[^|]* \|", acronyms, re.M), name


def test_how_to_use_names_three_reading_paths() -> None:
    paths = _section(_page(HOW_TO_USE), "Three reading paths")
    rows = [r for r in paths.splitlines() if r.startswith("| **")]
    assert len(rows) == 3
    assert "| 1 → 2 → 5 |" in paths and "afternoon" in rows[0]
    assert any("Models and baselines" in r and "3 → 4" in r for r in rows)
    assert any("Offline RL" in r and "8 → 9" in r for r in rows)


def _bib_keys() -> set[str]:
    bib = (ROOT / "references.bib").read_text(encoding="utf-8")
    return set(re.findall(r"^@\w+\{([^,\s]+),", bib, re.M))


def _cited_keys(text: str) -> list[str]:
    """Every key of every ``{cite}``, ``{cite:p}``, ``{cite:t}``... role in ``text``."""
    roles = re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text)
    return [key.strip() for role in roles for key in role.split(",")]


def test_front_matter_cites_only_known_keys() -> None:
    keys = _bib_keys()
    for name in (HOW_TO_USE, NOTATION):
        cited = _cited_keys(_page(name))
        assert cited, f"{name} cites neither paper"
        assert {"zhang2025marl", "eldeeb2025offline"} <= set(cited), name
        for key in cited:
            assert key in keys, f"{name}: {key}"


def test_one_bibliography_page_from_one_bib_file() -> None:
    """One back-matter page holds the only ``{bibliography}``; every page cites plain keys of
    references.bib, and every entry of references.bib is cited somewhere."""
    pages = sorted((ROOT / "chapters").glob("*.md")) + [ROOT / "intro.md"]
    keys, used = _bib_keys(), set()
    for path in pages:
        text = path.read_text(encoding="utf-8")
        assert ":keyprefix:" not in text, f"{path.name}: per-page key prefixes are gone"
        has_bib = re.search(r"^(```|:::)\{bibliography\}", text, re.M) is not None
        assert has_bib == (path.name == "99_bibliography.md"), f"{path.name}: {{bibliography}}"
        cited = _cited_keys(text)
        unknown = sorted(set(cited) - keys)
        assert not unknown, f"{path.name} cites keys missing from references.bib: {unknown}"
        used |= set(cited)
    assert not keys - used, f"entries of references.bib cited nowhere: {sorted(keys - used)}"
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    last = toc["parts"][-1]
    assert last["caption"] == "Back matter"
    assert [c["file"] for c in last["chapters"]] == ["chapters/99_bibliography"]
