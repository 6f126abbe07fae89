"""Chapter 8's graded exercises (the pieces of the offline learners) through the grading pipeline.

``tests/test_grading.py`` tests the pipeline itself on chapter 3; this file checks that the
chapter 8 notebook is in sync, keeps its secrets, gives full marks to its own solution, zero
to the untouched exercise, and loses only the broken questions' points when a function
raises or loops forever.  Its hidden tests compare the students' NumPy functions with the
library's PyTorch versions in ``rrmbook.offline.losses``.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("otter", reason="needs the grade extra (otter-grader)")

import grading_suite as suite  # noqa: E402
import nbformat  # noqa: E402

NAME = "ch08_exercises"
POINTS = {"q1": 4.0, "q2": 3.0, "q3": 3.0}
FUNCTIONS = {"q1": "cql_penalty", "q2": "vdn_joint_logsumexp", "q3": "soft_state_value"}
TIMEOUT = 10.0  # seconds per cell: room for importing torch, short enough for the infinite loop


# ------------------------------------------------------------------------------------------
# the exercise notebook
# ------------------------------------------------------------------------------------------


def test_exercise_in_sync_with_solution():
    suite.assert_exercise_in_sync(NAME)


def test_exercise_has_stubs_public_checks_and_no_secrets():
    suite.assert_stubs_public_checks_and_no_secrets(
        NAME, FUNCTIONS, more_secret_lines_than=10, hidden_at_least=6
    )


def test_every_test_checks_for_a_missing_function_and_none():
    """An untouched stub returns None and a deleted cell leaves the name undefined: every test
    must say so instead of failing with an obscure error."""
    suite.assert_every_test_checks_for_a_missing_function_and_none(NAME)


def test_hidden_tests_compare_with_the_library():
    """Each question has a hidden test against its counterpart in rrmbook.offline.losses."""
    hidden = suite.hidden_test_sources(NAME)
    for reference in ("import cql_penalty as", "import joint_q_table, vdn_logsumexp",
                      "import soft_state_value as"):
        assert any(f"from rrmbook.offline.losses {reference}" in s for s in hidden), reference


def test_autograder_keeps_hidden_tests_and_points(tmp_path):
    suite.assert_autograder_keeps_hidden_tests_and_points(NAME, POINTS, tmp_path)


def test_several_assignments_need_a_name(tmp_path):
    suite.assert_several_assignments_need_a_name(tmp_path)  # chapters 3, 4, 5 and 8 at least


def test_public_checks_pass_in_the_exercise_with_the_answers_filled_in(tmp_path):
    """What a student sees: ``grader.check`` in the exercise notebook, answers pasted in."""
    suite.assert_public_checks_pass(NAME, len(POINTS), tmp_path)


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
    suite.assert_mistake_loses_points(NAME, FUNCTIONS, mistake, *MISTAKES[mistake])


# ------------------------------------------------------------------------------------------
# grading submissions
# ------------------------------------------------------------------------------------------


def _break_q1_and_q3(nb: nbformat.NotebookNode) -> None:
    """cql_penalty raises when called; soft_state_value never returns."""
    suite.raise_when_called(nb, FUNCTIONS["q1"], anchor="    q = np.asarray")
    suite.loop_forever_when_called(nb, FUNCTIONS["q3"], anchor="    q = np.asarray")


BROKEN = "broken_q1_q3"
EXPECTED = suite.expected_scores(POINTS, BROKEN, lost=("q1", "q3"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the four submissions against ch08 with solutions/ holding several assignments."""
    tmp = tmp_path_factory.mktemp("grading_ch08")
    return suite.grade_four_submissions(tmp, NAME, BROKEN, _break_q1_and_q3, TIMEOUT)


def test_csv_columns_are_ch08_questions(graded):
    _, rows = graded
    suite.assert_csv_columns(rows, EXPECTED, POINTS)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_scores(graded, student):
    out, rows = graded
    suite.assert_scores(out, rows, student, EXPECTED[student], POINTS)


def test_solution_has_full_marks_and_no_notes(graded):
    out, _ = graded
    suite.assert_full_marks_and_no_notes(suite.feedback(out, "solution"), "10 / 10")


def test_broken_feedback_names_the_exception_and_the_loop(graded):
    out, _ = graded
    text = suite.feedback(out, BROKEN)
    suite.assert_names_the_exception_and_the_loop(text)
    q2 = text[text.index("## q2") : text.index("## q3")]
    assert "FAILED" not in q2


def test_untouched_feedback_says_none_was_returned(graded):
    out, _ = graded
    suite.assert_says_none_was_returned(suite.feedback(out, "untouched"), FUNCTIONS)
