"""The library's layout rules (issue "one house with a room for everything"), checked on the
source with ``ast``: dependencies point one way, so no module imports in a circle (at module
or function level), no module takes another module's private name, and the top level holds
at most 15 modules beside its packages and the deprecation shims (the 15th, ``runtime``: how
every trainer of both learner packages runs, threads and progress, issue 18)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "rrmbook"

#: old module paths kept for one release; each only warns and re-exports
SHIMS = {"reproduce", "reproduce_marl", "reproduce_offline", "cellular_analysis", "grading"}


def _module_name(path: Path) -> str:
    parts = ("rrmbook",) + path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1]) if parts[-1] == "__init__" else ".".join(parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}
PACKAGES = {_module_name(p) for p in ROOT.rglob("__init__.py")}


def _base(module: str, level: int, target: str | None) -> str:
    """The absolute module named by a (possibly relative) import in ``module``."""
    if level == 0:
        return target or ""
    package = module if module in PACKAGES else module.rsplit(".", 1)[0]
    for _ in range(level - 1):
        package = package.rsplit(".", 1)[0]
    return f"{package}.{target}" if target else package


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """``(imported module, imported name or None, line)`` for every import of ``module``
    that stays inside rrmbook, wherever it appears (module level or inside a function)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names
                    if a.name.split(".")[0] == "rrmbook"]
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, node.level, node.module)
            if base.split(".")[0] != "rrmbook":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in MODULES:          # `from package import submodule`
                    out.append((sub, None, node.lineno))
                else:
                    out.append((base, alias.name, node.lineno))
    return out


@functools.cache
def _graph() -> dict[str, set[str]]:
    return {m: {target for target, _, _ in _imports(m) if target in MODULES and target != m}
            for m in MODULES}


def test_the_walk_sees_every_kind_of_import():
    edges = _graph()
    assert "rrmbook.evaluate" in edges["rrmbook.analysis.decisions"]          # relative
    assert "rrmbook.scenarios" in edges["rrmbook.cli"]                        # in a function
    assert "rrmbook.analysis.conflict" in edges["rrmbook.analysis.decisions"]  # from . import x


def test_no_import_cycle():
    edges = _graph()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_module_takes_another_modules_private_name():
    bad = []
    for module in MODULES:
        for target, name, line in _imports(module):
            private = name is not None and name.startswith("_") and not name.startswith("__")
            if private and target != module:
                bad.append(f"{MODULES[module].relative_to(ROOT.parent)}:{line} imports "
                           f"{name} from {target}")
    assert not bad, "\n".join(bad)


def test_top_level_holds_at_most_15_modules():
    top = sorted(p.stem for p in ROOT.glob("*.py") if p.stem not in SHIMS)
    assert len(top) <= 15, top


@pytest.mark.parametrize("shim", sorted(SHIMS))
def test_shims_only_warn_and_re_export(shim):
    source = (ROOT / f"{shim}.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    assert "DeprecationWarning" in source
    assert not [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    users = [m for m, targets in _graph().items() if f"rrmbook.{shim}" in targets]
    assert not users, f"the library still imports rrmbook.{shim}: {users}"


@pytest.mark.parametrize("shim", sorted(SHIMS))
def test_shims_warn_when_imported(shim):
    import importlib
    import sys

    sys.modules.pop(f"rrmbook.{shim}", None)
    with pytest.warns(DeprecationWarning, match=f"rrmbook.{shim} is deprecated"):
        mod = importlib.import_module(f"rrmbook.{shim}")
    for name in mod.__all__:
        assert hasattr(mod, name), f"rrmbook.{shim} lost {name}"
