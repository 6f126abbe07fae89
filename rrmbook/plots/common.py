"""Figures that do not depend on the network model: delay CDFs and bars, delay against
load, queue traces, a FIFO queue's arrival and departure curves, decision times, learning
curves and Table V's mismatch grid.  Every function takes data (a
:class:`~rrmbook.evaluate.Results`, a dict of them, or plain arrays), draws on the ``ax`` it
is given (or on a new one) and returns the axes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from ..metrics import ema
from .axes import axes_or_new, bar_groups, plain_log_ticks
from .style import color_of, label_of, linestyle_of

__all__ = [
    "delay_cdf",
    "mean_delay_bars",
    "delay_vs_load",
    "queue_traces",
    "arrival_departure_curves",
    "delay_quantile_cdf",
    "decision_time_bars",
    "ema",
    "training_curve",
    "VERDICT_COLORS",
    "mismatch_table",
]


def _delays(obj: Any) -> np.ndarray:
    """Delays of a Results (``.delays``) or of a plain array."""
    return np.asarray(getattr(obj, "delays", obj), dtype=float)


def _mean_delay(obj: Any) -> float:
    if hasattr(obj, "mean_delay"):
        return float(obj.mean_delay)
    return float(obj)


def _queue_total(obj: Any) -> np.ndarray:
    """Total queue per slot from a Results (``.queue_trace``, ``(T, N)``) or an array."""
    trace = np.asarray(getattr(obj, "queue_trace", obj), dtype=float)
    return trace.sum(axis=1) if trace.ndim == 2 else trace


def _unit(results: Mapping[str, Any]) -> str:
    for r in results.values():
        return getattr(r, "delay_unit", "slots")
    return "slots"



# --------------------------------------------------------------------------- delays
def delay_cdf(
    results: Mapping[str, Any],
    ax: Axes | None = None,
    max_delay: float | None = None,
    title: str | None = None,
    show_max: bool = True,
    show_mean: bool = True,
    log_x: bool = False,
) -> Axes:
    """Empirical CDFs of packet delays, one step curve per method (the paper's Fig. 7).

    Parameters
    ----------
    results : ``{method: Results}`` (or ``{method: array of delays}``).
    max_delay : right end of the x axis; by default just beyond the largest delay.
    show_max : draw a dashed vertical line, in the method's colour, at its largest delay.
    show_mean : put each method's average delay in its legend entry.
    log_x : logarithmic delay axis (useful when one method's tail is much longer).
    """
    ax = axes_or_new(ax, (6.0, 4.0))
    top = 0.0
    for name, res in results.items():
        d = _delays(res)
        if d.size == 0:
            continue
        x, counts = np.unique(d, return_counts=True)
        F = np.cumsum(counts) / d.size
        start = x[0] if log_x else 0.0
        color = color_of(name)
        label = label_of(name) + (f" (mean {d.mean():.2f})" if show_mean else "")
        ax.step(np.r_[start, x], np.r_[0.0, F], where="post", color=color, lw=1.8, label=label,
                ls=linestyle_of(name))
        if show_max:
            ax.axvline(x[-1], color=color, ls="--", lw=1.0, alpha=0.8)
        top = max(top, float(x[-1]))
    right = max_delay if max_delay is not None else (top * 1.05 + 0.5 if top else 1.0)
    if log_x:
        ax.set_xscale("log")
        ax.set_xlim(0.9, right)
    else:
        ax.set_xlim(0, right)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"packet delay ({_unit(results)})")
    ax.set_ylabel("fraction of packets with delay ≤ x")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title)
    return ax


def mean_delay_bars(
    table: Mapping[str, Mapping[str, Any]],
    ax: Axes | None = None,
    log: bool = True,
    title: str | None = None,
    annotate: bool = True,
    reported: Mapping[str, Mapping[str, float]] | None = None,
    unit: str = "slots",
) -> Axes:
    """Grouped bars of average delay: one group per load, one bar per method (the paper's
    Fig. 8).

    Parameters
    ----------
    table : ``{load: {method: mean delay}}``; a value may also be a Results.
    log : logarithmic delay axis (delays of unstable methods are orders of magnitude larger).
    annotate : write each bar's value above it.
    reported : ``{load: {method: value}}`` of published numbers, drawn as black stars on the
        matching bars so measured and reported values can be compared at a glance.
    """
    ax = axes_or_new(ax, (7.0, 4.0))
    loads, methods, width, centres = bar_groups(table)
    star_done = False
    for i, m in enumerate(methods):
        vals = np.array([_mean_delay(table[ld][m]) if m in table[ld] else np.nan for ld in loads])
        xs = centres - 0.4 + (i + 0.5) * width
        ax.bar(xs, vals, width * 0.92, color=color_of(m), label=label_of(m))
        tops = vals.copy()
        if reported:
            for i_ld, (x, ld) in enumerate(zip(xs, loads, strict=True)):
                if m in reported.get(ld, {}):
                    rep = float(reported[ld][m])
                    ax.plot(x, rep, marker="*", ms=11, color="black", ls="none",
                            label=None if star_done else "reported in the paper")
                    star_done = True
                    tops[i_ld] = np.fmax(tops[i_ld], rep * 1.08)  # label clears the star
        if annotate:
            for x, v, top in zip(xs, vals, tops, strict=True):
                if np.isfinite(v):
                    ax.annotate(f"{v:.2f}", (x, top), xytext=(0, 2), textcoords="offset points",
                                ha="center", va="bottom", fontsize=7,
                                rotation=90 if len(methods) > 4 else 0)
    ax.set_xticks(centres, [str(ld) for ld in loads])
    ax.set_xlabel("traffic load")
    ax.set_ylabel(f"average packet delay ({unit})")
    if log:
        ax.set_yscale("log")
        ax.margins(y=0.25)
    else:
        ax.margins(y=0.15)
    ax.grid(axis="y", alpha=0.3, which="both")
    ax.legend(fontsize=8, ncols=2)
    if title:
        ax.set_title(title)
    return ax


def delay_vs_load(
    loads: Sequence[float],
    delays: Mapping[str, Sequence[Any]],
    ax: Axes | None = None,
    capacity: float | None = None,
    log: bool = True,
    title: str | None = None,
    xlabel: str = "arrival rate λ (packets per device per slot)",
    unit: str = "slots",
) -> Axes:
    """Average delay against the arrival rate, one line per method.

    ``delays[method][i]`` is the average delay (or a Results) at ``loads[i]``.  With
    ``capacity`` a shaded region marks the rates no scheduler can sustain.
    """
    ax = axes_or_new(ax, (6.0, 4.0))
    loads = np.asarray(loads, dtype=float)
    for m, vals in delays.items():
        y = np.array([_mean_delay(v) for v in vals])
        ls = linestyle_of(m)
        ax.plot(loads, y, marker="o" if ls == "-" else "s", ms=4 if ls == "-" else 6, ls=ls,
                mfc=None if ls == "-" else "none", color=color_of(m), label=label_of(m))
    if capacity is not None:
        ax.axvline(capacity, color="black", ls="--", lw=1.0)
        ax.axvspan(capacity, max(capacity, loads.max()) + 0.02, color="0.85", zorder=0,
                   label="outside the capacity region")
    if log:
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"average packet delay ({unit})")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def delay_quantile_cdf(
    curves: Mapping[str, Mapping[str, Sequence[float]]],
    ax: Axes | None = None,
    log_x: bool = True,
    title: str | None = None,
    unit: str = "ms",
) -> Axes:
    """CDFs stored as quantiles: ``curves[method] = {"p": levels, "delay": quantiles}`` and
    optionally ``"mean"`` (shown in the legend) and ``"max"`` (a dashed line).  This is
    how the shipped result files keep a CDF in a few hundred numbers."""
    ax = axes_or_new(ax, (6.0, 4.0))
    for name, c in curves.items():
        p = np.asarray(c["p"], dtype=float)
        d = np.asarray(c["delay"], dtype=float)
        if d.size == 0:
            continue
        color = color_of(name)
        label = label_of(name) + (f" (mean {c['mean']:.1f})" if "mean" in c else "")
        ax.plot(d, p, color=color, lw=1.8, ls=linestyle_of(name), label=label)
        if "max" in c:
            ax.axvline(c["max"], color=color, ls="--", lw=1.0, alpha=0.8)
    if log_x:
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"packet delay ({unit})")
    ax.set_ylabel("fraction of packets with delay ≤ x")
    ax.grid(alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title)
    return ax



# --------------------------------------------------------------------------- queues
def queue_traces(
    results: Any,
    ax: Axes | None = None,
    window: int = 50,
    title: str | None = None,
    log: bool = False,
    per_device: bool = False,
) -> Axes:
    """Total queue length (packets, summed over devices) over time.

    ``results`` is a Results, ``{method: Results}`` or ``{name: (T, N) array}``.  A moving
    average over ``window`` slots smooths the Poisson noise; ``per_device`` divides the total
    by the number of devices.
    """
    ax = axes_or_new(ax, (6.0, 3.5))
    if not isinstance(results, Mapping):
        results = {getattr(results, "policy", "queue"): results}
    window = max(int(window), 1)
    for name, res in results.items():
        total = _queue_total(res)
        if per_device:
            n = np.asarray(getattr(res, "queue_trace", res)).shape[-1]
            total = total / n
        w = min(window, total.size)
        smooth = np.convolve(total, np.ones(w) / w, mode="valid")
        t = np.arange(smooth.size) + w
        ax.plot(t, smooth, color=color_of(name), lw=1.4, ls=linestyle_of(name),
                label=label_of(name))
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("slot")
    what = "queue per device" if per_device else "total queue"
    ax.set_ylabel(f"{what} (packets)" + (f", {window}-slot average" if window > 1 else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def arrival_departure_curves(
    arrivals: Sequence[int],
    departures: Sequence[int],
    ax: Axes | None = None,
    title: str | None = None,
    annotate: bool = True,
) -> Axes:
    """Cumulative arrivals and departures of one FIFO queue (the classic queueing picture).

    Packets arrive at the *start* of their slot and a served packet leaves at the *end* of
    its slot, so packet i's delay is the horizontal gap between the two staircases at
    height i + 1/2; with ``annotate`` every completed packet's gap is drawn and labelled.
    """
    ax = axes_or_new(ax, (6.0, 3.5))
    a = np.asarray(arrivals, dtype=float)
    d = np.asarray(departures, dtype=float)
    T = a.size
    cum_a = np.cumsum(a)
    cum_d = np.cumsum(d)
    edges = np.arange(T + 1)
    ax.step(edges, np.r_[cum_a, cum_a[-1]], where="post", color="tab:blue", lw=2,
            label="arrived by time t")
    ax.step(edges, np.r_[0.0, cum_d], where="post", color="tab:orange", lw=2,
            label="departed by time t")
    if annotate:
        n_done = int(cum_d[-1])
        idx = np.arange(n_done)
        arr = np.searchsorted(cum_a, idx + 0.5)  # first slot whose cumulative count > i
        dep = np.searchsorted(cum_d, idx + 0.5) + 1  # completion at the end of that slot
        for i, (s, e) in enumerate(zip(arr, dep, strict=True)):
            ax.annotate("", xy=(e, i + 0.5), xytext=(s, i + 0.5),
                        arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 0.9})
            ax.text((s + e) / 2, i + 0.6, f"{e - s}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(edges)
    ax.set_xlabel("time (slot boundaries)")
    ax.set_ylabel("packets")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    if title:
        ax.set_title(title)
    return ax



# ------------------------------------------------------------------ timings, learning, tables
def decision_time_bars(
    times_ms: Mapping[str, float],
    ax: Axes | None = None,
    reported: Mapping[str, float] | None = None,
    title: str | None = None,
) -> Axes:
    """Time per decision (ms, log axis), one horizontal bar per method; ``reported``
    published values are drawn as black stars on the matching rows."""
    ax = axes_or_new(ax, (6.0, 0.45 * len(times_ms) + 1.4))
    names = list(times_ms)
    ys = np.arange(len(names))[::-1]
    vals = [float(times_ms[m]) for m in names]
    ax.barh(ys, vals, color=[color_of(m) for m in names], height=0.6)
    for y, v in zip(ys, vals, strict=True):
        ax.annotate(f"{v:.3g} ms", (v, y), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=8)
    if reported:
        pts = [(reported[m], y) for m, y in zip(names, ys, strict=True) if m in reported]
        if pts:
            ax.plot(*np.array(pts).T, "*", color="black", ms=11, ls="none",
                    label="reported in the paper")
            ax.legend(fontsize=8, loc="lower right")
    ax.set_yticks(ys, [label_of(m) for m in names])
    ax.set_xscale("log")
    ax.set_xlabel("time per decision (ms)")
    ax.grid(axis="x", alpha=0.3, which="both")
    ax.margins(x=0.25)
    if title:
        ax.set_title(title)
    return ax


def training_curve(
    slots: Sequence[int],
    rewards: Sequence[float],
    agent_rewards: Sequence[Sequence[float]] | None = None,
    ax: Axes | None = None,
    agents: Sequence[int] | None = None,
    smooth: float = 0.9,
    title: str | None = None,
) -> Axes:
    """A learning curve as in Figs. 12-13 of Zhang & Guo: the mean individual reward of
    each training iteration against the copy-slots simulated so far (thin), with its
    exponential moving average (thick).  With ``agent_rewards`` (one list of per-agent
    rewards per iteration) the smoothed curves of ``agents`` (default: the odd-numbered
    agents, as in the paper's Fig. 13) are drawn too."""
    ax = axes_or_new(ax, (6.5, 4.0))
    x = np.asarray(slots, dtype=float)
    r = np.asarray(rewards, dtype=float)
    ax.plot(x, r, color="#1f77b4", lw=0.8, alpha=0.5, label="mean reward per update")
    ax.plot(x, ema(r, smooth), color="#ff7f0e", lw=2.0, label="moving average")
    if agent_rewards is not None and len(agent_rewards) and len(agent_rewards[0]):
        per_agent = np.asarray(agent_rewards, dtype=float)
        chosen = list(agents) if agents is not None else list(range(1, per_agent.shape[1], 2))
        cmap = plt.get_cmap("viridis")
        for i, k in enumerate(chosen):
            ax.plot(x, ema(per_agent[:, k], smooth), lw=0.9,
                    color=cmap(i / max(len(chosen) - 1, 1)), label=f"agent {k}")
        ax.legend(fontsize=7, ncol=3, loc="lower right")
    else:
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("copy-slots simulated")
    ax.set_ylabel("reward (−queued packets in the neighbourhood)")
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return ax


#: Colours of Table V's verdicts.
VERDICT_COLORS = {"good": "#c7e9c0", "mixed": "#fdd0a2", "unstable": "#fcbba1"}


def mismatch_table(data: Mapping[str, Any], ax: Axes | None = None,
                   title: str | None = None) -> Axes:
    """Table V as a coloured grid: rows the training load, columns the test load, each cell
    its verdict (good / mixed / unstable) and mean delay; ``data`` is the output of
    :func:`rrmbook.experiments.learning.table5_data`."""
    ax = axes_or_new(ax, (6.0, 3.0))
    rows, cols = list(data["table"]), list(data["loads"])
    for i, tr in enumerate(rows):
        for j, te in enumerate(cols):
            cell = data["table"][tr][te]
            ax.add_patch(plt.Rectangle((j, len(rows) - 1 - i), 1, 1,
                                       color=VERDICT_COLORS[cell["label"]], ec="white"))
            ax.text(j + 0.5, len(rows) - 0.5 - i,
                    f"{cell['label']}\n{cell['mean_delay']:.0f} {data['delay_unit']}",
                    ha="center", va="center", fontsize=9)
    ax.set_xlim(0, len(cols))
    ax.set_ylim(0, len(rows))
    ax.set_xticks(np.arange(len(cols)) + 0.5, [f"test {c}" for c in cols])
    ax.set_yticks(np.arange(len(rows)) + 0.5, [f"trained {r}" for r in rows][::-1])
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title)
    return ax

