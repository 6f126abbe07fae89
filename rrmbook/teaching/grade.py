"""Grading a folder of submissions: points per question in a CSV, feedback per student.

Each code cell of a submission runs in a :class:`~rrmbook.teaching.kernel.Kernel` with a time
limit, then each question's full test file (hidden tests included) runs in the same kernel as
its own time-limited cell.  So an exception, an infinite loop, a deleted cell or a syntax error
costs the affected question and nothing else, and any unreadable file gets a row of zeros: the
grader always finishes.  otter's test runner (``TestFile.run``) and its point rules
(``TestFile.score``) are used as is.

With ``isolation="sandbox"`` (the default) the submission runs in a bubblewrap sandbox
(:mod:`rrmbook.teaching.sandbox`) and each hidden test runs in the grader's own process
against stand-ins for the student's functions (:mod:`rrmbook.teaching.remote`), so nothing
the submission does changes a comparison.  With ``isolation="kernel"`` (unsafe, for machines
without bubblewrap, chosen explicitly) student code runs with the instructor's rights, in a
kernel where it could tamper with its own tests: :data:`UNSAFE_WARNING` says what is then
not protected.
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import logging
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from otter.test_files.abstract_test import TestCaseResult

from ..io import atomic_write_text
from .assign import Autograder, build_autograder, is_otter_cell, solution_notebooks
from .kernel import Kernel, run_tests_code
from .protect import redacted_for
from .remote import RemoteError, RemoteTimeout, StuckCell, Worker, backstop_seconds, worker_command
from .sandbox import Limits, Sandbox, SandboxUnavailable, sandbox_available

__all__ = [
    "CaseResult",
    "QuestionResult",
    "SubmissionResult",
    "feedback_markdown",
    "grade_notebook",
    "grade_submissions",
    "STATUSES",
    "UNSAFE_WARNING",
]

log = logging.getLogger(__name__)


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
    """Points of one question; ``error`` says why its tests could not run (then score 0);
    ``timed_out`` whether the grader had to stop them."""

    name: str
    score: float
    possible: float
    cases: tuple[CaseResult, ...] = ()
    error: str = ""
    timed_out: bool = False


#: the reasons a submission was not graded normally (the ``status`` column of grades.csv):
#: ``timed out: q2`` names the questions whose tests or cells were stopped, ``sandbox
#: violation: used the network`` what the submission tried that a homework never needs
STATUSES = ("ok", "not a notebook", "empty", "wrong assignment: <name>",
            "unchanged from the handout", "timed out: <questions>",
            "sandbox violation: <what>")

#: printed when an instructor grades without the sandbox (``isolation="kernel"``)
UNSAFE_WARNING = """\
WARNING: grading WITHOUT the sandbox (--unsafe-no-sandbox).  Student code runs as you, in
the process that scores it.  Not protected: your files (hidden tests, solutions, other
submissions, grades.csv) can be read and changed; the scores can be forged by patching
NumPy, otter or the grader; the library's own answers can be imported; processes can
outlive grading; there is no network, memory or process limit.  Grade only work you trust.
"""


@dataclass
class SubmissionResult:
    """The grade of one submitted file plus notes on cells that failed or were stopped, what
    the sandbox noticed (``violations``), the questions of the cells that were stopped
    (``stopped``: cell number -> question, or None) and its status (:data:`STATUSES`)."""

    student: str
    path: Path
    questions: dict[str, QuestionResult]
    notes: list[str] = field(default_factory=list)
    status: str = "ok"
    violations: list[str] = field(default_factory=list)
    stopped: dict[int, str | None] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(q.score for q in self.questions.values())

    @property
    def possible(self) -> float:
        return sum(q.possible for q in self.questions.values())


# ------------------------------------------------------------------------------------------
# One submission
# ------------------------------------------------------------------------------------------


def _code_cells(nb: nbformat.NotebookNode) -> Iterator[tuple[int, str]]:
    """(1-based cell number, source) of the cells to run: code cells that are not otter's."""
    for number, cell in enumerate(nb.cells, start=1):
        if cell.get("cell_type") == "code" and not is_otter_cell(cell.get("source", "")):
            yield number, cell.source


def _first_line(source: str, width: int = 60) -> str:
    line = next((s.strip() for s in source.splitlines() if s.strip()), "")
    return line if len(line) <= width else line[: width - 3] + "..."


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


