"""Test-only sweep methods (importable by the sweep's worker processes, which inherit the
test's ``sys.path``): a cell that logs each run, one that raises until a flag file exists,
and one that kills its own worker process."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from rrmbook.experiments.sweeps import register_method

#: environment variables read by :func:`logged` (the worker processes inherit them)
LOG_VAR = "RRMBOOK_TEST_SWEEP_LOG"
PHASE_VAR = "RRMBOOK_TEST_SWEEP_PHASE"


def logged(cell) -> dict:
    """Appends ``<phase> <key>`` to the file named by $RRMBOOK_TEST_SWEEP_LOG, sleeps
    ``params["sleep"]`` seconds, returns the seed as its metric."""
    path = os.environ.get(LOG_VAR)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{os.environ.get(PHASE_VAR, '?')} {cell.key}\n")
    time.sleep(cell.params["sleep"])
    return {"metrics": {"value": float(cell.seed)}}


def flaky(cell) -> dict:
    """Raises for seed 1 until the file ``params["fixed"]`` exists."""
    if cell.seed == 1 and not Path(cell.params["fixed"]).exists():
        raise RuntimeError(f"boom in {cell.key}")
    return {"metrics": {"value": float(cell.seed)}}


def dies(cell) -> dict:
    """Kills its own worker process (SIGKILL) for seed 0."""
    if cell.seed == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return {"metrics": {"value": float(cell.seed)}}


def register() -> None:
    register_method("test_logged", logged, defaults={"sleep": 0.0}, replace=True)
    register_method("test_flaky", flaky, defaults={"fixed": ""}, replace=True)
    register_method("test_dies", dies, replace=True)
