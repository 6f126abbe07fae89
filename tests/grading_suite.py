"""Helpers shared by the grading tests (``tests/test_grading*.py``): the repository's folders,
notebooks and test cells, broken submissions, and grading a folder of them.

Import this module only after ``pytest.importorskip("otter")``: it needs the grade extra.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path

import nbformat
import numpy as np
from notebook_helpers import answer_cell

from rrmbook.teaching import build_autograder, grade_submissions

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

Rows = dict[str, dict[str, str]]


def read_solution(name: str) -> nbformat.NotebookNode:
    """``solutions/<name>.ipynb``."""
    return nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)


def read_exercise(name: str) -> nbformat.NotebookNode:
    """``exercises/<name>.ipynb``."""
    return nbformat.read(EXERCISES / f"{name}.ipynb", as_version=4)


def code_and_metadata(nb: nbformat.NotebookNode) -> str:
    """All cell sources plus the metadata (where otter stores the public tests)."""
    return "\n".join(c.source for c in nb.cells) + json.dumps(nb.metadata)


# ------------------------------------------------------------------------------------------
# test cells, run in this process
# ------------------------------------------------------------------------------------------


def tested_function(cell: nbformat.NotebookNode) -> str:
    """The argument of the test function in a test cell: the function it tests."""
    return re.search(r"^def test_\w+\((\w+)\):", cell.source, flags=re.MULTILINE)[1]


def hidden_test_sources(name: str) -> list[str]:
    """The sources of the solution's hidden (``# HIDDEN``) test cells."""
    return [c.source for c in read_solution(name).cells
            if c.cell_type == "code" and c.source.startswith("# HIDDEN")]


def question_test_cells(solution: nbformat.NotebookNode,
                        question: str) -> list[nbformat.NotebookNode]:
    """The solution's test cells (public and hidden) of ``question``: ids ``<question>-test-*``."""
    return [c for c in solution.cells
            if c.cell_type == "code" and c.id.startswith(f"{question}-test-")]


def failed_tests(solution: nbformat.NotebookNode, question: str, function: str,
                 wrong: Callable) -> set[str]:
    """Names of the tests of ``question`` whose assertions fail when ``function`` is ``wrong``.

    Each test cell runs with ``wrong`` as its only global; any error other than an
    ``AssertionError`` propagates."""
    failed = set()
    for cell in question_test_cells(solution, question):
        test = re.search(r"^def (test_\w+)\(", cell.source, flags=re.MULTILINE)[1]
        try:
            exec(cell.source, {function: wrong})
        except AssertionError:
            failed.add(test)
    return failed


def assert_right_answer_passes(solution: nbformat.NotebookNode, question: str,
                               function: str) -> None:
    """The solution's own ``function`` (its answer cell run with ``np``) passes every test of
    ``question``."""
    exec(answer_cell(solution, function).source, namespace := {"np": np})
    for cell in question_test_cells(solution, question):
        exec(cell.source, {function: namespace[function]})


# ------------------------------------------------------------------------------------------
# submissions and grading
# ------------------------------------------------------------------------------------------


def solved_notebook(name: str, dest: Path) -> nbformat.NotebookNode:
    """The autograder's notebook of assignment ``name`` (built in ``dest``): the exercise with
    the solutions filled in, as a student who solved everything hands it in."""
    return nbformat.read(build_autograder(SOLUTIONS / f"{name}.ipynb", dest).notebook,
                         as_version=4)


def _insert_before(nb: nbformat.NotebookNode, function: str, anchor: str, code: str,
                   marker: str) -> None:
    """Put ``code`` before the first ``anchor`` in ``function``'s answer cell; check that it
    went in and that the cell still compiles (broken at run time, not a syntax error)."""
    cell = answer_cell(nb, function)
    cell.source = cell.source.replace(anchor, code + anchor, 1)
    compile(cell.source, function, "exec")
    assert marker in cell.source, f"{anchor!r} not found in {function}"


def raise_when_called(nb: nbformat.NotebookNode, function: str, anchor: str) -> None:
    """Make ``function`` raise ``RuntimeError('oops')`` just before the line ``anchor``."""
    _insert_before(nb, function, anchor, "    raise RuntimeError('oops')\n",
                   marker="raise RuntimeError('oops')")


def loop_forever_when_called(nb: nbformat.NotebookNode, function: str, anchor: str) -> None:
    """Make ``function`` loop forever just before the line ``anchor``."""
    _insert_before(nb, function, anchor, "    while True:\n        pass\n", marker="while True")


def grade_folder(subs: Path, out: Path, name: str, timeout: float, **options) -> Rows:
    """Grade every file in ``subs`` against assignment ``name`` (``solutions/`` holding
    several) into ``out/name`` (sandboxed, unless ``options`` say otherwise), with
    ``timeout`` seconds per cell; return the rows of ``grades.csv`` by student."""
    csv_path = grade_submissions(subs, out.parent, solutions_dir=SOLUTIONS, assignment=name,
                                 timeout_per_cell=timeout, **options)
    assert out.name == name and csv_path == out / "grades.csv"
    with csv_path.open() as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    possible = rows.pop("points possible")          # the first row: the maximum per column
    questions = [k for k in possible if k not in ("student", "file", "total", "status")]
    assert float(possible["total"]) == sum(float(possible[q]) for q in questions) > 0
    return rows


def feedback(out: Path, student: str) -> str:
    """The feedback written for ``student``."""
    return (out / "feedback" / f"{student}.md").read_text()


def question_section(text: str, question: str, questions: list[str]) -> str:
    """The part of feedback ``text`` about ``question``: from its heading to the next
    question's heading (or to the end, notes included, for the last question)."""
    start = text.index(f"## {question}:")
    later = [text.index(f"## {q}:") for q in questions[questions.index(question) + 1:]]
    return text[start: min(later, default=len(text))]
