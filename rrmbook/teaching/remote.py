"""Calling a student's function across the sandbox wall, with plain data only (issue 15).

The trusted grader never runs student code and never unpickles anything the student's
process produced.  A :class:`Worker` starts :mod:`rrmbook.teaching.worker` in a sandbox
(:class:`~rrmbook.teaching.sandbox.Sandbox`) on a copy of the submission; the worker runs
the notebook's code cells and then answers calls.  :meth:`Worker.function` gives the trusted
side a stand-in for a student's function: calling it sends the arguments as plain data
(:func:`encode`: JSON with NumPy arrays as raw bytes, never pickle), the worker calls the
student's function on them and sends back the result *and the arguments as they are after
the call*, which the stand-in copies into the caller's arrays, so a hidden test can see an
input that the student's function modified.  The hidden tests themselves, with their
expected values, run in the trusted process: nothing the student's code does in its own
process (patching NumPy, the grader or otter) changes a comparison.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["encode", "decode", "RemoteError", "RemoteTimeout", "StuckCell", "Worker",
           "MAX_MESSAGE_BYTES", "WALL_FACTOR", "backstop_seconds"]

#: the largest message either side accepts (bytes of one JSON line)
MAX_MESSAGE_BYTES = 64 << 20
_ARRAY, _TUPLE, _DICT, _ELLIPSIS = "__ndarray__", "__tuple__", "__dict__", "__ellipsis__"


class RemoteError(Exception):
    """A call across the wall failed: the student's function raised (its exception type and
    message, as text), answered with something that is not plain data, or stopped
    answering."""


class RemoteTimeout(RemoteError):
    """The submission did not answer in time (the worker stopped the call, or the sandbox
    has been killed: see :attr:`Worker.alive`)."""


class StuckCell(RemoteTimeout):
    """A code cell of the submission ran past every limit (it swallowed the worker's
    interruption) or ended the worker; the sandbox has been killed.  ``cell`` is its
    number, ``timed_out`` which of the two."""

    def __init__(self, cell: int, seconds: float, cause: RemoteError) -> None:
        self.cell, self.timed_out = cell, isinstance(cause, RemoteTimeout)
        what = (f"did not finish within {seconds:g} s and could not be interrupted"
                if self.timed_out else "ended the notebook's process")
        super().__init__(f"cell {cell} {what}")


#: the worker also stops a cell or call after this many times its seconds of wall-clock time
WALL_FACTOR = 3


def backstop_seconds(seconds: float) -> float:
    """The grader's wall-clock limit for a cell or call that the worker limits to
    ``seconds`` of CPU time: generous, since the worker stops it first unless the code
    swallows the interruption, and a busy machine stretches wall time."""
    return seconds * WALL_FACTOR + 10.0


def encode(obj: Any) -> Any:
    """``obj`` as a JSON-able tree: None, ``...``, bools, numbers, strings, lists, tuples, dicts with
    string keys, NumPy arrays and scalars (not of object dtype); a torch tensor crosses as
    the NumPy array of its values.  Anything else raises ``TypeError`` naming its type."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if obj is Ellipsis:                 # an exercise's stub, ``answer = ...``, unanswered
        return {_ELLIPSIS: True}
    if isinstance(obj, (int, float)) and not isinstance(obj, np.generic):
        return obj
    if not isinstance(obj, (np.ndarray, np.generic)) and type(obj).__module__.startswith("torch"):
        obj = obj.detach().cpu().numpy()          # a torch tensor crosses as its values
    if isinstance(obj, (np.ndarray, np.generic)):
        arr = np.asarray(obj)
        if arr.dtype.hasobject or arr.dtype.kind == "V":
            raise TypeError(f"an array of dtype {arr.dtype} cannot cross the sandbox wall")
        return {_ARRAY: base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode("ascii"),
                "dtype": arr.dtype.str, "shape": list(arr.shape),
                "scalar": isinstance(obj, np.generic)}
    if isinstance(obj, tuple):
        return {_TUPLE: [encode(x) for x in obj]}
    if isinstance(obj, list):
        return [encode(x) for x in obj]
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError("only dicts with string keys can cross the sandbox wall")
        return {_DICT: {k: encode(v) for k, v in obj.items()}}
    raise TypeError(f"a value of type {type(obj).__name__} cannot cross the sandbox wall")


def decode(tree: Any) -> Any:
    """The value :func:`encode` encoded (raises ``ValueError`` on a malformed tree)."""
    if tree is None or isinstance(tree, (bool, str, int, float)):
        return tree
    if isinstance(tree, list):
        return [decode(x) for x in tree]
    if isinstance(tree, dict):
        if _ARRAY in tree:
            dtype = np.dtype(tree["dtype"])
            if dtype.hasobject:
                raise ValueError("object arrays are refused")
            shape = tuple(int(n) for n in tree["shape"])
            raw = base64.b64decode(tree[_ARRAY], validate=True)
            arr = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
            return arr[()] if tree.get("scalar") else arr
        if _TUPLE in tree:
            return tuple(decode(x) for x in tree[_TUPLE])
        if tree.get(_ELLIPSIS) is True:
            return Ellipsis
        if _DICT in tree:
            return {str(k): decode(v) for k, v in tree[_DICT].items()}
    raise ValueError(f"not an encoded value: {type(tree).__name__}")


def _copy_back(before: Any, after: Any) -> None:
    """Copy the worker's view of the arguments after the call into the caller's objects, so
    an in-place change made by the student's function is visible to the test."""
    if isinstance(before, np.ndarray) and isinstance(after, np.ndarray):
        if before.shape == after.shape and before.flags.writeable:
            np.copyto(before, after, casting="unsafe")
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            if isinstance(b, (np.ndarray, list, dict)):
                _copy_back(b, a)
            else:
                before[i] = a
    elif isinstance(before, dict) and isinstance(after, dict):
        for k in before:
            if k in after:
                if isinstance(before[k], (np.ndarray, list, dict)):
                    _copy_back(before[k], after[k])
                else:
                    before[k] = after[k]


