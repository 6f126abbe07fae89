"""Means with confidence intervals: grouped bars with error bars, and lines with shaded
bands.  An interval is a :class:`rrmbook.metrics.Interval`, a dict with ``mean``, ``low``
and ``high`` (a row of a sweep report), or a ``(mean, low, high)`` triple; an undefined
interval (one seed: NaN bounds) is drawn as its mean alone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from .axes import axes_or_new, bar_groups, plain_log_ticks
from .style import color_of, label_of, linestyle_of

__all__ = ["as_interval", "interval_bars", "interval_lines"]


def as_interval(obj: Any) -> tuple[float, float, float]:
    """``(mean, low, high)`` of an Interval, a dict or a triple."""
    if isinstance(obj, Mapping):
        return float(obj["mean"]), float(obj["low"]), float(obj["high"])
    if hasattr(obj, "mean") and hasattr(obj, "low") and hasattr(obj, "high"):
        return float(obj.mean), float(obj.low), float(obj.high)
    mean, low, high = obj
    return float(mean), float(low), float(high)


def _errors(means: np.ndarray, lows: np.ndarray, highs: np.ndarray, log: bool) -> np.ndarray:
    """Error-bar lengths below and above each mean (0 where the interval is undefined;
    on a log axis the lower end is kept above zero)."""
    lows = np.where(np.isfinite(lows), lows, means)
    highs = np.where(np.isfinite(highs), highs, means)
    if log:
        lows = np.maximum(lows, means * 1e-2)
    return np.vstack([means - lows, highs - means])


def interval_bars(table: Mapping[Any, Mapping[str, Any]], ax: Axes | None = None,
                  ylabel: str = "", log: bool = False, title: str | None = None,
                  annotate: bool = True) -> Axes:
    """Grouped bars of means with confidence intervals as error bars: one group per key of
    ``table`` (e.g. a load), one bar per method (``{group: {method: interval}}``, as
    :func:`~rrmbook.plots.mean_delay_bars`; a sweep report gives it with
    ``report.table(metric, methods_first=False)``)."""
    ax = axes_or_new(ax, (7.0, 4.0))
    groups, methods, width, centres = bar_groups(table)
    for i, m in enumerate(methods):
        vals = np.array([as_interval(table[g][m]) if m in table[g] else (np.nan,) * 3
                         for g in groups], dtype=float).reshape(len(groups), 3)
        xs = centres - 0.4 + (i + 0.5) * width
        ax.bar(xs, vals[:, 0], width * 0.92, color=color_of(m), label=label_of(m),
               yerr=_errors(vals[:, 0], vals[:, 1], vals[:, 2], log), capsize=3,
               error_kw={"elinewidth": 1.0, "ecolor": "black"})
        if annotate:
            for x, (mean, _, high) in zip(xs, vals, strict=True):
                if np.isfinite(mean):
                    top = high if np.isfinite(high) else mean
                    ax.annotate(f"{mean:.3g}", (x, top), xytext=(0, 2),
                                textcoords="offset points", ha="center", va="bottom",
                                fontsize=7)
    ax.set_xticks(centres)
    ax.set_xticklabels([str(g) for g in groups])
    if log:
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y", which="both")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def interval_lines(table: Mapping[str, Mapping[float, Any]], ax: Axes | None = None,
                   band: bool = True, xlabel: str = "", ylabel: str = "", log: bool = False,
                   title: str | None = None) -> Axes:
    """One line per method through its means against a numeric x (e.g. the load), with
    the confidence interval as a shaded band (``band``) or as error bars
    (``{method: {x: interval}}``; ``report.table(metric)`` of a sweep report)."""
    ax = axes_or_new(ax, (6.0, 4.0))
    for m, points in table.items():
        xs = np.array(sorted(points), dtype=float)
        vals = np.array([as_interval(points[x]) for x in sorted(points)],
                        dtype=float).reshape(len(xs), 3)
        color, ls = color_of(m), linestyle_of(m)
        if band:
            ax.plot(xs, vals[:, 0], marker="o", ms=4, ls=ls, color=color, label=label_of(m))
            err = _errors(vals[:, 0], vals[:, 1], vals[:, 2], log)
            ax.fill_between(xs, vals[:, 0] - err[0], vals[:, 0] + err[1], color=color,
                            alpha=0.2, lw=0)
        else:
            ax.errorbar(xs, vals[:, 0], yerr=_errors(vals[:, 0], vals[:, 1], vals[:, 2], log),
                        marker="o", ms=4, ls=ls, color=color, capsize=3, label=label_of(m))
    if log:
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax
