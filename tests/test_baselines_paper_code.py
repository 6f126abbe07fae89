"""Variants of the baselines as the authors' public code runs them (SPEC section 4, last
paragraph): ``gms_paper_code``, ``qcsma_paper_code``, ``fp_all_links`` and
``wmmse_all_links``, each checked by hand against the SPEC version it differs from."""

from __future__ import annotations

import dataclasses

import networkx as nx
import numpy as np
import pytest
from test_baselines_conflict import _set_queues  # the same hand-set queues

import rrmbook
from rrmbook import baselines, plots
from rrmbook.baselines.conflict import gms_schedule, in_interferer_exclusion, qcsma_decision_set
from rrmbook.conflict import adjacency_matrix, conflict_success, exclusion_matrix
from rrmbook.envs import ConflictGraphConfig, ConflictGraphEnv, LinkPowers
from rrmbook.envs.cellular_env import CellularConfig, CellularEnv
from rrmbook.experiments.sweeps.methods import get_method
from rrmbook.topology import Layout

VARIANTS = {  # name -> (family, SPEC version, scenario)
    "gms_paper_code": ("conflict", "gms", "paper-cg8"),
    "qcsma_paper_code": ("conflict", "qcsma", "paper-cg8"),
    "fp_all_links": ("cellular", "fp", "paper-hex19"),
    "wmmse_all_links": ("cellular", "wmmse", "paper-hex19"),
}


def _graph(n_agents, edges, owner=None):
    """Directed conflict graph on devices 0..len(owner)-1; device i owned by ``owner[i]``
    (default: one device per agent)."""
    owner = list(range(n_agents)) if owner is None else owner
    g = nx.DiGraph()
    g.add_nodes_from((i, {"agent": a}) for i, a in enumerate(owner))
    g.add_edges_from(edges)
    return g


def _conflict_env(graph, H=3, seed=0):
    return ConflictGraphEnv(ConflictGraphConfig(graph, arrival_rate=0.0, n_subbands=H,
                                                max_queue=None), batch=1, seed=seed)


def _step(policy, env):
    state = env.state() if policy.information == "global" else None
    return env.step(policy.act(env.observe(), state))


def _sets(schedule):
    return [set(np.flatnonzero(row).tolist()) for row in schedule]


# ----------------------------------------------------------------- GMS: in-interferers only
# Three devices of three agents, edges 1 -> 0 (1 makes 0 fail) and 0 -> 2 (0 makes 2 fail),
# queues 3, 2, 1 packets.  Both versions schedule device 0 first (longest queue).
#   SPEC GMS (both directions): 0 removes 1 (1 -> 0) and 2 (0 -> 2); nothing is left: {0}.
#   paper code (in only): 0 removes its in-interferer 1 but not 2, which 0 interferes with;
#   2 is scheduled next (its only in-interferer, 0, is already in): {0, 2}.  Under (Z-3)
#   device 2 then fails, 0 succeeds.
EDGES = [(1, 0), (0, 2)]
QUEUES = [3, 2, 1]


def test_in_interferer_exclusion_by_hand():
    adj = adjacency_matrix(_graph(3, EDGES))
    # row i: what scheduling i removes
    assert in_interferer_exclusion(adj).tolist() == [[False, True, False],
                                                     [False, False, False],
                                                     [True, False, False]]
    assert exclusion_matrix(adj).tolist() == [[False, True, True],
                                              [True, False, False],
                                              [True, False, False]]
    # an agent's devices exclude each other in both versions (one device per subband)
    owned = in_interferer_exclusion(adj, owner=[0, 0, 1])
    assert owned[0, 1] and owned[1, 0] and not owned[0, 2] and owned[2, 0]
    with pytest.raises(ValueError, match="square"):
        in_interferer_exclusion(np.zeros((2, 3), dtype=bool))


