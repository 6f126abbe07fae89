"""Seconds per submission when grading a folder of correct ch03 submissions: the unsandboxed
kernel grader against the sandboxed one, at 1 and 2 workers (issue 15).  Prints a table;
not a test.

    .venv/bin/python benchmarks/bench_grading.py [--submissions 20] [--repeats 3]

Each row grades the same folder with ``grade_submissions`` (grades.csv and feedback
included) ``--repeats`` times and reports the median and the range.  The submissions are
the exercise notebook with the solutions filled in, as a student who solved everything
hands it in.  Targets (issue 15): sandboxing costs at most 30 % more per submission, and
2 workers grade at least 1.6x faster than 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from rrmbook.teaching import build_autograder, grade_submissions
from rrmbook.teaching.sandbox import sandbox_available

SOLUTIONS = Path("solutions")
NAME = "ch03_exercises"


def seconds_per_submission(subs: Path, out: Path, n: int, isolation: str, workers: int,
                           repeats: int) -> list[float]:
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        csv_path = grade_submissions(subs, out / f"{isolation}-{workers}-{r}", SOLUTIONS, NAME,
                                     60.0, isolation=isolation, workers=workers)
        times.append((time.perf_counter() - start) / n)
        rows = csv_path.read_text().splitlines()[2:]
        assert len(rows) == n and all(row.endswith(",10,ok") for row in rows), rows
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    reason = sandbox_available()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        solved = nbformat.read(build_autograder(SOLUTIONS / f"{NAME}.ipynb", tmp / "ag").notebook,
                               as_version=4)
        subs = tmp / "subs"
        subs.mkdir()
        for i in range(args.submissions):
            nbformat.write(solved, subs / f"student{i:02d}.ipynb")
        configs = [("kernel (unsandboxed)", "kernel", 1)]
        if reason is None:
            configs += [("sandbox (bubblewrap)", "sandbox", 1), ("sandbox (bubblewrap)", "sandbox", 2)]
        rows = [(name, workers, seconds_per_submission(subs, tmp / "out", args.submissions,
                                                       isolation, workers, args.repeats))
                for name, isolation, workers in configs]
    print(f"# grading {args.submissions} correct ch03 submissions, median of {args.repeats} "
          f"({os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()})")
    print("| grader | workers | s per submission | range |")
    print("|---|---|---|---|")
    for name, workers, times in rows:
        print(f"| {name} | {workers} | {statistics.median(times):.2f} | "
              f"{min(times):.2f}-{max(times):.2f} |")
    if reason is not None:
        print(f"(no sandbox here: {reason})")
        return
    kernel, one, two = (statistics.median(t) for _, _, t in rows)
    print(f"sandboxed / unsandboxed (1 worker): {one / kernel:.2f} (target <= 1.30)")
    print(f"speed-up of 2 workers over 1 (sandboxed): {one / two:.2f} (target >= 1.6)")


if __name__ == "__main__":
    main()
