"""Conflict graphs: builders, the collision rule and independent sets.

A directed conflict graph G = (I, E) has one vertex per device; an edge (i, j) means that
device i, when scheduled, makes device j fail if j is scheduled in the same slot on the
same subband (Zhang & Guo, Sec. II-B).  Chapter 3 of the book explains everything here.

The maths lives in small pure functions over NumPy arrays (``conflict_success``,
``exclusion_matrix``, ``is_conflict_free``) so that tests, chapters and exercises can call
them directly; the environment in :mod:`rrmbook.envs.conflict_env` composes them with a
leading batch axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np

__all__ = [
    "PAPER_CG8_EDGES",
    "paper_cg8",
    "random_conflict_graph",
    "adjacency_matrix",
    "conflict_success",
    "exclusion_matrix",
    "is_conflict_free",
    "agent_neighbourhoods",
    "maximal_independent_sets",
    "ring_layout",
]

#: 0-based edges of the paper's Fig. 2 conflict graph (8 devices, 4 agents).  The first
#: eight pairs conflict in both directions, the last eight only one way.
_BOTH_WAYS = [(0, 1), (2, 3), (4, 5), (6, 7), (1, 2), (3, 4), (5, 6), (7, 0)]
_ONE_WAY = [(1, 7), (7, 5), (5, 3), (3, 1), (0, 2), (2, 4), (4, 6), (6, 0)]
PAPER_CG8_EDGES: tuple[tuple[int, int], ...] = tuple(
    [e for a, b in _BOTH_WAYS for e in ((a, b), (b, a))] + _ONE_WAY
)


def _with_owner(graph: nx.DiGraph, owner: Sequence[int]) -> nx.DiGraph:
    for n in graph.nodes:
        graph.nodes[n]["agent"] = int(owner[n])
    return graph


def paper_cg8() -> nx.DiGraph:
    """The 8-device, 4-agent conflict graph of Zhang & Guo's Fig. 2 (0-based labels).

    Agent k serves devices 2k and 2k+1; the ``agent`` node attribute records the owner.
    Every device has in-degree 3 and out-degree 3.
    """
    g = nx.DiGraph()
    g.add_nodes_from(range(8))
    g.add_edges_from(PAPER_CG8_EDGES)
    return _with_owner(g, [n // 2 for n in range(8)])


def random_conflict_graph(
    n_agents: int,
    devices_per_agent: int = 2,
    density: float = 0.3,
    seed: int | None = 0,
    intra_agent: bool = True,
) -> nx.DiGraph:
    """A random directed conflict graph.

    Each ordered pair of devices of *different* agents gets an edge independently with
    probability ``density``.  With ``intra_agent`` the devices of one agent conflict with
    each other in both directions (they share one transmitter, as in the paper's graph).
    """
    if n_agents < 1:
        raise ValueError(f"n_agents must be >= 1, got {n_agents}")
    if devices_per_agent < 1:
        raise ValueError(f"devices_per_agent must be >= 1, got {devices_per_agent}")
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density must be in [0, 1], got {density}")
    rng = np.random.default_rng(seed)
    n = n_agents * devices_per_agent
    owner = np.repeat(np.arange(n_agents), devices_per_agent)
    draws = rng.random((n, n)) < density
    same = owner[:, None] == owner[None, :]
    adj = np.where(same, intra_agent, draws)
    np.fill_diagonal(adj, False)
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(*np.nonzero(adj), strict=True))
    return _with_owner(g, owner)


def adjacency_matrix(graph: nx.DiGraph) -> np.ndarray:
    """Boolean matrix ``A`` with ``A[i, j]`` true iff edge i -> j (i makes j fail)."""
    n = graph.number_of_nodes()
    if sorted(graph.nodes) != list(range(n)):
        raise ValueError("graph nodes must be labelled 0..N-1")
    adj = np.zeros((n, n), dtype=bool)
    for i, j in graph.edges:
        if i == j:
            raise ValueError(f"graph has a self-loop at device {i}; conflicts need two devices")
        adj[i, j] = True
    return adj


def conflict_success(schedule: np.ndarray, adjacency: np.ndarray) -> np.ndarray:
    """The collision rule (Z-3), vectorised.

    Parameters
    ----------
    schedule : bool array ``(..., N)``
        ``schedule[..., n]`` is true when device n transmits (per subband, per batch copy:
        any leading axes are allowed).
    adjacency : bool array ``(N, N)``
        ``adjacency[i, j]`` true iff i makes j fail.

    Returns
    -------
    bool array ``(..., N)``: device n succeeds iff it is scheduled and none of its
    in-neighbours is scheduled.
    """
    schedule = np.asarray(schedule, dtype=bool)
    adjacency = np.asarray(adjacency, dtype=bool)
    if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
        raise ValueError(f"adjacency must be square (N, N), got shape {adjacency.shape}")
    if schedule.shape[-1] != adjacency.shape[0]:
        raise ValueError(
            f"schedule's last axis ({schedule.shape[-1]}) must equal the number of devices "
            f"({adjacency.shape[0]})"
        )
    interferers = schedule.astype(np.int32) @ adjacency.astype(np.int32)
    return schedule & (interferers == 0)


def exclusion_matrix(adjacency: np.ndarray, owner: Sequence[int] | None = None) -> np.ndarray:
    """Symmetric "cannot transmit together" matrix used by schedulers.

    Two devices exclude each other when an edge joins them in either direction, or, when
    ``owner`` is given, when one agent serves both (an agent picks at most one device per
    subband).  The diagonal is false.
    """
    excl = np.asarray(adjacency, dtype=bool) | np.asarray(adjacency, dtype=bool).T
    if owner is not None:
        owner = np.asarray(owner)
        excl = excl | (owner[:, None] == owner[None, :])
    excl = excl.copy()
    np.fill_diagonal(excl, False)
    return excl


def is_conflict_free(schedule: np.ndarray, adjacency: np.ndarray) -> np.ndarray:
    """True (per leading index) when every scheduled device succeeds under (Z-3)."""
    schedule = np.asarray(schedule, dtype=bool)
    return np.all(conflict_success(schedule, adjacency) == schedule, axis=-1)


def agent_neighbourhoods(adjacency: np.ndarray, owner: Sequence[int]) -> list[list[int]]:
    """Neighbourhood C(k) of every agent: k first, then every agent owning a device that
    conflicts (either direction) with one of k's devices, in increasing order (Sec. II-B)."""
    owner = np.asarray(owner)
    n_agents = int(owner.max()) + 1
    excl = np.asarray(adjacency, dtype=bool) | np.asarray(adjacency, dtype=bool).T
    out = []
    for k in range(n_agents):
        mine = owner == k
        touched = excl[mine].any(axis=0)
        others = sorted({int(a) for a in owner[touched]} - {k})
        out.append([k, *others])
    return out


def maximal_independent_sets(exclusion: np.ndarray, limit: int = 200_000) -> np.ndarray:
    """All maximal independent sets of the exclusion graph as a bool matrix ``(S, N)``.

    They are the maximal cliques of the complement graph (Bron–Kerbosch via networkx).
    Exponential in the worst case: ``limit`` guards against graphs too large for the exact
    max-weight scheduler.
    """
    excl = np.asarray(exclusion, dtype=bool)
    n = excl.shape[0]
    comp = nx.Graph()
    comp.add_nodes_from(range(n))
    ii, jj = np.nonzero(~excl & ~np.eye(n, dtype=bool))
    comp.add_edges_from((int(i), int(j)) for i, j in zip(ii, jj, strict=True) if i < j)
    sets = []
    for clique in nx.find_cliques(comp):
        sets.append(clique)
        if len(sets) > limit:
            raise ValueError(
                f"graph has more than {limit} maximal independent sets; exact max-weight "
                "scheduling is for small graphs only"
            )
    mat = np.zeros((len(sets), n), dtype=bool)
    for s, members in enumerate(sets):
        mat[s, members] = True
    return mat


def ring_layout(graph: nx.DiGraph) -> dict[int, np.ndarray]:
    """Devices on a circle, device 0 at the top, clockwise (the paper's Fig. 2 drawing)."""
    n = graph.number_of_nodes()
    angles = np.pi / 2 - 2 * np.pi * np.arange(n) / n
    return {i: np.array([np.cos(a), np.sin(a)]) for i, a in enumerate(angles)}