def test_gms_paper_code_picks_a_different_set_by_hand():
    adj = adjacency_matrix(_graph(3, EDGES))
    q = np.array([QUEUES])
    spec = gms_schedule(q, exclusion_matrix(adj), np.random.default_rng(0))
    paper = gms_schedule(q, in_interferer_exclusion(adj), np.random.default_rng(0))
    assert _sets(spec) == [{0}] and _sets(paper) == [{0, 2}]
    assert _sets(conflict_success(paper, adj)) == [{0}]  # 2 collides with 0

    # the same through the policies and the environment (same set on every subband)
    for name, chosen in [("gms", {0}), ("gms_paper_code", {0, 2})]:
        env = _conflict_env(_graph(3, EDGES))
        pol = baselines.get(name)
        pol.reset(env, np.random.default_rng(0))
        _set_queues(env, QUEUES)
        res = _step(pol, env)
        assert _sets(res.info["schedule"][0]) == [chosen] * env.n_subbands
        assert _sets(res.info["success"][0]) == [{0}] * env.n_subbands
        # device 0 sends one packet per subband; device 2 gets nothing through
        np.testing.assert_array_equal(res.info["served"][0], [3, 0, 0])


# ----------------------------------------------------------------- Q-CSMA: minislot clashes
def test_qcsma_same_minislot_intents_by_hand():
    excl = np.array([[False, True], [True, False]])  # two devices of two agents, conflicting
    both_in_slot_0 = np.array([[0, 0]])
    # SPEC: the two intents collide and both drop out
    assert qcsma_decision_set(excl, both_in_slot_0, 4).tolist() == [[False, False]]
    # paper code: only devices of one agent collide; here there are none, so both join
    no_pairs = np.zeros((2, 2), dtype=bool)
    assert qcsma_decision_set(excl, both_in_slot_0, 4, no_pairs).tolist() == [[True, True]]
    # different minislots: the earlier intent wins in both versions
    for collide in (None, no_pairs):
        assert qcsma_decision_set(excl, np.array([[2, 1]]), 4, collide).tolist() == [[False, True]]
    # devices of one agent still collide in the paper-code version
    assert qcsma_decision_set(excl, both_in_slot_0, 4, excl).tolist() == [[False, False]]
    with pytest.raises(ValueError, match="collide"):
        qcsma_decision_set(excl, both_in_slot_0, 4, np.zeros((3, 3), dtype=bool))


def test_qcsma_paper_code_lets_both_transmit():
    # devices 0 and 1 (agents 0 and 1) conflict both ways.  window=1: both always draw
    # minislot 0.  SPEC: their intents collide every slot, the decision set stays empty and
    # nobody ever switches on.  Paper code: both are in the decision set, neither neighbour
    # was on, so each switches on with probability 10q / (1 + 10q) = 1000/1001 (q = 100):
    # with the seeded stream below both switch on in the first slot, and both fail (Z-3).
    graph = _graph(2, [(0, 1), (1, 0)])
    results = {}
    for name in ("qcsma", "qcsma_paper_code"):
        env = _conflict_env(graph, H=2)
        pol = baselines.get(name, window=1)
        pol.reset(env, np.random.default_rng(0))
        _set_queues(env, [100, 100])
        res = _step(pol, env)
        results[name] = res
        assert _sets(pol.decision) == [{0, 1} if name == "qcsma_paper_code" else set()]
    assert _sets(results["qcsma"].info["schedule"][0]) == [set(), set()]
    assert _sets(results["qcsma_paper_code"].info["schedule"][0]) == [{0, 1}, {0, 1}]
    assert not results["qcsma_paper_code"].info["success"].any()


def test_qcsma_paper_code_serves_one_device_per_agent():
    # agent 0 owns devices 0 and 1; both always draw minislot 0 (window=1) and collide even
    # in the paper-code version, so the agent never has to name two devices at once
    graph = _graph(2, [(0, 1), (1, 0), (1, 2)], owner=[0, 0, 1])
    env = _conflict_env(graph, H=1)
    pol = baselines.get("qcsma_paper_code", window=1)
    pol.reset(env, np.random.default_rng(0))
    _set_queues(env, [100, 100, 100])
    res = _step(pol, env)  # schedule_to_actions would raise on two devices of one agent
    assert _sets(pol.decision) == [{2}]
    assert _sets(res.info["schedule"][0]) == [{2}]


