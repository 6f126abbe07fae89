"""The untrusted side of grading: ``python -m rrmbook.teaching.worker NOTEBOOK`` (issue 15).

Runs inside a sandbox only (:mod:`rrmbook.teaching.sandbox`).  It executes the notebook's
code cells in order in one namespace (otter's own cells and IPython magics skipped; a cell
that raises or overruns its time is noted and execution goes on), then reports which names
the notebook defined and answers calls from the grader (and requests for the values of
its variables, for questions whose answer is a number or an array), one JSON line each way
(:mod:`rrmbook.teaching.remote`).  The protocol has its own copies of standard input and
output, closed in any process the notebook forks; the student's code reads an empty input
and prints to standard error, so nothing it prints can be taken for an answer.

Messages to the grader: ``{"cell": n}`` before cell ``n`` runs (so the grader can tell which
cell never ended and run the notebook again without it; ``{"cell": 0}`` once the last cell
has ended), ``{"ready": ...}`` once the cells
have run, then one reply per call.  Each cell and each call has ``seconds`` of CPU time (and
three times that of wall time, for a cell that sleeps); the grader keeps its own, longer,
wall-clock limits for code that swallows the interruption.

The worker also *reports* what a homework never needs to do (:class:`Monitor`): reaching the
network, starting processes, touching files outside its folder, looking at other processes,
replacing library functions (patching NumPy or otter), hitting the memory or process limit,
calling a library function the question asks for.  The
sandbox already prevents the harm; the report is for the instructor's ``status`` column.  It
comes from the student's own process, so a determined student can suppress it, but not the
protection.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import sys
import types

from .remote import WALL_FACTOR, decode, encode

#: seconds of CPU time each code cell and each call may take (the grader passes its own)
CELL_SECONDS = 60
#: audit events, by what they mean when the student's code raises them directly
_EVENTS = {
    **dict.fromkeys(("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"),
                    "used the network"),
    **dict.fromkeys(("os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec",
                     "os.system", "subprocess.Popen"), "started a process"),
}
_CHANGES = ("os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.chmod", "os.chown",
            "os.truncate", "os.symlink", "os.link", "os.utime", "shutil.rmtree",
            "shutil.move", "shutil.copyfile")
_LISTINGS = ("os.listdir", "os.scandir", "glob.glob", "os.walk")


class _Timeout(BaseException):
    """Raised in the worker when a cell or call used up its time."""


def _stop(signum, frame):
    raise _Timeout


def _path(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return os.path.abspath(value) if isinstance(value, str) else None


def _outside(path: str | None) -> bool:
    """Whether ``path`` lies outside the folders a submission may write.  The private /tmp
    starts empty, so a path there whose folder does not exist names a file of the machine
    outside (an instructor's temporary folder) and counts as outside."""
    if path is None:
        return False
    if path == "/sandbox" or path.startswith("/sandbox/"):
        return False
    if path == "/tmp" or path.startswith("/tmp/"):
        return not os.path.isdir(os.path.dirname(path))
    return True


def _writes(mode, flags) -> bool:
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return True
    return isinstance(flags, int) and bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))


