"""Conflict-graph figures: the graph itself (devices coloured by agent), which device is
active in which slot, and one slot's schedule per subband with its collisions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap

from ..conflict import adjacency_matrix, conflict_success, ring_layout
from .axes import axes_or_new

__all__ = [
    "AGENT_COLORS",
    "draw_conflict_graph",
    "activity_grid",
    "subband_schedules",
]

#: Agent colours for graph drawings: no green or red, which mark success and collision.
AGENT_COLORS = ("#4C72B0", "#DD8452", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974",
                "#64B5CD")



def draw_conflict_graph(
    graph: nx.DiGraph,
    ax: Axes | None = None,
    queues: Iterable[float] | None = None,
    scheduled: Iterable[bool] | None = None,
    success: Iterable[bool] | None = None,
    pos: dict | None = None,
    title: str | None = None,
) -> Axes:
    """Draw a conflict graph: devices coloured by agent, two-way conflicts as plain lines,
    one-way conflicts as arrows.  Optional per-device ``queues`` label the nodes; with
    ``scheduled``/``success`` a slot's outcome is shown (green ring = success, red = collision).
    Returns the matplotlib axes."""
    ax = axes_or_new(ax, (4.2, 4.2))
    pos = pos or (ring_layout(graph) if graph.number_of_nodes() <= 12 else nx.spring_layout(graph, seed=0))
    owner = [graph.nodes[n].get("agent", 0) for n in graph.nodes]
    both = [(i, j) for i, j in graph.edges if graph.has_edge(j, i) and i < j]
    one = [(i, j) for i, j in graph.edges if not graph.has_edge(j, i)]
    ug = nx.Graph(both)
    nx.draw_networkx_edges(ug, pos, ax=ax, edgelist=both, width=1.6, edge_color="0.35")
    nx.draw_networkx_edges(
        graph, pos, ax=ax, edgelist=one, width=1.0, edge_color="0.55", style="dashed",
        arrows=True, arrowstyle="-|>", arrowsize=12, node_size=600,
    )
    colors = [AGENT_COLORS[a % len(AGENT_COLORS)] for a in owner]
    edgecolors = "black"
    linewidths = 1.0
    if scheduled is not None:
        sch = np.asarray(list(scheduled), dtype=bool)
        suc = np.asarray(list(success), dtype=bool) if success is not None else sch
        edgecolors = ["tab:green" if s and ok else ("tab:red" if s else "black") for s, ok in zip(sch, suc, strict=True)]
        linewidths = [4.0 if s else 1.0 for s in sch]
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_color=colors, node_size=600,
                           edgecolors=edgecolors, linewidths=linewidths)
    if queues is not None:
        labels = {n: f"{n}\n{int(q)}" for n, q in zip(graph.nodes, queues, strict=True)}
        nx.draw_networkx_labels(graph, pos, labels=labels, ax=ax, font_size=8)
    else:
        nx.draw_networkx_labels(graph, pos, ax=ax, font_size=10)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax



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
    ax = axes_or_new(ax, (min(0.28 * T + 1.5, 12.0), 0.35 * N + 1.2))
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