def _failed_question(autograder: Autograder, question: str, error: str,
                     timed_out: bool = False) -> QuestionResult:
    return QuestionResult(question, 0.0, autograder.possible(question), error=error,
                          timed_out=timed_out)


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
    return QuestionResult(question, float(test.score), float(test.possible), cases,
                          timed_out=any(r.get("timed_out", False) for r in raw))


def _grade_question(
    kernel: Kernel, autograder: Autograder, question: str, workdir: Path
) -> QuestionResult:
    """Run one question's tests in the student's kernel, in their own time-limited cell."""
    result_path = workdir / f".grading-{question}.json"
    outcome = kernel.run(run_tests_code(autograder.tests[question], result_path), record=False)
    if outcome.status == "timeout":
        return _failed_question(
            autograder,
            question,
            f"the tests {outcome.message} (an infinite loop?); the grader stopped them",
            timed_out=True,
        )
    if outcome.status == "error" or not result_path.is_file():
        return _failed_question(autograder, question, f"the tests could not run: {outcome.message}")
    return _score_question(autograder, question, json.loads(result_path.read_text()))


def _zero_result(student: str, path: Path, autograder: Autograder, note: str,
                 status: str = "not a notebook") -> SubmissionResult:
    questions = {
        q: _failed_question(autograder, q, "not graded (see the notes)") for q in autograder.tests
    }
    return SubmissionResult(student, path, questions, [note], status)


def _code_sources(cells: list[tuple[int, str]]) -> list[str]:
    return [src.strip() for _, src in cells if src.strip()]


def _precheck(path: Path, nb: nbformat.NotebookNode, cells: list[tuple[int, str]],
              autograder: Autograder) -> tuple[str, str] | None:
    """(status, note) for a notebook not worth running: another assignment's or one without
    code; None for one to grade."""
    named = nb.get("metadata", {}).get("otter", {}).get("assignment_name")
    if named and named != autograder.name:
        return (f"wrong assignment: {named}",
                f"{path.name} is for {named}, not {autograder.name}: hand in the right notebook")
    if not _code_sources(cells):
        return "empty", f"{path.name} has no code"
    return None


def _unchanged(cells: list[tuple[int, str]], autograder: Autograder) -> bool:
    """Whether the code is the handout's, as handed out (still graded: the feedback then
    says what each function returns)."""
    handout = autograder.handout
    if not handout.is_file():
        return False
    return _code_sources(cells) == _code_sources(
        list(_code_cells(nbformat.read(handout, as_version=4))))


_CHECK = re.compile(r"grader\.check\(\s*[\"'](\w+)[\"']")


def _cell_questions(nb: nbformat.NotebookNode) -> dict[int, str]:
    """Cell number -> the question it answers: that of the next ``grader.check`` cell."""
    out: dict[int, str] = {}
    pending: list[int] = []
    for number, cell in enumerate(nb.cells, start=1):
        match = _CHECK.search(cell.get("source", "")) if cell.get("cell_type") == "code" else None
        if match:
            out.update(dict.fromkeys(pending, match[1]))
            pending = []
        else:
            pending.append(number)
    return out


def _status(result: SubmissionResult, unchanged: bool) -> SubmissionResult:
    """The status of a graded submission: a sandbox violation first, then what was
    stopped, then an untouched handout."""
    if result.violations:
        kinds = dict.fromkeys(re.sub(r" \(.*\)$", "", v) for v in result.violations)
        result.status = "sandbox violation: " + "; ".join(kinds)
        return result
    stopped = [q.name for q in result.questions.values() if q.timed_out]
    stopped += [q or f"cell {n}" for n, q in sorted(result.stopped.items())]
    if stopped:
        result.status = "timed out: " + ", ".join(dict.fromkeys(stopped))
    elif unchanged:
        result.status = "unchanged from the handout"
    return result


#: how a submission may be run: in a kernel with the instructor's rights, or in a sandbox
ISOLATIONS = ("kernel", "sandbox")


def grade_notebook(
    path: str | Path,
    autograder: Autograder,
    timeout_per_cell: float = 30.0,
    student: str | None = None,
    isolation: str = "sandbox",
) -> SubmissionResult:
    """Grade one submitted notebook; never raises.

    ``isolation="sandbox"`` (the default): see :func:`_grade_in_sandbox`; each cell and each
    call of a student's function has ``timeout_per_cell`` seconds of CPU time.
    ``isolation="kernel"`` (unsafe: :data:`UNSAFE_WARNING`): the submission's code cells
    (otter's own init/check cells excepted) run in order in a fresh kernel whose working
    directory is a temporary folder, each with ``timeout_per_cell`` seconds; then each
    question's tests run in the same kernel, each as one cell with the same limit.  Either
    way errors and stopped cells are noted and execution goes on, and a file that is not a
    readable notebook gets zero points and a note.
    """
    if isolation not in ISOLATIONS:
        raise ValueError(f"isolation must be one of {ISOLATIONS}, got {isolation!r}")
    path = Path(path)
    student = student or path.stem
    if path.is_file() and path.stat().st_size == 0:
        return _zero_result(student, path, autograder, f"{path.name} is empty", "empty")
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
    skip = _precheck(path, nb, cells, autograder)
    if skip is not None:
        return _zero_result(student, path, autograder, skip[1], skip[0])
    try:
        if isolation == "sandbox":
            result = _grade_in_sandbox(student, path, nb, autograder, timeout_per_cell)
        else:
            result = _grade_cells(student, path, cells, autograder, timeout_per_cell)
        questions = _cell_questions(nb)
        result.stopped = {n: questions.get(n) for n in result.stopped}
        return _status(result, _unchanged(cells, autograder))
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
    notes, stopped = [], {}
    with tempfile.TemporaryDirectory() as tmp, Kernel(Path(tmp), timeout) as kernel:
        for number, source in cells:
            outcome = kernel.run(source)
            if outcome.status == "timeout":
                stopped[number] = None
            if outcome.status != "ok":
                stopped = "; the grader stopped it" if outcome.status == "timeout" else ""
                notes.append(f"cell {number} (`{_first_line(source)}`): "
                             f"{outcome.message[:300]}{stopped}")
        questions = {q: _grade_question(kernel, autograder, q, Path(tmp)) for q in autograder.tests}
    return SubmissionResult(student, path, questions, notes, stopped=stopped)


def _run_case(case: Any, worker: Worker) -> dict[str, Any]:
    """One hidden test function, run here, with stand-ins for the student's functions and
    the values of the student's other variables (as plain data), by parameter name."""
    fn = case.body.test_func
    try:
        fn(**{p: worker.function(p) if p in worker.names else worker.value(p)
              for p in inspect.signature(fn).parameters})
    except RemoteError as exc:
        return {"passed": False, "message": f"your function: {exc}",
                "timed_out": isinstance(exc, RemoteTimeout)}
    except Exception as exc:  # the test's own assertion or an error on the returned data
        return {"passed": False, "message": f"{type(exc).__name__}: {exc}"}
    return {"passed": True, "message": ""}


#: cells that never end (or end the worker) that the grader leaves out before giving up
MAX_STUCK_CELLS = 5


class _Session:
    """The sandboxed worker of one submission, restarted when it dies, without the cells
    that never ended; collects what every run reported."""

    def __init__(self, path: Path, nb: nbformat.NotebookNode, autograder: Autograder,
                 timeout: float, folder: str) -> None:
        import rrmbook

        redacted = redacted_for(autograder.name)
        self.overlays = ({str(Path(rrmbook.__file__).resolve().parent): redacted}
                         if redacted else None)
        self.folder, self.timeout = folder, timeout
        n_cases = sum(len(autograder.load_test(q).test_cases) for q in autograder.tests)
        budget = timeout * (len(nb.cells) + n_cases + 2)
        self.limits = Limits(cpu_seconds=int(budget) + 60,
                             wall_seconds=backstop_seconds(timeout) * (len(nb.cells) + 2)
                             + budget + 60.0)
        self.box: Sandbox | None = None
        self.worker: Worker | None = None
        self.skip: list[int] = []
        self.stopped: set[int] = set()
        self.notes: list[str] | None = None         # the first complete run's notes
        self.stuck_notes: list[str] = []
        self.violations: list[str] = []
        self.failed: RemoteError | None = None      # why no worker starts, once known
        self.used: list[str] = []                   # protected functions used in the tests

    def _start(self) -> Sandbox:
        command = worker_command("submission.ipynb", sys.executable, self.timeout, self.skip)
        return Sandbox(command, self.folder, self.limits, self.overlays).__enter__()

    def worker_or_none(self) -> Worker | None:
        """A live worker, starting one if needed (raises RemoteError if none starts)."""
        if self.worker is not None and self.worker.alive:
            return self.worker
        self.close()
        if self.failed is not None:
            raise self.failed
        while True:
            self.box = self._start()
            try:
                self.worker = Worker(self.box, call_timeout=self.timeout)
                break
            except StuckCell as exc:
                self.box.close()
                if exc.timed_out:
                    self.stopped.add(exc.cell)
                if len(self.skip) >= MAX_STUCK_CELLS:
                    self.failed = exc
                    raise
                self.skip.append(exc.cell)
                self.stuck_notes.append(f"{exc}; the grader ran the notebook again without it")
            except RemoteError as exc:
                self.box.close()
                self.failed = exc
                raise
        if self.notes is None:
            self.notes = self.stuck_notes + list(self.worker.notes)
        self.stopped.update(self.worker.stopped)
        return self.worker

    def collect(self) -> None:
        """Add what the current worker reported to the submission's violations."""
        if self.worker is None:
            return
        reported = self.worker.violations + [
            f"used {name} (a function a question asks you to write)" for name in self.used]
        for item in reported:
            if item not in self.violations:
                self.violations.append(item)

    def close(self) -> None:
        self.collect()
        if self.box is not None:
            self.box.close()
        self.box = self.worker = None