class Monitor:
    """An audit hook (:pep:`578`) that records what the student's code did that a homework
    never needs.  Only events raised with a student cell as the nearest caller outside the
    standard library count, so a library doing its own work (matplotlib asking fontconfig
    for fonts, say) is not reported."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._stdlib = os.path.dirname(os.__file__)

    def _students(self) -> bool:
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if name.startswith("<cell"):
                return True
            if name.startswith("<frozen importlib"):
                return False            # an import
            stdlib = name.startswith("<frozen") or (name.startswith(self._stdlib)
                                                    and "-packages" not in name)
            if not stdlib:
                return False            # a library's frame, or the worker's own
            frame = frame.f_back
        return False

    def note(self, what: str) -> None:
        if what not in self.seen:
            self.seen.append(what)

    def __call__(self, event: str, args: tuple) -> None:
        what = _EVENTS.get(event)
        if what is None:
            if event == "open" and len(args) >= 3:
                path = _path(args[0])
                if path and path.startswith("/proc/") and not path.startswith("/proc/self"):
                    what = "looked at other processes"
                elif _writes(args[1], args[2]) and _outside(path):
                    what = f"wrote outside its folder ({path})"
            elif event in _CHANGES and args and _outside(_path(args[0])):
                what = f"changed files outside its folder ({_path(args[0])})"
            elif event in _LISTINGS and args:
                path = _path(args[0] if args[0] is not None else ".")
                if path and path.startswith("/proc"):
                    what = "looked at other processes"
                elif _outside(path) and not (path == "/tmp" or path.startswith("/tmp/")):
                    what = f"searched files outside its folder ({path})"
        if what is not None and what not in self.seen and self._students():
            self.seen.append(what)

    def exception(self, exc: BaseException) -> None:
        """Note a limit that an exception shows was hit."""
        if isinstance(exc, MemoryError):
            self.note("hit the memory limit")
        elif isinstance(exc, BlockingIOError) and exc.errno == errno.EAGAIN:
            self.note("hit the process limit")


MONITOR = Monitor()
_MAIN_PID = os.getpid()
#: modules whose functions a submission has no business replacing
PATCHABLE = ("numpy", "otter", "rrmbook", "builtins", "math", "torch")


def _from_a_cell(value) -> bool:
    return isinstance(value, types.FunctionType) and value.__code__.co_filename.startswith("<cell")


def replaced_library_code(prefixes: tuple[str, ...] = PATCHABLE) -> list[str]:
    """Names of the functions of modules under ``prefixes`` (and of their classes) that are
    now functions defined in a notebook cell: what patching NumPy or otter leaves behind."""
    found = []
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in prefixes:
            continue
        for attr, value in list(vars(module).items()):
            if _from_a_cell(value):
                found.append(f"{name}.{attr}")
            elif isinstance(value, type) and getattr(value, "__module__", None) == name:
                found += [f"{name}.{attr}.{k}" for k, v in list(vars(value).items())
                          if _from_a_cell(v)]
    return sorted(set(found))


def _protected_calls() -> list[str]:
    """Library functions the questions ask for that the notebook called (and was refused)."""
    from .protect import CALLED

    return list(CALLED)


def _arm(seconds: float) -> None:
    signal.setitimer(signal.ITIMER_PROF, seconds)
    signal.setitimer(signal.ITIMER_REAL, seconds * WALL_FACTOR)


def _disarm() -> None:
    signal.setitimer(signal.ITIMER_PROF, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)


def _only_the_worker() -> None:
    """A process the notebook forked ends where it would go back to the worker's loop."""
    if os.getpid() != _MAIN_PID:
        os._exit(0)


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    src = "".join(src) if isinstance(src, list) else str(src)
    # IPython magics and shell escapes are not Python
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in src.splitlines())


def _is_otter(source: str) -> bool:
    from .assign import is_otter_cell

    return is_otter_cell(source)


def run_cells(cells: list[dict], namespace: dict, seconds: float = CELL_SECONDS,
              skip: frozenset[int] = frozenset(), progress=None) -> tuple[list[str], list[int]]:
    """Execute the code cells in ``namespace``, each with ``seconds`` of CPU time; cells
    numbered in ``skip`` do not run.  ``progress(n)`` is called before cell ``n`` runs.
    Returns notes on the cells that failed and the numbers of those that were stopped."""
    notes, stopped = [], []
    signal.signal(signal.SIGPROF, _stop)
    signal.signal(signal.SIGALRM, _stop)
    for number, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code" or number in skip:
            continue
        source = _source(cell)
        if not source.strip() or _is_otter(source):
            continue
        if progress is not None:
            progress(number)
        try:
            _arm(seconds)
            exec(compile(source, f"<cell {number}>", "exec"), namespace)  # noqa: S102
        except _Timeout:
            stopped.append(number)
            notes.append(f"cell {number}: did not finish within {seconds:g} s of CPU time "
                         "(an infinite loop?); the grader stopped it")
        except BaseException as exc:  # noqa: BLE001 - a student's cell may raise anything
            MONITOR.exception(exc)
            notes.append(f"cell {number}: {type(exc).__name__}: {exc}"[:300])
        finally:
            _disarm()
            _only_the_worker()
    return notes, stopped