# ----------------------------------------------------------------- FP / WMMSE: all links
def _one_ap_two_devices():
    """One AP serving devices 0 and 1, one subband; gains set by hand (SNR at P_max 0.1 and
    0.2), queues 3 and 2 packets."""
    layout = Layout(ap_xy=[[0.0, 0.0]], dev_xy=[[100.0, 0.0], [0.0, 120.0]], serving=[0, 0])
    env = CellularEnv(CellularConfig(layout, n_subbands=1), batch=1, seed=0)
    snr = np.array([0.1, 0.2])
    gain = (snr * env.noise_w / env.p_max).reshape(1, 1, 1, 2)  # (B, H, K, N)
    zeta = np.array([[3.0, 2.0]]) * env.packet_size
    return env, dataclasses.replace(env.state(), gain=gain, zeta=zeta)


@pytest.mark.parametrize("spec, variant", [("fp", "fp_all_links"), ("wmmse", "wmmse_all_links")])
def test_all_links_lets_both_devices_of_an_ap_transmit(spec, variant):
    # SPEC (one device per AP and subband): scores w x SNR are 3 x 0.1 = 0.3 and
    # 2 x 0.2 = 0.4, so device 1 alone, at full power: 2 log2(1.2) = 0.526.
    # All links: each device hears the AP's other link through its own gain, so at full
    # power SINR_0 = 0.1 / (0.1 + 1), SINR_1 = 0.2 / (0.2 + 1) and the weighted sum rate is
    # 3 log2(1 + 1/11) + 2 log2(1 + 1/6) = 0.821 > 0.526.  At such low SNR raising either
    # power still helps, so the ascent starts at (P_max, P_max) and stays there.
    env, state = _one_ap_two_devices()
    powers = {}
    for name in (spec, variant):
        pol = baselines.get(name)
        pol.reset(env, np.random.default_rng(0))
        out = pol.act(env.observe(), state)
        assert isinstance(out, LinkPowers)
        powers[name] = out.power[0, 0] / env.p_max
        wsr = pol.history[-1, 0, 0]
        np.testing.assert_allclose(
            wsr, 2 * np.log2(1.2) if name == spec else 3 * np.log2(12 / 11) + 2 * np.log2(7 / 6),
            rtol=1e-9)
    np.testing.assert_allclose(powers[spec], [0.0, 1.0])
    np.testing.assert_allclose(powers[variant], [1.0, 1.0])
    assert pol.per_ap_exclusive is False
    # the environment accepts two links of one AP on a subband
    res = env.step(LinkPowers(power=powers[variant][None, None, :] * env.p_max))
    assert (res.info["link_power"][0, 0] > 0).sum() == 2


def test_all_links_arguments():
    pol = baselines.get("wmmse_all_links", max_iter=7, tol=0.0)
    assert (pol.max_iter, pol.tol, pol.per_ap_exclusive, pol.name) == (7, 0.0, False,
                                                                       "wmmse_all_links")
    assert isinstance(pol, baselines.WMMSE)
    with pytest.raises(TypeError, match="per_ap_exclusive"):
        baselines.get("fp_all_links", per_ap_exclusive=True)
    with pytest.raises(ValueError, match="max_iter"):
        baselines.get("fp_all_links", max_iter=0)
    with pytest.raises(TypeError, match="power-control"):
        baselines.cellular.all_links(baselines.FullPower, "x")
    # a sweep spec with the wrong kwargs is refused before any work
    with pytest.raises(ValueError, match="per_ap_exclusive"):
        get_method("fp_all_links").check({"kwargs": {"per_ap_exclusive": True}})


# ----------------------------------------------------------------- registration
def test_registered_beside_the_spec_versions():
    for family in ("conflict", "cellular"):
        names = {n for n, v in VARIANTS.items() if v[0] == family}
        assert names <= set(baselines.available(family))
    for name, (family, spec, _) in VARIANTS.items():
        pol, ref = baselines.get(name), baselines.get(spec, family=family)
        assert pol.name == name
        assert isinstance(pol, type(ref))  # a subclass or a flag of the SPEC class, not a copy
        assert (pol.information, pol.coordination) == (ref.information, ref.coordination)
        assert pol.conflict_free is False
        assert baselines.get(name) is not baselines.get(name)
        method = get_method(name)
        assert method.name == name and method.families == (family,)
        assert plots.label_of(name) != name  # has its own legend label
    assert baselines.get("gms").conflict_free and baselines.get("qcsma").conflict_free
    assert baselines.get("fp").per_ap_exclusive and not baselines.get("fp_all_links").per_ap_exclusive


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_evaluates_and_differs_from_the_spec_version(name):
    family, spec, scenario = VARIANTS[name]
    env = rrmbook.make_env(scenario, load="heavy", seed=0)
    res = rrmbook.evaluate(env, baselines.get(name), slots=200, seed=0)
    assert res.policy == name and res.arrived > 0
    assert res.delivered + res.unfinished == res.arrived
    ref = rrmbook.evaluate(env, baselines.get(spec, family=family), slots=200, seed=0)
    assert not np.array_equal(res.queue_trace, ref.queue_trace)