def _grade_in_sandbox(
    student: str, path: Path, nb: nbformat.NotebookNode, autograder: Autograder, timeout: float
) -> SubmissionResult:
    """The submission runs in a sandbox on a copy of itself, seeing a copy of ``rrmbook`` in
    which the functions the questions ask for raise (:mod:`~rrmbook.teaching.protect`);
    every hidden test runs in this process and calls the student's functions across the
    wall with plain data.  A cell that cannot be stopped is left out of a fresh sandbox; a
    question whose calls stop answering gets a fresh sandbox for the next one; a question
    during whose tests the submission called a protected function scores 0."""
    questions: dict[str, QuestionResult] = {}
    with tempfile.TemporaryDirectory() as src:
        shutil.copy(path, Path(src) / "submission.ipynb")
        session = _Session(path, nb, autograder, timeout, src)
        try:
            for question in autograder.tests:
                try:
                    worker = session.worker_or_none()
                except RemoteError as exc:
                    questions[question] = _failed_question(
                        autograder, question, f"your notebook did not finish running: {exc}",
                        timed_out=isinstance(exc, RemoteTimeout))
                    continue
                before = len(worker.protected)
                raw = [_run_case(case, worker) for case in autograder.load_test(question).test_cases]
                result = _score_question(autograder, question, raw)
                used = worker.protected[before:]
                session.used += [name for name in used if name not in session.used]
                if used:
                    result = QuestionResult(
                        question, 0.0, result.possible, result.cases,
                        error=f"your answer used {', '.join(used)}, which the question asks "
                              "you to write", timed_out=result.timed_out)
                questions[question] = result
                session.collect()
        finally:
            session.close()
    return SubmissionResult(student, path, questions,
                            (session.notes or session.stuck_notes) + [
                                f"the sandbox noticed that your notebook {v}"
                                for v in session.violations],
                            violations=session.violations,
                            stopped=dict.fromkeys(sorted(session.stopped)))


# ------------------------------------------------------------------------------------------
# Reports
# ------------------------------------------------------------------------------------------


def _points(x: float) -> str:
    return f"{round(x, 4):g}"


def feedback_markdown(result: SubmissionResult, assignment: str,
                      show_hidden: bool = False) -> str:
    """A student's feedback: total, then per question the points and each test.  A hidden
    test shows only what it checks (its docstring) and whether it passed, unless
    ``show_hidden``: then also its name and why it failed, which may show its inputs."""
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
            mark = "passed" if case.passed else "FAILED"
            if case.hidden and not show_hidden:
                out.append(f"- {mark}: hidden test ({_points(case.points)} pt): {case.description}")
                continue
            kind = "hidden test" if case.hidden else "test"
            out.append(
                f"- {mark}: {kind} `{case.name}` ({_points(case.points)} pt): {case.description}"
            )
            if case.message:
                out.append(f"  - {case.message}")
    if result.notes:
        out += ["", "## Notes on your notebook", ""] + [f"- {n}" for n in result.notes]
    return "\n".join(out) + "\n"


#: the first row under the header of grades.csv: the maximum of every column
POSSIBLE_ROW = "points possible"


