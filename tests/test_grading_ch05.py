"""Chapter 5's graded exercises (the pieces of the MAPPO objective) through the grading pipeline.

``tests/test_grading.py`` tests the pipeline itself on chapter 3; this file checks that the
chapter 5 notebook is in sync, keeps its secrets, gives full marks to its own solution, zero
to the untouched exercise, and loses only the broken questions' points when a function
raises or loops forever.  Its hidden tests compare the students' NumPy functions with the
library's PyTorch versions in ``rrmbook.marl.losses``.
"""

from __future__ import annotations

import copy
import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("otter", reason="needs the grade extra (otter-grader)")

import nbformat  # noqa: E402
from notebook_helpers import answer_cell, names_of_tests, solution_lines  # noqa: E402

from rrmbook.grading import (  # noqa: E402
    build_autograder,
    grade_submissions,
    stale_exercises,
)

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
NAME = "ch05_exercises"
POINTS = {"q1": 4.0, "q2": 3.0, "q3": 3.0}
FUNCTIONS = {"q1": "truncated_gae", "q2": "clipped_surrogate", "q3": "clipped_value_loss"}
TIMEOUT = 10.0  # seconds per cell: room for importing torch, short enough for the infinite loop


def _solution() -> nbformat.NotebookNode:
    return nbformat.read(SOLUTIONS / f"{NAME}.ipynb", as_version=4)


def _exercise() -> nbformat.NotebookNode:
    return nbformat.read(EXERCISES / f"{NAME}.ipynb", as_version=4)


# ------------------------------------------------------------------------------------------
# the exercise notebook
# ------------------------------------------------------------------------------------------


def test_exercise_in_sync_with_solution():
    assert (EXERCISES / f"{NAME}.ipynb").is_file(), "run `rrmbook exercises build`"
    assert f"{NAME}.ipynb" not in stale_exercises(SOLUTIONS, EXERCISES), (
        "run `rrmbook exercises build`"
    )


def test_exercise_has_stubs_public_checks_and_no_secrets():
    solution, exercise = _solution(), _exercise()
    text = "\n".join(c.source for c in exercise.cells) + json.dumps(exercise.metadata)
    secret_lines, hidden = solution_lines(solution), names_of_tests(solution, hidden=True)
    assert len(secret_lines) > 10 and len(hidden) >= 6  # the checks below are not vacuous
    for line in secret_lines:
        assert line not in text, f"solution code leaked into the exercise: {line}"
    for name in hidden:
        assert name not in text, f"hidden test leaked into the exercise: {name}"
    for name in names_of_tests(solution, hidden=False):
        assert name in text, f"public test missing from the exercise: {name}"
    assert "BEGIN SOLUTION" not in text and "# HIDDEN" not in text
    for question, function in FUNCTIONS.items():
        assert f'grader.check("{question}")' in text
        assert answer_cell(exercise, function).source.rstrip().endswith("..."), function
    assert all(not c.get("outputs") for c in exercise.cells if c.cell_type == "code")


def test_every_test_checks_for_a_missing_function_and_none():
    """An untouched stub returns None and a deleted cell leaves the name undefined: every test
    must say so instead of failing with an obscure error."""
    for cell in _solution().cells:
        if cell.cell_type != "code" or "def test_" not in cell.source:
            continue
        function = re.search(r"^def test_\w+\((\w+)\):", cell.source, flags=re.MULTILINE)[1]
        assert f"assert callable({function})" in cell.source, cell.id
        assert "is not None" in cell.source, cell.id


def test_hidden_tests_compare_with_the_library():
    """Each question has a hidden test against its counterpart in rrmbook.marl.losses."""
    hidden = [c.source for c in _solution().cells
              if c.cell_type == "code" and c.source.startswith("# HIDDEN")]
    for reference in ("import gae", "import clipped_surrogate as", "import clipped_value_loss as"):
        assert any(f"from rrmbook.marl.losses {reference}" in s for s in hidden), reference


def test_autograder_keeps_hidden_tests_and_points(tmp_path):
    autograder = build_autograder(SOLUTIONS / f"{NAME}.ipynb", tmp_path / "ag")
    assert list(autograder.tests) == list(POINTS)
    assert {q: autograder.possible(q) for q in POINTS} == POINTS
    tests_text = "".join(p.read_text() for p in autograder.tests.values())
    for name in names_of_tests(_solution(), hidden=True):
        assert name in tests_text


