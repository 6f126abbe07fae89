"""Deployments: hexagonal and random layouts, device drops, association and neighbourhoods.

Zhang & Guo Sec. II-C and IV-A; SPEC section 2.  A :class:`Layout` holds AP and device
positions (metres) and each device's serving AP (nearest AP).  Chapter 4 draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import checks
from .channel import path_gain

__all__ = [
    "Layout",
    "hex_grid",
    "in_hexagon",
    "hex_layout",
    "random_layout",
    "associate_nearest",
    "neighbourhoods_by_gain",
    "induced_conflict_graph",
]

SQRT3 = float(np.sqrt(3.0))


@dataclass(eq=False)
class Layout:
    """APs, devices and association of one deployment (positions in metres)."""

    ap_xy: np.ndarray  # (K, 2)
    dev_xy: np.ndarray  # (N, 2)
    serving: np.ndarray  # (N,) serving AP of each device
    cell_radius: float = 500.0
    kind: str = "custom"

    def __post_init__(self) -> None:
        self.ap_xy = np.asarray(self.ap_xy, dtype=float)
        self.dev_xy = np.asarray(self.dev_xy, dtype=float)
        self.serving = np.asarray(self.serving, dtype=np.int64)
        if self.ap_xy.ndim != 2 or self.ap_xy.shape[1] != 2 or len(self.ap_xy) == 0:
            raise ValueError(f"ap_xy must be (K, 2) with K >= 1, got {self.ap_xy.shape}")
        if self.dev_xy.ndim != 2 or self.dev_xy.shape[1] != 2 or len(self.dev_xy) == 0:
            raise ValueError(f"dev_xy must be (N, 2) with N >= 1, got {self.dev_xy.shape}")
        if self.serving.shape != (len(self.dev_xy),):
            raise ValueError(f"serving must have one AP per device ({len(self.dev_xy)}), got "
                             f"shape {self.serving.shape}")
        if self.serving.min() < 0 or self.serving.max() >= len(self.ap_xy):
            raise ValueError(f"serving must index APs 0..{len(self.ap_xy) - 1}")
        if np.any(np.bincount(self.serving, minlength=self.n_aps) == 0):
            raise ValueError("every AP must serve at least one device (an agent without devices "
                             "has nothing to decide)")
        if np.any(self.distances() <= 0):
            raise ValueError("a device sits exactly on an AP: distances must be > 0")

    @property
    def n_aps(self) -> int:
        return len(self.ap_xy)

    @property
    def n_devices(self) -> int:
        return len(self.dev_xy)

    def distances(self) -> np.ndarray:
        """``(K, N)`` distance from every AP to every device, metres."""
        return np.linalg.norm(self.ap_xy[:, None, :] - self.dev_xy[None, :, :], axis=-1)

    def path_gains(self) -> np.ndarray:
        """``(K, N)`` large-scale gains alpha (LTE path loss)."""
        return path_gain(self.distances())

    def devices_per_ap(self) -> np.ndarray:
        return np.bincount(self.serving, minlength=self.n_aps)


def hex_grid(rings: int, inter_site_distance: float) -> np.ndarray:
    """AP positions of a hexagonal grid: the centre cell plus ``rings`` rings around it
    (1 + 3 r (r + 1) cells: 7 for one ring, 19 for two), ordered ring by ring."""
    if int(rings) != rings or rings < 0:
        raise ValueError(f"rings must be an integer >= 0, got {rings}")
    cells = []
    for q in range(-rings, rings + 1):
        for r in range(max(-rings, -q - rings), min(rings, -q + rings) + 1):
            ring = max(abs(q), abs(r), abs(q + r))
            cells.append((ring, np.arctan2(SQRT3 / 2 * r, q + r / 2) % (2 * np.pi), q, r))
    cells.sort()
    axial = np.array([(q, r) for _, _, q, r in cells], dtype=float)
    x = inter_site_distance * (axial[:, 0] + axial[:, 1] / 2)
    y = inter_site_distance * (SQRT3 / 2) * axial[:, 1]
    return np.round(np.stack([x, y], axis=1), 9)


def in_hexagon(xy: np.ndarray, radius: float) -> np.ndarray:
    """Is each point (relative to the cell centre) inside the pointy-top hexagon of
    circumradius ``radius`` that a hexagonal grid with ISD = sqrt(3) radius tiles with?"""
    x, y = np.abs(xy[..., 0]), np.abs(xy[..., 1])
    return (x <= SQRT3 / 2 * radius + 1e-9) & (y + x / SQRT3 <= radius + 1e-9)


def _drop_in_hexagon(rng, n, radius, min_distance):
    out = np.empty((0, 2))
    while len(out) < n:
        cand = rng.uniform([-SQRT3 / 2 * radius, -radius], [SQRT3 / 2 * radius, radius], (4 * n, 2))
        keep = in_hexagon(cand, radius) & (np.linalg.norm(cand, axis=1) >= min_distance)
        out = np.concatenate([out, cand[keep]])
    return out[:n]


def hex_layout(rings: int = 2, devices_per_cell: int = 3, cell_radius: float = 500.0,
               min_distance: float = 35.0, seed: int | None = 0) -> Layout:
    """Hexagonal cells (ISD = sqrt(3) R) with ``devices_per_cell`` devices dropped uniformly
    in each hexagon, at least ``min_distance`` from its AP (SPEC section 2, ``paper-hex19``).
    A device inside a hexagon is nearest to that hexagon's AP, so association is the cell."""
    if int(devices_per_cell) != devices_per_cell or devices_per_cell < 1:
        raise ValueError(f"devices_per_cell must be a positive integer, got {devices_per_cell}")
    if cell_radius <= 0 or not 0 <= min_distance < cell_radius * SQRT3 / 2:
        raise ValueError(f"need cell_radius > 0 and 0 <= min_distance < sqrt(3)/2 cell_radius; "
                         f"got {cell_radius}, {min_distance}")
    rings = checks.non_negative_int("rings", rings)
    cells = 1 + 3 * rings * (rings + 1)
    # the networks built on a layout keep gains from every AP to every device, per subband
    # and copy: at least cells x devices x 8 bytes several times over
    checks.fits_in_memory(8.0 * 8 * cells * cells * devices_per_cell,
                          f"a hexagonal network of {rings} rings ({cells:,} cells)",
                          "use fewer rings or devices_per_cell")
    rng = np.random.default_rng(seed)
    aps = hex_grid(rings, SQRT3 * cell_radius)
    offsets = _drop_in_hexagon(rng, len(aps) * devices_per_cell, cell_radius, min_distance)
    serving = np.repeat(np.arange(len(aps)), devices_per_cell)
    return Layout(aps, aps[serving] + offsets, serving, cell_radius, kind="hexagonal")


