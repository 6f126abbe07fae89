"""Every graded assignment through the exercise and grading pipeline: one table, one scenario.

``ASSIGNMENTS`` holds one row per ``solutions/<name>.ipynb``; each test below runs once per row.
The scenario: the exercise notebook is in sync with its solution, keeps its secrets and passes
its own public checks once the answers are filled in; the autograder keeps every hidden test and
the points; and grading four submissions with ``solutions/`` holding several assignments (so
``assignment=`` selects one) gives

* full marks to the correct ones, ``solution`` (the solution notebook) and ``solved`` (the
  autograder's notebook, as a student who solved everything hands it in),
* partial marks to ``broken`` (the solved one with one function that raises and one that loops
  forever): it loses only those two questions and its feedback says why (chapter 3 has none:
  ``tests/test_grading.py`` breaks its questions one way at a time),
* zero to the empty one, ``untouched`` (the exercise as handed out), whose feedback says that
  each function returned None, or that each value is still the stub ``...``.

An answer is a function or a value (a prediction such as ``predicted_delays = [1, 3]``, which
the grader reads as plain data): ``Assignment.functions`` names either.

``MISTAKES`` (at the end) lists per assignment plausible wrong answers, each of which some test
must catch.  ``tests/test_grading.py`` tests the pipeline itself (build, staleness, robustness
against syntax errors, infinite loops, deleted cells and unreadable files) on chapter 3.
"""

from __future__ import annotations

import copy
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

pytest.importorskip("otter", reason="needs the grade extra (otter-grader)")

import grading_suite as suite  # noqa: E402
import nbformat  # noqa: E402
from notebook_helpers import names_of_tests, solution_lines  # noqa: E402

from rrmbook.teaching import build_autograder, stale_exercises  # noqa: E402

Points = dict[str, float]


@dataclass(frozen=True)
class Assignment:
    """One graded assignment and what its tests expect of it."""

    name: str  #: ``solutions/<name>.ipynb``
    points: Points  #: per question, in notebook order
    functions: dict[str, str]  #: the function or value each question asks for, by name
    #: (question, line): ``broken`` raises just before that line, and loops forever just
    #: before this one (an assignment with one function question breaks it one of the two
    #: ways); both None: no ``broken`` submission.
    raises: tuple[str, str] | None
    loops: tuple[str, str] | None
    timeout: float  #: seconds per cell when grading: short, so an infinite loop costs little
    #: The leak checks are not vacuous: more solution lines than this, at least so many hidden
    #: tests.
    secret_lines_over: int
    hidden_at_least: int
    #: Imports of the library's versions that the hidden tests must compare against.
    library: tuple[str, ...] = ()
    #: Whether every test cell checks for None (else one per question does).
    every_test_checks_none: bool = True

    @property
    def id(self) -> str:
        return self.name.removesuffix("_exercises")

    @property
    def lost(self) -> tuple[str, ...]:
        """The questions that ``broken`` loses."""
        return tuple(where[0] for where in (self.raises, self.loops) if where)

    @property
    def expected(self) -> dict[str, Points]:
        """Each submission's points per question, by student."""
        expected = {
            "solution": self.points,
            "solved": self.points,
            "untouched": dict.fromkeys(self.points, 0.0),
        }
        if self.lost:
            expected["broken"] = {**self.points, **dict.fromkeys(self.lost, 0.0)}
        return expected


