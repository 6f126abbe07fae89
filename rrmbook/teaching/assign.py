"""Building student notebooks from solution notebooks with otter assign.

A solution notebook is written in otter-grader's assign format: a raw ``# ASSIGNMENT CONFIG``
cell, then per question raw ``# BEGIN QUESTION`` / ``# BEGIN SOLUTION`` / ``# BEGIN TESTS``
cells around the prompt, the solution and the test cells.  A test cell holds one test function
and a call to it, so the solution notebook checks itself when it runs (under nbval, too); a
first line ``# HIDDEN`` keeps the test away from students.  The notebook must set ``tests:
{files: false}``, so that the public tests travel inside the student notebook's metadata and
``exercises/`` needs no ``tests/`` folder (which would clash between chapters).

otter assign's notebook transformer is used as is: solutions replaced by ``...``, hidden tests
removed, outputs stripped, an init cell (``grader = otter.Notebook("<name>.ipynb")``) and one
``grader.check("qN")`` cell per question added, the tests (with their points) written in
otter's exception-based test file format.  This module adds deterministic output (stable cell
ids, pruned metadata, atomic writes), so a test can check that ``exercises/`` is in sync with
``solutions/`` (:func:`stale_exercises`), and the autograder side (:func:`build_autograder`):
the solutions notebook and one test file per question, hidden tests included.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from pprint import pformat
from typing import Any

import nbformat
from otter.assign.assignment import Assignment
from otter.assign.output import write_output_directories
from otter.nbmeta_config import NBMetadataConfig
from otter.test_files import TestFile, create_test_file
from otter.utils import NOTEBOOK_METADATA_KEY, chdir, get_relpath

from ..io import atomic_write_text

__all__ = [
    "Autograder",
    "build_autograder",
    "build_exercises",
    "is_otter_cell",
    "solution_notebooks",
    "stale_exercises",
]

#: Notebook metadata kept in generated notebooks (everything else is editor state).
_KEPT_METADATA = ("kernelspec", "language_info", NOTEBOOK_METADATA_KEY)
#: A line that only sets up or calls otter's client (init, check and export cells).
_OTTER_LINE = re.compile(
    r"\s*(#.*|import otter|from rrmbook\.teaching\.check import find_notebook"
    r"|grader\s*=\s*otter\.Notebook\(.*\)"
    r"|grader\.(check|check_all|export)\(.*\))?\s*"
)


def is_otter_cell(source: str) -> bool:
    """True for otter's own init/check/export cells: the grader runs the tests itself."""
    return all(_OTTER_LINE.fullmatch(line) for line in source.splitlines())


def solution_notebooks(src_dir: Path) -> list[Path]:
    """The solution notebooks (``*.ipynb``) in ``src_dir``, sorted; raises if there are none."""
    notebooks = sorted(p for p in Path(src_dir).glob("*.ipynb") if p.is_file())
    if not notebooks:
        raise ValueError(f"no solution notebooks (*.ipynb) in {src_dir}")
    return notebooks


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
    if len(cells) > 1 and is_otter_cell(cells[0].source) and cells[1].cell_type == "markdown":
        cells[0], cells[1] = cells[1], cells[0]
    return nb


_INIT = re.compile(r"""otter\.Notebook\(\s*["']([^"']+)\.ipynb["']\s*\)""")


def _portable_init(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Make otter's init cell find its notebook whatever its file name
    (:func:`rrmbook.teaching.check.find_notebook`), in place."""
    for cell in nb.cells:
        if cell.cell_type == "code" and is_otter_cell(cell.source) and _INIT.search(cell.source):
            cell.source = _INIT.sub(r'otter.Notebook(find_notebook("\1"))', cell.source).replace(
                "import otter\n", "import otter\nfrom rrmbook.teaching.check import find_notebook\n", 1)
    return nb


def _notebook_text(nb: nbformat.NotebookNode) -> str:
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


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
    for solution in solution_notebooks(Path(src_dir)):
        source_ids = {c.get("id") for c in nbformat.read(solution, as_version=4).cells}
        with tempfile.TemporaryDirectory() as tmp:
            autograder_nb, student_nb = _otter_assign(solution, Path(tmp))
            student = _portable_init(_title_first(nbformat.read(student_nb, as_version=4)))
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

    @property
    def handout(self) -> Path:
        """The student version of the assignment, as handed out (``handout.ipynb`` beside the
        autograder notebook)."""
        return self.notebook.parent / "handout.ipynb"


def build_autograder(solution: str | Path, dest: str | Path) -> Autograder:
    """Run otter assign on one solution notebook and write the autograder side to ``dest``
    (``dest/<name>.ipynb`` and ``dest/tests/<question>.py``)."""
    solution, dest = Path(solution), Path(dest).resolve()  # the kernel runs elsewhere
    with tempfile.TemporaryDirectory() as tmp:
        autograder_nb, student_nb = _otter_assign(solution, Path(tmp))
        tests = _write_grading_dir(autograder_nb, dest)
        shutil.copy(student_nb, dest / "handout.ipynb")
    if not tests:
        raise ValueError(f"{solution} has no autograded questions (no # BEGIN TESTS blocks)")
    return Autograder(solution.stem, dest / solution.name, tests)
