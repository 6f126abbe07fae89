"""The untrusted side of grading: ``python -m rrmbook.teaching.worker NOTEBOOK`` (issue 15).

Runs inside a sandbox only (:mod:`rrmbook.teaching.sandbox`).  It executes the notebook's
code cells in order in one namespace (otter's own cells and IPython magics skipped; a cell
that raises or overruns its time is noted and execution goes on), then reports which names
the notebook defined and answers calls from the grader, one JSON line each way
(:mod:`rrmbook.teaching.remote`).  The protocol has its own copies of standard input and
output; the student's code reads an empty input and prints to standard error, so nothing it
prints can be taken for an answer.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from .remote import decode, encode

#: seconds each code cell of the submission may take (a courtesy: the grader's own limits
#: decide, this only lets the cells after a stuck one run)
CELL_SECONDS = 60


class _CellTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise _CellTimeout


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    src = "".join(src) if isinstance(src, list) else str(src)
    # IPython magics and shell escapes are not Python
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in src.splitlines())


def _is_otter(source: str) -> bool:
    from .assign import is_otter_cell

    return is_otter_cell(source)


def run_cells(cells: list[dict], namespace: dict, seconds: int = CELL_SECONDS) -> list[str]:
    """Execute the code cells in ``namespace``, each with ``seconds``; returns notes on the
    ones that failed."""
    notes = []
    signal.signal(signal.SIGALRM, _alarm)
    for number, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        source = _source(cell)
        if not source.strip() or _is_otter(source):
            continue
        signal.alarm(seconds)
        try:
            exec(compile(source, f"<cell {number}>", "exec"), namespace)  # noqa: S102
        except _CellTimeout:
            notes.append(f"cell {number}: stopped after {seconds} s")
        except BaseException as exc:  # noqa: BLE001 - a student's cell may raise anything
            notes.append(f"cell {number}: {type(exc).__name__}: {exc}"[:300])
        finally:
            signal.alarm(0)
    return notes


def serve(namespace: dict, inp, out) -> None:
    """Answer calls until the grader closes the input."""
    for line in inp:
        try:
            request = json.loads(line)
            name, args = str(request["call"]), decode(request["args"])
        except Exception as exc:  # noqa: BLE001
            reply = {"ok": False, "error": f"bad request ({type(exc).__name__})"}
        else:
            fn = namespace.get(name)
            try:
                if not callable(fn):
                    raise NameError(f"the notebook defines no function {name!r}")
                result = fn(*args)
                reply = {"ok": True, "result": encode(result), "args": encode(args)}
            except BaseException as exc:  # noqa: BLE001
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
        out.write(json.dumps(reply) + "\n")
        out.flush()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    proto_in = os.fdopen(os.dup(0), "r")
    proto_out = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    seconds = int(argv[1]) if len(argv) > 1 else CELL_SECONDS
    with open(argv[0]) as f:
        cells = json.load(f).get("cells", [])
    namespace: dict = {"__name__": "__main__"}
    notes = run_cells(cells, namespace, seconds)
    names = sorted(k for k, v in namespace.items() if callable(v) and not k.startswith("_"))
    proto_out.write(json.dumps({"ready": True, "notes": notes, "names": names}) + "\n")
    proto_out.flush()
    serve(namespace, proto_in, proto_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
