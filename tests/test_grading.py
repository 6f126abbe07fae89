"""The exercise and grading pipeline (rrmbook.teaching) itself, on chapter 3's exercises.

What every assignment must satisfy is in ``tests/test_grading_assignments.py``; here: building
``exercises/`` and noticing when it is stale, the grader's robustness (a submission that
raises, loops forever, swallows the interrupt, lost a cell or has a syntax error loses only
the affected question, an unreadable file gets zeros), bad arguments, and the deprecated
``rrmbook.grading`` module.

The broken submissions are made here from the autograder notebook (the exercise notebook with
the solutions filled in, as a student who solved everything would hand it in), so no
notebooks that loop forever live in the repository for nbval to pick up.
"""

from __future__ import annotations

import copy
import importlib
import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("otter", reason="needs the grade extra (otter-grader)")

import grading_suite as suite  # noqa: E402
import nbformat  # noqa: E402
from grading_suite import EXERCISES, SOLUTIONS  # noqa: E402
from notebook_helpers import answer_cell  # noqa: E402

import rrmbook.teaching  # noqa: E402
from rrmbook.teaching import build_exercises, grade_submissions, stale_exercises  # noqa: E402
from rrmbook.teaching.assign import is_otter_cell  # noqa: E402

NAME = "ch03_exercises"
POINTS = {"q1": 4.0, "q2": 4.0, "q3": 2.0}
TIMEOUT = 6.0  # seconds per cell: short, so the infinite loops below cost little


# ------------------------------------------------------------------------------------------
# exercises/ is generated from solutions/
# ------------------------------------------------------------------------------------------


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


def test_otter_cells_are_recognised():
    assert is_otter_cell('# Initialize Otter\nimport otter\ngrader = otter.Notebook("x.ipynb")')
    assert is_otter_cell('grader.check("q1")')
    assert not is_otter_cell('grader.check("q1")\nx = 1')
    assert not is_otter_cell("def success(schedule, adjacency):\n    ...")


# ------------------------------------------------------------------------------------------
# grading a folder of broken submissions
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
    "corrupt": dict.fromkeys(POINTS, 0.0),
    "notes": dict.fromkeys(POINTS, 0.0),
    "emptyfile": dict.fromkeys(POINTS, 0.0),
    "other_assignment": dict.fromkeys(POINTS, 0.0),
    "handout": dict.fromkeys(POINTS, 0.0),
    **{name: {**POINTS, **lost} for name, (_, lost) in MUTATIONS.items()},
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade one folder holding every kind of broken submission; return (out_dir, rows by
    student)."""
    tmp = tmp_path_factory.mktemp("grading")
    subs = tmp / "submissions"
    subs.mkdir()
    solved = suite.solved_notebook(NAME, tmp / "ag")
    for name, (mutate, _) in MUTATIONS.items():
        nb = copy.deepcopy(solved)
        mutate(nb)
        nbformat.write(nb, subs / f"{name}.ipynb")
    (subs / "corrupt.ipynb").write_text('{"cells": [ not json')
    (subs / "notes.txt").write_text("not a notebook at all")
    (subs / "emptyfile.ipynb").write_text("")
    shutil.copy("exercises/ch04_exercises.ipynb", subs / "other_assignment.ipynb")
    shutil.copy("exercises/ch03_exercises.ipynb", subs / "handout.ipynb")
    out = tmp / "out" / NAME
    return out, suite.grade_folder(subs, out, NAME, TIMEOUT)


def test_csv_has_a_row_per_file_and_a_column_per_question(graded):
    _, rows = graded
    assert sorted(rows) == sorted(EXPECTED)
    assert list(next(iter(rows.values()))) == ["student", "file", *POINTS, "total", "status"]
    assert rows["corrupt"]["status"] == rows["notes"]["status"] == "not a notebook"
    assert rows["emptyfile"]["status"] == "empty"
    assert rows["other_assignment"]["status"] == "wrong assignment: ch04_exercises"
    assert rows["handout"]["status"] == "unchanged from the handout"
    assert rows["loop_function_q2"]["status"] == "timed out: q2"     # its tests were stopped
    assert rows["loop_cell_q2"]["status"] == "timed out: q2"         # its answer cell was
    assert rows["unstoppable_q3"]["status"] == "timed out: q3"       # ... and run again without
    assert rows["raises_q1"]["status"] == "ok"


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_failure_costs_only_its_question(graded, student):
    out, rows = graded
    row = rows[student]
    expected = EXPECTED[student]
    assert {q: float(row[q]) for q in POINTS} == expected
    assert float(row["total"]) == sum(expected.values())
    assert (out / "feedback" / f"{student}.md").is_file()


@pytest.mark.parametrize(
    ("student", "phrase"),
    [
        ("loop_cell_q2", "did not finish within"),
        ("loop_function_q2", "did not finish within"),
        ("unstoppable_q3", "did not finish within"),
        ("syntax_q2", "SyntaxError"),
        ("raises_q1", "RuntimeError: oops"),
        ("deleted_q1", "define a function success"),
        ("corrupt", "could not read corrupt.ipynb"),
        ("notes", "could not read notes.txt"),
    ],
)
def test_feedback_says_what_went_wrong(graded, student, phrase):
    out, _ = graded
    assert phrase in suite.feedback(out, student)


def test_grade_submissions_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="timeout_per_cell"):
        grade_submissions(tmp_path, tmp_path / "out", SOLUTIONS, timeout_per_cell=0)
    with pytest.raises(ValueError, match="unknown assignment"):
        grade_submissions(tmp_path, tmp_path / "out", SOLUTIONS, assignment="ch99")
    with pytest.raises(ValueError, match="not a folder"):
        grade_submissions(tmp_path / "missing", tmp_path / "out", SOLUTIONS)


def test_several_assignments_need_a_name(tmp_path):
    """``solutions/`` holds several assignments, so grading without ``assignment=`` fails."""
    assert len(list(SOLUTIONS.glob("*.ipynb"))) > 1
    (tmp_path / "subs").mkdir()
    with pytest.raises(ValueError, match="several assignments"):
        grade_submissions(tmp_path / "subs", tmp_path / "out", SOLUTIONS)


# ------------------------------------------------------------------------------------------
# the deprecated module
# ------------------------------------------------------------------------------------------


def test_grading_module_is_a_deprecated_shim(monkeypatch):
    """``rrmbook.grading`` warns when imported and re-exports ``rrmbook.teaching``'s API."""
    monkeypatch.delitem(sys.modules, "rrmbook.grading", raising=False)
    with pytest.warns(DeprecationWarning, match="rrmbook.teaching"):
        grading = importlib.import_module("rrmbook.grading")
    assert grading.__all__ == rrmbook.teaching.__all__
    for name in rrmbook.teaching.__all__:
        assert getattr(grading, name) is getattr(rrmbook.teaching, name), name


