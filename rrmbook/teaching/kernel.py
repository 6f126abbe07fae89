"""Running code in a Jupyter kernel with a time limit per cell, surviving hangs and crashes.

``otter run`` executes a whole submission in one nbconvert call with no time limit: an infinite
loop stops the run and a hung kernel is never recovered.  Here each code cell runs in a Jupyter
kernel with a time limit; a cell that overruns is interrupted, and a kernel that ignores the
interrupt (a loop with a bare ``except:``) or dies is restarted and the cells before it are
replayed.  A question's tests run in the same kernel as one more time-limited cell
(:func:`run_tests_code`), which calls :func:`run_tests_in_kernel` there.

Student code runs with the instructor's rights: grade untrusted submissions in a container or a
throw-away account.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager
from otter.nbmeta_config import NBMetadataConfig
from otter.test_files import create_test_file

__all__ = [
    "INTERRUPT_GRACE_S",
    "KERNEL_START_S",
    "Kernel",
    "KernelDied",
    "Outcome",
    "run_tests_code",
    "run_tests_in_kernel",
]

log = logging.getLogger(__name__)

#: Seconds a kernel gets to answer after an interrupt before it is restarted.
INTERRUPT_GRACE_S = 5.0
#: Seconds a fresh kernel gets to start.
KERNEL_START_S = 60.0
#: Code run once in every fresh kernel: ``exit()``/``quit()`` in a submission would otherwise end
#: the kernel a moment *after* their cell replied, and the next cell would take the blame.
_KERNEL_SETUP = "get_ipython().ask_exit = lambda: None"


@dataclass(frozen=True)
class Outcome:
    """How one cell ended: ``ok``, ``error`` (it raised), ``timeout`` (stopped) or ``died``."""

    status: str
    message: str = ""


class KernelDied(Exception):
    """The kernel process ended while a cell was running."""


class Kernel:
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

    def __enter__(self) -> Kernel:
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

        Raises ``TimeoutError`` after ``timeout`` seconds, and :class:`KernelDied` as soon as
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
                    raise KernelDied from None
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]
        raise TimeoutError(f"no reply within {timeout:g} s")

    def run(self, code: str, record: bool = True) -> Outcome:
        """Run ``code``; with ``record`` it is replayed after a kernel restart."""
        try:
            content = self._execute(code, self.timeout)
        except KernelDied:
            self._restart()
            return Outcome("died", "the Python kernel stopped (a crash?)")
        except TimeoutError:
            self._interrupt()
            return Outcome("timeout", f"did not finish within {self.timeout:g} s")
        if record:
            self.history.append(code)
        if content.get("status") == "error":
            return Outcome(
                "error", f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"
            )
        return Outcome("ok")

    def _interrupt(self) -> None:
        """Interrupt the running cell; restart if the kernel does not answer in time."""
        try:
            if self._km.is_alive():
                self._km.interrupt_kernel()
            self._execute("pass", INTERRUPT_GRACE_S)
        except (TimeoutError, KernelDied):
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
            except (TimeoutError, KernelDied):
                del self.history[i]
                self._restart()
                return


def run_tests_in_kernel(test_path: str, result_path: str, env: dict[str, Any]) -> None:
    """Run one otter test file against ``env`` and write each case's pass/fail as JSON.

    This runs *inside the student's kernel*: the cell made by :func:`run_tests_code` calls it
    with the kernel's ``globals()``.  The points are computed outside, from the instructor's
    copy of the test file.
    """
    test = create_test_file(test_path, NBMetadataConfig())
    test.run(env)
    cases = [{"passed": bool(r.passed), "message": r.message or ""} for r in test.test_case_results]
    Path(result_path).write_text(json.dumps(cases))


def run_tests_code(test_path: Path, result_path: Path) -> str:
    """The cell that runs the test file ``test_path`` in a kernel, against its globals, with
    :func:`run_tests_in_kernel`, which writes the results to ``result_path``."""
    return (
        f"import {__name__} as _rrmbook_kernel\n"
        f"_rrmbook_kernel.run_tests_in_kernel({str(test_path)!r}, {str(result_path)!r}, globals())"
    )
