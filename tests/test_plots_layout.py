"""The layout of the drawing code: physics modules draw nothing, ``rrmbook.plots`` depends
only on physics modules and ``metrics``, and both packages keep their public names."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import rrmbook

PHYSICS = ("conflict", "topology", "channel", "traffic", "pf")
PLOTS_MAY_IMPORT = set(PHYSICS) | {"metrics"}
PLOTS_DIR = Path(rrmbook.__file__).parent / "plots"
WIDGETS_DIR = Path(rrmbook.__file__).parent / "widgets"

#: what ``rrmbook.plots`` offered before it became a package, plus the names moved into it
OLD_PLOTS_NAMES = [
    "METHOD_COLORS", "METHOD_LABELS", "METHOD_LINESTYLES", "color_of", "label_of",
    "linestyle_of", "delay_cdf", "mean_delay_bars", "delay_vs_load", "queue_traces",
    "arrival_departure_curves", "activity_grid", "subband_schedules", "path_loss_curve",
    "fading_trace", "autocorrelation", "sinr_map", "objective_history", "delay_quantile_cdf",
    "decision_time_bars", "ema", "training_curve", "VERDICT_COLORS", "mismatch_table",
    "rate_panels", "RATE_METRICS",
    "draw_conflict_graph", "AGENT_COLORS", "draw_layout", "show_table",
]
OLD_WIDGETS_NAMES = [
    "TOPOLOGIES", "DEFAULT_POLICIES", "DashboardSettings", "parse_multipliers",
    "run_conflict_dashboard", "draw_conflict_dashboard", "conflict_dashboard_figure",
    "ConflictDashboard", "conflict_dashboard", "CELLULAR_LAYOUTS", "DEFAULT_CELLULAR_POLICIES",
    "CellularDashboardSettings", "make_cellular_env", "run_cellular_dashboard",
    "draw_cellular_dashboard", "cellular_dashboard_figure", "CellularDashboard",
    "cellular_dashboard", "OFFLINE_SOURCES", "OfflineDashboardSettings", "OfflineRun",
    "offline_dashboard_dataset", "behaviour_policies", "run_offline_dashboard",
    "draw_offline_dashboard", "offline_dashboard_figure", "OfflineDashboard",
    "offline_dashboard",
]


def _imports(path: Path):
    """Every Import/ImportFrom node of a file (module level and inside functions) with the
    name of the function it sits in (``None`` at module level)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def visit(node, func):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append((child, func))
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else func
            visit(child, inner)

    visit(tree, None)
    return found


def _modules(node) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    return ["." * node.level + (node.module or "")]


@pytest.mark.parametrize("name", PHYSICS)
def test_physics_modules_import_no_matplotlib(name):
    path = Path(importlib.import_module(f"rrmbook.{name}").__file__)
    bad = [(n.lineno, m) for n, _ in _imports(path) for m in _modules(n)
           if m.split(".")[0] == "matplotlib"]
    assert not bad, f"rrmbook/{name}.py imports matplotlib at lines {bad}"


def test_physics_modules_no_longer_draw():
    from rrmbook import conflict, topology

    for module, names in ((conflict, ("draw_conflict_graph", "AGENT_COLORS")),
                          (topology, ("draw_layout",))):
        for n in names:
            assert not hasattr(module, n), f"{module.__name__}.{n} belongs in rrmbook.plots"
    assert callable(conflict.ring_layout)  # positions are not drawing: they stay


@pytest.mark.parametrize("path", sorted(PLOTS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_plots_imports_only_physics_metrics_and_itself(path):
    for node, func in _imports(path):
        if isinstance(node, ast.ImportFrom) and node.level == 2:
            target = (node.module or "").split(".")[0]
            assert target in PLOTS_MAY_IMPORT, f"{path.name}:{node.lineno} imports rrmbook.{target}"
            for alias in node.names:
                assert not alias.name.startswith("_"), f"{path.name}:{node.lineno} {alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            for alias in node.names:
                assert not alias.name.startswith("_"), f"{path.name}:{node.lineno} {alias.name}"
        else:
            for m in _modules(node):
                assert not m.startswith("rrmbook"), f"{path.name}:{node.lineno} {m}"
        # the only import inside a function: IPython, an optional display
        if func is not None:
            assert all(m.split(".")[0] == "IPython" for m in _modules(node)), (
                f"{path.name}:{node.lineno}: function-level import in {func}")


@pytest.mark.parametrize("path", sorted(WIDGETS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_widgets_import_rrmbook_at_module_level_and_draw_with_plots(path):
    for node, func in _imports(path):
        mods = _modules(node)
        if func is not None:
            assert all(m.split(".")[0] in ("IPython", "ipywidgets") for m in mods), (
                f"{path.name}:{node.lineno}: {mods} imported inside {func}")
        if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module in (
                "conflict", "topology"):
            assert not any(a.name.startswith("draw") for a in node.names)


def test_plots_keeps_every_public_name():
    from rrmbook import plots

    missing = [n for n in OLD_PLOTS_NAMES if not hasattr(plots, n)]
    assert not missing
    assert set(OLD_PLOTS_NAMES) <= set(plots.__all__)
    assert all(hasattr(plots, n) for n in plots.__all__)


def test_widgets_keep_every_public_name():
    from rrmbook import widgets

    assert set(OLD_WIDGETS_NAMES) <= set(widgets.__all__)
    assert all(hasattr(widgets, n) for n in widgets.__all__)


def test_plots_docstring_lists_every_public_function():
    from rrmbook import plots

    functions = [n for n in plots.__all__
                 if inspect.isfunction(getattr(plots, n))]
    listed = [n for n in functions if f"``{n}``" in plots.__doc__]
    assert listed == functions
    assert len(functions) >= 26


def test_widgets_use_the_moved_draw_functions():
    from rrmbook import plots
    from rrmbook.widgets import cellular, conflict

    assert conflict.draw_conflict_graph is plots.draw_conflict_graph
    assert cellular.draw_layout is plots.draw_layout
