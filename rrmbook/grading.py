"""Exercises and autograding: build student notebooks from solutions, grade submissions.

The pipeline has two commands::

    solutions/<name>.ipynb --build_exercises--> exercises/<name>.ipynb  (committed; public checks)
                                           \\-> <grading_dir>/<name>/    (not committed; all tests)
    submissions/*          --grade_submissions--> out/grades.csv, out/feedback/<student>.md

A solution notebook is written in otter-grader's assign format: a raw ``# ASSIGNMENT CONFIG``
cell, then per question raw ``# BEGIN QUESTION`` / ``# BEGIN SOLUTION`` / ``# BEGIN TESTS``
cells around the prompt, the solution and the test cells.  A test cell holds one test function
and a call to it, so the solution notebook checks itself when it runs (under nbval, too); a
first line ``# HIDDEN`` keeps the test away from students.  The notebook must set ``tests:
{files: false}``, so that the public tests travel inside the student notebook's metadata and
``exercises/`` needs no ``tests/`` folder (which would clash between chapters).

What otter-grader (>= 6) gives, and is used as is:

* ``otter assign``'s notebook transformer: solutions replaced by ``...``, hidden tests removed,
  outputs stripped, an init cell (``grader = otter.Notebook("<name>.ipynb")``) and one
  ``grader.check("qN")`` cell per question added, the tests (with their points) written in
  otter's exception-based test file format.
* The student side: ``grader.check("q1")`` runs the public tests offline, in the student's
  kernel, from the notebook's metadata.
* The test runner: ``otter.test_files.create_test_file`` reads a test file and ``TestFile.run``
  runs it against a namespace, catching each test case's exception; ``TestFile.score`` applies
  the question's point rules.

What this module adds, and why:

* Deterministic output (stable cell ids, pruned metadata, atomic writes), so a test can check
  that ``exercises/`` is in sync with ``solutions/`` (:func:`stale_exercises`).
* The grader.  ``otter run`` executes a whole submission in one nbconvert call with no time
  limit: an infinite loop stops the run and a hung kernel is never recovered.  Here each code
  cell of a submission runs in a Jupyter kernel with a time limit; a cell that overruns is
  interrupted, and a kernel that ignores the interrupt (a loop with a bare ``except:``) or dies
  is restarted and the cells before it are replayed.  Then each question's full test file (hidden
  tests included) runs in the same kernel as its own time-limited cell.  So an exception, an
  infinite loop, a deleted cell or a syntax error costs the affected question and nothing else,
  and any unreadable file gets a row of zeros: the grader always finishes.
* A CSV of points per question and a Markdown feedback file per student.

Student code runs with the instructor's rights: grade untrusted submissions in a container or a
throw-away account.  Requires the ``grade`` extra (otter-grader, which brings nbformat and
jupyter_client).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import queue
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from pprint import pformat
from typing import Any

import nbformat
from jupyter_client.manager import KernelManager
from otter.assign.assignment import Assignment
from otter.assign.output import write_output_directories
from otter.nbmeta_config import NBMetadataConfig
from otter.test_files import TestFile, create_test_file
from otter.test_files.abstract_test import TestCaseResult
from otter.utils import NOTEBOOK_METADATA_KEY, chdir, get_relpath

from .io import atomic_write_text

__all__ = [
    "Autograder",
    "CaseResult",
    "QuestionResult",
    "SubmissionResult",
    "build_autograder",
    "build_exercises",
    "feedback_markdown",
    "grade_notebook",
    "grade_submissions",
    "run_tests_in_kernel",
    "stale_exercises",
]

log = logging.getLogger(__name__)

#: Seconds a kernel gets to answer after an interrupt before it is restarted.
INTERRUPT_GRACE_S = 5.0
#: Seconds a fresh kernel gets to start.
KERNEL_START_S = 60.0
#: Notebook metadata kept in generated notebooks (everything else is editor state).
_KEPT_METADATA = ("kernelspec", "language_info", NOTEBOOK_METADATA_KEY)
#: A line that only sets up or calls otter's client (init, check and export cells).
_OTTER_LINE = re.compile(
    r"\s*(#.*|import otter|grader\s*=\s*otter\.Notebook\(.*\)"
    r"|grader\.(check|check_all|export)\(.*\))?\s*"
)


# ------------------------------------------------------------------------------------------
# Building exercises from solutions
# ------------------------------------------------------------------------------------------


def _otter_assign(solution: Path, workdir: Path) -> tuple[Path, Path]:
    """Run otter assign's transformer on one solution notebook.

    Writes ``workdir/autograder/<name>.ipynb`` (solutions, every test in the metadata) and
    ``workdir/student/<name>.ipynb`` (stubs, public tests only) and returns both paths.  Only the
    notebook-writing step of ``otter assign`` runs: no Gradescope zip, no PDFs, no test run.
    """
    assignment = Assignment(require_valid_keys=True)
    assignment.master = solution.resolve()
    assignment.result = get_relpath(assignment.master.parent, workdir.resolve())
    try:
        with chdir(assignment.master.parent):
            write_output_directories(assignment)
    finally:
        # otter keeps a temporary copy of the tests for its zip step, which we skip
        if assignment.generate_tests_dir:
            shutil.rmtree(assignment.generate_tests_dir, ignore_errors=True)
    if assignment.tests.files:
        raise ValueError(
            f"{solution}: set `tests: {{files: false}}` in the ASSIGNMENT CONFIG cell, so the "
            "public tests travel inside the exercise notebook"
        )
    return workdir / "autograder" / solution.name, workdir / "student" / solution.name


def _normalise(nb: nbformat.NotebookNode, source_ids: set[str]) -> nbformat.NotebookNode:
    """Strip outputs and editor metadata and give new cells content-derived ids, in place.

    Cells that came from the solution keep their ids; cells otter added get ``otter-<hash>``,
    so rebuilding an unchanged solution gives byte-identical notebooks.
    """
    nb.metadata = {k: nb.metadata[k] for k in _KEPT_METADATA if k in nb.metadata}
    seen: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell_id = cell.get("id")
        if cell_id not in source_ids or cell_id in seen:
            digest = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()
            cell_id = f"otter-{digest[:8]}"
            while cell_id in seen:
                cell_id += "x"
            cell["id"] = cell_id
        seen.add(cell_id)
    return nb


def _title_first(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Move otter's init cell below the notebook's opening Markdown cell, in place, so the
    student notebook opens with its title."""
    cells = nb.cells
    if len(cells) > 1 and _is_otter_cell(cells[0].source) and cells[1].cell_type == "markdown":
        cells[0], cells[1] = cells[1], cells[0]
    return nb


