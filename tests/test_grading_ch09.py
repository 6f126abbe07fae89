"""Chapter 9's graded exercises (the bookkeeping of proportional-fair scheduling) through the
grading pipeline.

``tests/test_grading.py`` tests the pipeline itself on chapter 3; this file checks that the
chapter 9 notebook is in sync, keeps its secrets, gives full marks to its own solution, zero
to the untouched exercise, and loses only the broken questions' points when a function
raises or loops forever.  Its hidden tests compare the students' NumPy functions with the
library's versions in ``rrmbook.pf``.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("otter", reason="needs the grade extra (otter-grader)")

import grading_suite as suite  # noqa: E402
import nbformat  # noqa: E402

NAME = "ch09_exercises"
POINTS = {"q1": 3.0, "q2": 2.0, "q3": 3.0, "q4": 2.0}
FUNCTIONS = {"q1": "pf_update", "q2": "team_reward", "q3": "score", "q4": "top_n"}
TIMEOUT = 10.0  # seconds per cell: room for importing rrmbook, short enough for the infinite loop


# ------------------------------------------------------------------------------------------
# the exercise notebook
# ------------------------------------------------------------------------------------------


def test_exercise_in_sync_with_solution():
    suite.assert_exercise_in_sync(NAME)


def test_exercise_has_stubs_public_checks_and_no_secrets():
    suite.assert_stubs_public_checks_and_no_secrets(
        NAME, FUNCTIONS, more_secret_lines_than=15, hidden_at_least=5
    )


def test_every_test_checks_for_a_missing_function_and_none():
    """An untouched stub returns None and a deleted cell leaves the name undefined: every test
    must say so instead of failing with an obscure error."""
    suite.assert_every_test_checks_for_a_missing_function_and_none(NAME)


def test_hidden_tests_compare_with_the_library():
    """Each question has a hidden test against its counterpart in rrmbook.pf."""
    hidden = suite.hidden_test_sources(NAME)
    for function in FUNCTIONS.values():
        reference = f"from rrmbook.pf import {function} as reference"
        assert any(reference in s for s in hidden), reference


def test_autograder_keeps_hidden_tests_and_points(tmp_path):
    suite.assert_autograder_keeps_hidden_tests_and_points(NAME, POINTS, tmp_path)


def test_several_assignments_need_a_name(tmp_path):
    suite.assert_several_assignments_need_a_name(tmp_path)  # chapters 3, 4, 5, 8 and 9 at least


def test_public_checks_pass_in_the_exercise_with_the_answers_filled_in(tmp_path):
    """What a student sees: ``grader.check`` in the exercise notebook, answers pasted in."""
    suite.assert_public_checks_pass(NAME, len(POINTS), tmp_path)


# Plausible mistakes, each of which must cost points: (question, wrong function, a test that
# must catch it).  They run in this process against the solution's test cells.
def _pf_update(avg_rate, rate, eta=0.1, floor=1e-2, mode="eta_swapped"):
    old, now = np.asarray(avg_rate, dtype=float), np.asarray(rate, dtype=float)
    new = eta * now + (1 - eta) * old
    if mode == "eta_swapped":  # eta weighs the old average, 1 - eta this step's rate
        new = (1 - eta) * now + eta * old
    if mode == "no_floor":  # the paper's w = 1 / C~, unbounded
        with np.errstate(divide="ignore"):
            return new, 1.0 / new
    if mode == "floored_average":  # the floor applied to the average that is returned
        new = np.maximum(new, floor)
    if mode == "old_average":  # the weight from the average before this step
        return new, 1.0 / np.maximum(old, floor)
    if mode == "floor_added":  # 1 / (C~ + floor) instead of 1 / max(C~, floor)
        return new, 1.0 / (new + floor)
    return new, 1.0 / np.maximum(new, floor)


def _team_reward(weight, rate, lam=0.8, mode="lam_on_rate"):
    w, c = np.asarray(weight, dtype=float), np.asarray(rate, dtype=float)
    if mode == "lam_on_rate":  # the exponent on the rate instead of the weight
        return (w * c**lam).sum(-1)
    if mode == "lam_on_ratio":  # the exponent on the PF ratio w * C
        return ((w * c) ** lam).sum(-1)
    if mode == "sum_all":  # sums over the batch axes too
        return (w**lam * c).sum()
    if mode == "first_axis":  # sums over the first axis instead of the last
        return (w**lam * c).sum(0)
    if mode == "mean":  # averages the UEs instead of summing
        return (w**lam * c).mean(-1)
    return (w**lam * c).sum(-1)


def _score(avg_rates, mu1=None, mu2=3.0, mode="per_episode"):
    rates = np.atleast_2d(np.asarray(avg_rates, dtype=float))
    episodes, ues = rates.shape
    sum_rate = rates.sum(-1).mean()
    p5 = np.percentile(rates, 5)
    if mode == "per_episode":  # a 5th percentile per episode, then their mean
        p5 = np.percentile(rates, 5, axis=-1).mean()
    if mode in ("nearest", "lower"):  # no interpolation between sorted values
        p5 = np.percentile(rates, 5, method=mode)
    if mode == "mu1_one":  # mu1 = 1 instead of 1 / J
        mu1 = 1.0 if mu1 is None else mu1
    if mode == "mu1_or":  # `mu1 or 1 / J` replaces a given mu1 = 0 by 1 / J
        mu1 = mu1 or 1.0 / ues
    if mode == "mu1_all_values":  # 1 / (E J): one over the number of pooled values
        mu1 = 1.0 / rates.size if mu1 is None else mu1
    if mode == "total_sum":  # the sum rate added up over the episodes, not averaged
        sum_rate = rates.sum()
    mu1 = 1.0 / ues if mu1 is None else mu1
    return float(mu1 * sum_rate + mu2 * p5)


def _top_n(ratio, serving, n_aps, n=3, mode="ties_to_larger"):
    ratio, serving = np.asarray(ratio, dtype=float), np.asarray(serving)
    if mode == "ignore_serving":  # every AP picks from all UEs
        serving = np.zeros_like(serving)
    out = np.full(ratio.shape[:-1] + (n_aps, n), -1)
    for index in np.ndindex(ratio.shape[:-1]):
        for ap in range(n_aps if mode != "ignore_serving" else 1):
            mine = np.flatnonzero(serving[index] == ap)
            if mode == "positive_only":  # a UE with ratio 0 taken for "no UE"
                mine = mine[ratio[index][mine] > 0]
            if mode == "ties_to_larger":  # increasing sort, reversed: ties to the larger index
                ranked = mine[np.argsort(ratio[index][mine], kind="stable")[::-1]]
            elif mode == "ascending":  # the smallest ratios first
                ranked = mine[np.argsort(ratio[index][mine], kind="stable")]
            else:
                ranked = mine[np.argsort(-ratio[index][mine], kind="stable")]
            ranked = ranked[:n]
            out[index + (ap, slice(0, len(ranked)))] = ranked
            if mode == "pad_zero":  # missing UEs padded with UE 0
                out[index + (ap, slice(len(ranked), n))] = 0
    if mode == "ignore_serving":
        out[..., 1:, :] = out[..., :1, :]
    return out


def _wrong(function, mode):
    return lambda *args: function(*args, mode=mode)


MISTAKES = {
    "pf_eta_swapped": ("q1", _wrong(_pf_update, "eta_swapped"), "test_q1_example"),
    "pf_eta_swapped_hidden": ("q1", _wrong(_pf_update, "eta_swapped"), "test_q1_matches_library"),
    "pf_no_floor": ("q1", _wrong(_pf_update, "no_floor"), "test_q1_starved_ues_hit_the_floor"),
    "pf_no_floor_hidden": ("q1", _wrong(_pf_update, "no_floor"), "test_q1_matches_library"),
    "pf_floored_average": (
        "q1", _wrong(_pf_update, "floored_average"), "test_q1_starved_ues_hit_the_floor"
    ),
    "pf_old_average": ("q1", _wrong(_pf_update, "old_average"), "test_q1_example"),
    "pf_floor_added": (
        "q1", _wrong(_pf_update, "floor_added"), "test_q1_starved_ues_hit_the_floor"
    ),
    "reward_lam_on_rate": ("q2", _wrong(_team_reward, "lam_on_rate"), "test_q2_example"),
    "reward_lam_on_rate_hidden": (
        "q2", _wrong(_team_reward, "lam_on_rate"), "test_q2_matches_library"
    ),
    "reward_lam_on_ratio": ("q2", _wrong(_team_reward, "lam_on_ratio"), "test_q2_example"),
    "reward_sum_all": ("q2", _wrong(_team_reward, "sum_all"), "test_q2_example"),
    "reward_sum_all_hidden": ("q2", _wrong(_team_reward, "sum_all"), "test_q2_matches_library"),
    "reward_first_axis": ("q2", _wrong(_team_reward, "first_axis"), "test_q2_example"),
    "reward_mean": ("q2", _wrong(_team_reward, "mean"), "test_q2_example"),
    "score_per_episode": ("q3", _wrong(_score, "per_episode"), "test_q3_example"),
    "score_per_episode_hidden": ("q3", _wrong(_score, "per_episode"), "test_q3_matches_library"),
    "score_nearest": ("q3", _wrong(_score, "nearest"), "test_q3_example"),
    "score_nearest_hidden": (
        "q3", _wrong(_score, "nearest"), "test_q3_single_episode_and_starved_ue"
    ),
    "score_lower": ("q3", _wrong(_score, "lower"), "test_q3_matches_library"),
    "score_mu1_one": ("q3", _wrong(_score, "mu1_one"), "test_q3_example"),
    "score_mu1_one_hidden": (
        "q3", _wrong(_score, "mu1_one"), "test_q3_single_episode_and_starved_ue"
    ),
    "score_mu1_or": ("q3", _wrong(_score, "mu1_or"), "test_q3_example"),
    "score_mu1_all_values": ("q3", _wrong(_score, "mu1_all_values"), "test_q3_example"),
    "score_total_sum": ("q3", _wrong(_score, "total_sum"), "test_q3_example"),
    "top_n_ties_to_larger": ("q4", _wrong(_top_n, "ties_to_larger"), "test_q4_example"),
    "top_n_ties_to_larger_hidden": (
        "q4", _wrong(_top_n, "ties_to_larger"), "test_q4_matches_library"
    ),
    "top_n_ascending": ("q4", _wrong(_top_n, "ascending"), "test_q4_example"),
    "top_n_pad_zero": ("q4", _wrong(_top_n, "pad_zero"), "test_q4_example"),
    "top_n_positive_only": ("q4", _wrong(_top_n, "positive_only"), "test_q4_example"),
    "top_n_positive_only_hidden": (
        "q4", _wrong(_top_n, "positive_only"), "test_q4_matches_library"
    ),
    "top_n_ignore_serving": ("q4", _wrong(_top_n, "ignore_serving"), "test_q4_example"),
}


def test_right_answers_of_the_mistake_helpers():
    """The helpers above, with the mistake switched off, agree with the library: so each
    mistake is the one named, not an accident of the helper."""
    from rrmbook import pf

    rng = np.random.default_rng(0)
    avg, rate = rng.exponential(1.0, (3, 20)), rng.exponential(1.0, (3, 20))
    for got, want in zip(_pf_update(avg, rate, 0.1, 0.01, mode=""), pf.pf_update(avg, rate),
                         strict=True):
        assert np.allclose(got, want)
    assert np.allclose(_team_reward(avg, rate, 0.8, mode=""), pf.team_reward(avg, rate))
    assert np.isclose(_score(avg, mode=""), pf.score(avg))
    ratio, serving = rng.integers(0, 3, (5, 20)) * 1.0, rng.integers(0, 4, (5, 20))
    assert np.array_equal(_top_n(ratio, serving, 4, 3, mode=""), pf.top_n(ratio, serving, 4, 3))


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_plausible_mistakes_lose_points(mistake):
    suite.assert_mistake_loses_points(NAME, FUNCTIONS, mistake, *MISTAKES[mistake])


# ------------------------------------------------------------------------------------------
# grading submissions
# ------------------------------------------------------------------------------------------


def _break_q1_and_q3(nb: nbformat.NotebookNode) -> None:
    """pf_update raises when called; score never returns."""
    suite.raise_when_called(nb, FUNCTIONS["q1"], anchor="    old = np.asarray")
    suite.loop_forever_when_called(nb, FUNCTIONS["q3"], anchor="    rates = np.atleast_2d")


BROKEN = "broken_q1_q3"
EXPECTED = suite.expected_scores(POINTS, BROKEN, lost=("q1", "q3"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the four submissions against ch09 with solutions/ holding several assignments."""
    tmp = tmp_path_factory.mktemp("grading_ch09")
    return suite.grade_four_submissions(tmp, NAME, BROKEN, _break_q1_and_q3, TIMEOUT)


def test_csv_columns_are_ch09_questions(graded):
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
    for intact in (text[text.index("## q2") : text.index("## q3")], text[text.index("## q4") :]):
        assert "FAILED" not in intact and "no points" not in intact


def test_untouched_feedback_says_none_was_returned(graded):
    out, _ = graded
    suite.assert_says_none_was_returned(suite.feedback(out, "untouched"), FUNCTIONS)
