"""Small helpers every figure module shares (not part of :mod:`rrmbook.plots`' API)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

__all__ = ["axes_or_new", "plain_log_ticks", "bar_groups"]


def axes_or_new(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax`` itself, or the axes of a new figure of size ``figsize`` when it is ``None``."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plain_log_ticks(axis) -> None:
    """Label a logarithmic axis with plain numbers (20, 50, 100) instead of 2 x 10^1."""
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_formatter(plain)
    axis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[0] in "25" else ""))


def bar_groups(table) -> tuple[list, list[str], float, np.ndarray]:
    """The layout of grouped bars for ``{group: {method: value}}``: the groups, the methods
    in order of first appearance, the width of one bar and the centre of each group."""
    groups = list(table)
    methods: list[str] = []
    for row in table.values():
        methods += [m for m in row if m not in methods]
    return groups, methods, 0.8 / max(len(methods), 1), np.arange(len(groups), dtype=float)
