"""Exercises and autograding: build student notebooks from solutions, grade submissions.

The pipeline has two commands::

    solutions/<name>.ipynb --build_exercises--> exercises/<name>.ipynb  (committed; public checks)
                                           \\-> <grading_dir>/<name>/    (not committed; all tests)
    submissions/*          --grade_submissions--> out/<name>/grades.csv, out/<name>/feedback/*.md

Modules, by concern:

* :mod:`~rrmbook.teaching.assign`: otter assign on the solution notebooks (the otter format is
  described there), deterministic student notebooks, the staleness check and the autograder side.
* :mod:`~rrmbook.teaching.kernel`: a Jupyter kernel that runs each cell with a time limit and is
  interrupted, or restarted with its cells replayed, when a cell hangs or the kernel dies.
* :mod:`~rrmbook.teaching.grade`: grading a folder of submissions into ``grades.csv`` and one
  Markdown feedback file per student, each submission in a sandbox by default.
* :mod:`~rrmbook.teaching.sandbox`, :mod:`~rrmbook.teaching.worker`,
  :mod:`~rrmbook.teaching.remote`, :mod:`~rrmbook.teaching.protect`: the bubblewrap sandbox,
  the untrusted worker that runs a submission in it, the plain-data calls across its wall,
  and the library functions withheld while grading (the README has the threat model).
* :mod:`~rrmbook.teaching.check`: the student side, finding the notebook whose metadata
  holds the public tests.

On the student side, otter-grader (7.x) is used as is: ``grader.check("q1")`` runs the public
tests offline, in the student's kernel, from the notebook's metadata.  Requires the ``grade``
extra (otter-grader, which brings nbformat and jupyter_client).
"""

from .assign import Autograder, build_autograder, build_exercises, stale_exercises
from .grade import (
    CaseResult,
    QuestionResult,
    SubmissionResult,
    feedback_markdown,
    grade_notebook,
    grade_submissions,
)
from .kernel import run_tests_in_kernel

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
