"""Figures of the proportional-fair scheduling model (Eldeeb & Alves): the sum-rate,
5th-percentile-rate and score panels of Figs. 4-6."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from .style import color_of, label_of

__all__ = ["RATE_METRICS", "rate_panels"]

#: the three figures of merit of the PF scheduling model (Eldeeb & Alves (E-9)-(E-11))
RATE_METRICS = {"sum_rate": "sum rate (bit/s/Hz)", "p5_rate": "5th-percentile rate (bit/s/Hz)",
                "score": "score"}


def rate_panels(methods: Mapping[str, Any], axes: Sequence[Axes] | None = None,
                title: str | None = None, labels: Mapping[str, str] | None = None) -> list[Axes]:
    """The paper's Figs. 4-6 layout: three bar panels (sum rate, 5th-percentile rate,
    score), one bar per method.  ``methods``: ``{name: summary dict or RateResults}``;
    ``labels`` overrides legend names."""
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(12.5, 3.8))
    names = list(methods)
    xs = np.arange(len(names))
    for ax, (metric, ylabel) in zip(axes, RATE_METRICS.items(), strict=True):
        vals = [float(getattr(methods[n], metric) if not isinstance(methods[n], Mapping)
                      else methods[n][metric]) for n in names]
        ax.bar(xs, vals, color=[color_of(n) for n in names])
        for x, v in zip(xs, vals, strict=True):
            ax.annotate(f"{v:.2f}", (x, v), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7)
        ax.set_xticks(xs, [(labels or {}).get(n, label_of(n)) for n in names], rotation=40,
                      ha="right", fontsize=8)
        ax.set_ylabel(ylabel)
        ax.margins(y=0.15)
        ax.grid(axis="y", alpha=0.3)
    if title:
        axes[1].set_title(title)
    return list(axes)

