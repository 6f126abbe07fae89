"""Figures of the proportional-fair scheduling model (Eldeeb & Alves): the sum-rate,
5th-percentile-rate and score panels of Figs. 4-7, from single runs or, with error bars,
from the intervals of a sweep report (:func:`report_rates`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from .intervals import as_interval
from .style import color_of, label_of

__all__ = ["RATE_METRICS", "rate_panels", "report_rates"]

#: the three figures of merit of the PF scheduling model (Eldeeb & Alves (E-9)-(E-11))
RATE_METRICS = {"sum_rate": "sum rate (bit/s/Hz)", "p5_rate": "5th-percentile rate (bit/s/Hz)",
                "score": "score"}


def report_rates(report, methods: Sequence[str], **where) -> dict[str, dict[str, Any]]:
    """``{method: {metric: Interval}}`` of the three :data:`RATE_METRICS` of ``methods`` in
    a sweep report (``where`` narrows rows down, e.g. ``scenario=``), ready for
    :func:`rate_panels`."""
    return {m: {k: report.interval(m, k, **where) for k in RATE_METRICS} for m in methods}


def _value(entry: Any, metric: str) -> tuple[float, float, float]:
    v = entry[metric] if isinstance(entry, Mapping) else getattr(entry, metric)
    if isinstance(v, (int, float, np.floating, np.integer)):
        return float(v), np.nan, np.nan
    return as_interval(v)


def rate_panels(methods: Mapping[str, Any], axes: Sequence[Axes] | None = None,
                title: str | None = None, labels: Mapping[str, str] | None = None) -> list[Axes]:
    """The paper's Figs. 4-7 layout: three bar panels (sum rate, 5th-percentile rate,
    score), one bar per method.  ``methods``: ``{name: summary dict or RateResults}``, or
    ``{name: {metric: interval}}`` (e.g. :func:`report_rates`), drawn with error bars;
    ``labels`` overrides legend names."""
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(12.5, 3.8))
    names = list(methods)
    xs = np.arange(len(names))
    for ax, (metric, ylabel) in zip(axes, RATE_METRICS.items(), strict=True):
        vals = np.array([_value(methods[n], metric) for n in names], dtype=float).reshape(-1, 3)
        low = np.where(np.isfinite(vals[:, 1]), vals[:, 1], vals[:, 0])
        high = np.where(np.isfinite(vals[:, 2]), vals[:, 2], vals[:, 0])
        has_ci = np.isfinite(vals[:, 1:]).any()
        ax.bar(xs, vals[:, 0], color=[color_of(n) for n in names],
               yerr=np.vstack([vals[:, 0] - low, high - vals[:, 0]]) if has_ci else None,
               capsize=3, error_kw={"elinewidth": 1.0, "ecolor": "black"})
        for x, (v, _, high) in zip(xs, vals, strict=True):
            top = high if np.isfinite(high) else v
            ax.annotate(f"{v:.2f}", (x, top), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7)
        ax.set_xticks(xs, [(labels or {}).get(n, label_of(n)) for n in names], rotation=40,
                      ha="right", fontsize=8)
        ax.set_ylabel(ylabel)
        ax.margins(y=0.15)
        ax.grid(axis="y", alpha=0.3)
    if title:
        axes[1].set_title(title)
    return list(axes)
