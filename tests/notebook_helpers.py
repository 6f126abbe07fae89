"""Helpers shared by the grading tests: read solution lines, test names and answer cells
out of otter-format notebooks."""

from __future__ import annotations

import re

import nbformat


def solution_lines(nb: nbformat.NotebookNode) -> list[str]:
    """Stripped, non-empty lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION``."""
    lines, inside = [], False
    for cell in nb.cells:
        for line in cell.source.splitlines() if cell.cell_type == "code" else []:
            if line.strip() in ("# BEGIN SOLUTION", "# END SOLUTION"):
                inside = line.strip() == "# BEGIN SOLUTION"
            elif inside and line.strip():
                lines.append(line.strip())
    return lines


def names_of_tests(nb: nbformat.NotebookNode, hidden: bool) -> list[str]:
    """Names of the test functions in hidden (``# HIDDEN``) or public test cells."""
    names = []
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith("# HIDDEN") == hidden:
            names += re.findall(r"^def (test_\w+)\(", cell.source, flags=re.MULTILINE)
    return names


def answer_cell(nb: nbformat.NotebookNode, function: str) -> nbformat.NotebookNode:
    """The code cell that defines ``function``."""
    return next(c for c in nb.cells if c.cell_type == "code" and f"def {function}(" in c.source)
