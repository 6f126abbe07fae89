"""Multi-cell figures: the deployment (APs, devices, cells, neighbourhoods), the radio
channel (path loss, fading, its autocorrelation, an SINR map) and the power-control
optimisers' objective against iteration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import RegularPolygon

from ..topology import Layout
from .axes import axes_or_new
from .style import color_of, label_of

__all__ = [
    "draw_layout",
    "path_loss_curve",
    "fading_trace",
    "autocorrelation",
    "sinr_map",
    "objective_history",
]


def draw_layout(layout: Layout, ax: Axes | None = None,
                neighbourhoods: list[list[int]] | None = None, show_cells: bool = True,
                title: str | None = None, annotate: bool = False) -> Axes:
    """Draw APs (triangles), devices (dots coloured by serving AP), association lines,
    hexagonal cell outlines and, optionally, neighbour links between APs.  Returns the axes."""
    ax = axes_or_new(ax, (6, 6))
    cmap = plt.get_cmap("tab20")
    R = layout.cell_radius
    if show_cells:
        for xy in layout.ap_xy:
            ax.add_patch(RegularPolygon(xy, 6, radius=R, orientation=0.0, fill=False,
                                        edgecolor="0.8", lw=0.8))
    if neighbourhoods is not None:
        for k, c in enumerate(neighbourhoods):
            for j in c[1:]:
                if j > k:
                    ax.plot(*layout.ap_xy[[k, j]].T, color="tab:red", lw=0.8, alpha=0.5)
    for n, (xy, k) in enumerate(zip(layout.dev_xy, layout.serving, strict=True)):
        ax.plot(*np.stack([layout.ap_xy[k], xy]).T, color=cmap(k % 20), lw=0.6, alpha=0.7)
        if annotate:
            ax.annotate(str(n), xy, fontsize=6)
    ax.scatter(*layout.dev_xy.T, s=14, c=[cmap(k % 20) for k in layout.serving], zorder=3)
    ax.scatter(*layout.ap_xy.T, marker="^", s=70, c="k", zorder=4)
    for k, xy in enumerate(layout.ap_xy):
        ax.annotate(str(k), xy, xytext=(4, 4), textcoords="offset points", fontsize=7)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    if title:
        ax.set_title(title)
    return ax



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
    ax = axes_or_new(ax, (6.0, 3.8))
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
    ax = axes_or_new(ax, (6.5, 3.0))
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
    ax = axes_or_new(ax, (5.5, 3.6))
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
    layout: Layout | None = None,
    vmin: float = -10.0,
    vmax: float = 30.0,
    title: str | None = None,
) -> Axes:
    """SINR in dB on a grid (``sinr_db[i, j]`` at ``(x[j], y[i])``), with an optional
    :class:`~rrmbook.topology.Layout` drawn on top (APs, cells, no devices)."""
    ax = axes_or_new(ax, (6.5, 5.6))
    mesh = ax.pcolormesh(x, y, sinr_db, cmap="viridis", vmin=vmin, vmax=vmax, shading="auto")
    plt.colorbar(mesh, ax=ax, label="SINR (dB)", shrink=0.85)
    if layout is not None:
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
    ax = axes_or_new(ax, (5.5, 3.6))
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