def test_several_assignments_need_a_name(tmp_path):
    assert len(list(SOLUTIONS.glob("*.ipynb"))) > 1  # chapters 3, 4 and 5 at least
    (tmp_path / "subs").mkdir()
    with pytest.raises(ValueError, match="several assignments"):
        grade_submissions(tmp_path / "subs", tmp_path / "out", SOLUTIONS)


def test_public_checks_pass_in_the_exercise_with_the_answers_filled_in(tmp_path):
    """What a student sees: ``grader.check`` in the exercise notebook, answers pasted in."""
    from nbclient import NotebookClient

    answers = {c.id: c.source for c in _solution().cells if c.id.endswith("-answer")}
    nb = _exercise()
    for cell in nb.cells:
        cell.source = answers.get(cell.id, cell.source)
    nbformat.write(nb, tmp_path / f"{NAME}.ipynb")  # otter.Notebook reads it from the cwd
    NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()
    checks = [c for c in nb.cells if c.cell_type == "code" and "grader.check(" in c.source]
    assert len(checks) == len(POINTS)
    for cell in checks:
        text = "".join(str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs)
        assert "All test cases passed" in text, (cell.source, text)


# Plausible mistakes, each of which must cost points: (question, wrong function, a test that
# must catch it).  They run in this process against the solution's test cells.
def _gae(rewards, values, next_values, cut, gamma, lam, mode="right"):
    r, v, nv = (np.asarray(x, dtype=float) for x in (rewards, values, next_values))
    keep = ~np.asarray(cut, dtype=bool)
    if mode == "terminal":  # a cut treated as the end of the world: no bootstrap
        nv = np.where(keep, nv, 0.0)
    deltas = r + gamma * nv - v
    decay = gamma if mode == "no_lambda" else gamma * lam
    out, running = np.zeros_like(deltas), 0.0
    for t in range(len(deltas) - 1, -1, -1):
        running = deltas[t] + decay * (True if mode == "ignore_cut" else keep[t]) * running
        out[t] = running
    return out


def _surrogate_max(ratio, advantages, clip):
    ratio, adv = np.asarray(ratio, float), np.asarray(advantages, float)
    return np.maximum(ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv)


def _surrogate_clip_only(ratio, advantages, clip):
    return np.clip(np.asarray(ratio, float), 1 - clip, 1 + clip) * np.asarray(advantages, float)


def _surrogate_mean(ratio, advantages, clip):  # averages instead of returning per sample
    ratio, adv = np.asarray(ratio, float), np.asarray(advantages, float)
    return np.mean(np.minimum(ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv))


def _value_loss(values, old_values, returns, clip, mode="min"):
    v, old, ret = (np.asarray(x, dtype=float) for x in (values, old_values, returns))
    if mode == "around_returns":  # clips the prediction around the target, not the old value
        clipped = ret + np.clip(v - ret, -clip, clip)
        return np.maximum((v - ret) ** 2, (clipped - ret) ** 2)
    clipped = old + np.clip(v - old, -clip, clip)
    return np.minimum((v - ret) ** 2, (clipped - ret) ** 2)


