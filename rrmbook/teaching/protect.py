"""The library functions a graded question asks students to write, made unavailable to the
submission while it is graded (issue 15).

A student who answers "write the collision rule" with ``from rrmbook.conflict import
conflict_success as success`` would pass every hidden test.  In a sandbox the ``rrmbook``
package is seen read-only, so the grader binds over it a copy in which each protected
function's body is replaced by one ``raise`` (:func:`redacted_package`): importing still
works, calling fails with a message that says why (:func:`refuse`, which also records the
call, so the worker can report it and the grader give the question no points), and the
hidden tests (which run in the grader, on the real library) report the failure as the
question's.
"""

from __future__ import annotations

import ast
import atexit
import functools
import shutil
import tempfile
from pathlib import Path

__all__ = ["PROTECTED", "CALLED", "NOT_AVAILABLE", "redacted_package", "redacted_for", "refuse"]

#: assignment -> the library functions its questions ask for (``module.function``)
PROTECTED: dict[str, tuple[str, ...]] = {
    "ch03_exercises": ("rrmbook.conflict.conflict_success", "rrmbook.traffic.queue_step",
                       "rrmbook.baselines.conflict.gms_schedule"),
    "ch04_exercises": ("rrmbook.channel.spectral_efficiency",
                       "rrmbook.baselines.cellular.wmmse_update",
                       "rrmbook.baselines.cellular.wmmse_powers"),
    "ch05_exercises": ("rrmbook.marl.losses.clipped_surrogate",
                       "rrmbook.marl.losses.clipped_value_loss"),
    "ch08_exercises": ("rrmbook.offline.losses.vdn_logsumexp",
                       "rrmbook.offline.losses.soft_state_value"),
    "ch09_exercises": ("rrmbook.pf.team_reward", "rrmbook.pf.score", "rrmbook.pf.top_n"),
}

NOT_AVAILABLE = "{name} is not available while your work is graded: the question asks you to write it"

#: the protected functions called in this process (in a sandbox, by the submission)
CALLED: list[str] = []


def refuse(name: str) -> RuntimeError:
    """Record that the protected function ``name`` was called; the error to raise."""
    if name not in CALLED:
        CALLED.append(name)
    return RuntimeError(NOT_AVAILABLE.format(name=name))


def _module_file(package: Path, module: str) -> Path:
    parts = module.split(".")[1:]                     # below the package itself
    path = package.joinpath(*parts)
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _redact(file: Path, function: str, dotted: str) -> None:
    """Replace the body of module-level ``function`` in ``file`` by one ``raise`` of
    :func:`refuse` (its signature and docstring stay)."""
    text = file.read_text()
    lines = text.splitlines(keepends=True)
    node = next((n for n in ast.parse(text).body
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == function),
                None)
    if node is None:
        raise ValueError(f"{dotted}: no function {function!r} in {file}")
    body = node.body
    doc = (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
           and isinstance(body[0].value.value, str))
    first = body[1] if doc and len(body) > 1 else body[0]
    if first.lineno == node.lineno or (doc and len(body) == 1):
        raise ValueError(f"{dotted}: write the function's body on its own lines to protect it")
    indent = lines[first.lineno - 1][: len(lines[first.lineno - 1]) - len(lines[first.lineno - 1].lstrip())]
    refusal = f"raise __import__('rrmbook.teaching.protect', fromlist=['refuse']).refuse({dotted!r})"
    new = lines[: first.lineno - 1] + [f"{indent}{refusal}\n"] + lines[node.end_lineno:]
    file.write_text("".join(new))


def redacted_package(names: tuple[str, ...], dest: str | Path) -> Path:
    """A copy of the ``rrmbook`` package in ``dest/rrmbook`` in which every function in
    ``names`` (``"rrmbook.pf.top_n"``) raises instead of computing; returns that folder."""
    import rrmbook

    source = Path(rrmbook.__file__).resolve().parent
    target = Path(dest) / "rrmbook"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    for dotted in names:
        module, function = dotted.rsplit(".", 1)
        if not module.startswith("rrmbook"):
            raise ValueError(f"{dotted}: only functions of the rrmbook package can be protected")
        _redact(_module_file(target, module), function, dotted)
    return target


@functools.cache
def redacted_for(assignment: str) -> Path | None:
    """The redacted package of ``assignment`` (made once per process, removed at exit), or
    None if it protects nothing."""
    names = PROTECTED.get(assignment, ())
    if not names:
        return None
    folder = Path(tempfile.mkdtemp(prefix="rrmbook-redacted-"))
    folder.chmod(0o755)
    atexit.register(shutil.rmtree, folder, True)
    return redacted_package(names, folder)