def _notebook_text(nb: nbformat.NotebookNode) -> str:
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def _solution_notebooks(src_dir: Path) -> list[Path]:
    notebooks = sorted(p for p in Path(src_dir).glob("*.ipynb") if p.is_file())
    if not notebooks:
        raise ValueError(f"no solution notebooks (*.ipynb) in {src_dir}")
    return notebooks


def _test_file_text(spec: str | dict[str, Any]) -> str:
    """The text of an otter test file for a test stored in notebook metadata."""
    if isinstance(spec, str):  # exception-based format: the file itself
        return spec
    return f"OK_FORMAT = True\n\ntest = {pformat(spec, indent=4, width=200)}\n"


def _write_grading_dir(autograder_nb: Path, dest: Path) -> dict[str, Path]:
    """Copy otter's autograder notebook to ``dest`` and write each question's tests to
    ``dest/tests/<question>.py``; return those files by question, in notebook order."""
    nb = nbformat.read(autograder_nb, as_version=4)
    tests = nb.metadata.get(NOTEBOOK_METADATA_KEY, {}).get("tests") or {}
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "tests").mkdir(parents=True)
    atomic_write_text(dest / autograder_nb.name, _notebook_text(_normalise(nb, set())))
    return {
        question: atomic_write_text(dest / "tests" / f"{question}.py", _test_file_text(spec))
        for question, spec in tests.items()
    }


def build_exercises(
    src_dir: str | Path = "solutions",
    dst_dir: str | Path = "exercises",
    grading_dir: str | Path | None = None,
) -> list[Path]:
    """Generate the student notebooks in ``dst_dir`` from the solution notebooks in ``src_dir``.

    Each ``src_dir/<name>.ipynb`` (otter assign format) becomes ``dst_dir/<name>.ipynb`` with
    solutions replaced by ``...``, hidden tests removed, public tests embedded in the metadata for
    ``grader.check`` and outputs stripped.  The output is deterministic.  With ``grading_dir``,
    the autograder side (solutions notebook and every test, hidden ones included) is also written
    to ``grading_dir/<name>/``: keep that folder out of version control.  Returns the written
    student notebooks.
    """
    dst_dir = Path(dst_dir)
    written = []
    for solution in _solution_notebooks(Path(src_dir)):
        source_ids = {c.get("id") for c in nbformat.read(solution, as_version=4).cells}
        with tempfile.TemporaryDirectory() as tmp:
            autograder_nb, student_nb = _otter_assign(solution, Path(tmp))
            student = _title_first(nbformat.read(student_nb, as_version=4))
            text = _notebook_text(_normalise(student, source_ids))
            written.append(atomic_write_text(dst_dir / solution.name, text))
            if grading_dir is not None:
                _write_grading_dir(autograder_nb, Path(grading_dir) / solution.stem)
    return written


