"""How training runs on this machine: torch threads and progress bars.

The networks of this library are small, so one torch thread per process is the fastest
setting on a laptop, and far faster than torch's default of one thread per core whenever
another process (a second learner, the test suite, a browser) competes for the cores. Every
trainer (:func:`rrmbook.marl.train`, :func:`rrmbook.offline.train_sac`, ``train_dqn``,
``train_cql``) runs inside :func:`torch_threads` with ``threads=1`` unless told otherwise,
and restores the caller's setting afterwards.

Progress bars are on by default where somebody watches: a terminal, or a Jupyter kernel
started by a person; set ``RRMBOOK_PROGRESS=0`` to turn the default off (the Makefile does,
for the book build and the tests, where a bar would only be noise), ``=1`` to force it on.
An explicit ``progress=True/False`` always wins.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["torch_threads", "show_progress", "trainer"]


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the body with ``torch.set_num_threads(threads)`` (``None``: leave torch alone)."""
    if threads is None:
        yield
        return
    from .checks import positive_int

    threads = positive_int("threads", threads)
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def show_progress(progress: bool | None) -> bool:
    """``progress`` if given, else whether a person is likely watching (see the module)."""
    if progress is not None:
        return bool(progress)
    forced = os.environ.get("RRMBOOK_PROGRESS", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if type(shell).__name__ == "ZMQInteractiveShell":   # a Jupyter kernel
        return True
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


def trainer(fn):
    """Give a training function the keyword ``threads`` (default 1): the call runs inside
    :func:`torch_threads`, so training uses one torch thread unless told otherwise, and the
    caller's setting is back afterwards. The signature shown by ``help()`` includes it."""
    import functools
    import inspect

    @functools.wraps(fn)
    def wrapper(*args, threads: int | None = 1, **kwargs):
        with torch_threads(threads):
            return fn(*args, **kwargs)

    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    extra = inspect.Parameter("threads", inspect.Parameter.KEYWORD_ONLY, default=1,
                              annotation="int | None")
    at = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
    wrapper.__signature__ = sig.replace(parameters=params[:at] + [extra] + params[at:])
    return wrapper