ASSIGNMENTS = [
    Assignment(
        name="ch01_exercises",
        points={"q1": 3.0, "q2": 3.0, "q3": 4.0},
        functions={"q1": "predicted_delays", "q2": "predicted_genie", "q3": "local_rule"},
        # q1 and q2 ask for values: the one function, a policy the hidden test measures
        # over 2000 slots, loops forever in the broken submission
        raises=None,
        loops=("q3", "    X = np.asarray"),
        timeout=10.0,  # room for importing rrmbook
        secret_lines_over=8,
        hidden_at_least=6,
        library=("from rrmbook.traffic import fifo_delays, queue_step",
                 'rrmbook.baselines.get("gms_multichannel")', "rrmbook.evaluate("),
    ),
    Assignment(
        name="ch02_exercises",
        points={"q1": 3.0, "q2": 4.0, "q3": 3.0},
        functions={"q1": "predicted_spaces", "q2": "actions_to_schedule",
                   "q3": "predicted_slot"},
        # q1 and q3 ask for values: the one function raises in the broken submission
        raises=("q2", "    acts = np.asarray"),
        loops=None,
        timeout=10.0,  # room for importing rrmbook
        secret_lines_over=8,
        hidden_at_least=7,
        library=("rrmbook.ConflictGraphEnv(", "env.actions_to_schedule(",
                 "from rrmbook.conflict import conflict_success", "env.rewards("),
    ),
    Assignment(
        name="ch03_exercises",
        points={"q1": 4.0, "q2": 4.0, "q3": 2.0},
        functions={"q1": "success", "q2": "gms", "q3": "queue_update"},
        # tests/test_grading.py breaks chapter 3's questions one at a time, in more ways
        raises=None,
        loops=None,
        timeout=6.0,
        secret_lines_over=10,
        hidden_at_least=5,
        every_test_checks_none=False,  # the shape tests do, the others rely on them
    ),
    Assignment(
        name="ch04_exercises",
        points={"q1": 3.0, "q2": 2.0, "q3": 2.0, "q4": 3.0},
        functions={"q1": "predicted_sinr", "q2": "spectral_efficiency", "q3": "bits_served",
                   "q4": "wmmse_step"},
        raises=("q2", "    s = np.asarray"),
        loops=("q4", "    h = np.asarray"),
        timeout=6.0,
        secret_lines_over=10,
        hidden_at_least=8,
        library=("from rrmbook.channel import downlink_sinr, spectral_efficiency",
                 "from rrmbook.channel import spectral_efficiency as reference",
                 "from rrmbook.baselines.cellular import wmmse_powers"),
    ),
    Assignment(
        name="ch05_exercises",
        points={"q1": 4.0, "q2": 3.0, "q3": 3.0},
        functions={"q1": "predicted_advantages", "q2": "clipped_surrogate",
                   "q3": "clipped_value_loss"},
        raises=("q2", "    ratio = np.asarray"),
        loops=("q3", "    values = np.asarray"),
        timeout=10.0,  # room for importing torch
        secret_lines_over=7,
        hidden_at_least=8,
        library=("from rrmbook.marl.losses import gae",
                 "from rrmbook.marl.losses import clipped_surrogate as",
                 "from rrmbook.marl.losses import clipped_value_loss as"),
    ),
    Assignment(
        name="ch06_exercises",
        points={"q1": 4.0, "q2": 3.0, "q3": 3.0},
        functions={"q1": "local_rule", "q2": "fig8_reading", "q3": "predicted_random"},
        # q2 and q3 ask for values: the one function, a policy the hidden test measures,
        # loops forever in the broken submission
        raises=None,
        loops=("q1", "    X = np.asarray"),
        timeout=10.0,  # room for importing torch (load_sweep)
        secret_lines_over=12,
        hidden_at_least=8,
        library=('rrmbook.baselines.get("llq")', 'rrmbook.baselines.get("gms")',
                 'load_sweep("fig8")', "aggressiveness(log)"),
    ),
    Assignment(
        name="ch07_exercises",
        points={"q1": 4.0, "q2": 3.0, "q3": 3.0},
        functions={"q1": "power_rule", "q2": "fig9_fig10", "q3": "last_sinr"},
        raises=("q1", "    X = np.asarray"),
        loops=("q3", "    blocks = np.asarray"),  # q3 has the fewest calls to time out
        timeout=10.0,  # room for importing torch (load_sweep)
        secret_lines_over=10,
        hidden_at_least=6,
        library=('rrmbook.baselines.get("full_power", family="cellular")',
                 'rrmbook.baselines.get("fair_itlinq", family="cellular")',
                 'load_sweep("fig9")', 'load_sweep("fig10")', "env.rates(gain, power)"),
    ),
    Assignment(
        name="ch08_exercises",
        points={"q1": 4.0, "q2": 3.0, "q3": 3.0},
        functions={"q1": "predicted_cql", "q2": "vdn_joint_logsumexp",
                   "q3": "soft_state_value"},
        raises=("q2", "    values = np.asarray"),
        loops=("q3", "    q = np.asarray"),
        timeout=10.0,  # room for importing torch
        secret_lines_over=7,
        hidden_at_least=8,
        library=("from rrmbook.offline.losses import cql_penalty, sac_critic_loss",
                 "from rrmbook.offline.losses import joint_q_table, vdn_logsumexp",
                 "from rrmbook.offline.losses import soft_state_value as"),
    ),
    Assignment(
        name="ch09_exercises",
        points={"q1": 3.0, "q2": 2.0, "q3": 3.0, "q4": 2.0},
        functions={"q1": "predicted_pf", "q2": "team_reward", "q3": "score", "q4": "top_n"},
        raises=("q2", "    w = np.asarray"),
        loops=("q3", "    rates = np.atleast_2d"),
        timeout=10.0,  # room for importing rrmbook
        secret_lines_over=15,
        hidden_at_least=7,
        library=("from rrmbook.pf import pf_ratio, pf_update",
                 *(f"from rrmbook.pf import {f} as reference"
                   for f in ("team_reward", "score", "top_n"))),
    ),
]


def _ids(assignment: Assignment) -> str:
    return assignment.id


@pytest.fixture(scope="module", params=ASSIGNMENTS, ids=_ids)
def assignment(request) -> Assignment:
    return request.param


