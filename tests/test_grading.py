"""The exercise and grading pipeline (rrmbook.grading) on chapter 3's exercises.

The broken submissions are made here from the autograder notebook (the exercise notebook with
the solutions filled in, as a student who solved everything would hand it in), so no
notebooks that loop forever live in the repository for nbval to pick up.
"""

from __future__ import annotations

import copy
import csv
import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("otter", reason="needs the grade extra (otter-grader)")

import nbformat  # noqa: E402
from notebook_helpers import answer_cell, names_of_tests, solution_lines  # noqa: E402

from rrmbook.grading import (  # noqa: E402
    _is_otter_cell,
    build_autograder,
    build_exercises,
    grade_submissions,
    stale_exercises,
)

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
NAME = "ch03_exercises"
POINTS = {"q1": 4.0, "q2": 4.0, "q3": 2.0}
TIMEOUT = 6.0  # seconds per cell: short, so the infinite loops below cost little


def _code(nb: nbformat.NotebookNode) -> str:
    """All cell sources plus the metadata (where otter stores the public tests)."""
    return "\n".join(c.source for c in nb.cells) + json.dumps(nb.metadata)






# ------------------------------------------------------------------------------------------
# exercises/ is generated from solutions/
# ------------------------------------------------------------------------------------------


def test_exercises_in_sync_with_solutions():
    assert stale_exercises(SOLUTIONS, EXERCISES) == [], "run `rrmbook exercises build`"