def stale_exercises(
    src_dir: str | Path = "solutions", dst_dir: str | Path = "exercises"
) -> list[str]:
    """Names of the notebooks in ``dst_dir`` that differ from a fresh :func:`build_exercises`
    (changed, missing or without a solution).  Empty when everything is in sync."""
    dst_dir = Path(dst_dir)
    with tempfile.TemporaryDirectory() as tmp:
        fresh = {p.name: json.loads(p.read_text()) for p in build_exercises(src_dir, tmp)}
    committed = {p.name for p in dst_dir.glob("*.ipynb")}
    stale = committed - set(fresh)
    for name, nb in fresh.items():
        path = dst_dir / name
        if not path.is_file() or json.loads(path.read_text()) != nb:
            stale.add(name)
    return sorted(stale)


@dataclass(frozen=True)
class Autograder:
    """Everything needed to grade one assignment: its name, the autograder notebook and one
    otter test file per question (hidden tests included), in question order."""

    name: str
    notebook: Path
    tests: dict[str, Path]

    def load_test(self, question: str) -> TestFile:
        """Parse a question's test file with otter (it defines the cases and their points)."""
        return create_test_file(str(self.tests[question]), NBMetadataConfig())

    def possible(self, question: str) -> float:
        """Points a question is worth."""
        return float(self.load_test(question).possible)


def build_autograder(solution: str | Path, dest: str | Path) -> Autograder:
    """Run otter assign on one solution notebook and write the autograder side to ``dest``
    (``dest/<name>.ipynb`` and ``dest/tests/<question>.py``)."""
    solution, dest = Path(solution), Path(dest).resolve()  # the kernel runs elsewhere
    with tempfile.TemporaryDirectory() as tmp:
        autograder_nb, _ = _otter_assign(solution, Path(tmp))
        tests = _write_grading_dir(autograder_nb, dest)
    if not tests:
        raise ValueError(f"{solution} has no autograded questions (no # BEGIN TESTS blocks)")
    return Autograder(solution.stem, dest / solution.name, tests)


# ------------------------------------------------------------------------------------------
# Running a submission in a kernel
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    """How one cell ended: ``ok``, ``error`` (it raised), ``timeout`` (stopped) or ``died``."""

    status: str
    message: str = ""


class _KernelDied(Exception):
    """The kernel process ended while a cell was running."""


#: Code run once in every fresh kernel: ``exit()``/``quit()`` in a submission would otherwise end
#: the kernel a moment *after* their cell replied, and the next cell would take the blame.
_KERNEL_SETUP = "get_ipython().ask_exit = lambda: None"


