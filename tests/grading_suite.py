"""The checks that every chapter's grading tests (``tests/test_grading_ch*.py``) share.

A chapter file keeps its own data (the assignment ``NAME``, its ``POINTS`` and ``FUNCTIONS``
per question, its plausible ``MISTAKES``, how it breaks a solved notebook) and its own
assertions, and calls these functions from test functions of its own, so every chapter has
the same tests under the same names.  The functions take what they check as arguments and
fail with a plain ``assert``; those that return something say what.

Import this module only after ``pytest.importorskip("otter")``: it needs the grade extra.
"""

from __future__ import annotations

import copy
import csv
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat
import numpy as np
import pytest
from notebook_helpers import answer_cell, names_of_tests, solution_lines

from rrmbook.grading import build_autograder, grade_submissions, stale_exercises

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

Points = dict[str, float]


def read_solution(name: str) -> nbformat.NotebookNode:
    """``solutions/<name>.ipynb``."""
    return nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)


def read_exercise(name: str) -> nbformat.NotebookNode:
    """``exercises/<name>.ipynb``."""
    return nbformat.read(EXERCISES / f"{name}.ipynb", as_version=4)


# ------------------------------------------------------------------------------------------
# the exercise notebook
# ------------------------------------------------------------------------------------------


def assert_exercise_in_sync(name: str) -> None:
    """``exercises/<name>.ipynb`` exists and is what ``rrmbook exercises build`` makes."""
    assert (EXERCISES / f"{name}.ipynb").is_file(), "run `rrmbook exercises build`"
    assert f"{name}.ipynb" not in stale_exercises(SOLUTIONS, EXERCISES), (
        "run `rrmbook exercises build`"
    )


def assert_stubs_public_checks_and_no_secrets(
    name: str, functions: dict[str, str], *, more_secret_lines_than: int, hidden_at_least: int
) -> None:
    """The exercise shows no solution line and no hidden test name, but every public test, a
    ``grader.check`` per question, a ``...`` stub per function and no outputs.

    The two counts (more than ``more_secret_lines_than`` solution lines, at least
    ``hidden_at_least`` hidden tests) keep the leak checks from being vacuous."""
    solution, exercise = read_solution(name), read_exercise(name)
    text = "\n".join(c.source for c in exercise.cells) + json.dumps(exercise.metadata)
    secret_lines, hidden = solution_lines(solution), names_of_tests(solution, hidden=True)
    assert len(secret_lines) > more_secret_lines_than and len(hidden) >= hidden_at_least
    for line in secret_lines:
        assert line not in text, f"solution code leaked into the exercise: {line}"
    for test in hidden:
        assert test not in text, f"hidden test leaked into the exercise: {test}"
    for test in names_of_tests(solution, hidden=False):
        assert test in text, f"public test missing from the exercise: {test}"
    assert "BEGIN SOLUTION" not in text and "# HIDDEN" not in text
    for question, function in functions.items():
        assert f'grader.check("{question}")' in text
        assert answer_cell(exercise, function).source.rstrip().endswith("..."), function
    assert all(not c.get("outputs") for c in exercise.cells if c.cell_type == "code")


def assert_every_test_checks_for_a_missing_function_and_none(name: str) -> None:
    """Every test cell of the solution asserts that its function is callable and that it
    returned something other than None."""
    for cell in read_solution(name).cells:
        if cell.cell_type != "code" or "def test_" not in cell.source:
            continue
        function = re.search(r"^def test_\w+\((\w+)\):", cell.source, flags=re.MULTILINE)[1]
        assert f"assert callable({function})" in cell.source, cell.id
        assert "is not None" in cell.source, cell.id


def hidden_test_sources(name: str) -> list[str]:
    """The sources of the solution's hidden (``# HIDDEN``) test cells."""
    return [c.source for c in read_solution(name).cells
            if c.cell_type == "code" and c.source.startswith("# HIDDEN")]


def assert_autograder_keeps_hidden_tests_and_points(name: str, points: Points,
                                                    tmp: Path) -> None:
    """The autograder built in ``tmp`` has one test file per question, with its points and
    every hidden test."""
    autograder = build_autograder(SOLUTIONS / f"{name}.ipynb", tmp / "ag")
    assert list(autograder.tests) == list(points)
    assert {q: autograder.possible(q) for q in points} == points
    tests_text = "".join(p.read_text() for p in autograder.tests.values())
    for test in names_of_tests(read_solution(name), hidden=True):
        assert test in tests_text


def assert_several_assignments_need_a_name(tmp: Path) -> None:
    """``solutions/`` holds several assignments, so grading without ``assignment=`` fails."""
    assert len(list(SOLUTIONS.glob("*.ipynb"))) > 1
    (tmp / "subs").mkdir()
    with pytest.raises(ValueError, match="several assignments"):
        grade_submissions(tmp / "subs", tmp / "out", SOLUTIONS)


