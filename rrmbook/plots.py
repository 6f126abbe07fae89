"""Matplotlib figures used by the chapters, the widgets and ``rrmbook reproduce``.

Every function is pure: it takes data (a :class:`~rrmbook.evaluate.Results`, a dict of them,
or plain arrays), draws on the ``ax`` it is given (or on a new one) and returns the axes.
Nothing here runs a simulation.  One method keeps one colour across the whole book:
:func:`color_of` and :func:`label_of` are the single source of colours and legend labels.

==========================  ==================================================================
function                    what it draws
==========================  ==================================================================
``delay_cdf``               step CDFs of packet delays, dashed line at each maximum (Fig. 7)
``mean_delay_bars``         grouped bars of average delay per load and method (Fig. 8)
``delay_vs_load``           average delay against the arrival rate, optional capacity line
``queue_traces``            total queue length over time (moving average)
``arrival_departure_curves``  cumulative arrivals/departures of one FIFO queue, packet delays
``activity_grid``           which device is on in which slot (a raster)
``subband_schedules``       one conflict-graph panel per subband: served, collided, wasted
``path_loss_curve``         path loss against distance, marked distances, optional SNR axis
``fading_trace``            a fading gain |beta|^2 in dB over time
``autocorrelation``         empirical autocorrelation against reference curves
``sinr_map``                SINR (dB) at every point of a grid, with the layout on top
``objective_history``       objective value against iteration (FP, WMMSE, ...)
``delay_quantile_cdf``      CDFs stored as quantiles (the shipped result files)
``decision_time_bars``      time per decision per method, with published values
==========================  ==================================================================
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap

from .conflict import adjacency_matrix, conflict_success, draw_conflict_graph, ring_layout

__all__ = [
    "METHOD_COLORS",
    "METHOD_LABELS",
    "METHOD_LINESTYLES",
    "color_of",
    "label_of",
    "linestyle_of",
    "delay_cdf",
    "mean_delay_bars",
    "delay_vs_load",
    "queue_traces",
    "arrival_departure_curves",
    "activity_grid",
    "subband_schedules",
    "path_loss_curve",
    "fading_trace",
    "autocorrelation",
    "sinr_map",
    "objective_history",
    "delay_quantile_cdf",
    "decision_time_bars",
    "ema",
    "training_curve",
    "VERDICT_COLORS",
    "mismatch_table",
    "rate_panels",
]

#: One colour per method, used by every figure of the book.  Related methods get related
#: colours (the two GMS variants are blues, the learned policies warm colours).
METHOD_COLORS: dict[str, str] = {
    # conflict-graph baselines
    "gms": "#1f77b4",
    "gms_multichannel": "#17becf",
    "max_weight": "#2ca02c",
    "llq": "#9467bd",
    "qcsma": "#8c564b",
    "random": "#7f7f7f",
    # learned (multi-agent PPO)
    "mappo_shared": "#d62728",
    "mappo_separate": "#ff7f0e",
    "marl_shared": "#d62728",
    "marl_separate": "#ff7f0e",
    # multi-cell baselines
    "fp": "#2ca02c",
    "wmmse": "#e377c2",
    "fair_itlinq": "#bcbd22",
    "itlinq": "#bcbd22",
    "full_power": "#4d4d4d",
    "greedy": "#9467bd",
    # proportional-fair scheduling
    "random_walk": "#7f7f7f",
    "tdm": "#8c564b",
    "cql_centralised": "#d62728",
    "cql_independent": "#ff9896",
    "cql_ctde": "#ff7f0e",
    "dqn": "#aec7e8",
    "sac": "#c5b0d5",
    "online_sac": "#e377c2",
    "online_dqn": "#1f77b4",
    "cql_sac_centralised": "#d62728",
    "cql_dqn_centralised": "#17becf",
    # dataset sources (Fig. 7a of Eldeeb & Alves)
    "sac+dqn": "#c49c94",
    "baselines": "#bcbd22",
}

#: Legend labels.  The paper's GMS uses one independent set on every subband; the book's
#: multi-channel GMS re-runs the greedy on each subband.
METHOD_LABELS: dict[str, str] = {
    "gms": "GMS (paper: one set)",
    "gms_multichannel": "GMS (multi-channel)",
    "max_weight": "max-weight",
    "llq": "LLQ",
    "qcsma": "Q-CSMA",
    "random": "random",
    "mappo_shared": "MARL shared",
    "mappo_separate": "MARL separate",
    "marl_shared": "MARL shared",
    "marl_separate": "MARL separate",
    "fp": "FP",
    "wmmse": "WMMSE",
    "fair_itlinq": "Fair-ITLinQ",
    "itlinq": "ITLinQ",
    "full_power": "full power",
    "greedy": "greedy",
    "random_walk": "random walk",
    "tdm": "TDM",
    "cql_centralised": "CQL (centralised)",
    "cql_independent": "CQL (independent)",
    "cql_ctde": "CQL (CTDE)",
    "dqn": "DQN",
    "sac": "SAC",
    "online_sac": "online SAC (centralised)",
    "online_dqn": "online DQN (centralised)",
    "cql_sac_centralised": "CQL-SAC (centralised)",
    "cql_dqn_centralised": "CQL-DQN (centralised)",
}

#: Line styles for methods whose curves often coincide with another's: WMMSE is the same
#: iteration as FP in the scalar case (chapter 4), so it is drawn dashed over FP's line.
METHOD_LINESTYLES: dict[str, str] = {"wmmse": "--"}

_FALLBACK = ["#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d",
             "#31a354", "#756bb1", "#636363"]


def _key(name: str) -> str:
    return str(name).strip().lower().replace("-", "_").replace(" ", "_")


def color_of(name: str) -> str:
    """The book-wide colour of method ``name`` (case, spaces and dashes are ignored).

    Unknown names get a colour from a fixed palette chosen by a hash of the name, so the
    same name has the same colour in every figure and every run.
    """
    key = _key(name)
    if key in METHOD_COLORS:
        return METHOD_COLORS[key]
    return _FALLBACK[zlib.crc32(key.encode()) % len(_FALLBACK)]


def label_of(name: str) -> str:
    """The legend label of method ``name`` (the name itself when it has none)."""
    return METHOD_LABELS.get(_key(name), str(name))


def linestyle_of(name: str) -> str:
    """The book-wide line style of method ``name`` (solid unless it is in METHOD_LINESTYLES)."""
    return METHOD_LINESTYLES.get(_key(name), "-")


def _log_ticks_plain(axis) -> None:
    """Label a logarithmic axis with plain numbers (20, 50, 100) instead of 2 x 10^1."""
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_formatter(plain)
    axis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[0] in "25" else ""))


# --------------------------------------------------------------------------- helpers
def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


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
    ax = _axes(ax, (6.0, 4.0))
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
    ax = _axes(ax, (7.0, 4.0))
    loads = list(table)
    methods: list[str] = []
    for row in table.values():
        methods += [m for m in row if m not in methods]
    width = 0.8 / max(len(methods), 1)
    centres = np.arange(len(loads), dtype=float)
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
    ax = _axes(ax, (6.0, 4.0))
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
        _log_ticks_plain(ax.yaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"average packet delay ({unit})")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
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
    ax = _axes(ax, (6.0, 3.5))
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
    ax = _axes(ax, (6.0, 3.5))
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


# --------------------------------------------------------------------------- schedules
def activity_grid(
    active: np.ndarray,
    ax: Axes | None = None,
    marked: np.ndarray | None = None,
    values: np.ndarray | None = None,
    title: str | None = None,
    color: str = "tab:green",
    marked_label: str = "marked",
) -> Axes:
    """A raster of which device is active in which slot: devices on the y axis, slots on x.

    ``active`` is ``(T, N)`` bool.  ``marked`` (same shape) draws a small black square in
    the chosen cells (e.g. Q-CSMA's decision set); ``values`` (same shape) writes a number in
    every cell (e.g. queue lengths).
    """
    active = np.asarray(active, dtype=bool)
    T, N = active.shape
    ax = _axes(ax, (min(0.28 * T + 1.5, 12.0), 0.35 * N + 1.2))
    ax.imshow(active.T, aspect="auto", origin="lower", interpolation="nearest",
              cmap=ListedColormap(["white", color]), vmin=0, vmax=1,
              extent=(-0.5, T - 0.5, -0.5, N - 0.5))
    if marked is not None:
        ts, ns = np.nonzero(np.asarray(marked, dtype=bool))
        ax.scatter(ts, ns - 0.3, marker="s", s=9, color="black", label=marked_label)
    if values is not None:
        vals = np.asarray(values)
        for t, n in np.ndindex(T, N):
            ax.text(t, n + 0.08, f"{vals[t, n]:g}", ha="center", va="center", fontsize=6,
                    color="white" if active[t, n] else "0.25")
    ax.set_xticks(np.arange(-0.5, T, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, N, 1), minor=True)
    ax.grid(which="minor", color="0.85", lw=0.5)
    ax.tick_params(which="minor", length=0)
    ax.set_yticks(np.arange(N))
    ax.set_xlabel("slot")
    ax.set_ylabel("device")
    if marked is not None:
        ax.legend(fontsize=7, loc="upper right", bbox_to_anchor=(1.0, 1.18))
    if title:
        ax.set_title(title, loc="left")
    return ax


def subband_schedules(
    graph,
    schedule: np.ndarray,
    queues: Sequence[float] | None = None,
    axes: Sequence[Axes] | None = None,
    title: str | None = None,
    legend: bool = True,
) -> np.ndarray:
    """One conflict-graph panel per subband for a single slot's ``schedule`` ``(H, N)``.

    The collision rule (Z-3) is applied per subband and every scheduled device gets a ring
    around it: green = served a packet, red = collision.  With ``queues`` (the zeta the
    scheduler saw, also written on the devices) subbands are served in order and a success
    that finds the queue already empty is marked *wasted* (orange, dotted).  Returns the
    array of axes.
    """
    schedule = np.atleast_2d(np.asarray(schedule, dtype=bool))
    H, N = schedule.shape
    success = conflict_success(schedule, adjacency_matrix(graph))
    left = np.asarray(queues, dtype=float).copy() if queues is not None else np.full(N, np.inf)
    if axes is None:
        fig, axes = plt.subplots(1, H, figsize=(3.4 * H + (1.4 if legend else 0), 3.4),
                                 squeeze=False, layout="constrained")
        axes = axes[0]
        if title:
            fig.suptitle(title)
    axes = np.atleast_1d(np.asarray(axes, dtype=object))
    pos = ring_layout(graph) if N <= 12 else nx.spring_layout(graph, seed=0)
    xy = np.array([pos[n] for n in range(N)])
    for h, ax in enumerate(axes[:H]):
        served = success[h] & (left > 0)
        wasted = success[h] & ~served
        left = left - served
        draw_conflict_graph(graph, ax=ax, queues=queues, pos=pos)
        for mask, color, style, lab in ((served, "tab:green", "-", "served"),
                                        (schedule[h] & ~success[h], "tab:red", "-", "collision"),
                                        (wasted, "tab:orange", ":", "wasted (queue empty)")):
            ax.scatter(xy[mask, 0], xy[mask, 1], s=1250, facecolors="none", edgecolors=color,
                       linewidths=2.6, linestyles=style, label=lab, zorder=3)
        parts = [f"{int(served.sum())} served"]
        if (schedule[h] & ~success[h]).any():
            parts.append(f"{int((schedule[h] & ~success[h]).sum())} collided")
        if wasted.any():
            parts.append(f"{int(wasted.sum())} wasted")
        ax.set_title(f"subband {h}: " + ", ".join(parts) if H > 1 else ", ".join(parts),
                     fontsize=10)
        pad = 0.22 * float(np.ptp(xy, axis=0).max() or 1.0)
        ax.set_xlim(xy[:, 0].min() - pad, xy[:, 0].max() + pad)
        ax.set_ylim(xy[:, 1].min() - pad, xy[:, 1].max() + pad)
        ax.set_aspect("equal")
    if legend:
        handles = [plt.Line2D([], [], marker="o", ms=11, mfc="none", mec=c, mew=2.4, ls="none",
                              label=lab) for c, lab in (("tab:green", "served"),
                                                        ("tab:red", "collision"),
                                                        ("tab:orange", "wasted (queue empty)"))]
        axes[min(H, len(axes)) - 1].legend(handles=handles, fontsize=8, loc="center left",
                                           bbox_to_anchor=(0.97, 0.5), frameon=False)
    return axes


# --------------------------------------------------------------------------- radio
def path_loss_curve(
    distance_m: np.ndarray,
    path_loss_db: np.ndarray,
    ax: Axes | None = None,
    marks: Mapping[str, float] | None = None,
    snr_offset_db: float | None = None,
    title: str | None = None,
) -> Axes:
    """Path loss (dB) against distance (log axis), e.g. the LTE model of (Z-11).

    ``marks`` maps a label to a distance: a dotted vertical line with the path loss at that
    distance (interpolated) written next to it.  With ``snr_offset_db`` = P_max - noise (dB)
    a right-hand axis reads the same curve as the SNR at full power, offset - path loss.
    """
    ax = _axes(ax, (6.0, 3.8))
    d = np.asarray(distance_m, dtype=float)
    pl = np.asarray(path_loss_db, dtype=float)
    ax.plot(d, pl, color="tab:blue", lw=2)
    for label, x in (marks or {}).items():
        y = float(np.interp(np.log(x), np.log(d), pl))
        ax.axvline(x, color="0.4", ls=":", lw=1.2)
        ax.plot(x, y, "o", color="tab:blue", ms=5)
        ax.annotate(f"{label}\n{y:.1f} dB", (x, y), xytext=(6, -4), textcoords="offset points",
                    fontsize=8, va="top")
    ax.set_xscale("log")
    ax.set_xlabel("distance (m)")
    ax.set_ylabel("path loss (dB)")
    ax.grid(alpha=0.3, which="both")
    if snr_offset_db is not None:
        right = ax.secondary_yaxis("right", functions=(lambda v: snr_offset_db - v,
                                                       lambda v: snr_offset_db - v))
        right.set_ylabel("SNR at full power (dB)")
    if title:
        ax.set_title(title)
    return ax


def fading_trace(
    gain: np.ndarray,
    ax: Axes | None = None,
    slot_ms: float | None = None,
    labels: Sequence[str] | None = None,
    title: str | None = None,
) -> Axes:
    """Small-scale fading power |beta|^2 in dB over time; ``gain`` is ``(T,)`` or ``(T, C)``
    (one line per column).  With ``slot_ms`` the time axis is in milliseconds."""
    ax = _axes(ax, (6.5, 3.0))
    g = np.asarray(gain, dtype=float)
    g = g[:, None] if g.ndim == 1 else g
    t = np.arange(g.shape[0]) * (slot_ms or 1.0)
    for c in range(g.shape[1]):
        ax.plot(t, 10 * np.log10(g[:, c]), lw=1.2, marker=".", ms=3,
                label=labels[c] if labels else None)
    ax.axhline(0.0, color="0.4", ls=":", lw=1.0)
    ax.set_xlabel("time (ms)" if slot_ms else "slot")
    ax.set_ylabel("|β|² (dB)")
    ax.grid(alpha=0.3)
    if labels:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def autocorrelation(
    lags: np.ndarray,
    empirical: np.ndarray,
    ax: Axes | None = None,
    references: Mapping[str, np.ndarray] | None = None,
    title: str | None = None,
    xlabel: str = "lag (slots)",
) -> Axes:
    """Empirical autocorrelation (dots) against reference curves (lines), e.g. rho^lag."""
    ax = _axes(ax, (5.5, 3.6))
    ax.plot(lags, empirical, "o", color="black", ms=5, label="measured", zorder=3)
    styles = ["-", "--", "-.", ":"]
    for i, (label, ref) in enumerate((references or {}).items()):
        ax.plot(lags, ref, ls=styles[i % len(styles)], lw=1.6, label=label)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("correlation")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def sinr_map(
    x: np.ndarray,
    y: np.ndarray,
    sinr_db: np.ndarray,
    ax: Axes | None = None,
    layout: Any = None,
    vmin: float = -10.0,
    vmax: float = 30.0,
    title: str | None = None,
) -> Axes:
    """SINR in dB on a grid (``sinr_db[i, j]`` at ``(x[j], y[i])``), with an optional
    :class:`~rrmbook.topology.Layout` drawn on top (APs, cells, no devices)."""
    ax = _axes(ax, (6.5, 5.6))
    mesh = ax.pcolormesh(x, y, sinr_db, cmap="viridis", vmin=vmin, vmax=vmax, shading="auto")
    plt.colorbar(mesh, ax=ax, label="SINR (dB)", shrink=0.85)
    if layout is not None:
        from matplotlib.patches import RegularPolygon

        for xy in layout.ap_xy:
            ax.add_patch(RegularPolygon(xy, 6, radius=layout.cell_radius, orientation=0.0,
                                        fill=False, edgecolor="white", lw=0.6, alpha=0.7))
        ax.scatter(*layout.ap_xy.T, marker="^", s=40, c="white", edgecolors="black", zorder=3)
    ax.set_aspect("equal")
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(y.min(), y.max())
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    if title:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- optimisers
def objective_history(
    histories: Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    title: str | None = None,
    ylabel: str = "weighted sum rate (bit/s/Hz)",
) -> Axes:
    """Objective value against iteration, one line per method (``{method: values}``); line
    styles and marker sizes differ from line to line, so curves that coincide stay visible."""
    ax = _axes(ax, (5.5, 3.6))
    styles = [("-", 6.0), ("--", 3.5), (":", 2.5), ("-.", 2.0)]  # curves that coincide stay visible
    for i, (name, vals) in enumerate(histories.items()):
        v = np.asarray(vals, dtype=float)
        ls, ms = styles[i % len(styles)]
        ax.plot(np.arange(v.size), v, ls=ls, marker="o", ms=ms, lw=1.6, color=color_of(name),
                label=label_of(name))
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
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
    ax = _axes(ax, (6.0, 4.0))
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
        _log_ticks_plain(ax.xaxis)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"packet delay ({unit})")
    ax.set_ylabel("fraction of packets with delay ≤ x")
    ax.grid(alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title)
    return ax


def decision_time_bars(
    times_ms: Mapping[str, float],
    ax: Axes | None = None,
    reported: Mapping[str, float] | None = None,
    title: str | None = None,
) -> Axes:
    """Time per decision (ms, log axis), one horizontal bar per method; ``reported``
    published values are drawn as black stars on the matching rows."""
    ax = _axes(ax, (6.0, 0.45 * len(times_ms) + 1.4))
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


def ema(values: Sequence[float], weight: float = 0.9) -> np.ndarray:
    """Exponential moving average ``m_t = weight·m_{t-1} + (1 − weight)·x_t`` (m_0 = x_0)."""
    x = np.asarray(values, dtype=float)
    out = np.empty_like(x)
    acc = x[0] if x.size else 0.0
    for i, v in enumerate(x):
        acc = weight * acc + (1.0 - weight) * v if i else v
        out[i] = acc
    return out


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
    ax = _axes(ax, (6.5, 4.0))
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
    :func:`rrmbook.reproduce.table5_data`."""
    ax = _axes(ax, (6.0, 3.0))
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


#: the three figures of merit of the PF scheduling model (Eldeeb & Alves (E-9)-(E-11))
RATE_METRICS = {"sum_rate": "sum rate (bit/s/Hz)", "p5_rate": "5th-percentile rate (bit/s/Hz)",
                "score": "score"}


def rate_panels(methods: Mapping[str, Any], axes: Sequence[Axes] | None = None,
                title: str | None = None, labels: Mapping[str, str] | None = None) -> list[Axes]:
    """The paper's Figs. 4-6 layout: three bar panels (sum rate, 5th-percentile rate,
    score), one bar per method.  ``methods``: ``{name: summary dict or RateResults}``;
    ``labels`` overrides legend names."""
    import matplotlib.pyplot as plt

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