def associate_nearest(ap_xy: np.ndarray, dev_xy: np.ndarray) -> np.ndarray:
    """Index of the nearest AP of every device."""
    d = np.linalg.norm(np.asarray(ap_xy)[:, None, :] - np.asarray(dev_xy)[None, :, :], axis=-1)
    return np.argmin(d, axis=0)


def random_layout(n_aps: int = 19, n_devices: int = 57, cell_radius: float = 500.0,
                  jitter: float = 0.5, spread: float = 250.0, min_distance: float = 35.0,
                  devices_per_ap: tuple[int, int] = (2, 5), seed: int | None = 0,
                  max_tries: int = 10_000) -> Layout:
    """The random deployment of SPEC section 2 (``paper-random19``).

    APs sit on the hexagonal grid, each moved uniformly within a disc of radius
    ``jitter * cell_radius``; each device picks a home AP uniformly at random, is dropped
    uniformly within +-``spread`` metres of it and is associated with its nearest AP.  Drops are redrawn until every
    device is at least ``min_distance`` from its AP and every AP serves between
    ``devices_per_ap[0]`` and ``devices_per_ap[1]`` devices.
    """
    for name, value, low in [("cell_radius", cell_radius, 0.0), ("spread", spread, 0.0),
                             ("max_tries", max_tries, 0)]:
        if not value > low:
            raise ValueError(f"{name} must be > {low}, got {value}")
    for name, value in [("jitter", jitter), ("min_distance", min_distance)]:
        if not value >= 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    rings = 0
    while 1 + 3 * rings * (rings + 1) < n_aps:
        rings += 1
    lo, hi = devices_per_ap
    if n_aps < 1 or n_devices < n_aps * lo or n_devices > n_aps * hi:
        raise ValueError(f"n_devices={n_devices} cannot give every one of {n_aps} APs between "
                         f"{lo} and {hi} devices")
    rng = np.random.default_rng(seed)
    grid = hex_grid(rings, SQRT3 * cell_radius)[:n_aps]
    for _ in range(max_tries):
        angle = rng.uniform(0, 2 * np.pi, n_aps)
        radius = jitter * cell_radius * np.sqrt(rng.uniform(0, 1, n_aps))
        aps = grid + np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
        home = rng.integers(0, n_aps, n_devices)
        dev = aps[home] + rng.uniform(-spread, spread, (n_devices, 2))
        serving = associate_nearest(aps, dev)
        dist = np.linalg.norm(aps[serving] - dev, axis=1)
        counts = np.bincount(serving, minlength=n_aps)
        if dist.min() >= min_distance and counts.min() >= lo and counts.max() <= hi:
            return Layout(aps, dev, serving, cell_radius, kind="random")
    raise ValueError(f"no random layout met the constraints in {max_tries} tries; relax "
                     "devices_per_ap or min_distance")