class _Kernel:
    """A Python Jupyter kernel that runs code with a time limit and survives hangs and crashes.

    A cell that overruns is interrupted.  If the kernel does not answer the interrupt within
    :data:`INTERRUPT_GRACE_S` (a loop that swallows ``KeyboardInterrupt``) or its process ends
    (a crash, ``os._exit``), a fresh kernel replaces it and the recorded cells are replayed, so
    the names they defined exist again; a recorded cell that now hangs or crashes is dropped.
    """

    def __init__(self, cwd: Path, timeout: float, kernel_name: str = "python3") -> None:
        self.cwd, self.timeout, self.kernel_name = cwd, timeout, kernel_name
        self.history: list[str] = []
        self._km: Any = None
        self._kc: Any = None

    def __enter__(self) -> _Kernel:
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _start(self) -> None:
        self._km = KernelManager(kernel_name=self.kernel_name)
        env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "MPLBACKEND": "Agg"}
        self._km.start_kernel(
            cwd=str(self.cwd), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._kc = self._km.client()
        self._kc.start_channels()
        self._kc.wait_for_ready(timeout=KERNEL_START_S)
        self._execute(_KERNEL_SETUP, KERNEL_START_S)

    def _stop(self) -> None:
        if self._kc is not None:
            self._kc.stop_channels()
        if self._km is not None and self._km.has_kernel:
            self._km.shutdown_kernel(now=True)
        self._kc = self._km = None

    def _drain_outputs(self) -> None:
        """Discard the kernel's broadcast outputs (the grader only needs the replies)."""
        for _ in range(1000):
            try:
                self._kc.get_iopub_msg(timeout=0)
            except queue.Empty:
                return

    def _execute(self, code: str, timeout: float) -> dict[str, Any]:
        """Send ``code`` and return the reply's content.

        Raises ``TimeoutError`` after ``timeout`` seconds, and :class:`_KernelDied` as soon as
        the kernel process is gone.
        """
        msg_id = self._kc.execute(code, allow_stdin=False, stop_on_error=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._drain_outputs()
            try:
                reply = self._kc.get_shell_msg(
                    timeout=min(0.25, max(deadline - time.monotonic(), 0.0))
                )
            except queue.Empty:
                if not self._km.is_alive():
                    raise _KernelDied from None
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]
        raise TimeoutError(f"no reply within {timeout:g} s")

    def run(self, code: str, record: bool = True) -> _Outcome:
        """Run ``code``; with ``record`` it is replayed after a kernel restart."""
        try:
            content = self._execute(code, self.timeout)
        except _KernelDied:
            self._restart()
            return _Outcome("died", "the Python kernel stopped (a crash?)")
        except TimeoutError:
            self._interrupt()
            return _Outcome("timeout", f"did not finish within {self.timeout:g} s")
        if record:
            self.history.append(code)
        if content.get("status") == "error":
            return _Outcome(
                "error", f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"
            )
        return _Outcome("ok")

    def _interrupt(self) -> None:
        """Interrupt the running cell; restart if the kernel does not answer in time."""
        try:
            if self._km.is_alive():
                self._km.interrupt_kernel()
            self._execute("pass", INTERRUPT_GRACE_S)
        except (TimeoutError, _KernelDied):
            self._restart()

    def _restart(self) -> None:
        """Replace the kernel and replay the recorded cells, dropping one that hangs or crashes
        (each retry drops a cell, so this ends)."""
        log.warning("restarting the kernel and replaying %d cells", len(self.history))
        self._stop()
        self._start()
        for i, code in enumerate(self.history):
            try:
                self._execute(code, self.timeout)
            except (TimeoutError, _KernelDied):
                del self.history[i]
                self._restart()
                return


def _is_otter_cell(source: str) -> bool:
    """True for otter's own init/check/export cells: the grader runs the tests itself."""
    return all(_OTTER_LINE.fullmatch(line) for line in source.splitlines())


def _code_cells(nb: nbformat.NotebookNode) -> Iterator[tuple[int, str]]:
    """(1-based cell number, source) of the cells to run: code cells that are not otter's."""
    for number, cell in enumerate(nb.cells, start=1):
        if cell.get("cell_type") == "code" and not _is_otter_cell(cell.get("source", "")):
            yield number, cell.source


def _first_line(source: str, width: int = 60) -> str:
    line = next((s.strip() for s in source.splitlines() if s.strip()), "")
    return line if len(line) <= width else line[: width - 3] + "..."


# ------------------------------------------------------------------------------------------
# Grading
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseResult:
    """One test case of a question: what it checks, its points and how it went."""

    name: str
    description: str
    hidden: bool
    points: float
    passed: bool
    message: str


@dataclass(frozen=True)
class QuestionResult:
    """Points of one question; ``error`` says why its tests could not run (then score 0)."""

    name: str
    score: float
    possible: float
    cases: tuple[CaseResult, ...] = ()
    error: str = ""


@dataclass
class SubmissionResult:
    """The grade of one submitted file plus notes on cells that failed or were stopped."""

    student: str
    path: Path
    questions: dict[str, QuestionResult]
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(q.score for q in self.questions.values())

    @property
    def possible(self) -> float:
        return sum(q.possible for q in self.questions.values())


def run_tests_in_kernel(test_path: str, result_path: str, env: dict[str, Any]) -> None:
    """Run one otter test file against ``env`` and write each case's pass/fail as JSON.

    This runs *inside the student's kernel*: the grading cell that :func:`grade_notebook`
    sends there calls it with the kernel's ``globals()``.  The points are computed outside,
    from the instructor's copy of the test file.
    """
    test = create_test_file(test_path, NBMetadataConfig())
    test.run(env)
    cases = [{"passed": bool(r.passed), "message": r.message or ""} for r in test.test_case_results]
    Path(result_path).write_text(json.dumps(cases))


def _case_name(case: Any) -> str:
    """The test function's name for exception-based tests, else otter's case name."""
    return getattr(getattr(case.body, "test_func", None), "__name__", None) or case.name


def _describe(case: Any) -> str:
    """First docstring line of an exception-based test function, else the case's name."""
    doc = (getattr(getattr(case.body, "test_func", None), "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else case.name


def _short(message: str) -> str:
    """The last meaningful line of otter's failure message (the exception)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _failed_question(autograder: Autograder, question: str, error: str) -> QuestionResult:
    return QuestionResult(question, 0.0, autograder.possible(question), error=error)


def _score_question(
    autograder: Autograder, question: str, raw: list[dict[str, Any]]
) -> QuestionResult:
    """Points for one question from the kernel's pass/fail list, using otter's scoring rules."""
    test = autograder.load_test(question)
    if len(raw) != len(test.test_cases):
        return _failed_question(autograder, question, "the test results were incomplete")
    test.test_case_results = [
        TestCaseResult(test_case=tc, message=r["message"], passed=r["passed"])
        for tc, r in zip(test.test_cases, raw, strict=True)
    ]
    cases = tuple(
        CaseResult(
            name=_case_name(tc),
            description=_describe(tc),
            hidden=bool(tc.hidden),
            points=float(tc.points),
            passed=r["passed"],
            message="" if r["passed"] else _short(r["message"]),
        )
        for tc, r in zip(test.test_cases, raw, strict=True)
    )
    return QuestionResult(question, float(test.score), float(test.possible), cases)


def _grade_question(
    kernel: _Kernel, autograder: Autograder, question: str, workdir: Path
) -> QuestionResult:
    """Run one question's tests in the student's kernel, in their own time-limited cell."""
    result_path = workdir / f".grading-{question}.json"
    code = (
        "import rrmbook.grading as _rrmbook_grading\n"
        f"_rrmbook_grading.run_tests_in_kernel({str(autograder.tests[question])!r}, "
        f"{str(result_path)!r}, globals())"
    )
    outcome = kernel.run(code, record=False)
    if outcome.status == "timeout":
        return _failed_question(
            autograder,
            question,
            f"the tests {outcome.message} (an infinite loop?); the grader stopped them",
        )
    if outcome.status == "error" or not result_path.is_file():
        return _failed_question(autograder, question, f"the tests could not run: {outcome.message}")
    return _score_question(autograder, question, json.loads(result_path.read_text()))


def _zero_result(student: str, path: Path, autograder: Autograder, note: str) -> SubmissionResult:
    questions = {
        q: _failed_question(autograder, q, "not graded (see the notes)") for q in autograder.tests
    }
    return SubmissionResult(student, path, questions, [note])


def grade_notebook(
    path: str | Path,
    autograder: Autograder,
    timeout_per_cell: float = 30.0,
    student: str | None = None,
) -> SubmissionResult:
    """Grade one submitted notebook; never raises.

    The submission's code cells (otter's own init/check cells excepted) run in order in a fresh
    kernel whose working directory is a temporary folder, each with ``timeout_per_cell`` seconds;
    errors and stopped cells are noted and execution goes on.  Then each question's tests run in
    the same kernel, each as one cell with the same limit.  A file that is not a readable notebook
    gets zero points and a note.
    """
    path = Path(path)
    student = student or path.stem
    try:
        nb = nbformat.read(path, as_version=4)
        cells = list(_code_cells(nb))
    except Exception as exc:  # any unreadable file: zeros, never a crash
        return _zero_result(
            student,
            path,
            autograder,
            f"could not read {path.name} as a notebook ({type(exc).__name__})",
        )
    try:
        return _grade_cells(student, path, cells, autograder, timeout_per_cell)
    except Exception as exc:  # the grader itself failed on this file: zeros, go on with the next
        log.exception("grading %s failed", path)
        return _zero_result(
            student,
            path,
            autograder,
            f"the grader failed on this file ({type(exc).__name__}: {exc})",
        )


def _grade_cells(
    student: str, path: Path, cells: list[tuple[int, str]], autograder: Autograder, timeout: float
) -> SubmissionResult:
    notes = []
    with tempfile.TemporaryDirectory() as tmp, _Kernel(Path(tmp), timeout) as kernel:
        for number, source in cells:
            outcome = kernel.run(source)
            if outcome.status != "ok":
                stopped = "; the grader stopped it" if outcome.status == "timeout" else ""
                notes.append(f"cell {number} (`{_first_line(source)}`): {outcome.message}{stopped}")
        questions = {q: _grade_question(kernel, autograder, q, Path(tmp)) for q in autograder.tests}
    return SubmissionResult(student, path, questions, notes)


def _points(x: float) -> str:
    return f"{round(x, 4):g}"


def feedback_markdown(result: SubmissionResult, assignment: str) -> str:
    """A student's feedback: total, then per question the points and each failed test."""
    out = [
        f"# {assignment}: feedback for {result.student}",
        "",
        f"File: `{result.path.name}`  ",
        f"Total: **{_points(result.total)} / {_points(result.possible)}**",
    ]
    for q in result.questions.values():
        out += ["", f"## {q.name}: {_points(q.score)} / {_points(q.possible)}", ""]
        if q.error:
            out.append(f"- no points: {q.error}")
        for case in q.cases:
            kind = "hidden test" if case.hidden else "test"
            mark = "passed" if case.passed else "FAILED"
            out.append(
                f"- {mark}: {kind} `{case.name}` ({_points(case.points)} pt): {case.description}"
            )
            if case.message:
                out.append(f"  - {case.message}")
    if result.notes:
        out += ["", "## Notes on your notebook", ""] + [f"- {n}" for n in result.notes]
    return "\n".join(out) + "\n"


def _grades_csv(results: list[SubmissionResult], questions: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", "file", *questions, "total"])
    for r in results:
        scores = [_points(r.questions[q].score) for q in questions]
        writer.writerow([r.student, r.path.name, *scores, _points(r.total)])
    return buf.getvalue()


def _submission_files(submissions_dir: Path) -> list[Path]:
    """Every visible regular file in the folder: not only ``*.ipynb``, so that a file handed in
    by mistake still gets a row (of zeros)."""
    if not submissions_dir.is_dir():
        raise ValueError(f"submissions_dir {submissions_dir} is not a folder")
    return sorted(
        p for p in submissions_dir.iterdir() if p.is_file() and not p.name.startswith(".")
    )


def _student_names(paths: list[Path]) -> list[str]:
    """File stems, or full file names where two files share a stem."""
    stems = [p.stem for p in paths]
    return [p.stem if stems.count(p.stem) == 1 else p.name for p in paths]


def _find_solution(solutions_dir: Path, assignment: str | None) -> Path:
    notebooks = _solution_notebooks(solutions_dir)
    names = [p.stem for p in notebooks]
    if assignment is None:
        if len(notebooks) > 1:
            raise ValueError(
                f"{solutions_dir} holds several assignments; choose one with assignment= (CLI: --assignment): {names}"
            )
        return notebooks[0]
    if assignment not in names:
        raise ValueError(f"unknown assignment {assignment!r}; {solutions_dir} holds {names}")
    return solutions_dir / f"{assignment}.ipynb"


def grade_submissions(
    submissions_dir: str | Path,
    out_dir: str | Path,
    solutions_dir: str | Path = "solutions",
    assignment: str | None = None,
    timeout_per_cell: float = 30.0,
) -> Path:
    """Grade every file in ``submissions_dir`` against one assignment and return the CSV path.

    ``assignment`` is the stem of a notebook in ``solutions_dir`` (optional when there is only
    one).  Writes ``out_dir/grades.csv`` (columns ``student, file, <question>..., total``; the
    student is the file name without extension), ``out_dir/feedback/<student>.md`` and the
    autograder used, with the hidden tests, in ``out_dir/autograder/``.  One bad file never stops
    the run: it gets zeros and a feedback note.
    """
    if timeout_per_cell <= 0:
        raise ValueError(f"timeout_per_cell must be > 0 seconds, got {timeout_per_cell}")
    out_dir = Path(out_dir)
    files = _submission_files(Path(submissions_dir))
    solution = _find_solution(Path(solutions_dir), assignment)
    autograder = build_autograder(solution, out_dir / "autograder")
    shutil.rmtree(out_dir / "feedback", ignore_errors=True)  # no stale files from an earlier run
    results = []
    for path, student in zip(files, _student_names(files), strict=True):
        start = time.perf_counter()
        result = grade_notebook(path, autograder, timeout_per_cell, student=student)
        log.info(
            "%s: %s / %s (%.1f s)",
            path.name,
            _points(result.total),
            _points(result.possible),
            time.perf_counter() - start,
        )
        atomic_write_text(
            out_dir / "feedback" / f"{student}.md", feedback_markdown(result, autograder.name)
        )
        results.append(result)
    return atomic_write_text(out_dir / "grades.csv", _grades_csv(results, list(autograder.tests)))