def _answer_cell(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The code cell that defines the answer ``name``: a function (``def name(``) or a value
    (a line ``name = ...``)."""
    defines = re.compile(rf"^(def {name}\(|{name} = )", flags=re.MULTILINE)
    return next(c for c in nb.cells if c.cell_type == "code" and defines.search(c.source))


# ------------------------------------------------------------------------------------------
# the exercise notebook
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stale() -> list[str]:
    """The out-of-date exercise notebooks (one build of them all, for every row)."""
    return stale_exercises(suite.SOLUTIONS, suite.EXERCISES)


def test_every_solution_has_a_row_and_exercises_are_in_sync(stale):
    """A new assignment needs a row above; no exercise notebook is stale or without a
    solution."""
    assert sorted(a.name for a in ASSIGNMENTS) == sorted(
        p.stem for p in suite.SOLUTIONS.glob("*.ipynb")
    )
    assert stale == [], "run `rrmbook exercises build`"


def test_exercise_in_sync_with_solution(assignment, stale):
    assert (suite.EXERCISES / f"{assignment.name}.ipynb").is_file(), "run `rrmbook exercises build`"
    assert f"{assignment.name}.ipynb" not in stale, "run `rrmbook exercises build`"


def test_exercise_has_stubs_public_checks_and_no_secrets(assignment):
    """The exercise shows no solution line and no hidden test name, but every public test, a
    ``grader.check`` per question, a ``...`` stub per answer and no outputs."""
    solution, exercise = suite.read_solution(assignment.name), suite.read_exercise(assignment.name)
    text = suite.code_and_metadata(exercise)
    secret_lines, hidden = solution_lines(solution), names_of_tests(solution, hidden=True)
    assert len(secret_lines) > assignment.secret_lines_over  # the checks below are not vacuous
    assert len(hidden) >= assignment.hidden_at_least
    for line in secret_lines:
        assert line not in text, f"solution code leaked into the exercise: {line}"
    for test in hidden:
        assert test not in text, f"hidden test leaked into the exercise: {test}"
    for test in names_of_tests(solution, hidden=False):
        assert test in text, f"public test missing from the exercise: {test}"
    assert "BEGIN SOLUTION" not in text and "# HIDDEN" not in text
    for question, function in assignment.functions.items():
        assert f'grader.check("{question}")' in text
        assert _answer_cell(exercise, function).source.rstrip().endswith("..."), function
    assert all(not c.get("outputs") for c in exercise.cells if c.cell_type == "code")


def test_every_test_checks_for_a_missing_function_and_none(assignment):
    """An untouched stub returns None (a function) or is ``...`` (a value) and a deleted cell
    leaves the name undefined (None): every test must say so instead of failing with an
    obscure error (chapter 3: its first test per question checks for None, the others rely
    on it)."""
    checks_none = set()
    for cell in suite.read_solution(assignment.name).cells:
        if cell.cell_type != "code" or "def test_" not in cell.source:
            continue
        answer = suite.tested_function(cell)
        assert (f"assert callable({answer})" in cell.source
                or f"assert {answer} is not ...," in cell.source), cell.id
        if assignment.every_test_checks_none:
            assert "is not None" in cell.source, cell.id
        elif "is not None" in cell.source:
            checks_none.add(cell.id.split("-")[0])
    if not assignment.every_test_checks_none:
        assert checks_none == set(assignment.points)


@pytest.mark.parametrize("row", [a for a in ASSIGNMENTS if a.library], ids=_ids)
def test_hidden_tests_compare_with_the_library(row):
    """Each question has a hidden test against its counterpart in the library."""
    hidden = suite.hidden_test_sources(row.name)
    for reference in row.library:
        assert any(reference in s for s in hidden), reference


def test_autograder_keeps_hidden_tests_and_points(assignment, tmp_path):
    """One test file per question, with its points and every hidden test."""
    autograder = build_autograder(suite.SOLUTIONS / f"{assignment.name}.ipynb", tmp_path / "ag")
    assert list(autograder.tests) == list(assignment.points)
    assert {q: autograder.possible(q) for q in assignment.points} == assignment.points
    tests_text = "".join(p.read_text() for p in autograder.tests.values())
    for test in names_of_tests(suite.read_solution(assignment.name), hidden=True):
        assert test in tests_text


def test_public_checks_pass_in_the_exercise_with_the_answers_filled_in(assignment, tmp_path):
    """What a student sees: the exercise notebook with the solution's answer cells pasted in
    has a ``grader.check`` cell per question and each says all tests passed, also when the
    student renamed the notebook and keeps other exercises in the same folder."""
    from nbclient import NotebookClient

    name = assignment.name
    answers = {c.id: c.source for c in suite.read_solution(name).cells if c.id.endswith("-answer")}
    nb = suite.read_exercise(name)
    for cell in nb.cells:
        cell.source = answers.get(cell.id, cell.source)
    # otter.Notebook reads the public tests from the notebook's file: a renamed copy, found
    # among the other assignments' notebooks by its metadata
    nbformat.write(nb, tmp_path / f"Copy of {name} (mine).ipynb")
    for other in suite.EXERCISES.glob("*.ipynb"):
        if other.stem != name:
            shutil.copy(other, tmp_path / other.name)
    NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()
    checks = [c for c in nb.cells if c.cell_type == "code" and "grader.check(" in c.source]
    assert len(checks) == len(assignment.points)
    for cell in checks:
        text = "".join(str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs)
        assert "All test cases passed" in text, (cell.source, text)


# ------------------------------------------------------------------------------------------
# grading four submissions
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graded(assignment, tmp_path_factory):
    """Grade the submissions against the assignment, with solutions/ holding several; return
    the output folder and the rows of grades.csv by student."""
    tmp = tmp_path_factory.mktemp(f"grading_{assignment.id}")
    subs = tmp / "submissions"
    subs.mkdir()
    solved = suite.solved_notebook(assignment.name, tmp / "ag")
    nbformat.write(solved, subs / "solved.ipynb")
    shutil.copy(suite.SOLUTIONS / f"{assignment.name}.ipynb", subs / "solution.ipynb")
    shutil.copy(suite.EXERCISES / f"{assignment.name}.ipynb", subs / "untouched.ipynb")
    if assignment.lost:
        broken = copy.deepcopy(solved)
        if assignment.raises:
            question, line = assignment.raises
            suite.raise_when_called(broken, assignment.functions[question], anchor=line)
        if assignment.loops:
            question, line = assignment.loops
            suite.loop_forever_when_called(broken, assignment.functions[question], anchor=line)
        nbformat.write(broken, subs / "broken.ipynb")
    out = tmp / "out" / assignment.name
    return out, suite.grade_folder(subs, out, assignment.name, assignment.timeout)


def test_csv_has_a_row_per_student_and_a_column_per_question(assignment, graded):
    _, rows = graded
    assert sorted(rows) == sorted(assignment.expected)
    assert list(next(iter(rows.values()))) == ["student", "file", *assignment.points, "total", "status"]


def test_scores(assignment, graded):
    """Each student got the expected points per question and in total, and a feedback file."""
    out, rows = graded
    expected = assignment.expected
    assert {s: {q: float(rows[s][q]) for q in assignment.points} for s in expected} == expected
    assert {s: float(rows[s]["total"]) for s in expected} == {
        s: sum(points.values()) for s, points in expected.items()
    }
    for student in expected:
        assert (out / "feedback" / f"{student}.md").is_file(), student


def test_solution_has_full_marks_and_no_notes(assignment, graded):
    """The exercise with the answers filled in scores full marks with nothing to note; so
    does the instructor's solution notebook, whose own test cells compare with the library:
    in the sandbox those comparisons are refused (noted), which costs nothing."""
    out, rows = graded
    total = sum(assignment.points.values())
    marks = f"{total:g} / {total:g}"  # 10 / 10 for every assignment so far
    solved = suite.feedback(out, "solved")
    assert f"**{marks}**" in solved and "FAILED" not in solved
    assert "Notes on your notebook" not in solved
    solution = suite.feedback(out, "solution")
    assert f"**{marks}**" in solution and "FAILED" not in solution
    notes = solution.split("## Notes on your notebook", 1)[1:]
    assert all("is not available while your work is graded" in line
               for line in "".join(notes).splitlines() if line.startswith("- "))
    assert rows["solved"]["status"] == rows["solution"]["status"] == "ok"


def test_broken_feedback_names_the_exception_and_the_loop(assignment, graded):
    """The feedback names the ``RuntimeError('oops')`` and the tests that did not finish, and
    shows nothing failed in the other questions."""
    if not assignment.lost:
        pytest.skip("no broken submission for this assignment (see the comment in its row)")
    out, _ = graded
    text = suite.feedback(out, "broken")
    assert ("RuntimeError: oops" in text) == bool(assignment.raises)
    assert ("did not finish within" in text) == bool(assignment.loops)
    intact = [q for q in assignment.points if q not in assignment.lost]
    assert intact
    for question in intact:
        section = suite.question_section(text, question, list(assignment.points))
        assert "FAILED" not in section and "no points" not in section, question


def test_untouched_feedback_says_none_was_returned(assignment, graded):
    """The handout's stubs: each function returned None, each value is still ``...``."""
    out, _ = graded
    text = suite.feedback(out, "untouched")
    for answer in assignment.functions.values():
        assert f"{answer} returned None" in text or f"{answer} is still ..." in text, answer


# ------------------------------------------------------------------------------------------
# plausible mistakes, each of which must cost points: (question, wrong function, a test that
# must catch it).  They run in this process against the solution's test cells.
# ------------------------------------------------------------------------------------------

# chapter 1 ---------------------------------------------------------------------------------


def _careless(X):  # Section 1.5: every agent serves its longer queue on every subband
    own = np.asarray(X)[:, :, :2]
    choice = np.where(own.max(axis=2) > 0, own.argmax(axis=2) + 1, 0)
    return np.repeat(choice[:, :, None], 3, axis=2)


def _longest_in_the_network(X):  # an agent talks when its queues are the longest: global view
    own = np.asarray(X)[:, :, :2]
    talks = own.sum(axis=2) >= own.sum(axis=2).max(axis=1, keepdims=True)
    return np.where(talks[:, :, None], _careless(X), 0)


def _polite(X):  # Exercise 1.2's coin flips: random, so the same X gives other actions
    actions = _careless(X)
    return np.where(np.random.default_rng().random(actions.shape) < 0.5, actions, 0)


def _one_subband(X):  # everyone on subband 0 only: neighbours still collide
    actions = np.zeros_like(_careless(X))
    actions[:, :, 0] = _careless(X)[:, :, 0]
    return actions


CH01_MISTAKES = {
    "delays_without_the_slot": ("q1", [0, 2, 1, 1, 1], "test_q1_delays"),
    "delays_without_the_slot_public": ("q1", [0, 2, 1, 1, 1], "test_q1_form"),
    "lost_success_kept": ("q1", [1, 3, 1, 1, 2, 2], "test_q1_number_delivered"),
    "last_in_first_out": ("q1", [1, 3, 1, 2, 2], "test_q1_delays"),
    "queued_packet_counted": ("q1", [1, 3, 2, 2, 2, 2], "test_q1_number_delivered"),
    "throughput_is_the_load": ("q2", [0.5, 0.95, 0.0], "test_q2_below_capacity"),
    "no_capacity_limit": ("q2", [4.0, 7.6, 0.0], "test_q2_above_capacity"),
    "no_capacity_limit_growth": ("q2", [4.0, 7.6, 0.0], "test_q2_backlog_growth"),
    "capacity_of_one_subband": ("q2", [4.0, 2.0, 5.6], "test_q2_above_capacity"),
    "careless_rule": ("q3", _careless, "test_q3_keeps_up"),
    "one_subband_for_all": ("q3", _one_subband, "test_q3_keeps_up"),
    "global_view": ("q3", _longest_in_the_network, "test_q3_decentralised"),
    "random_politeness": ("q3", _polite, "test_q3_decentralised"),
    "float_actions": ("q3", lambda X: _careless(X) * 1.0, "test_q3_actions"),
}

# chapter 2 ---------------------------------------------------------------------------------


def _schedule(actions, agent_devices, n_devices, mode="negative_indices"):
    acts = np.asarray(actions)
    out = np.zeros((acts.shape[0], acts.shape[2], n_devices), dtype=bool)
    for (b, k, h), a in np.ndenumerate(acts):
        if a == 0 and mode == "dummies_kept":  # silence fixed, dummy devices still scheduled
            continue
        out[b, h, agent_devices[k, a - 1]] = True  # a - 1 = -1 and a pad -1: device N - 1
    return out.transpose(0, 2, 1) if mode == "axes_swapped" else out


_SPACES = {"obs_dim": 12, "n_actions": 4, "agent_actions": 16, "pads_in_X2": 9}
_SERVED = [0, 0, 0, 1, 0, 1, 1, 0]

CH02_MISTAKES = {
    "out_neighbours_only": ("q1", {**_SPACES, "obs_dim": 9, "pads_in_X2": 6}, "test_q1_obs_dim"),
    "actions_added_not_multiplied": ("q1", {**_SPACES, "agent_actions": 8}, "test_q1_actions"),
    "own_devices_only": ("q1", {**_SPACES, "n_actions": 3, "agent_actions": 9},
                         "test_q1_actions"),
    "padding_forgotten": ("q1", {**_SPACES, "pads_in_X2": 0}, "test_q1_padding"),
    "the_colleagues_function": ("q2", _schedule, "test_q2_paper_cg8"),
    "dummies_kept": (
        "q2", lambda *a: _schedule(*a, mode="dummies_kept"), "test_q2_dummy_devices"
    ),
    "dummies_kept_hidden": (
        "q2", lambda *a: _schedule(*a, mode="dummies_kept"), "test_q2_matches_library"
    ),
    "axes_swapped": ("q2", lambda *a: _schedule(*a, mode="axes_swapped"), "test_q2_paper_cg8"),
    "failed_transmissions_harmless": (
        "q3", {"served": [0, 1, 0, 1, 0, 1, 1, 0], "rewards": [-5, -7, -6, -6]}, "test_q3_served"
    ),
    "one_way_taken_both_ways": (
        "q3", {"served": [0, 0, 0, 1, 0, 0, 1, 0], "rewards": [-6, -9, -7, -8]}, "test_q3_served"
    ),
    "more_packets_than_queued": (
        "q3", {"served": [0, 0, 0, 1, 0, 1, 2, 0], "rewards": [-6, -8, -6, -7]}, "test_q3_served"
    ),
    "selfish_rewards": ("q3", {"served": _SERVED, "rewards": [-3, -2, -3, -1]},
                        "test_q3_rewards_follow_from_served"),
    "team_reward": ("q3", {"served": _SERVED, "rewards": [-9, -9, -9, -9]}, "test_q3_rewards"),
    "rewards_before_service": ("q3", {"served": _SERVED, "rewards": [-8, -10, -9, -9]},
                               "test_q3_rewards"),
}

# chapter 3 ---------------------------------------------------------------------------------


def _gms(queues, exclusion, mode="colleague"):
    """GMS as one pass over the devices, longest queue first: with the colleague's bugs of
    question 2 (``mode="colleague"``), with one of them, or right (any other mode)."""
    queues, exclusion = np.asarray(queues), np.asarray(exclusion, dtype=bool)
    if mode in ("colleague", "ties_to_larger"):  # an increasing sort, reversed
        order = np.argsort(queues, kind="stable")[::-1]
    else:
        order = np.argsort(-queues, kind="stable")
    schedule, last = np.zeros(len(queues), dtype=bool), None
    for n in order:
        first = last is None  # the colleague schedules the first device, even if it is empty
        if queues[n] == 0 and not (first and mode in ("colleague", "empty_first")):
            continue
        if first:
            blocked = False
        elif mode in ("colleague", "last_only"):  # checked against the last pick only
            blocked = exclusion[last, n]
        else:
            blocked = exclusion[n, schedule].any()
        if not blocked:
            schedule[n], last = True, n
    return schedule


def test_right_answer_of_the_ch03_mistake_helper():
    """``_gms`` with the mistakes switched off is the solution's GMS, so each mistake is the
    one named, not an accident of the helper."""
    from rrmbook.conflict import adjacency_matrix, exclusion_matrix, random_conflict_graph

    exec(_answer_cell(suite.read_solution("ch03_exercises"), "gms").source,
         namespace := {"np": np})
    rng = np.random.default_rng(0)
    for seed in range(40):
        graph = random_conflict_graph(n_agents=2 + seed % 6, devices_per_agent=2, density=0.3,
                                      seed=seed)
        exclusion = exclusion_matrix(adjacency_matrix(graph))
        queues = rng.integers(0, 3, size=exclusion.shape[0])
        assert np.array_equal(_gms(queues, exclusion, mode=""),
                              namespace["gms"](queues, exclusion))


CH03_MISTAKES = {
    "the_colleagues_function": ("q2", _gms, "test_q2_paper_example"),
    "the_colleagues_function_hidden": ("q2", _gms, "test_q2_independent_and_maximal"),
    "ties_to_the_larger_index": (
        "q2", lambda *a: _gms(*a, mode="ties_to_larger"), "test_q2_paper_example"
    ),
    "ties_to_the_larger_index_hidden": (
        "q2", lambda *a: _gms(*a, mode="ties_to_larger"), "test_q2_matches_reference"
    ),
    "checks_the_last_pick_only": (
        "q2", lambda *a: _gms(*a, mode="last_only"), "test_q2_independent_and_maximal"
    ),
    "schedules_an_empty_queue": (
        "q2", lambda *a: _gms(*a, mode="empty_first"), "test_q2_shape_and_empty_queues"
    ),
}

# chapter 4 ---------------------------------------------------------------------------------


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


_ALLOCATIONS = {"A": [0.75, 0.5, 2.0], "B": [6.0, 0.0, 2.0], "larger": "B"}

CH04_MISTAKES = {
    "own_ap_silent": (  # the own AP's power on its other link forgotten: A looks better
        "q1", {"A": [3.0, 1.0, 2.0], "B": [6.0, 0.0, 2.0], "larger": "A"}, "test_q1_sinr_a"
    ),
    "own_ap_silent_verdict": (
        "q1", {"A": [3.0, 1.0, 2.0], "B": [6.0, 0.0, 2.0], "larger": "A"}, "test_q1_larger"
    ),
    "own_signal_as_interference": (  # the denominator keeps the device's own signal
        "q1", {**_ALLOCATIONS, "A": [6 / 14, 2 / 6, 6 / 9]}, "test_q1_sinr_a"
    ),
    "one_link_of_the_other_ap": (  # device 2 hears AP 0's power on device 0's link only
        "q1", {**_ALLOCATIONS, "A": [0.75, 0.5, 3.0]}, "test_q1_sinr_a"
    ),
    "in_db": ("q1", {**_ALLOCATIONS, "B": [7.78, 0.0, 3.01]}, "test_q1_sinr_b"),
    "more_links_more_rate": ("q1", {**_ALLOCATIONS, "larger": "A"}, "test_q1_larger"),
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

# chapter 5 ---------------------------------------------------------------------------------


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


#: question 1's rollout: rewards, V(x_0..x_3), the values of what followed each slot
#: (V(x_1), V(x_end), V(x_3), V(x_4)) and the cut after slot 1; gamma = lambda = 0.5
_ROLLOUT = ([-1.0, -1.0, -1.0, -2.0], [-4.0, -3.0, -6.0, -4.0], [-3.0, -2.0, -4.0, -2.0],
            [False, True, False, False])


def _advantages(mode="right", next_values=_ROLLOUT[2]):
    rewards, values, _, cut = _ROLLOUT
    return _gae(rewards, values, next_values, cut, 0.5, 0.5, mode=mode).tolist()


CH05_MISTAKES = {
    "gae_ignores_cut": ("q1", _advantages("ignore_cut"), "test_q1_cut_slot"),
    "gae_cut_is_terminal": ("q1", _advantages("terminal"), "test_q1_cut_slot"),
    "gae_next_episode_at_the_cut": (  # V(x_2), the new episode's first observation
        "q1", _advantages(next_values=[-3.0, -6.0, -4.0, -2.0]), "test_q1_cut_slot"
    ),
    "gae_next_episode_before_the_cut": (
        "q1", _advantages(next_values=[-3.0, -6.0, -4.0, -2.0]), "test_q1_before_the_cut"
    ),
    "gae_no_bootstrap_at_the_end": (  # the rollout's end taken for a terminal state
        "q1", _advantages(next_values=[-3.0, -2.0, -4.0, 0.0]), "test_q1_last_slot"
    ),
    "gae_forgets_lambda": ("q1", _advantages("no_lambda"), "test_q1_new_episode"),
    "gae_forgets_lambda_before_the_cut": (
        "q1", _advantages("no_lambda"), "test_q1_before_the_cut"
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

# chapter 6 ---------------------------------------------------------------------------------


def _reuse_two(X, third="none"):
    """The shared network's reserved subbands (agents 0 and 2 on subband 0, 1 and 3 on 1),
    each agent serving its longer queue, and a rule for subband 2."""
    X = np.asarray(X)
    own = X[:, :, :2]
    longest = np.where(own.max(axis=2) > 0, own.argmax(axis=2) + 1, 0)
    plan = np.zeros((X.shape[0], 4, 3), dtype=np.int64)
    plan[:, [0, 2], 0] = longest[:, [0, 2]]
    plan[:, [1, 3], 1] = longest[:, [1, 3]]
    if third == "fixed":  # chapter 1's plan: devices 1 and 6, whatever the queues
        plan[:, 0, 2] = np.where(own[:, 0, 1] > 0, 2, 0)
        plan[:, 3, 2] = np.where(own[:, 3, 0] > 0, 1, 0)
    if third == "own_backlog":  # blind to the neighbours: whenever 3 packets or more wait
        plan[:, :, 2] = np.where(own.sum(axis=2) >= 3, longest, 0)
    return plan


def _agent_llq(X):  # all three subbands to the agent with the most packets among its neighbours
    X = np.asarray(X)
    own = X[:, :, :2]
    total = own.sum(axis=2)
    longest = np.where(own.max(axis=2) > 0, own.argmax(axis=2) + 1, 0)
    k = np.arange(4)
    wins = np.ones_like(total, dtype=bool)
    for block, agent in ((X[:, :, 2:4], [1, 0, 1, 0]), (X[:, :, 4:6], [3, 2, 3, 2])):
        rival = block.sum(axis=2)
        wins &= (total > rival) | ((total == rival) & (k < np.array(agent)))
    return np.repeat(np.where(wins & (total > 0), longest, 0)[:, :, None], 3, axis=2)


def _busiest_in_the_network(X):  # subband 2 to the busiest agent of the whole network
    X = np.asarray(X)
    plan = _reuse_two(X)
    total = X[:, :, :2].sum(axis=2)
    busiest = total.argmax(axis=1)
    rows = np.arange(X.shape[0])
    plan[rows, busiest, 2] = np.where(total[rows, busiest] > 0,
                                      X[rows, busiest, :2].argmax(axis=1) + 1, 0)
    return plan


_FIG8 = {"extra_packets": 1.253, "waited_shared": 2.683, "waited_gms": 3.054}
_RANDOM = {"collision_share": 2 / 3, "non_independent_share": 20 / 27, "conflicting_success": 1 / 7}

CH06_MISTAKES = {
    "careless_at_heavy_load": ("q1", _careless, "test_q1_beats_llq"),
    "reserved_subbands_only": ("q1", _reuse_two, "test_q1_beats_llq"),
    "fixed_plan_of_chapter_1": (
        "q1", lambda X: _reuse_two(X, third="fixed"), "test_q1_beats_llq"
    ),
    "agent_level_llq": ("q1", _agent_llq, "test_q1_beats_llq"),
    "blind_to_the_neighbours": (
        "q1", lambda X: _reuse_two(X, third="own_backlog"), "test_q1_beats_gms"
    ),
    "global_view": ("q1", _busiest_in_the_network, "test_q1_decentralised"),
    "global_view_hidden": ("q1", _busiest_in_the_network, "test_q1_beats_llq"),
    "float_actions": ("q1", lambda X: _reuse_two(X) * 1.0, "test_q1_actions"),
    "little_per_device": (  # the arrival rate of one device, not of the network
        "q2", {**_FIG8, "extra_packets": 0.5 * (1.5288 - 1.2155)}, "test_q2_extra_packets"
    ),
    "little_without_the_difference": (
        "q2", {**_FIG8, "extra_packets": 4 * 1.5288}, "test_q2_extra_packets"
    ),
    "waited_counts_every_packet": (  # W / (1 - w): the one-slot packets' slot not taken out
        "q2", {**_FIG8, "waited_shared": 1.5288 / 0.3142}, "test_q2_waited_shared"
    ),
    "waited_minus_one_slot": ("q2", {**_FIG8, "waited_shared": 0.5288}, "test_q2_waited_shared"),
    "waited_gms_counts_every_packet": (
        "q2", {**_FIG8, "waited_gms": 2.1525 / 0.5611}, "test_q2_waited_gms"
    ),
    "both_neighbours_block": (  # any neighbour on the subband spoils a device
        "q3", {**_RANDOM, "collision_share": 8 / 9}, "test_q3_collision_share"
    ),
    "neighbour_pairs_independent": (  # (2/3)^4: the four pairs of the ring taken as independent
        "q3", {**_RANDOM, "non_independent_share": 1 - (2 / 3) ** 4},
        "test_q3_non_independent_share"
    ),
    "symmetric_conflicts": (
        "q3", {**_RANDOM, "conflicting_success": 0.0}, "test_q3_conflicting_success"
    ),
    "conflicting_success_of_all": (  # divided by all transmissions, not the conflicting ones
        "q3", {**_RANDOM, "conflicting_success": 1 / 9}, "test_q3_conflicting_success"
    ),
}

# chapter 7 ---------------------------------------------------------------------------------


def _longest_at(X, level):
    """Every AP serves its longest queue on every subband at one fixed power ``level``
    (``level`` an array: one per AP)."""
    X = np.asarray(X)
    queues = X.reshape(X.shape[0], X.shape[1], -1, 13)[:, :, :3, 0]
    actions = np.zeros(queues.shape[:2] + (3, 2), dtype=np.int64)
    actions[..., 0] = np.where(queues.max(axis=2) > 0, queues.argmax(axis=2) + 1, 0)[..., None]
    actions[..., 1] = np.broadcast_to(level, queues.shape[:2])[..., None]
    return actions


def _queue_times_snr(X):  # max-weight with last slot's SNR, everyone at full power
    X = np.asarray(X)
    own = X.reshape(X.shape[0], X.shape[1], -1, 13)[:, :, :3]
    weight = own[..., :1] * own[..., 1::4][..., :3]                      # (B, K, 3, H)
    pick = weight.argmax(axis=2)
    queued = np.take_along_axis(own[..., 0], pick, axis=2) > 0
    actions = np.zeros(own.shape[:2] + (3, 2), dtype=np.int64)
    actions[..., 0] = np.where(queued, pick + 1, 0)
    actions[..., 1] = 5
    return actions


def _loudest_in_the_network(X):  # full power only for the APs above the network's median queue
    X = np.asarray(X)
    top = X.reshape(X.shape[0], X.shape[1], -1, 13)[:, :, :3, 0].max(axis=2)
    return _longest_at(X, np.where(top >= np.median(top, axis=1, keepdims=True), 5, 2))


def _sinr(features, mode):
    f = np.asarray(features, dtype=float)
    snr, power, inr, rate = f[..., 1::4], f[..., 2::4], f[..., 3::4], f[..., 4::4]
    if mode == "colleague":  # the buggy cell: dB / 10 read as dB, the share added to decibels
        return 10 ** ((snr + power - inr) / 10)
    if mode == "db_scale":  # the share fixed, the features still read as dB
        return 10 ** ((snr - inr) / 10) * power
    if mode == "power_ignored":  # the SINR at P_max, also where the link was silent
        return 10.0 ** (snr - inr)
    if mode == "from_rate":  # inverts the spectral efficiency, which is capped at 30 dB
        return 2.0 ** (rate * np.log2(1001)) - 1
    if mode == "in_place":  # right values, but written into the caller's array
        f = np.asarray(features)
        f[..., 1::4] -= f[..., 3::4]
        return 10.0 ** f[..., 1::4] * f[..., 2::4]
    raise ValueError(mode)


_FIG9 = {"hex_shared": [11.62, 26.04], "random_separate": 22.2, "fp_packets": 64.84}

CH07_MISTAKES = {
    "full_power_again": ("q1", lambda X: _longest_at(X, 5), "test_q1_beats_full_power"),
    "everyone_turned_down": ("q1", lambda X: _longest_at(X, 3), "test_q1_beats_full_power"),
    "queue_times_snr": ("q1", _queue_times_snr, "test_q1_beats_fair_itlinq"),
    "global_view": ("q1", _loudest_in_the_network, "test_q1_decentralised"),
    "global_view_hidden": ("q1", _loudest_in_the_network, "test_q1_beats_full_power"),
    "no_power_column": ("q1", lambda X: _longest_at(X, 5)[..., 0], "test_q1_actions"),
    "float_actions": ("q1", lambda X: _longest_at(X, 5) * 1.0, "test_q1_actions"),
    "level_six": ("q1", lambda X: _longest_at(X, 6), "test_q1_actions"),
    "loads_of_the_verdicts": (  # the sweep loads with a "lower" verdict, not the crossings
        "q2", {**_FIG9, "hex_shared": [15.0, 25.0]}, "test_q2_hex_shared"
    ),
    "random_from_the_verdicts": ("q2", {**_FIG9, "random_separate": 25.0},
                                 "test_q2_random_separate"),
    "little_in_ms": ("q2", {**_FIG9, "fp_packets": 64837.5}, "test_q2_fp_packets"),
    "little_per_device": ("q2", {**_FIG9, "fp_packets": 64.84 / 57}, "test_q2_fp_packets"),
    "little_in_slots_and_seconds": (  # packets per second times the delay in slots
        "q2", {**_FIG9, "fp_packets": 57 * 30 * 37.92 / 20}, "test_q2_fp_packets"
    ),
    "the_colleagues_function": ("q3", lambda f: _sinr(f, "colleague"), "test_q3_example"),
    "features_read_as_db": ("q3", lambda f: _sinr(f, "db_scale"), "test_q3_example"),
    "power_ignored": ("q3", lambda f: _sinr(f, "power_ignored"), "test_q3_example"),
    "from_the_capped_rate": (
        "q3", lambda f: _sinr(f, "from_rate"), "test_q3_matches_environment"
    ),
    "modifies_the_input": ("q3", lambda f: _sinr(f, "in_place"), "test_q3_matches_environment"),
}

# chapter 8 ---------------------------------------------------------------------------------


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


_CQL = {"correct_step": [-0.25, -0.5, -0.25, -0.25], "colleague_step": [-0.75, -0.5, -0.25, 0.25],
        "correct_choice": 0, "colleague_choice": 3}

CH08_MISTAKES = {
    "step_without_the_penalty": (  # the critic term's gradient only
        "q1", {**_CQL, "correct_step": [-0.5, -0.5, -0.25, 0.0]}, "test_q1_correct_step"
    ),
    "penalty_without_its_softmax": (  # the logsumexp taken for a constant: -mu_hat only
        "q1", {**_CQL, "correct_step": [0.0, -0.25, 0.0, 0.0]}, "test_q1_correct_step"
    ),
    "critic_summed_not_averaged": (  # the 1/n of the critic term forgotten
        "q1", {**_CQL, "correct_step": [-1.75, -2.0, -1.0, -0.25]}, "test_q1_correct_step"
    ),
    "steps_swapped": (
        "q1", {**_CQL, "correct_step": _CQL["colleague_step"],
               "colleague_step": _CQL["correct_step"]}, "test_q1_colleague_step"
    ),
    "gradient_ascent": (  # Q + s grad L instead of Q - s grad L
        "q1", {**_CQL, "correct_step": [0.25, 0.5, 0.25, 0.25]}, "test_q1_correct_step"
    ),
    "unseen_action_sinks_anyway": ("q1", {**_CQL, "colleague_choice": 0},
                                   "test_q1_colleague_choice"),
    "frequency_ignored": (  # actions 0 and 2 share the mean target: the later one taken
        "q1", {**_CQL, "correct_choice": 2}, "test_q1_correct_choice"
    ),
    "unseen_action_wins_anyway": ("q1", {**_CQL, "correct_choice": 3}, "test_q1_correct_choice"),
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

# chapter 9 ---------------------------------------------------------------------------------


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


def _pf_run(mode="", steps=5, eta=0.25, floor=0.1):
    """Question 1's AP (reports (4, 2, 1), C~(0) = 1) with ``_pf_update``'s mistake ``mode``:
    the UEs served in the first ``steps`` steps and the weights after them."""
    report, avg = np.array([4.0, 2.0, 1.0]), np.ones(3)
    weight, served = 1.0 / np.maximum(avg, floor), []
    for _ in range(steps):
        served.append(int(np.argmax(weight * report)))
        received = np.where(np.arange(3) == served[-1], report, 0.0)
        avg, weight = _pf_update(avg, received, eta, floor, mode=mode)
    return {"served": served, "weights": weight.tolist(), "shares": [1 / 3, 1 / 3, 1 / 3]}


CH09_MISTAKES = {
    "pf_eta_swapped": ("q1", _pf_run("eta_swapped"), "test_q1_served"),
    "pf_old_average": ("q1", _pf_run("old_average"), "test_q1_weights"),
    "pf_floor_added": ("q1", _pf_run("floor_added"), "test_q1_weights"),
    "pf_weights_of_step_4": (
        "q1", {**_pf_run(), "weights": _pf_run(steps=4)["weights"]}, "test_q1_weights"
    ),
    "pf_largest_rate": ("q1", {**_pf_run(), "served": [0, 0, 0, 0, 0]}, "test_q1_served"),
    "pf_largest_weight": (  # the weight alone, not the ratio w * C: ties to UE 0 in step 1
        "q1", {**_pf_run(), "served": [0, 1, 2, 2, 1]}, "test_q1_served"
    ),
    "shares_proportional_to_the_rates": (
        "q1", {**_pf_run(), "shares": [4 / 7, 2 / 7, 1 / 7]}, "test_q1_shares"
    ),
    "shares_of_a_max_rate_scheduler": (
        "q1", {**_pf_run(), "shares": [1.0, 0.0, 0.0]}, "test_q1_shares"
    ),
    "shares_of_the_first_five_steps": (
        "q1", {**_pf_run(), "shares": [0.4, 0.4, 0.2]}, "test_q1_shares"
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


def test_right_answers_of_the_ch09_mistake_helpers():
    """The chapter 9 helpers above, with the mistake switched off, agree with the library: so
    each mistake is the one named, not an accident of the helper."""
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


#: (assignment, mistake) -> (question, the wrong function, the test that must catch it)
MISTAKES: dict[tuple[str, str], tuple[str, Callable, str]] = {
    (assignment, mistake): row
    for assignment, mistakes in [("ch01_exercises", CH01_MISTAKES),
                                 ("ch02_exercises", CH02_MISTAKES),
                                 ("ch03_exercises", CH03_MISTAKES),
                                 ("ch04_exercises", CH04_MISTAKES),
                                 ("ch05_exercises", CH05_MISTAKES),
                                 ("ch06_exercises", CH06_MISTAKES),
                                 ("ch07_exercises", CH07_MISTAKES),
                                 ("ch08_exercises", CH08_MISTAKES),
                                 ("ch09_exercises", CH09_MISTAKES)]
    for mistake, row in mistakes.items()
}


@pytest.mark.parametrize(("name", "mistake"), sorted(MISTAKES),
                         ids=[f"{n.removesuffix('_exercises')}-{m}" for n, m in sorted(MISTAKES)])
def test_plausible_mistakes_lose_points(name, mistake):
    """The mistake fails its catching test, while the right answer passes every test of the
    question."""
    question, wrong, catcher = MISTAKES[name, mistake]
    functions = next(a.functions for a in ASSIGNMENTS if a.name == name)
    solution = suite.read_solution(name)
    failed = suite.failed_tests(solution, question, functions[question], wrong)
    assert catcher in failed, f"{mistake} passed {catcher}; failed only {sorted(failed)}"
    if callable(wrong):
        suite.assert_right_answer_passes(solution, question, functions[question])
    else:  # a value: the solution's own value passes every test of the question
        exec(_answer_cell(solution, functions[question]).source, namespace := {"np": np})
        right = namespace[functions[question]]
        assert not suite.failed_tests(solution, question, functions[question], right)
