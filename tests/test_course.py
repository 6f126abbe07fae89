"""The book as a course (issue 16): every chapter has a graded notebook with at least two
questions worth 10 points, generated for students and listed in the test table."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("otter", reason="needs the grade extra (otter-grader)")

from rrmbook.teaching import build_autograder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(int(p.name[:2]) for p in (ROOT / "chapters").glob("[0-9][0-9]_*.md")
                  if 1 <= int(p.name[:2]) <= 9)


def test_the_nine_chapters_are_there():
    assert CHAPTERS == list(range(1, 10))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_has_a_graded_notebook_worth_10_points(chapter, tmp_path):
    name = f"ch{chapter:02d}_exercises"
    assert (ROOT / "exercises" / f"{name}.ipynb").is_file(), f"no exercises/{name}.ipynb"
    autograder = build_autograder(ROOT / "solutions" / f"{name}.ipynb", tmp_path / "ag")
    assert len(autograder.tests) >= 2, f"{name}: fewer than two questions"
    assert sum(autograder.possible(q) for q in autograder.tests) == 10, name


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_names_its_graded_notebook(chapter):
    """The chapter's Exercises section points students to the notebook."""
    text = next((ROOT / "chapters").glob(f"{chapter:02d}_*.md")).read_text()
    exercises = text[text.index("## Exercises"):]
    assert re.search(rf"exercises/ch{chapter:02d}_exercises\.ipynb", exercises), chapter


def test_graded_notebooks_exist_only_for_chapters():
    names = {p.stem for p in (ROOT / "solutions").glob("*.ipynb")}
    assert names == {f"ch{c:02d}_exercises" for c in CHAPTERS}
    for name in names:     # each is an otter assignment
        nb = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
        assert nb.cells[0].cell_type == "raw" or any(
            c.cell_type == "raw" and "ASSIGNMENT CONFIG" in c.source for c in nb.cells), name
