"""Conflict graphs: the paper's Fig. 2 graph, the collision rule (Z-3), exclusion, independent
sets and the random builder (SPEC section 1)."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rrmbook.conflict import (
    PAPER_CG8_EDGES,
    adjacency_matrix,
    agent_neighbourhoods,
    conflict_success,
    exclusion_matrix,
    is_conflict_free,
    maximal_independent_sets,
    paper_cg8,
    random_conflict_graph,
)

# SPEC section 1, 0-based, written out independently of the library's constant.
BOTH_WAYS = [(0, 1), (2, 3), (4, 5), (6, 7), (1, 2), (3, 4), (5, 6), (7, 0)]
ONE_WAY = [(1, 7), (7, 5), (5, 3), (3, 1), (0, 2), (2, 4), (4, 6), (6, 0)]
SPEC_EDGES = {e for a, b in BOTH_WAYS for e in ((a, b), (b, a))} | set(ONE_WAY)

# In-neighbours worked out by hand from the edge list above (who makes device j fail).
IN_NEIGHBOURS = {
    0: {1, 7, 6},
    1: {0, 2, 3},
    2: {3, 1, 0},
    3: {2, 4, 5},
    4: {5, 3, 2},
    5: {4, 6, 7},
    6: {7, 5, 4},
    7: {6, 0, 1},
}


def _mask(devices, n=8):
    m = np.zeros(n, dtype=bool)
    m[list(devices)] = True
    return m


@pytest.fixture(scope="module")
def cg8():
    return paper_cg8()


@pytest.fixture(scope="module")
def adj8(cg8):
    return adjacency_matrix(cg8)


# ----------------------------------------------------------------- paper-cg8 structure
def test_paper_cg8_edges_match_spec(cg8):
    assert set(cg8.edges) == SPEC_EDGES
    assert set(PAPER_CG8_EDGES) == SPEC_EDGES
    assert cg8.number_of_edges() == 24
    assert sorted(cg8.nodes) == list(range(8))


def test_paper_cg8_degrees_are_three(cg8, adj8):
    for n in range(8):
        assert cg8.in_degree(n) == 3
        assert cg8.out_degree(n) == 3
        assert set(np.flatnonzero(adj8[:, n])) == IN_NEIGHBOURS[n]
    assert adj8.sum(axis=0).tolist() == [3] * 8
    assert adj8.sum(axis=1).tolist() == [3] * 8


def test_paper_cg8_owners(cg8):
    assert [cg8.nodes[n]["agent"] for n in range(8)] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_paper_cg8_neighbourhoods_form_a_ring(adj8):
    owner = [n // 2 for n in range(8)]
    assert agent_neighbourhoods(adj8, owner) == [[0, 1, 3], [1, 0, 2], [2, 1, 3], [3, 0, 2]]


def test_adjacency_matrix_direction(adj8):
    # 0 -> 2 is one way: 0 makes 2 fail, 2 does not make 0 fail
    assert adj8[0, 2] and not adj8[2, 0]
    assert adj8[0, 1] and adj8[1, 0]
    assert not adj8.diagonal().any()


# ----------------------------------------------------------------- collision rule (Z-3)
# Each case: scheduled devices -> devices that succeed, reasoned from IN_NEIGHBOURS.
HAND_CASES = [
    # nothing scheduled, nothing succeeds
    ((), ()),
    # a lone device always succeeds
    ((5,), (5,)),
    # {0, 4}: in(0) = {1, 7, 6} does not contain 4; in(4) = {5, 3, 2} does not contain 0
    ((0, 4), (0, 4)),
    # {2, 5}: in(2) = {3, 1, 0}, in(5) = {4, 6, 7}; neither contains the other
    ((2, 5), (2, 5)),
    # {0, 2}: edge 0 -> 2 only, so 2 fails while 0 (in(0) = {1, 7, 6}) succeeds
    ((0, 2), (0,)),
    # {1, 7}: edge 1 -> 7 only, so 7 fails and 1 (in(1) = {0, 2, 3}) succeeds
    ((1, 7), (1,)),
    # {0, 1}: two-way conflict, both fail
    ((0, 1), ()),
    # {0, 3, 6}: 6 -> 0 kills 0; in(3) = {2, 4, 5} and in(6) = {7, 5, 4} are clear
    ((0, 3, 6), (3, 6)),
    # odd devices: 3 -> 1, 5 -> 3, 7 -> 5, 1 -> 7 -- a directed cycle, everyone fails
    ((1, 3, 5, 7), ()),
    # even devices: 6 -> 0, 0 -> 2, 2 -> 4, 4 -> 6 -- the other cycle, everyone fails
    ((0, 2, 4, 6), ()),
    # {3, 7}: in(3) = {2, 4, 5}, in(7) = {6, 0, 1}: both succeed
    ((3, 7), (3, 7)),
]


@pytest.mark.parametrize(("scheduled", "expected"), HAND_CASES)
def test_collision_rule_hand_cases(adj8, scheduled, expected):
    got = conflict_success(_mask(scheduled), adj8)
    assert got.dtype == bool
    assert set(np.flatnonzero(got)) == set(expected)
    assert bool(is_conflict_free(_mask(scheduled), adj8)) == (set(scheduled) == set(expected))


def test_collision_rule_leading_axes(adj8):
    scheds = np.stack([_mask(s) for s, _ in HAND_CASES])  # (C, 8)
    expect = np.stack([_mask(e) for _, e in HAND_CASES])
    # (batch, subband, N): 11 cases reshaped won't fit a grid, so pad to 12 with silence
    scheds = np.concatenate([scheds, np.zeros((1, 8), bool)]).reshape(2, 2, 3, 8)
    expect = np.concatenate([expect, np.zeros((1, 8), bool)]).reshape(2, 2, 3, 8)
    got = conflict_success(scheds, adj8)
    assert got.shape == (2, 2, 3, 8)
    np.testing.assert_array_equal(got, expect)
    free = is_conflict_free(scheds, adj8)
    assert free.shape == (2, 2, 3)
    np.testing.assert_array_equal(free, np.all(expect == scheds, axis=-1))


def test_collision_rule_accepts_integer_schedules(adj8):
    # 0/1 integer input is read as a boolean schedule
    np.testing.assert_array_equal(conflict_success(_mask((0, 2)).astype(int), adj8), _mask((0,)))


def test_collision_rule_shape_errors(adj8):
    with pytest.raises(ValueError, match="number of devices"):
        conflict_success(np.zeros(7, bool), adj8)
    with pytest.raises(ValueError, match="square"):
        conflict_success(np.zeros(8, bool), np.zeros((8, 7), bool))
    with pytest.raises(ValueError, match="square"):
        conflict_success(np.zeros(8, bool), np.zeros(8, bool))


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 9), seed=st.integers(0, 2**32 - 1), lead=st.integers(1, 3))
def test_collision_rule_matches_definition(n, seed, lead):
    """j succeeds iff scheduled and no in-neighbour of j is scheduled (checked by a loop)."""
    rng = np.random.default_rng(seed)
    adj = rng.random((n, n)) < rng.random()
    np.fill_diagonal(adj, False)
    sched = rng.random((lead, 2, n)) < rng.random()
    got = conflict_success(sched, adj)
    for b, h in itertools.product(range(lead), range(2)):
        for j in range(n):
            ok = sched[b, h, j] and not any(sched[b, h, i] for i in range(n) if adj[i, j])
            assert got[b, h, j] == ok


# ----------------------------------------------------------------- exclusion, MIS
def test_exclusion_matrix_cg8(adj8):
    owner = [n // 2 for n in range(8)]
    ex = exclusion_matrix(adj8, owner)
    assert (ex == ex.T).all()
    assert not ex.diagonal().any()
    # the exclusion graph of paper-cg8 is the circulant ring with offsets +-1, +-2
    for i, j in itertools.product(range(8), range(8)):
        d = min((i - j) % 8, (j - i) % 8)
        assert ex[i, j] == (d in (1, 2)), (i, j)
    # without owners: only the conflict edges (0-1 is an edge anyway, so same result here)
    assert (exclusion_matrix(adj8) == (adj8 | adj8.T)).all()


def test_exclusion_adds_same_agent_pairs():
    adj = np.zeros((3, 3), dtype=bool)
    ex = exclusion_matrix(adj, owner=[0, 0, 1])
    assert ex[0, 1] and ex[1, 0]
    assert not ex[0, 2] and not ex[1, 2]
    assert not ex.diagonal().any()


def test_maximal_independent_sets_cg8(adj8):
    ex = exclusion_matrix(adj8, [n // 2 for n in range(8)])
    sets = maximal_independent_sets(ex)
    # pairs at ring distance 3 (8 of them) or 4 (4 of them); no third device fits
    expected = {frozenset((i, (i + 3) % 8)) for i in range(8)} | {
        frozenset((i, i + 4)) for i in range(4)
    }
    got = {frozenset(np.flatnonzero(s).tolist()) for s in sets}
    assert got == expected
    assert sets.shape == (12, 8)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 10), seed=st.integers(0, 2**32 - 1))
def test_maximal_independent_sets_are_independent_and_maximal(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.random((n, n)) < rng.random()
    ex = a | a.T
    np.fill_diagonal(ex, False)
    sets = maximal_independent_sets(ex)
    assert len({s.tobytes() for s in sets}) == len(sets)
    for s in sets:
        members = np.flatnonzero(s)
        assert not ex[np.ix_(members, members)].any()
        outside = np.flatnonzero(~s)
        # every device outside the set conflicts with a member (maximality)
        assert all(ex[o, members].any() for o in outside)
    # brute force: the number of maximal independent sets
    count = 0
    for bits in itertools.product([False, True], repeat=n):
        s = np.array(bits)
        m = np.flatnonzero(s)
        if ex[np.ix_(m, m)].any():
            continue
        if all(ex[o, m].any() for o in np.flatnonzero(~s)):
            count += 1
    assert count == len(sets)


def test_maximal_independent_sets_limit():
    ex = np.zeros((12, 12), dtype=bool)
    # 6 disjoint conflicting pairs: 2**6 = 64 maximal independent sets
    for i in range(0, 12, 2):
        ex[i, i + 1] = ex[i + 1, i] = True
    assert maximal_independent_sets(ex).shape == (64, 12)
    with pytest.raises(ValueError, match="maximal independent sets"):
        maximal_independent_sets(ex, limit=10)


# ----------------------------------------------------------------- random builder
@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(1, 6),
    d=st.integers(1, 4),
    density=st.floats(0.0, 1.0),
    seed=st.integers(0, 10_000),
    intra=st.booleans(),
)
def test_random_conflict_graph_structure(k, d, density, seed, intra):
    g = random_conflict_graph(k, d, density, seed=seed, intra_agent=intra)
    n = k * d
    assert sorted(g.nodes) == list(range(n))
    owner = np.array([g.nodes[i]["agent"] for i in range(n)])
    np.testing.assert_array_equal(owner, np.repeat(np.arange(k), d))
    adj = adjacency_matrix(g)
    assert not adj.diagonal().any()
    same = (owner[:, None] == owner[None, :]) & ~np.eye(n, dtype=bool)
    assert (adj[same] == intra).all()
    # determinism: same seed, same graph
    assert set(random_conflict_graph(k, d, density, seed=seed, intra_agent=intra).edges) == set(g.edges)


def test_random_conflict_graph_density_extremes():
    empty = adjacency_matrix(random_conflict_graph(4, 2, 0.0, seed=1))
    owner = np.repeat(np.arange(4), 2)
    same = owner[:, None] == owner[None, :]
    assert not empty[~same].any()
    full = adjacency_matrix(random_conflict_graph(4, 2, 1.0, seed=1))
    assert full[~same].all()
    mid = adjacency_matrix(random_conflict_graph(10, 2, 0.3, seed=1))
    share = mid[np.repeat(np.arange(10), 2)[:, None] != np.repeat(np.arange(10), 2)[None, :]].mean()
    assert 0.2 < share < 0.4


def test_random_conflict_graph_errors():
    with pytest.raises(ValueError, match="density"):
        random_conflict_graph(3, 2, 1.5)
    with pytest.raises(ValueError, match="n_agents"):
        random_conflict_graph(0, 2)
    with pytest.raises(ValueError, match="devices_per_agent"):
        random_conflict_graph(3, 0)


def test_adjacency_matrix_errors():
    g = nx.DiGraph()
    g.add_nodes_from([1, 2])
    with pytest.raises(ValueError, match=r"0\.\.N-1"):
        adjacency_matrix(g)
    g = nx.DiGraph()
    g.add_edge(0, 0)
    g.add_node(1)
    with pytest.raises(ValueError, match="self-loop"):
        adjacency_matrix(g)
