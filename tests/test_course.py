"""The book as a course (issue 16): every chapter has a graded notebook with at least two
questions worth 10 points, generated for students and listed in the test table."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("otter", reason="needs the grade extra (otter-grader)")

from book_helpers import chapter_text, toc_chapters  # noqa: E402

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
    text = chapter_text(chapter)
    exercises = text[text.index("## Exercises"):]
    assert re.search(rf"exercises/ch{chapter:02d}_exercises\.ipynb", exercises), chapter


def test_graded_notebooks_exist_only_for_chapters():
    names = {p.stem for p in (ROOT / "solutions").glob("*.ipynb")}
    assert names == {f"ch{c:02d}_exercises" for c in CHAPTERS}
    for name in names:     # each is an otter assignment
        nb = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
        assert nb.cells[0].cell_type == "raw" or any(
            c.cell_type == "raw" and "ASSIGNMENT CONFIG" in c.source for c in nb.cells), name


# library function -> (chapter, the function its graded notebook asks students to write)
GRADED_FUNCTIONS = {"conflict_success": (3, "success"), "queue_step": (3, "queue_update"),
                    "wmmse_update": (4, "wmmse_step"),
                    "clipped_surrogate": (5, "clipped_surrogate"),
                    "clipped_value_loss": (5, "clipped_value_loss"),
                    "soft_state_value": (8, "soft_state_value"), "team_reward": (9, "team_reward")}


def test_no_chapter_prints_a_function_a_graded_question_asks_for():
    """A graded question does not re-type a function the book shows verbatim (issue 16): the
    chapters may call these functions, but never ``literalinclude`` them."""
    for path in sorted((ROOT / "chapters").glob("*.md")):
        shown = set(re.findall(r"^:pyobject:\s*(?:\w+\.)?(\w+)\s*$", path.read_text(), re.M))
        printed = shown & set(GRADED_FUNCTIONS)
        assert not printed, f"{path.name} prints {sorted(printed)}, which a graded question asks for"
    for chapter, student in GRADED_FUNCTIONS.values():  # the table names real questions
        solution = (ROOT / "solutions" / f"ch{chapter:02d}_exercises.ipynb").read_text()
        assert f"def {student}(" in solution, f"ch{chapter:02d} asks for no {student}"


def test_split_chapters_have_sections_of_about_600_lines():
    """Issue 16, item 5: a long chapter is a folder of sections in _toc.yml, each a page of at
    most about 600 lines that runs on its own."""
    for pages in toc_chapters().values():
        if len(pages) == 1:
            continue
        for page in pages:
            lines = (ROOT / f"{page}.md").read_text(encoding="utf-8").count("\n")
            assert lines <= 650, f"{page}: {lines} lines"
    split = {Path(first).name[:2] for first, pages in toc_chapters().items() if len(pages) > 1}
    assert {"04", "05", "07"} <= split
