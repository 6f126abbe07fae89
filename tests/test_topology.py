"""Deployments of the multi-cell model (SPEC section 2): hexagonal grid and layouts, the
random layout, nearest-AP association, neighbourhoods by path gain and the conflict graph a
layout induces."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from rrmbook.channel import lte_path_loss_db, path_gain
from rrmbook.envs import ConflictGraphConfig, ConflictGraphEnv
from rrmbook.topology import (
    Layout,
    associate_nearest,
    hex_grid,
    hex_layout,
    in_hexagon,
    induced_conflict_graph,
    neighbourhoods_by_gain,
    random_layout,
)

SQRT3 = np.sqrt(3.0)
R = 500.0


# ----------------------------------------------------------------- hexagonal grid
@pytest.mark.parametrize("isd", [1.0, SQRT3 * R])
def test_hex_grid_two_rings(isd):
    g = hex_grid(2, isd)
    assert g.shape == (19, 2)
    np.testing.assert_allclose(g[0], [0.0, 0.0], atol=1e-9)
    d = np.linalg.norm(g, axis=1)
    # ring by ring: centre, 6 at one ISD, then 12 at ISD sqrt(3) (6) or 2 ISD (6)
    np.testing.assert_allclose(d[1:7], isd, rtol=1e-9)
    outer = np.sort(d[7:])
    np.testing.assert_allclose(outer[:6], SQRT3 * isd, rtol=1e-9)
    np.testing.assert_allclose(outer[6:], 2 * isd, rtol=1e-9)
    # nearest neighbours are exactly one ISD apart, no duplicates
    pair = np.linalg.norm(g[:, None] - g[None], axis=-1) + np.eye(19) * 1e9
    np.testing.assert_allclose(pair.min(axis=1), isd, rtol=1e-9)
    # the six first-ring APs are 60 degrees apart
    ang = np.sort(np.degrees(np.arctan2(g[1:7, 1], g[1:7, 0])) % 360)
    np.testing.assert_allclose(np.diff(ang), 60.0, atol=1e-6)


@pytest.mark.parametrize("rings", [0, 1, 2, 3])
def test_hex_grid_cell_count(rings):
    g = hex_grid(rings, 10.0)
    assert len(g) == 1 + 3 * rings * (rings + 1)
    assert len({tuple(np.round(p, 6)) for p in g}) == len(g)
    # ring r lies between r ISD sqrt(3)/2 and r ISD from the centre, rings in order
    d = np.linalg.norm(g, axis=1)
    assert np.all(np.diff(d[np.argsort(d, kind="stable")]) >= -1e-9)
    assert d.max() == pytest.approx(10.0 * rings)


@pytest.mark.parametrize("bad", [-1, 1.5])
def test_hex_grid_rejects_bad_rings(bad):
    with pytest.raises(ValueError, match="rings"):
        hex_grid(bad, 1.0)


def test_in_hexagon_hand_points():
    pts = np.array([
        [0.0, 0.0],
        [0.0, R],  # top vertex (pointy top)
        [SQRT3 / 2 * R, 0.0],  # middle of the right edge
        [SQRT3 / 2 * R, R / 2],  # upper-right vertex
        [-SQRT3 / 2 * R, -R / 2],  # lower-left vertex
        [0.0, R + 1.0],
        [SQRT3 / 2 * R + 1.0, 0.0],
        [SQRT3 / 2 * R, R / 2 + 1.0],
        [SQRT3 / 4 * R + 1.0, 3 / 4 * R + 1.0],  # just outside the upper-right edge
        [SQRT3 / 4 * R - 1.0, 3 / 4 * R - 1.0],  # just inside it
    ])
    np.testing.assert_array_equal(in_hexagon(pts, R),
                                  [True, True, True, True, True, False, False, False, False, True])


def test_hexagons_tile_the_grid():
    # every point of the inner region is in the hexagon of its nearest AP (and only that one)
    aps = hex_grid(2, SQRT3 * R)
    pts = np.random.default_rng(0).uniform(-700, 700, (4000, 2))
    near = associate_nearest(aps, pts)
    assert in_hexagon(pts - aps[near], R).all()
    inside = np.stack([in_hexagon(pts - a, R) for a in aps])
    assert (inside.sum(axis=0) == 1).mean() > 0.99  # only boundary points are in two


# ----------------------------------------------------------------- hexagonal layout
def test_hex_layout_paper_hex19():
    lay = hex_layout()
    assert lay.kind == "hexagonal" and lay.cell_radius == R
    assert (lay.n_aps, lay.n_devices) == (19, 57)
    np.testing.assert_allclose(lay.ap_xy, hex_grid(2, SQRT3 * R))
    pair = np.linalg.norm(lay.ap_xy[:, None] - lay.ap_xy[None], axis=-1) + np.eye(19) * 1e9
    assert pair.min() == pytest.approx(SQRT3 * R)  # inter-site distance sqrt(3) R
    np.testing.assert_array_equal(lay.devices_per_ap(), 3)
    rel = lay.dev_xy - lay.ap_xy[lay.serving]
    assert in_hexagon(rel, R).all()
    dist = np.linalg.norm(rel, axis=1)
    assert dist.min() >= 35.0 and dist.max() <= R
    np.testing.assert_array_equal(associate_nearest(lay.ap_xy, lay.dev_xy), lay.serving)
    np.testing.assert_array_equal(lay.distances().argmin(axis=0), lay.serving)


def test_hex_layout_drops_are_spread_over_the_hexagon():
    lay = hex_layout(rings=3, devices_per_cell=40, seed=1)
    rel = lay.dev_xy - lay.ap_xy[lay.serving]
    n = len(rel)  # 1480 points uniform in the hexagon: centred, all six sectors used
    assert np.abs(rel.mean(axis=0)).max() < 4 * 0.4 * R / np.sqrt(n)
    sector = (np.degrees(np.arctan2(rel[:, 1], rel[:, 0])) // 60).astype(int) % 6
    counts = np.bincount(sector, minlength=6)
    assert np.all(np.abs(counts - n / 6) < 5 * np.sqrt(n / 6))
    # uniform over the area: about (rmax/..)^2 scaling; a quarter of the hexagon's area lies
    # within the hexagon of half the radius
    half = in_hexagon(rel, R / 2).mean()
    assert half == pytest.approx(0.25, abs=0.04)


@pytest.mark.parametrize("rings", [0, 1, 2, 3])
def test_hex_layout_sizes(rings):
    lay = hex_layout(rings=rings, devices_per_cell=2, seed=3)
    k = 1 + 3 * rings * (rings + 1)
    assert (lay.n_aps, lay.n_devices) == (k, 2 * k)
    np.testing.assert_array_equal(lay.serving, np.repeat(np.arange(k), 2))
    np.testing.assert_array_equal(associate_nearest(lay.ap_xy, lay.dev_xy), lay.serving)


def test_hex_layout_seeding():
    a, b, c = hex_layout(seed=4), hex_layout(seed=4), hex_layout(seed=5)
    np.testing.assert_array_equal(a.dev_xy, b.dev_xy)
    np.testing.assert_array_equal(a.ap_xy, c.ap_xy)
    assert not np.allclose(a.dev_xy, c.dev_xy)


@pytest.mark.parametrize("kwargs, field", [
    ({"devices_per_cell": 0}, "devices_per_cell"),
    ({"devices_per_cell": 1.5}, "devices_per_cell"),
    ({"cell_radius": -1.0}, "cell_radius"),
    ({"min_distance": 450.0}, "min_distance"),
    ({"min_distance": -1.0}, "min_distance"),
    ({"rings": -1}, "rings"),
])
def test_hex_layout_rejects_bad_arguments(kwargs, field):
    with pytest.raises(ValueError, match=field):
        hex_layout(**kwargs)


# ----------------------------------------------------------------- random layout
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_random_layout_paper_random19(seed):
    lay = random_layout(seed=seed)
    assert lay.kind == "random"
    assert (lay.n_aps, lay.n_devices) == (19, 57)
    np.testing.assert_array_equal(associate_nearest(lay.ap_xy, lay.dev_xy), lay.serving)
    counts = lay.devices_per_ap()
    assert counts.sum() == 57 and counts.min() >= 2 and counts.max() <= 5
    own = np.linalg.norm(lay.dev_xy - lay.ap_xy[lay.serving], axis=1)
    assert own.min() >= 35.0
    # APs jittered by at most 0.5 R from the hexagonal grid points
    jitter = np.linalg.norm(lay.ap_xy - hex_grid(2, SQRT3 * R), axis=1)
    assert jitter.max() <= 0.5 * R + 1e-9
    assert jitter.max() > 0  # ... and actually jittered
    # every device lies within +-250 m (per coordinate) of some AP (its home)
    box = np.abs(lay.dev_xy[None] - lay.ap_xy[:, None]).max(axis=-1).min(axis=0)
    assert box.max() <= 250.0 + 1e-9


def test_random_layout_seeding():
    a, b, c = random_layout(seed=9), random_layout(seed=9), random_layout(seed=10)
    np.testing.assert_array_equal(a.ap_xy, b.ap_xy)
    np.testing.assert_array_equal(a.dev_xy, b.dev_xy)
    np.testing.assert_array_equal(a.serving, b.serving)
    assert not np.allclose(a.ap_xy, c.ap_xy)


def test_random_layout_other_sizes():
    lay = random_layout(n_aps=7, n_devices=20, seed=2)
    assert (lay.n_aps, lay.n_devices) == (7, 20)
    jitter = np.linalg.norm(lay.ap_xy - hex_grid(1, SQRT3 * R), axis=1)
    assert jitter.max() <= 0.5 * R + 1e-9
    lay = random_layout(n_aps=4, n_devices=8, jitter=0.0, seed=0)
    np.testing.assert_allclose(lay.ap_xy, hex_grid(1, SQRT3 * R)[:4])


@pytest.mark.parametrize("kwargs, field", [
    ({"n_devices": 10}, "n_devices"),  # fewer than 2 per AP
    ({"n_devices": 200}, "n_devices"),  # more than 5 per AP
    ({"devices_per_ap": (4, 5), "n_devices": 57}, "n_devices"),
    ({"min_distance": 400.0, "max_tries": 3}, "min_distance"),  # cannot be met
])
def test_random_layout_rejects_bad_arguments(kwargs, field):
    with pytest.raises(ValueError, match=field):
        random_layout(**kwargs)


@pytest.mark.parametrize("kwargs, field", [
    ({"cell_radius": -500.0}, "cell_radius"),
    ({"cell_radius": 0.0}, "cell_radius"),
    ({"jitter": -0.5}, "jitter"),
    ({"spread": -10.0}, "spread"),
])
def test_random_layout_rejects_bad_geometry(kwargs, field):
    # hex_layout checks its geometry; random_layout must too, naming the field
    with pytest.raises(ValueError, match=field):
        random_layout(**kwargs)


# ----------------------------------------------------------------- Layout
def test_layout_distances_and_gains():
    lay = Layout([[0.0, 0.0], [1000.0, 0.0]], [[300.0, 400.0], [1000.0, 100.0]], [0, 1])
    np.testing.assert_allclose(lay.distances(), [[500.0, np.hypot(1000, 100)],
                                                 [np.hypot(700, 400), 100.0]])
    np.testing.assert_allclose(lay.path_gains(), path_gain(lay.distances()))
    assert lay.path_gains()[0, 0] == pytest.approx(10 ** (-lte_path_loss_db(500.0) / 10))
    np.testing.assert_array_equal(lay.devices_per_ap(), [1, 1])


@pytest.mark.parametrize("args, field", [
    (([[0.0, 0.0, 0.0]], [[1.0, 1.0]], [0]), "ap_xy"),
    (([[0.0, 0.0]], [[1.0, 1.0, 1.0]], [0]), "dev_xy"),
    (([[0.0, 0.0]], [[1.0, 1.0]], [0, 0]), "serving"),
    (([[0.0, 0.0]], [[1.0, 1.0]], [1]), "serving"),
    (([[0.0, 0.0], [9.0, 9.0]], [[1.0, 1.0]], [0]), "every AP"),
    (([[0.0, 0.0]], [[0.0, 0.0]], [0]), "distances"),
])
def test_layout_validation(args, field):
    with pytest.raises(ValueError, match=field):
        Layout(*args)


# ----------------------------------------------------------------- neighbourhoods
def _line_layout() -> Layout:
    """Three APs on a line at x = 0, 1000, 2000 m.  Devices: 0 at x = 100 (AP 0), 1 at
    x = 600 (AP 1), 2 at x = 1450 (AP 1), 3 at x = 1700 (AP 2).

    Path-gain gaps (37.6 dB per decade of distance ratio):
    device 0: AP 1 is 37.6 log10(900/100) = 35.9 dB below AP 0;
    device 1: AP 0 is 37.6 log10(600/400) = 6.62 dB below AP 1 (AP 2: 1400/400, 20.5 dB);
    device 2: AP 2 is 37.6 log10(550/450) = 3.28 dB below AP 1 (AP 0: 1450/450, 19.1 dB);
    device 3: AP 1 is 37.6 log10(700/300) = 13.8 dB below AP 2 (AP 0: 1700/300, 28.3 dB).
    """
    aps = [[0.0, 0.0], [1000.0, 0.0], [2000.0, 0.0]]
    devs = [[100.0, 0.0], [600.0, 0.0], [1450.0, 0.0], [1700.0, 0.0]]
    return Layout(aps, devs, [0, 1, 1, 2])


def test_neighbourhoods_by_gain_line_hand_case():
    lay = _line_layout()
    assert lte_path_loss_db(600.0) - lte_path_loss_db(400.0) == pytest.approx(6.621, abs=1e-3)
    g = lay.path_gains()
    assert neighbourhoods_by_gain(g, lay.serving, 8.0) == [[0, 1], [1, 0, 2], [2, 1]]
    assert neighbourhoods_by_gain(g, lay.serving, 5.0) == [[0], [1, 2], [2, 1]]
    assert neighbourhoods_by_gain(g, lay.serving, 3.0) == [[0], [1], [2]]
    # AP 0 and AP 2 only meet through device 3, which sees AP 0 37.6 log10(1700/300) = 28.3 dB
    # below its own AP
    assert neighbourhoods_by_gain(g, lay.serving, 28.0) == [[0, 1], [1, 0, 2], [2, 1]]
    assert neighbourhoods_by_gain(g, lay.serving, 28.5) == [[0, 1, 2], [1, 0, 2], [2, 0, 1]]


@pytest.mark.parametrize("layout", [hex_layout(), random_layout(), hex_layout(3, 2, seed=7)],
                         ids=["hex19", "random19", "hex37"])
def test_neighbourhoods_symmetric_and_start_with_k(layout):
    nb = neighbourhoods_by_gain(layout.path_gains(), layout.serving)
    assert len(nb) == layout.n_aps
    for k, c in enumerate(nb):
        assert c[0] == k and k not in c[1:]
        assert c[1:] == sorted(c[1:])
        for j in c[1:]:
            assert k in nb[j]
    # brute force of the rule: a and k neighbours iff a device of one sees the other AP
    # within 8 dB of its own
    pl = lte_path_loss_db(layout.distances())
    own = pl[layout.serving, np.arange(layout.n_devices)]
    K = layout.n_aps
    for a in range(K):
        for k in range(K):
            if a == k:
                continue
            hears = any(pl[k, n] - own[n] <= 8.0 for n in np.flatnonzero(layout.serving == a))
            heard = any(pl[a, n] - own[n] <= 8.0 for n in np.flatnonzero(layout.serving == k))
            assert (k in nb[a]) == (hears or heard)


def test_hex19_neighbourhoods_are_local():
    lay = hex_layout()
    nb = neighbourhoods_by_gain(lay.path_gains(), lay.serving)
    for k, c in enumerate(nb):
        for j in c[1:]:  # 8 dB from a device inside its own hexagon: only adjacent cells
            assert np.linalg.norm(lay.ap_xy[k] - lay.ap_xy[j]) == pytest.approx(SQRT3 * R)


# ----------------------------------------------------------------- induced conflict graph
def test_induced_conflict_graph_line_hand_case():
    # an edge m -> n when alpha(b_m -> n) / alpha(b_n -> n) > -10 dB, i.e. the interfering AP
    # is less than 10^(10/37.6) = 1.845 times farther than the own AP; plus both directions
    # between devices of one AP.
    lay = _line_layout()
    g = induced_conflict_graph(lay)
    assert isinstance(g, nx.DiGraph)
    assert sorted(g.nodes) == [0, 1, 2, 3]
    assert [g.nodes[n]["agent"] for n in range(4)] == [0, 1, 1, 2]
    # device 1: AP 0 at 600 m vs own 400 m (ratio 1.5) -> 0 -> 1; device 2: AP 2 at 550 m
    # vs 450 m (1.22) -> 3 -> 2; device 3: AP 1 at 700 m vs 300 m (2.33) -> no edge;
    # devices 1 and 2 share AP 1 -> both ways.
    assert sorted(g.edges) == [(0, 1), (1, 2), (2, 1), (3, 2)]
    # a stricter threshold removes the interference edges, never the same-AP ones
    assert sorted(induced_conflict_graph(lay, threshold_db=0.0).edges) == [(1, 2), (2, 1)]
    # a looser one adds device 3's interferer (2.33 < 10^(20/37.6) = 3.4)
    assert (1, 3) in induced_conflict_graph(lay, threshold_db=-20.0).edges


def test_induced_conflict_graph_drives_a_conflict_env():
    lay = _line_layout()
    env = ConflictGraphEnv(ConflictGraphConfig(induced_conflict_graph(lay), arrival_rate=0.0))
    assert (env.n_devices, env.n_agents) == (4, 3)
    assert env.neighbourhoods == [[0, 1], [1, 0, 2], [2, 1]]
    res = env.step(np.zeros((1, 3, env.n_subbands), dtype=np.int64))
    assert res.rewards.shape == (1, 3)


def test_induced_conflict_graph_hex19():
    lay = hex_layout()
    g = induced_conflict_graph(lay)
    assert g.number_of_nodes() == 57
    assert all(g.nodes[n]["agent"] == lay.serving[n] for n in g.nodes)
    assert nx.number_of_selfloops(g) == 0
    for m in range(57):
        for n in range(57):
            if m != n and lay.serving[m] == lay.serving[n]:
                assert g.has_edge(m, n) and g.has_edge(n, m)
    # an edge between cells only where the interfering AP is within 10 dB of the own AP
    pl = lte_path_loss_db(lay.distances())
    for m, n in g.edges:
        if lay.serving[m] != lay.serving[n]:
            assert pl[lay.serving[m], n] - pl[lay.serving[n], n] < 10.0
    env = ConflictGraphEnv(ConflictGraphConfig(g, arrival_rate=0.3), batch=2)
    assert (env.n_devices, env.n_agents, env.max_devices) == (57, 19, 3)
    env.step(np.ones((2, 19, env.n_subbands), dtype=np.int64))