def neighbourhoods_by_gain(gains: np.ndarray, serving: np.ndarray,
                           threshold_db: float = 8.0) -> list[list[int]]:
    """Agent neighbourhoods C(k) by the path-gain rule of SPEC section 2.

    APs a and k are neighbours when some device of either one receives the other AP within
    ``threshold_db`` of its own AP's path gain (no fading).  ``gains`` is ``(K, N)``.
    Returns C(k) = [k, neighbours in increasing order] for every AP.
    """
    gains = np.asarray(gains, dtype=float)
    K, N = gains.shape
    own = gains[serving, np.arange(N)]
    strong = gains >= own[None, :] * 10.0 ** (-threshold_db / 10.0)  # (K, N)
    of_ap = np.zeros((N, K), dtype=np.int64)
    of_ap[np.arange(N), serving] = 1
    close = (strong.astype(np.int64) @ of_ap) > 0  # close[k, a]: a device of a hears k
    close = close | close.T
    np.fill_diagonal(close, False)
    return [[k, *np.flatnonzero(close[k]).tolist()] for k in range(K)]


def induced_conflict_graph(layout: Layout, threshold_db: float = -10.0):
    """The conflict graph a cellular layout induces (chapter 3 meets chapter 4).

    Device m's link (from AP b_m) makes device n fail when the interference-to-signal
    ratio alpha(b_m -> n) / alpha(b_n -> n) exceeds ``threshold_db``; devices of the same AP
    conflict both ways (one transmitter).  Node attribute ``agent`` = serving AP, so the
    graph plugs straight into :class:`rrmbook.envs.ConflictGraphConfig`.
    """
    import networkx as nx

    gains = layout.path_gains()
    s = layout.serving
    N = layout.n_devices
    signal = gains[s, np.arange(N)]
    isr = gains[s][:, :] / signal[None, :]  # isr[m, n] = alpha(b_m -> n) / alpha(b_n -> n)
    adj = (isr > 10.0 ** (threshold_db / 10.0)) | (s[:, None] == s[None, :])
    np.fill_diagonal(adj, False)
    g = nx.DiGraph()
    g.add_nodes_from((n, {"agent": int(s[n])}) for n in range(N))
    g.add_edges_from(zip(*np.nonzero(adj), strict=True))
    return g

