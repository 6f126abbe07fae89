"""Chapter 5's graded exercises (the pieces of the MAPPO objective) through the grading pipeline.

``tests/test_grading.py`` tests the pipeline itself on chapter 3; this file checks that the
chapter 5 notebook is in sync, keeps its secrets, gives full marks to its own solution, zero
to the untouched exercise, and loses only the broken questions' points when a function
raises or loops forever.  Its hidden tests compare the students' NumPy functions with the
library's PyTorch versions in ``rrmbook.marl.losses``.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("otter", reason="needs the grade extra (otter-grader)")

import grading_suite as suite  # noqa: E402
import nbformat  # noqa: E402

NAME = "ch05_exercises"
POINTS = {"q1": 4.0, "q2": 3.0, "q3": 3.0}
FUNCTIONS = {"q1": "truncated_gae", "q2": "clipped_surrogate", "q3": "clipped_value_loss"}
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
    """Each question has a hidden test against its counterpart in rrmbook.marl.losses."""
    hidden = suite.hidden_test_sources(NAME)
    for reference in ("import gae", "import clipped_surrogate as", "import clipped_value_loss as"):
        assert any(f"from rrmbook.marl.losses {reference}" in s for s in hidden), reference


def test_autograder_keeps_hidden_tests_and_points(tmp_path):
    suite.assert_autograder_keeps_hidden_tests_and_points(NAME, POINTS, tmp_path)


def test_several_assignments_need_a_name(tmp_path):
    suite.assert_several_assignments_need_a_name(tmp_path)  # chapters 3, 4 and 5 at least


def test_public_checks_pass_in_the_exercise_with_the_answers_filled_in(tmp_path):
    """What a student sees: ``grader.check`` in the exercise notebook, answers pasted in."""
    suite.assert_public_checks_pass(NAME, len(POINTS), tmp_path)


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
    suite.assert_mistake_loses_points(NAME, FUNCTIONS, mistake, *MISTAKES[mistake])


# ------------------------------------------------------------------------------------------
# grading submissions
# ------------------------------------------------------------------------------------------


def _break_q1_and_q3(nb: nbformat.NotebookNode) -> None:
    """truncated_gae raises when called; clipped_value_loss never returns."""
    suite.raise_when_called(nb, FUNCTIONS["q1"], anchor="    rewards = np.asarray")
    suite.loop_forever_when_called(nb, FUNCTIONS["q3"], anchor="    values = np.asarray")


BROKEN = "broken_q1_q3"
EXPECTED = suite.expected_scores(POINTS, BROKEN, lost=("q1", "q3"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the four submissions against ch05 with solutions/ holding several assignments."""
    tmp = tmp_path_factory.mktemp("grading_ch05")
    return suite.grade_four_submissions(tmp, NAME, BROKEN, _break_q1_and_q3, TIMEOUT)


def test_csv_columns_are_ch05_questions(graded):
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