def _grades_csv(results: list[SubmissionResult], autograder: Autograder) -> str:
    questions = list(autograder.tests)
    possible = [autograder.possible(q) for q in questions]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", "file", *questions, "total", "status"])
    writer.writerow([POSSIBLE_ROW, "", *map(_points, possible), _points(sum(possible)), ""])
    for r in results:
        scores = [_points(r.questions[q].score) for q in questions]
        writer.writerow([r.student, r.path.name, *scores, _points(r.total), r.status])
    return buf.getvalue()


# ------------------------------------------------------------------------------------------
# A folder of submissions
# ------------------------------------------------------------------------------------------


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
    notebooks = solution_notebooks(solutions_dir)
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


def _output_folder(out_dir: Path, assignment: str, overwrite: bool) -> Path:
    """``out_dir/<assignment>``, refused if it holds an earlier grading unless ``overwrite``
    (then emptied)."""
    folder = out_dir / assignment
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"out_dir: {folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        if not overwrite:
            raise ValueError(
                f"out_dir: {folder} already holds a grading of {assignment}; move it away, or "
                "pass overwrite=True (CLI: --overwrite) to replace it")
        shutil.rmtree(folder)
    return folder


def grade_submissions(
    submissions_dir: str | Path,
    out_dir: str | Path,
    solutions_dir: str | Path = "solutions",
    assignment: str | None = None,
    timeout_per_cell: float = 30.0,
    isolation: str = "sandbox",
    show_hidden: bool = False,
    workers: int = 1,
    progress: bool = False,
    overwrite: bool = False,
) -> Path:
    """Grade every file in ``submissions_dir`` against one assignment and return the CSV path.

    ``assignment`` is the stem of a notebook in ``solutions_dir`` (optional when there is only
    one).  Everything goes to ``out_dir/<assignment>/``, which must be new or empty unless
    ``overwrite``: ``grades.csv`` (columns ``student, file, <question>..., total, status``,
    the first row the points possible; the student is the file name without extension, the
    status one of :data:`STATUSES`), ``feedback/<student>.md`` and the autograder used, with
    the hidden tests, in ``autograder/``.  One bad file never stops the run: it gets zeros
    and a feedback note.  ``isolation``: ``"sandbox"`` (the default; raises
    :class:`~rrmbook.teaching.sandbox.SandboxUnavailable` before any work where no sandbox
    starts) or ``"kernel"`` (unsafe: :data:`UNSAFE_WARNING`), see :func:`grade_notebook`;
    ``show_hidden``: see :func:`feedback_markdown`; ``workers`` submissions are graded at
    once (sandboxed grading only); ``progress`` shows a bar with the time left.
    """
    if timeout_per_cell <= 0:
        raise ValueError(f"timeout_per_cell must be > 0 seconds, got {timeout_per_cell}")
    if isolation not in ISOLATIONS:
        raise ValueError(f"isolation must be one of {ISOLATIONS}, got {isolation!r}")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if workers > 1 and isolation != "sandbox":
        raise ValueError("workers > 1 needs isolation='sandbox' (kernels are graded one at a time)")
    files = _submission_files(Path(submissions_dir))
    solution = _find_solution(Path(solutions_dir), assignment)
    if isolation == "sandbox" and (reason := sandbox_available()) is not None:
        raise SandboxUnavailable(
            f"cannot grade in a sandbox: {reason}.  Install bubblewrap, or grade trusted work "
            "with isolation='kernel' (CLI: --unsafe-no-sandbox)")
    out = _output_folder(Path(out_dir), solution.stem, overwrite)
    autograder = build_autograder(solution, out / "autograder")
    from concurrent.futures import ThreadPoolExecutor

    from tqdm.auto import tqdm

    def grade_one(job: tuple[Path, str]) -> SubmissionResult:
        path, student = job
        start = time.perf_counter()
        result = grade_notebook(path, autograder, timeout_per_cell, student=student,
                                isolation=isolation)
        log.info("%s: %s / %s (%.1f s)", path.name, _points(result.total),
                 _points(result.possible), time.perf_counter() - start)
        atomic_write_text(out / "feedback" / f"{student}.md",
                          feedback_markdown(result, autograder.name, show_hidden))
        return result

    jobs = list(zip(files, _student_names(files), strict=True))
    bar = tqdm(total=len(jobs), desc=f"grading {autograder.name}", unit="submission",
               disable=not progress)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = []
        for result in pool.map(grade_one, jobs):
            results.append(result)
            bar.update()
    bar.close()
    return atomic_write_text(out / "grades.csv", _grades_csv(results, autograder))