class Worker:
    """A sandboxed worker that has run a submission's code cells and answers calls.

    ``sandbox`` is a started :class:`~rrmbook.teaching.sandbox.Sandbox` running
    ``python -m rrmbook.teaching.worker NOTEBOOK SECONDS``; ``call_timeout`` is those
    seconds (of CPU time, for each cell and each call; the grader waits
    :func:`backstop_seconds` of wall time).  Raises :class:`StuckCell` when a cell never
    ends, :class:`RemoteError` when the worker does not start."""

    def __init__(self, sandbox, call_timeout: float = 30.0) -> None:
        self.sandbox = sandbox
        self.call_timeout = call_timeout
        #: what the worker reported the submission did that a homework never needs
        self.violations: list[str] = []
        #: protected library functions the submission called (cumulative)
        self.protected: list[str] = []
        cell = 0
        while True:
            try:
                ready = self._receive(timeout=backstop_seconds(call_timeout))
            except RemoteError as exc:
                if cell and not self._past_deadline():
                    raise StuckCell(cell, call_timeout, exc) from None
                raise
            if isinstance(ready.get("cell"), int):
                cell = ready["cell"]
                continue
            break
        if ready.get("ready") is not True:
            raise RemoteError("the worker did not start")
        #: notes on the submission's cells (errors, stopped cells), from the worker
        self.notes: list[str] = [str(n) for n in ready.get("notes", [])][:50]
        #: names the notebook defined
        self.names: set[str] = {str(n) for n in ready.get("names", [])}
        #: numbers of the cells the worker stopped
        self.stopped: list[int] = [int(n) for n in ready.get("stopped", [])
                                   if isinstance(n, int)][:50]
        self._reports(ready)

    def _past_deadline(self) -> bool:
        import time

        return time.monotonic() >= self.sandbox._deadline

    @property
    def alive(self) -> bool:
        """Whether the sandboxed worker still answers (it does after a stopped call)."""
        return self.sandbox.alive

    def _reports(self, msg: dict) -> None:
        for key, seen in (("violations", self.violations), ("protected", self.protected)):
            items = msg.get(key, [])
            for item in (items if isinstance(items, list) else [])[:20]:
                if str(item)[:200] not in seen:
                    seen.append(str(item)[:200])

    def _receive(self, timeout: float) -> dict:
        import time

        start = time.monotonic()
        line = self.sandbox.read_line(timeout, MAX_MESSAGE_BYTES)
        if line is None:
            if time.monotonic() - start < 0.9 * timeout and not self._past_deadline():
                raise RemoteError("the submission's process ended (it exited, or was killed "
                                  "at a limit of the sandbox)")
            raise RemoteTimeout("no answer from the submission in time (an infinite loop?)")
        try:
            msg = json.loads(line)
        except ValueError as exc:
            raise RemoteError("the submission's process answered with something that is "
                              "not a message") from exc
        if not isinstance(msg, dict):
            raise RemoteError("the submission's process answered with something that is "
                              "not a message")
        return msg

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """``name(*args, **kwargs)`` in the worker; returns the decoded result, and copies
        the arguments' state after the call into ``args`` and ``kwargs``."""
        self.sandbox.write_line(json.dumps({"call": name, "args": encode(list(args)),
                                            "kwargs": encode(kwargs)}))
        msg = self._receive(backstop_seconds(self.call_timeout))
        self._reports(msg)
        if not msg.get("ok"):
            error = RemoteTimeout if msg.get("timed_out") is True else RemoteError
            raise error(str(msg.get("error", "the call failed"))[:500])
        try:
            result, after = decode(msg["result"]), decode(msg["args"])
            after_kwargs = decode(msg.get("kwargs", encode({})))
        except (KeyError, ValueError, TypeError) as exc:
            raise RemoteError(f"the answer could not be read ({exc})") from exc
        _copy_back(list(args), after)
        _copy_back(kwargs, after_kwargs)
        return result

    def value(self, name: str) -> Any:
        """The value of the submission's variable ``name`` as plain data (None if it
        defined none; a value that is not plain data raises :class:`RemoteError`)."""
        self.sandbox.write_line(json.dumps({"get": name}))
        msg = self._receive(backstop_seconds(self.call_timeout))
        if not msg.get("ok"):
            if msg.get("missing") is True:
                return None
            raise RemoteError(str(msg.get("error", "the value could not be read"))[:500])
        try:
            return decode(msg["value"])
        except (KeyError, ValueError, TypeError) as exc:
            raise RemoteError(f"the value could not be read ({exc})") from exc

    def function(self, name: str) -> Callable[..., Any] | None:
        """A stand-in for the submission's function ``name`` (None if it defined none, so
        a hidden test's ``callable(...)`` check reports a missing function)."""
        if name not in self.names:
            return None

        def stand_in(*args: Any, **kwargs: Any) -> Any:
            return self.call(name, *args, **kwargs)

        stand_in.__name__ = name
        return stand_in


def worker_command(notebook: str | Path, python: str, cell_seconds: float = 60,
                   skip: list[int] | tuple[int, ...] = ()) -> list[str]:
    """The command that runs the worker inside a sandbox on ``notebook`` (a path inside),
    giving each of its code cells and each call ``cell_seconds`` of CPU time and leaving
    out the cells numbered in ``skip``."""
    return [python, "-I", "-m", "rrmbook.teaching.worker", str(notebook), f"{cell_seconds:g}",
            ",".join(str(int(n)) for n in skip)]
