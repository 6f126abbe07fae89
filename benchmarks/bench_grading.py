"""Seconds per submission when grading correct ch03 submissions: the kernel grader against the
sandboxed one (issue 15).  Prints a table; not a test.

    .venv/bin/python benchmarks/bench_grading.py [--submissions 20]

Both grade the same copies of the solution notebook one after another (one worker); the
sandboxed grader needs bubblewrap.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import tempfile
import time
from pathlib import Path

from rrmbook.teaching import build_autograder, grade_notebook
from rrmbook.teaching.sandbox import sandbox_available

SOLUTION = Path("solutions/ch03_exercises.ipynb")


def seconds_per_submission(paths: list[Path], autograder, isolation: str) -> float:
    start = time.perf_counter()
    for path in paths:
        result = grade_notebook(path, autograder, timeout_per_cell=60, isolation=isolation)
        assert result.total == result.possible == 10, (isolation, path, result.questions)
    return (time.perf_counter() - start) / len(paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        autograder = build_autograder(SOLUTION, tmp / "autograder")
        paths = []
        for i in range(args.submissions):
            paths.append(tmp / f"student{i:02d}.ipynb")
            shutil.copy(SOLUTION, paths[-1])
        rows = [("kernel (unsandboxed)", seconds_per_submission(paths, autograder, "kernel"))]
        reason = sandbox_available()
        if reason is None:
            rows.append(("sandbox (bubblewrap)", seconds_per_submission(paths, autograder, "sandbox")))
    print(f"# grading {args.submissions} correct ch03 submissions, one worker "
          f"({platform.machine()}, Python {platform.python_version()})")
    print("| grader | s per submission |")
    print("|---|---|")
    for name, s in rows:
        print(f"| {name} | {s:.2f} |")
    if reason is not None:
        print(f"(no sandbox here: {reason})")
    elif len(rows) == 2:
        print(f"sandboxed / unsandboxed: {rows[1][1] / rows[0][1]:.2f}")


if __name__ == "__main__":
    main()
