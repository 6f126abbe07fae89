"""Chapter 8's graded exercises (the pieces of the offline learners) through the grading pipeline.

``tests/test_grading.py`` tests the pipeline itself on chapter 3; this file checks that the
chapter 8 notebook is in sync, keeps its secrets, gives full marks to its own solution, zero
to the untouched exercise, and loses only the broken questions' points when a function
raises or loops forever.  Its hidden tests compare the students' NumPy functions with the
library's PyTorch versions in ``rrmbook.offline.losses``.
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
NAME = "ch08_exercises"
POINTS = {"q1": 4.0, "q2": 3.0, "q3": 3.0}
FUNCTIONS = {"q1": "cql_penalty", "q2": "vdn_joint_logsumexp", "q3": "soft_state_value"}
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
    """Each question has a hidden test against its counterpart in rrmbook.offline.losses."""
    hidden = [c.source for c in _solution().cells
              if c.cell_type == "code" and c.source.startswith("# HIDDEN")]
    for reference in ("import cql_penalty as", "import joint_q_table, vdn_logsumexp",
                      "import soft_state_value as"):
        assert any(f"from rrmbook.offline.losses {reference}" in s for s in hidden), reference


def test_autograder_keeps_hidden_tests_and_points(tmp_path):
    autograder = build_autograder(SOLUTIONS / f"{NAME}.ipynb", tmp_path / "ag")
    assert list(autograder.tests) == list(POINTS)
    assert {q: autograder.possible(q) for q in POINTS} == POINTS
    tests_text = "".join(p.read_text() for p in autograder.tests.values())
    for name in names_of_tests(_solution(), hidden=True):
        assert name in tests_text


def test_several_assignments_need_a_name(tmp_path):
    assert len(list(SOLUTIONS.glob("*.ipynb"))) > 1  # chapters 3, 4, 5 and 8 at least
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
def _penalty(q, actions, mode="naive_exp"):
    q, a = np.asarray(q, dtype=float), np.asarray(actions)
    logged = q[np.arange(len(q)), a]
    soft_max = _lse(q, axis=1)
    if mode == "naive_exp":  # no maximum subtracted: overflows for large Q-values
        with np.errstate(over="ignore"):
            return float(np.mean(np.log(np.exp(q).sum(axis=1)) - logged))
    if mode == "hard_max":  # the maximum instead of the logsumexp
        return float(np.mean(q.max(axis=1) - logged))
    if mode == "wrong_sign":
        return float(np.mean(logged - soft_max))
    if mode == "sum":  # sums over the samples instead of averaging
        return float(np.sum(soft_max - logged))
    return soft_max - logged  # "per_sample": one term per sample, not reduced


def _lse(x, axis):
    top = x.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.exp(x - top).sum(axis=axis))


def _joint_lse(q_agents, mode="hard_max"):
    q = np.asarray(q_agents, dtype=float)
    if mode == "hard_max":  # each agent's best value instead of its logsumexp
        return q.max(axis=-1).sum(axis=-1)
    if mode == "same_action":  # every agent takes the same action index
        return _lse(q.sum(axis=1), axis=-1)
    if mode == "wrong_axis":  # logsumexp over the agents, then the sum over actions
        return _lse(q, axis=1).sum(axis=-1)
    return _lse(q, axis=-1).mean(axis=-1)  # "mean": averages the agents instead of summing


def _soft_value(q, logits, tau, mode="no_entropy"):
    q, z = np.asarray(q, dtype=float), np.asarray(logits, dtype=float)
    if mode == "softmax_of_q":  # the policy taken from the critic instead of the actor
        z = q
    if mode == "naive_softmax":  # probabilities first, then their log: fails for large logits
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            pi = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
            return (pi * (q - tau * np.log(pi))).sum(axis=-1)
    log_pi = z - _lse(z, axis=-1)[..., None]
    pi = np.exp(log_pi)
    if mode == "no_entropy":
        return (pi * q).sum(axis=-1)
    if mode == "plus_sign":
        return (pi * (q + tau * log_pi)).sum(axis=-1)
    return (pi * (q - log_pi)).sum(axis=-1)  # "no_tau": the temperature forgotten


MISTAKES = {
    "penalty_overflows": ("q1", lambda q, a: _penalty(q, a, "naive_exp"), "test_q1_large_values"),
    "penalty_hard_max": ("q1", lambda q, a: _penalty(q, a, "hard_max"), "test_q1_example"),
    "penalty_hard_max_hidden": (
        "q1", lambda q, a: _penalty(q, a, "hard_max"), "test_q1_matches_library"
    ),
    "penalty_wrong_sign": ("q1", lambda q, a: _penalty(q, a, "wrong_sign"), "test_q1_example"),
    "penalty_sum": ("q1", lambda q, a: _penalty(q, a, "sum"), "test_q1_example"),
    "penalty_per_sample": ("q1", lambda q, a: _penalty(q, a, "per_sample"), "test_q1_example"),
    "joint_hard_max": ("q2", lambda q: _joint_lse(q, "hard_max"), "test_q2_example"),
    "joint_same_action": ("q2", lambda q: _joint_lse(q, "same_action"), "test_q2_example"),
    "joint_wrong_axis": ("q2", lambda q: _joint_lse(q, "wrong_axis"), "test_q2_example"),
    "joint_wrong_axis_hidden": (
        "q2", lambda q: _joint_lse(q, "wrong_axis"), "test_q2_matches_library_and_brute_force"
    ),
    "joint_mean": ("q2", lambda q: _joint_lse(q, "mean"), "test_q2_example"),
    "soft_value_no_entropy": (
        "q3", lambda q, z, t: _soft_value(q, z, t, "no_entropy"), "test_q3_example"
    ),
    "soft_value_softmax_of_q": (
        "q3", lambda q, z, t: _soft_value(q, z, t, "softmax_of_q"), "test_q3_example"
    ),
    "soft_value_plus_sign": (
        "q3", lambda q, z, t: _soft_value(q, z, t, "plus_sign"), "test_q3_example"
    ),
    "soft_value_no_tau": ("q3", lambda q, z, t: _soft_value(q, z, t, "no_tau"), "test_q3_example"),
    "soft_value_overflows": (
        "q3", lambda q, z, t: _soft_value(q, z, t, "naive_softmax"), "test_q3_properties_and_inputs"
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
    """cql_penalty raises when called; soft_state_value never returns."""
    cell = answer_cell(nb, FUNCTIONS["q1"])
    cell.source = cell.source.replace(
        "    q = np.asarray", "    raise RuntimeError('oops')\n    q = np.asarray", 1
    )
    cell = answer_cell(nb, FUNCTIONS["q3"])
    cell.source = cell.source.replace(
        "    q = np.asarray", "    while True:\n        pass\n    q = np.asarray", 1
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
    """Grade the four submissions against ch08 with solutions/ holding several assignments."""
    tmp = tmp_path_factory.mktemp("grading_ch08")
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


def test_csv_columns_are_ch08_questions(graded):
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
