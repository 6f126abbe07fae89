"""Chapter 4's graded exercises (multi-cell networks) through the grading pipeline.

``tests/test_grading.py`` tests the pipeline itself on chapter 3; this file checks that the
chapter 4 notebook is in sync, keeps its secrets, gives full marks to its own solution, zero
to the untouched exercise, and loses only the broken questions' points when a function
raises or loops forever.  It also grades with ``solutions/`` holding several assignments, so
the ``assignment=`` selection is exercised.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("otter", reason="needs the grade extra (otter-grader)")

import grading_suite as suite  # noqa: E402
import nbformat  # noqa: E402

NAME = "ch04_exercises"
POINTS = {"q1": 3.0, "q2": 2.0, "q3": 2.0, "q4": 3.0}
FUNCTIONS = {"q1": "sinr", "q2": "spectral_efficiency", "q3": "bits_served", "q4": "wmmse_step"}
TIMEOUT = 6.0  # seconds per cell: short, so the infinite loop below costs little


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


def test_autograder_keeps_hidden_tests_and_points(tmp_path):
    suite.assert_autograder_keeps_hidden_tests_and_points(NAME, POINTS, tmp_path)


def test_several_assignments_need_a_name(tmp_path):
    suite.assert_several_assignments_need_a_name(tmp_path)  # chapter 3 and chapter 4 at least


def test_public_checks_pass_in_the_exercise_with_the_answers_filled_in(tmp_path):
    """What a student sees: ``grader.check`` in the exercise notebook, answers pasted in."""
    suite.assert_public_checks_pass(NAME, len(POINTS), tmp_path)


# Plausible mistakes, each of which must cost points: (question, wrong function, a test that
# must catch it).  They run in this process against the solution's test cells.
def _sinr_own_ap_silent(gain, link_power, serving, noise_w):  # forgets the own AP's other links
    gain, link_power = np.asarray(gain, float), np.asarray(link_power, float)
    owns = (np.asarray(serving)[:, None] == np.arange(gain.shape[-2])).astype(float)
    ap_power = link_power @ owns
    per_ap = ap_power[..., :, None] * gain  # (..., K, N)
    signal = gain[..., serving, np.arange(len(serving))] * link_power
    other = per_ap.sum(axis=-2) - (per_ap * owns.T).sum(axis=-2)
    return signal / (other + noise_w)


def _se_natural_log(sinr, cap_db=30.0):
    return np.log1p(np.minimum(np.asarray(sinr, float), 10 ** (cap_db / 10)))


def _se_cap_in_db(sinr, cap_db=30.0):
    s = np.asarray(sinr, float)
    return np.log2(1 + (s if cap_db is None else np.minimum(s, cap_db)))


def _bits_no_min(rate, bandwidth_hz, slot_s, queue_bits):
    return slot_s * bandwidth_hz * np.sum(rate, axis=-2)


def _bits_first_subband(rate, bandwidth_hz, slot_s, queue_bits):
    return np.minimum(slot_s * bandwidth_hz * np.asarray(rate)[..., 0, :], queue_bits)


def _wmmse(h, weights, p, noise_w, p_max, transpose=False, clip=True):
    g = np.asarray(h, float) ** 2
    direct, v = np.sqrt(np.diag(g)), np.sqrt(np.asarray(p, float))
    into, out_of = (g, g.T) if transpose else (g.T, g)
    u = direct * v / (into @ v**2 + noise_w)
    w = 1.0 / (1.0 - u * direct * v)
    v = weights * w * u * direct / (out_of @ (weights * w * u**2))
    return (np.clip(v, 0.0, np.sqrt(p_max)) if clip else v) ** 2


MISTAKES = {
    "sinr_own_ap_silent": ("q1", _sinr_own_ap_silent, "test_q1_hand_example"),
    "se_natural_log": ("q2", _se_natural_log, "test_q2_examples"),
    "se_cap_in_db": ("q2", _se_cap_in_db, "test_q2_examples"),
    "bits_no_min": ("q3", _bits_no_min, "test_q3_example"),
    "bits_first_subband": ("q3", _bits_first_subband, "test_q3_random_batches"),
    "wmmse_transposed": (
        "q4",
        lambda *a: _wmmse(*a, transpose=True),
        "test_q4_two_links",
    ),
    "wmmse_unclipped": (
        "q4",
        lambda *a: _wmmse(*a, clip=False),
        "test_q4_weighted_sum_rate_never_decreases",
    ),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_plausible_mistakes_lose_points(mistake):
    suite.assert_mistake_loses_points(NAME, FUNCTIONS, mistake, *MISTAKES[mistake])


# ------------------------------------------------------------------------------------------
# grading submissions
# ------------------------------------------------------------------------------------------


def _break_q1_and_q4(nb: nbformat.NotebookNode) -> None:
    """sinr raises when called; wmmse_step never returns."""
    suite.raise_when_called(nb, FUNCTIONS["q1"], anchor="    gain = np.asarray")
    suite.loop_forever_when_called(nb, FUNCTIONS["q4"], anchor="    h = np.asarray")


BROKEN = "broken_q1_q4"
EXPECTED = suite.expected_scores(POINTS, BROKEN, lost=("q1", "q4"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the four submissions against ch04 with solutions/ holding several assignments."""
    tmp = tmp_path_factory.mktemp("grading_ch04")
    return suite.grade_four_submissions(tmp, NAME, BROKEN, _break_q1_and_q4, TIMEOUT)


def test_csv_columns_are_ch04_questions(graded):
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
    q2_to_q3 = text[text.index("## q2") : text.index("## q4")]
    assert "FAILED" not in q2_to_q3


def test_untouched_feedback_says_none_was_returned(graded):
    out, _ = graded
    suite.assert_says_none_was_returned(suite.feedback(out, "untouched"), FUNCTIONS)