MISTAKES = {
    "gae_ignores_cut": ("q1", lambda *a: _gae(*a, mode="ignore_cut"), "test_q1_cut"),
    "gae_cut_is_terminal": ("q1", lambda *a: _gae(*a, mode="terminal"), "test_q1_cut"),
    "gae_forgets_lambda": ("q1", lambda *a: _gae(*a, mode="no_lambda"), "test_q1_example"),
    "gae_forgets_lambda_hidden": (
        "q1", lambda *a: _gae(*a, mode="no_lambda"), "test_q1_matches_library"
    ),
    "surrogate_max": ("q2", _surrogate_max, "test_q2_example"),
    "surrogate_clip_only": ("q2", _surrogate_clip_only, "test_q2_matches_library"),
    "surrogate_mean": ("q2", _surrogate_mean, "test_q2_shapes_and_inputs"),
    "value_loss_min": ("q3", _value_loss, "test_q3_example"),
    "value_loss_around_returns": (
        "q3",
        lambda *a: _value_loss(*a, mode="around_returns"),
        "test_q3_matches_library",
    ),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_plausible_mistakes_lose_points(mistake):
    question, wrong, catcher = MISTAKES[mistake]
    cells = [c for c in _solution().cells if c.cell_type == "code" and c.id.startswith(f"{question}-test-")]
    failed = set()
    for cell in cells:
        name = re.search(r"^def (test_\w+)\(", cell.source, flags=re.MULTILINE)[1]
        try:
            exec(cell.source, {FUNCTIONS[question]: wrong})
        except AssertionError:
            failed.add(name)
    assert catcher in failed, f"{mistake} passed {catcher}; failed only {sorted(failed)}"
    exec(answer_cell(_solution(), FUNCTIONS[question]).source, ns := {"np": np})
    for cell in cells:  # and the right answer passes them all
        exec(cell.source, {FUNCTIONS[question]: ns[FUNCTIONS[question]]})


# ------------------------------------------------------------------------------------------
# grading submissions
# ------------------------------------------------------------------------------------------


def _break_q1_and_q3(nb: nbformat.NotebookNode) -> None:
    """truncated_gae raises when called; clipped_value_loss never returns."""
    cell = answer_cell(nb, FUNCTIONS["q1"])
    cell.source = cell.source.replace(
        "    rewards = np.asarray", "    raise RuntimeError('oops')\n    rewards = np.asarray", 1
    )
    cell = answer_cell(nb, FUNCTIONS["q3"])
    cell.source = cell.source.replace(
        "    values = np.asarray", "    while True:\n        pass\n    values = np.asarray", 1
    )
    for function in (FUNCTIONS["q1"], FUNCTIONS["q3"]):
        source = answer_cell(nb, function).source
        compile(source, function, "exec")  # broken at run time, not a syntax error
        assert "oops" in source or "while True" in source


EXPECTED = {
    "solution": POINTS,
    "solved": POINTS,
    "untouched": dict.fromkeys(POINTS, 0.0),
    "broken_q1_q3": {**POINTS, "q1": 0.0, "q3": 0.0},
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the four submissions against ch05 with solutions/ holding several assignments."""
    tmp = tmp_path_factory.mktemp("grading_ch05")
    subs = tmp / "submissions"
    subs.mkdir()
    solved = nbformat.read(
        build_autograder(SOLUTIONS / f"{NAME}.ipynb", tmp / "ag").notebook, as_version=4
    )
    nbformat.write(solved, subs / "solved.ipynb")
    shutil.copy(SOLUTIONS / f"{NAME}.ipynb", subs / "solution.ipynb")
    shutil.copy(EXERCISES / f"{NAME}.ipynb", subs / "untouched.ipynb")
    broken = copy.deepcopy(solved)
    _break_q1_and_q3(broken)
    nbformat.write(broken, subs / "broken_q1_q3.ipynb")
    out = tmp / "out"
    csv_path = grade_submissions(
        subs, out, solutions_dir=SOLUTIONS, assignment=NAME, timeout_per_cell=TIMEOUT
    )
    with csv_path.open() as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return out, rows


def test_csv_columns_are_ch05_questions(graded):
    _, rows = graded
    assert sorted(rows) == sorted(EXPECTED)
    assert list(next(iter(rows.values()))) == ["student", "file", *POINTS, "total"]


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_scores(graded, student):
    out, rows = graded
    expected = EXPECTED[student]
    assert {q: float(rows[student][q]) for q in POINTS} == expected
    assert float(rows[student]["total"]) == sum(expected.values())
    assert (out / "feedback" / f"{student}.md").is_file()


def test_solution_has_full_marks_and_no_notes(graded):
    out, _ = graded
    text = (out / "feedback" / "solution.md").read_text()
    assert "**10 / 10**" in text and "FAILED" not in text and "Notes on your notebook" not in text


def test_broken_feedback_names_the_exception_and_the_loop(graded):
    out, _ = graded
    text = (out / "feedback" / "broken_q1_q3.md").read_text()
    assert "RuntimeError: oops" in text
    assert "the tests did not finish within" in text
    q2 = text[text.index("## q2") : text.index("## q3")]
    assert "FAILED" not in q2


def test_untouched_feedback_says_none_was_returned(graded):
    out, _ = graded
    text = (out / "feedback" / "untouched.md").read_text()
    for function in FUNCTIONS.values():
        assert f"{function} returned None" in text