def _call(fn, name: str, args: list, kwargs: dict, seconds: float) -> dict:
    if not callable(fn):
        return {"ok": False, "error": f"NameError: the notebook defines no function {name!r}"}
    try:
        _arm(seconds)
        result = fn(*args, **kwargs)
    except _Timeout:
        return {"ok": False, "timed_out": True,
                "error": f"did not finish within {seconds:g} s of CPU time (an infinite loop?)"}
    except BaseException as exc:  # noqa: BLE001
        MONITOR.exception(exc)
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
    finally:
        _disarm()
        _only_the_worker()
    try:
        return {"ok": True, "result": encode(result), "args": encode(args),
                "kwargs": encode(kwargs)}
    except TypeError as exc:
        return {"ok": False, "error": f"TypeError: {exc}"}


def _get(namespace: dict, name: str) -> dict:
    if name not in namespace:
        return {"ok": False, "missing": True, "error": f"the notebook defines no {name!r}"}
    try:
        return {"ok": True, "value": encode(namespace[name])}
    except TypeError as exc:
        return {"ok": False, "error": f"{name}: {exc}"}


def serve(namespace: dict, inp, out, seconds: float = CELL_SECONDS) -> None:
    """Answer calls until the grader closes the input."""
    for line in inp:
        try:
            request = json.loads(line)
            if "get" in request:                    # a value the notebook defined
                reply = _get(namespace, str(request["get"]))
                out.write(json.dumps(reply) + "\n")
                out.flush()
                continue
            name, args = str(request["call"]), decode(request["args"])
            kwargs = decode(request.get("kwargs", {"__dict__": {}}))
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise TypeError
        except Exception as exc:  # noqa: BLE001
            reply = {"ok": False, "error": f"bad request ({type(exc).__name__})"}
        else:
            reply = _call(namespace.get(name), name, args, kwargs, seconds)
        reply["violations"] = list(MONITOR.seen)
        reply["protected"] = _protected_calls()
        out.write(json.dumps(reply) + "\n")
        out.flush()


def main(argv: list[str] | None = None) -> int:
    """``NOTEBOOK [SECONDS [SKIP,SKIP...]]``: run the notebook (cells in SKIP left out),
    then answer calls."""
    argv = sys.argv[1:] if argv is None else argv
    sys.dont_write_bytecode = True         # (python -I ignores PYTHONDONTWRITEBYTECODE)
    proto_in = os.fdopen(os.dup(0), "r")
    proto_out = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    # a forked process must not talk to the grader
    os.register_at_fork(after_in_child=lambda: (os.close(proto_in.fileno()),
                                                os.close(proto_out.fileno())))
    seconds = float(argv[1]) if len(argv) > 1 else CELL_SECONDS
    skip = frozenset(int(n) for n in argv[2].split(",") if n) if len(argv) > 2 else frozenset()
    with open(argv[0]) as f:
        cells = json.load(f).get("cells", [])

    def progress(number: int) -> None:
        proto_out.write(json.dumps({"cell": number}) + "\n")
        proto_out.flush()

    namespace: dict = {"__name__": "__main__"}
    sys.addaudithook(MONITOR)
    notes, stopped = run_cells(cells, namespace, seconds, skip, progress)
    progress(0)                            # no cell runs any more: a death now is not a cell's
    try:
        patched = replaced_library_code()
    except Exception:  # noqa: BLE001 - a report must never stop the grading
        patched = []
    if patched:
        MONITOR.note("replaced library code (" + ", ".join(patched[:5])
                     + (", ..." if len(patched) > 5 else "") + ")")
    names = sorted(k for k, v in namespace.items() if callable(v) and not k.startswith("_"))
    proto_out.write(json.dumps({"ready": True, "notes": notes, "names": names,
                                "stopped": stopped, "violations": list(MONITOR.seen),
                                "protected": _protected_calls()}) + "\n")
    proto_out.flush()
    serve(namespace, proto_in, proto_out, seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