# ------------------------------------------------------------------------------------------
# the same grades on a busy machine
# ------------------------------------------------------------------------------------------


def test_grades_and_feedback_do_not_depend_on_machine_load(graded):
    """The folder of broken submissions graded again while a CPU hog keeps every core busy:
    the same grades.csv and the same feedback, word for word (limits are CPU time)."""
    out, rows = graded
    subs = out.parents[1] / "submissions"
    hogs = [subprocess.Popen([sys.executable, "-c", "while True:\n    pass"])
            for _ in range(os.cpu_count() or 2)]
    try:
        loaded_out = out.parents[1] / "loaded" / NAME
        loaded = suite.grade_folder(subs, loaded_out, NAME, TIMEOUT)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert loaded == rows
    assert (loaded_out / "grades.csv").read_text() == (out / "grades.csv").read_text()
    for student in rows:
        assert suite.feedback(loaded_out, student) == suite.feedback(out, student), student


# ------------------------------------------------------------------------------------------
# grading without the sandbox, from the command line
# ------------------------------------------------------------------------------------------


def test_the_cli_grades_in_the_sandbox_and_warns_when_told_not_to(tmp_path, capsys):
    from rrmbook.cli import main

    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(SOLUTIONS / f"{NAME}.ipynb", subs / "good.ipynb")
    args = [subs, "--out", tmp_path / "out", "--solutions", SOLUTIONS, "--assignment", NAME]
    args = ["grade", *map(str, args)]
    assert main(args) == 0
    first = capsys.readouterr()
    assert "WARNING" not in first.err and f"grades: {tmp_path / 'out' / NAME / 'grades.csv'}" in first.out
    assert main(args) == 2                               # an earlier grading is kept
    assert "already holds a grading" in capsys.readouterr().err
    assert main([*args, "--overwrite", "--unsafe-no-sandbox"]) == 0
    unsafe = capsys.readouterr()
    assert "WARNING: grading WITHOUT the sandbox" in unsafe.err and "Not protected" in unsafe.err
    assert "good,good.ipynb,4,4,2,10,ok" in (tmp_path / "out" / NAME / "grades.csv").read_text()
    assert main([*args, "--overwrite", "--unsafe-no-sandbox", "--workers", "2"]) == 2


def test_without_a_sandbox_grading_is_refused_before_any_work(tmp_path, monkeypatch):
    import rrmbook.teaching.grade as grade
    from rrmbook.teaching.sandbox import SandboxUnavailable

    monkeypatch.setattr(grade, "sandbox_available", lambda: "bubblewrap is not installed")
    (tmp_path / "subs").mkdir()
    with pytest.raises(SandboxUnavailable, match="--unsafe-no-sandbox"):
        grade_submissions(tmp_path / "subs", tmp_path / "out", SOLUTIONS, NAME)
    assert not (tmp_path / "out").exists()
