"""The student side of the exercises: find the notebook that ``grader.check`` reads its
tests from, whatever the student renamed it to (issue 15).

otter stores an assignment's public tests in the notebook's own metadata, and
``otter.Notebook(path)`` reads them from ``path``.  The exercise notebooks are built with
``grader = otter.Notebook(find_notebook("ch03_exercises"))`` instead of a fixed file name,
so ``Copy of ch03_exercises.ipynb`` or ``ch03_alice.ipynb`` checks as well as the
original.  Every copy of an assignment carries the same public tests, so any of them will
do when several are in the folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["find_notebook"]


def _assignment_of(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return None
    otter = meta.get("otter", {}) if isinstance(meta, dict) else {}
    return otter.get("assignment_name") if isinstance(otter, dict) else None


def find_notebook(assignment: str, folder: str | Path = ".") -> str:
    """The path of a notebook of ``assignment`` for ``otter.Notebook``: the running notebook
    if Jupyter says which (``JPY_SESSION_NAME``), else ``<assignment>.ipynb`` in ``folder``,
    else the most recently saved notebook in ``folder`` whose otter metadata names the
    assignment.  Raises ``FileNotFoundError`` saying where it looked."""
    folder = Path(folder)
    session = os.environ.get("JPY_SESSION_NAME", "")
    for candidate in (Path(session), folder / Path(session).name):
        if session.endswith(".ipynb") and candidate.is_file() \
                and _assignment_of(candidate) == assignment:
            return str(candidate)
    default = folder / f"{assignment}.ipynb"
    if default.is_file():
        return str(default)
    matches = [p for p in folder.glob("*.ipynb") if _assignment_of(p) == assignment]
    if matches:
        return str(max(matches, key=lambda p: (p.stat().st_mtime, p.name)))
    raise FileNotFoundError(
        f"grader.check needs this notebook's file, but no notebook of {assignment} is in "
        f"{folder.resolve()}: save the notebook and run it from the folder it is saved in")
