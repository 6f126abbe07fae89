"""Chapter 4's graded exercises (multi-cell networks) through the grading pipeline.

``tests/test_grading.py`` tests the pipeline itself on chapter 3; this file checks that the
chapter 4 notebook is in sync, keeps its secrets, gives full marks to its own solution, zero
to the untouched exercise, and loses only the broken questions' points when a function
raises or loops forever.  It also grades with ``solutions/`` holding several assignments, so
the ``assignment=`` selection is exercised.
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
NAME = "ch04_exercises"
POINTS = {"q1": 3.0, "q2": 2.0, "q3": 2.0, "q4": 3.0}
FUNCTIONS = {"q1": "sinr", "q2": "spectral_efficiency", "q3": "bits_served", "q4": "wmmse_step"}
TIMEOUT = 6.0  # seconds per cell: short, so the infinite loop below costs little


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


def test_autograder_keeps_hidden_tests_and_points(tmp_path):
    autograder = build_autograder(SOLUTIONS / f"{NAME}.ipynb", tmp_path / "ag")
    assert list(autograder.tests) == list(POINTS)
    assert {q: autograder.possible(q) for q in POINTS} == POINTS
    tests_text = "".join(p.read_text() for p in autograder.tests.values())
    for name in names_of_tests(_solution(), hidden=True):
        assert name in tests_text


def test_several_assignments_need_a_name(tmp_path):
    assert len(list(SOLUTIONS.glob("*.ipynb"))) > 1  # chapter 3 and chapter 4 at least
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


def _break_q1_and_q4(nb: nbformat.NotebookNode) -> None:
    """sinr raises when called; wmmse_step never returns."""
    cell = answer_cell(nb, FUNCTIONS["q1"])
    cell.source = cell.source.replace(
        "    gain = np.asarray", "    raise RuntimeError('oops')\n    gain = np.asarray", 1
    )
    cell = answer_cell(nb, FUNCTIONS["q4"])
    cell.source = cell.source.replace(
        "    h = np.asarray", "    while True:\n        pass\n    h = np.asarray", 1
    )
    for function in (FUNCTIONS["q1"], FUNCTIONS["q4"]):
        source = answer_cell(nb, function).source
        compile(source, function, "exec")  # broken at run time, not a syntax error
        assert "oops" in source or "while True" in source


EXPECTED = {
    "solution": POINTS,
    "solved": POINTS,
    "untouched": dict.fromkeys(POINTS, 0.0),
    "broken_q1_q4": {**POINTS, "q1": 0.0, "q4": 0.0},
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the four submissions against ch04 with solutions/ holding several assignments."""
    tmp = tmp_path_factory.mktemp("grading_ch04")
    subs = tmp / "submissions"
    subs.mkdir()
    solved = nbformat.read(
        build_autograder(SOLUTIONS / f"{NAME}.ipynb", tmp / "ag").notebook, as_version=4
    )
    nbformat.write(solved, subs / "solved.ipynb")
    shutil.copy(SOLUTIONS / f"{NAME}.ipynb", subs / "solution.ipynb")
    shutil.copy(EXERCISES / f"{NAME}.ipynb", subs / "untouched.ipynb")
    broken = copy.deepcopy(solved)
    _break_q1_and_q4(broken)
    nbformat.write(broken, subs / "broken_q1_q4.ipynb")
    out = tmp / "out"
    csv_path = grade_submissions(
        subs, out, solutions_dir=SOLUTIONS, assignment=NAME, timeout_per_cell=TIMEOUT
    )
    with csv_path.open() as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return out, rows


def test_csv_columns_are_ch04_questions(graded):
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
    text = (out / "feedback" / "broken_q1_q4.md").read_text()
    assert "RuntimeError: oops" in text
    assert "the tests did not finish within" in text
    q2_to_q3 = text[text.index("## q2") : text.index("## q4")]
    assert "FAILED" not in q2_to_q3


def test_untouched_feedback_says_none_was_returned(graded):
    out, _ = graded
    text = (out / "feedback" / "untouched.md").read_text()
    for function in FUNCTIONS.values():
        assert f"{function} returned None" in text