def test_build_is_deterministic(tmp_path):
    first = build_exercises(SOLUTIONS, tmp_path / "a")
    second = build_exercises(SOLUTIONS, tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_stale_exercises_notices_edits_and_strays(tmp_path):
    dst = tmp_path / "exercises"
    shutil.copytree(EXERCISES, dst)
    nb = nbformat.read(dst / f"{NAME}.ipynb", as_version=4)
    nb.cells[-1].source += "\nedited by hand"
    nbformat.write(nb, dst / f"{NAME}.ipynb")
    shutil.copy(dst / f"{NAME}.ipynb", dst / "orphan.ipynb")
    assert stale_exercises(SOLUTIONS, dst) == [f"{NAME}.ipynb", "orphan.ipynb"]


def test_exercise_has_stubs_public_checks_and_no_secrets():
    solution = nbformat.read(SOLUTIONS / f"{NAME}.ipynb", as_version=4)
    exercise = nbformat.read(EXERCISES / f"{NAME}.ipynb", as_version=4)
    text = _code(exercise)
    secret_lines = solution_lines(solution)
    hidden = names_of_tests(solution, hidden=True)
    assert secret_lines and hidden  # the checks below are not vacuous
    for line in secret_lines:
        assert line not in text, f"solution code leaked into the exercise: {line}"
    for name in hidden:
        assert name not in text, f"hidden test leaked into the exercise: {name}"
    for name in names_of_tests(solution, hidden=False):
        assert name in text, f"public test missing from the exercise: {name}"
    assert "BEGIN SOLUTION" not in text and "# HIDDEN" not in text
    for question in POINTS:
        assert f'grader.check("{question}")' in text
    assert all(not c.get("outputs") for c in exercise.cells if c.cell_type == "code")


def test_autograder_keeps_hidden_tests_and_points(tmp_path):
    autograder = build_autograder(SOLUTIONS / f"{NAME}.ipynb", tmp_path / "ag")
    assert list(autograder.tests) == list(POINTS)
    assert {q: autograder.possible(q) for q in POINTS} == POINTS
    tests_text = "".join(p.read_text() for p in autograder.tests.values())
    solution = nbformat.read(SOLUTIONS / f"{NAME}.ipynb", as_version=4)
    for name in names_of_tests(solution, hidden=True):
        assert name in tests_text


def test_otter_cells_are_recognised():
    assert _is_otter_cell('# Initialize Otter\nimport otter\ngrader = otter.Notebook("x.ipynb")')
    assert _is_otter_cell('grader.check("q1")')
    assert not _is_otter_cell('grader.check("q1")\nx = 1')
    assert not _is_otter_cell("def success(schedule, adjacency):\n    ...")


# ------------------------------------------------------------------------------------------
# grading a folder of submissions, good and broken
# ------------------------------------------------------------------------------------------




def _raise_in_q1(nb):
    cell = answer_cell(nb, "success")
    cell.source = cell.source.replace(
        "    schedule = np.asarray", "    raise RuntimeError('oops')\n    schedule = np.asarray", 1
    )


def _loop_in_q2_cell(nb):
    cell = answer_cell(nb, "gms")
    cell.source = "while True:\n    pass\n" + cell.source


def _loop_in_q2_function(nb):
    cell = answer_cell(nb, "gms")
    cell.source = cell.source.replace(
        "    available = queues > 0", "    while True:\n        pass", 1
    )


def _unstoppable_loop_in_q3_cell(nb):
    """A loop whose bare ``except:`` swallows the interrupt: the kernel must be restarted."""
    cell = answer_cell(nb, "queue_update")
    cell.source = (
        "while True:\n    try:\n        sum(range(10**6))\n    except:\n        pass\n"
        + cell.source
    )


def _delete_q1_cell(nb):
    nb.cells.remove(answer_cell(nb, "success"))


def _syntax_error_in_q2(nb):
    cell = answer_cell(nb, "gms")
    cell.source = cell.source.replace("while available.any():", "while available.any()", 1)


MUTATIONS = {
    "raises_q1": (_raise_in_q1, {"q1": 0}),
    "loop_cell_q2": (_loop_in_q2_cell, {"q2": 0}),
    "loop_function_q2": (_loop_in_q2_function, {"q2": 0}),
    "unstoppable_q3": (_unstoppable_loop_in_q3_cell, {"q3": 0}),
    "deleted_q1": (_delete_q1_cell, {"q1": 0}),
    "syntax_q2": (_syntax_error_in_q2, {"q2": 0}),
}
EXPECTED = {
    "solution": POINTS,
    "solved": POINTS,
    "untouched": dict.fromkeys(POINTS, 0.0),
    "corrupt": dict.fromkeys(POINTS, 0.0),
    "notes": dict.fromkeys(POINTS, 0.0),
    **{name: {**POINTS, **lost} for name, (_, lost) in MUTATIONS.items()},
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade one folder holding every kind of submission; return (out_dir, rows by student)."""
    tmp = tmp_path_factory.mktemp("grading")
    subs = tmp / "submissions"
    subs.mkdir()
    solved = nbformat.read(
        build_autograder(SOLUTIONS / f"{NAME}.ipynb", tmp / "ag").notebook, as_version=4
    )
    nbformat.write(solved, subs / "solved.ipynb")
    shutil.copy(SOLUTIONS / f"{NAME}.ipynb", subs / "solution.ipynb")
    shutil.copy(EXERCISES / f"{NAME}.ipynb", subs / "untouched.ipynb")
    for name, (mutate, _) in MUTATIONS.items():
        nb = copy.deepcopy(solved)
        mutate(nb)
        nbformat.write(nb, subs / f"{name}.ipynb")
    (subs / "corrupt.ipynb").write_text('{"cells": [ not json')
    (subs / "notes.txt").write_text("not a notebook at all")
    out = tmp / "out"
    csv_path = grade_submissions(subs, out, solutions_dir=SOLUTIONS, assignment=NAME,
                                 timeout_per_cell=TIMEOUT)
    assert csv_path == out / "grades.csv"
    with csv_path.open() as f:
        rows = list(csv.DictReader(f))
    return out, rows


def test_csv_has_a_row_per_file_and_a_column_per_question(graded):
    _, rows = graded
    assert sorted(r["student"] for r in rows) == sorted(EXPECTED)
    assert list(rows[0]) == ["student", "file", *POINTS, "total"]


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_failure_costs_only_its_question(graded, student):
    out, rows = graded
    row = next(r for r in rows if r["student"] == student)
    expected = EXPECTED[student]
    assert {q: float(row[q]) for q in POINTS} == expected
    assert float(row["total"]) == sum(expected.values())
    assert (out / "feedback" / f"{student}.md").is_file()


@pytest.mark.parametrize(
    ("student", "phrase"),
    [
        ("loop_cell_q2", "did not finish within"),
        ("loop_function_q2", "the tests did not finish within"),
        ("unstoppable_q3", "did not finish within"),
        ("syntax_q2", "SyntaxError"),
        ("raises_q1", "RuntimeError: oops"),
        ("deleted_q1", "define a function success"),
        ("untouched", "success returned None"),
        ("corrupt", "could not read corrupt.ipynb"),
        ("notes", "could not read notes.txt"),
    ],
)
def test_feedback_says_what_went_wrong(graded, student, phrase):
    out, _ = graded
    assert phrase in (out / "feedback" / f"{student}.md").read_text()


def test_clean_solution_has_full_marks_and_no_notes(graded):
    out, _ = graded
    text = (out / "feedback" / "solution.md").read_text()
    assert "**10 / 10**" in text and "FAILED" not in text and "Notes on your notebook" not in text


def test_grade_submissions_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="timeout_per_cell"):
        grade_submissions(tmp_path, tmp_path / "out", SOLUTIONS, timeout_per_cell=0)
    with pytest.raises(ValueError, match="unknown assignment"):
        grade_submissions(tmp_path, tmp_path / "out", SOLUTIONS, assignment="ch99")
    with pytest.raises(ValueError, match="not a folder"):
        grade_submissions(tmp_path / "missing", tmp_path / "out", SOLUTIONS)
