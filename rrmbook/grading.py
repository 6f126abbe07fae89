"""Deprecated: use :mod:`rrmbook.teaching` (this module goes away in the next release).

``rrmbook.grading`` was split into :mod:`rrmbook.teaching.assign` (building exercises),
:mod:`rrmbook.teaching.kernel` (running code in a kernel with time limits) and
:mod:`rrmbook.teaching.grade` (grading submissions); the public names below are re-exported
from :mod:`rrmbook.teaching` unchanged.
"""

from __future__ import annotations

import warnings

from .teaching import (
    Autograder,
    CaseResult,
    QuestionResult,
    SubmissionResult,
    build_autograder,
    build_exercises,
    feedback_markdown,
    grade_notebook,
    grade_submissions,
    run_tests_in_kernel,
    stale_exercises,
)

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

warnings.warn(
    "rrmbook.grading is deprecated and will be removed in the next release; "
    "import from rrmbook.teaching instead",
    DeprecationWarning,
    stacklevel=2,
)