def assert_public_checks_pass(name: str, questions: int, tmp: Path) -> None:
    """What a student sees: the exercise notebook with the solution's answer cells pasted in,
    run in ``tmp``, has ``questions`` ``grader.check`` cells and each says all tests passed."""
    from nbclient import NotebookClient

    answers = {c.id: c.source for c in read_solution(name).cells if c.id.endswith("-answer")}
    nb = read_exercise(name)
    for cell in nb.cells:
        cell.source = answers.get(cell.id, cell.source)
    nbformat.write(nb, tmp / f"{name}.ipynb")  # otter.Notebook reads it from the cwd
    NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(tmp)}}).execute()
    checks = [c for c in nb.cells if c.cell_type == "code" and "grader.check(" in c.source]
    assert len(checks) == questions
    for cell in checks:
        text = "".join(str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs)
        assert "All test cases passed" in text, (cell.source, text)


# ------------------------------------------------------------------------------------------
# plausible mistakes, run in this process against the solution's test cells
# ------------------------------------------------------------------------------------------


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


def assert_mistake_loses_points(name: str, functions: dict[str, str], mistake: str,
                                question: str, wrong: Callable, catcher: str) -> None:
    """The test ``catcher`` of ``question`` fails when ``functions[question]`` is ``wrong``
    (the plausible mistake named ``mistake``), while the right answer passes them all."""
    solution = read_solution(name)
    failed = failed_tests(solution, question, functions[question], wrong)
    assert catcher in failed, f"{mistake} passed {catcher}; failed only {sorted(failed)}"
    assert_right_answer_passes(solution, question, functions[question])


# ------------------------------------------------------------------------------------------
# grading submissions
# ------------------------------------------------------------------------------------------


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


def expected_scores(points: Points, broken: str, lost: tuple[str, ...]) -> dict[str, Points]:
    """Each submission's expected points per question, by student: full marks for the
    ``solution`` and ``solved`` notebooks, zero for the ``untouched`` exercise, and for the
    ``broken`` one full marks but for the ``lost`` questions."""
    return {
        "solution": points,
        "solved": points,
        "untouched": dict.fromkeys(points, 0.0),
        broken: {**points, **dict.fromkeys(lost, 0.0)},
    }


def grade_four_submissions(
    tmp: Path, name: str, broken: str, break_answers: Callable[[nbformat.NotebookNode], None],
    timeout: float,
) -> tuple[Path, dict[str, dict[str, str]]]:
    """Grade four submissions against assignment ``name`` (``solutions/`` holding several):
    ``solved`` (the autograder's notebook, as a student who solved everything hands it in),
    ``solution`` (the solution notebook), ``untouched`` (the exercise) and ``broken`` (the
    solved one after ``break_answers``), with ``timeout`` seconds per cell.

    Return the output folder and the rows of ``grades.csv`` by student."""
    subs = tmp / "submissions"
    subs.mkdir()
    solved = nbformat.read(
        build_autograder(SOLUTIONS / f"{name}.ipynb", tmp / "ag").notebook, as_version=4
    )
    nbformat.write(solved, subs / "solved.ipynb")
    shutil.copy(SOLUTIONS / f"{name}.ipynb", subs / "solution.ipynb")
    shutil.copy(EXERCISES / f"{name}.ipynb", subs / "untouched.ipynb")
    nb = copy.deepcopy(solved)
    break_answers(nb)
    nbformat.write(nb, subs / f"{broken}.ipynb")
    out = tmp / "out"
    csv_path = grade_submissions(
        subs, out, solutions_dir=SOLUTIONS, assignment=name, timeout_per_cell=timeout
    )
    with csv_path.open() as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return out, rows


def assert_csv_columns(rows: dict[str, dict[str, str]], expected: dict[str, Points],
                       points: Points) -> None:
    """A row per expected student; columns student, file, the questions and the total."""
    assert sorted(rows) == sorted(expected)
    assert list(next(iter(rows.values()))) == ["student", "file", *points, "total"]


def assert_scores(out: Path, rows: dict[str, dict[str, str]], student: str, expected: Points,
                  points: Points) -> None:
    """``student`` got the ``expected`` points for each of the questions in ``points`` and in
    total, and a feedback file."""
    assert {q: float(rows[student][q]) for q in points} == expected
    assert float(rows[student]["total"]) == sum(expected.values())
    assert (out / "feedback" / f"{student}.md").is_file()


def feedback(out: Path, student: str) -> str:
    """The feedback written for ``student``."""
    return (out / "feedback" / f"{student}.md").read_text()


def assert_full_marks_and_no_notes(text: str, marks: str) -> None:
    """Feedback ``text`` shows ``marks`` (e.g. ``"10 / 10"``), no failure and no notes."""
    assert f"**{marks}**" in text and "FAILED" not in text and "Notes on your notebook" not in text


def assert_names_the_exception_and_the_loop(text: str) -> None:
    """Feedback ``text`` names the ``RuntimeError('oops')`` and the tests that did not finish."""
    assert "RuntimeError: oops" in text
    assert "the tests did not finish within" in text


def assert_says_none_was_returned(text: str, functions: dict[str, str]) -> None:
    """Feedback ``text`` says that each of the ``functions`` returned None."""
    for function in functions.values():
        assert f"{function} returned None" in text