# ------------------------------------------------ WMMSE of Shi et al.: one budget per AP
def test_wmmse_sum_power_update_by_hand():
    # One transmitter, two links that do not hear each other (no cross gain), noise 1.
    # Gains (SNR at P_max) 4 and 1, weights 1 and 2, start x = (0.5, 0.5):
    #   received = g x + 1 = (3, 1.5); u = sqrt(g x) / received = (sqrt2/3, sqrt.5/1.5)
    #   1 + SINR = (3, 1.5); c = w (1 + SINR) = (3, 3)
    #   num = c u h = (3 * sqrt2/3 * 2, 3 * sqrt.5/1.5 * 1) = (2 sqrt2, sqrt2)
    #   den = c u² g  = (3 * 2/9 * 4, 3 * 0.5/2.25 * 1) = (8/3, 2/3)
    # Unconstrained v² = (num/den)² = (9/8, 9/2): over the budget 1, so μ solves
    # 8/(8/3+μ)² + 2/(2/3+μ)² = 1.
    from rrmbook.baselines.cellular import wmmse_sum_power_update, wmmse_update

    g = np.diag([4.0, 1.0])
    w, x = np.array([1.0, 2.0]), np.array([0.5, 0.5])
    direct = np.diag(g)
    received = x @ g + 1.0
    signal = direct * x
    args = (g, w, x, direct, signal, received, 1.0 + signal / (received - signal))
    p = wmmse_sum_power_update(*args, groups=np.array([0, 0]))
    assert p.sum() == pytest.approx(1.0, abs=1e-10)
    mu = np.sqrt(8 / p[0]) - 8 / 3
    assert mu > 0 and np.sqrt(2 / p[1]) - 2 / 3 == pytest.approx(mu)
    # two transmitters, one link each: each capped at 1 as in the scalar WMMSE
    np.testing.assert_allclose(wmmse_sum_power_update(*args, groups=np.array([0, 1])),
                               wmmse_update(*args))


def test_wmmse_sum_power_solver_properties():
    from rrmbook.baselines.cellular import wmmse_powers, wmmse_sum_power_powers

    rng = np.random.default_rng(3)
    g = rng.exponential(size=(4, 6, 6))
    g[:, range(6), range(6)] *= 10
    w = rng.uniform(1, 5, size=(4, 6))
    np.testing.assert_allclose(wmmse_sum_power_powers(g, w, 2.0, 0.1, np.arange(6)),
                               wmmse_powers(g, w, 2.0, 0.1), rtol=1e-6)
    groups = np.array([0, 0, 1, 1, 2, 2])
    p, history = wmmse_sum_power_powers(g, w, 2.0, 0.1, groups, return_history=True)
    assert np.all(np.diff(history, axis=0) >= -1e-12)          # the ascent never falls
    assert p.reshape(4, 3, 2).sum(-1).max() <= 2.0 * (1 + 1e-9)  # each AP within P_max
    with pytest.raises(ValueError, match="groups"):
        wmmse_sum_power_powers(g, w, 2.0, 0.1, np.array([0, 1]))


def test_wmmse_sum_power_policy_shares_the_aps_budget():
    env, state = _one_ap_two_devices()
    pol = baselines.get("wmmse_sum_power")
    assert pol.name == "wmmse_sum_power" and pol.per_ap_exclusive is False
    pol.reset(env, np.random.default_rng(0))
    power = pol.act(env.observe(), state).power[0, 0] / env.p_max
    # wmmse_all_links keeps both links at P_max (test above); one budget forces a split
    assert power.sum() == pytest.approx(1.0) and np.all(power > 0)
    res = rrmbook.evaluate(rrmbook.make_env("paper-hex19", load="heavy", seed=0), pol,
                           slots=100, seed=0)
    assert res.arrived > 0 and res.delivered + res.unfinished == res.arrived
