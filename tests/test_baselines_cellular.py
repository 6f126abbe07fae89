"""Multi-cell baselines (SPEC section 4): LLQ, full power, random, Fair-ITLinQ, FP and WMMSE,
as pure functions and as policies driving the cellular environment."""

from __future__ import annotations

import numpy as np
import pytest

import rrmbook
from rrmbook import baselines
from rrmbook.baselines.cellular import (
    fp_powers,
    itlinq_schedule,
    itlinq_thresholds,
    link_gains,
    link_sinr,
    longest_queue,
    select_devices,
    weighted_sum_rate,
    wmmse_powers,
    wmmse_update,
)
from rrmbook.channel import downlink_sinr
from rrmbook.envs import LinkPowers
from rrmbook.topology import hex_layout

NAMES = baselines.available("cellular")
P_MAX, NOISE = 0.2, 4e-15
SOLVERS = {"fp": fp_powers, "wmmse": wmmse_powers}


def _get(name, **kwargs):
    return baselines.get(name, family="cellular", **kwargs)


@pytest.fixture(scope="module")
def hex_env():
    return rrmbook.make_env("paper-hex19", load="heavy", batch=2, seed=0)


def _warm(env, slots=20, seed=0):
    """Reset and run a few slots with every AP at full power, so queues are uneven."""
    obs = env.reset(seed=seed)
    act = np.zeros((env.batch, env.n_agents, env.n_subbands, 2), dtype=np.int64)
    act[..., 0], act[..., 1] = 1, len(env.levels) - 1
    for _ in range(slots):
        obs = env.step(act).obs
    return obs


def _links_per_ap(env, power):
    """(B, H, K): how many links each AP has switched on, per subband."""
    return (power > 0).astype(int) @ np.eye(env.n_agents, dtype=int)[env.serving]


def _act(policy, env, obs):
    return policy.act(obs, env.state() if policy.information == "global" else None)


def _random_problem(rng, lead, L, spread_db=40.0, zero_weights=0.2):
    """Random link gains (log-uniform over ``spread_db``, direct links stronger) and weights."""
    db = rng.uniform(-spread_db, 0.0, lead + (L, L)) - 10.0
    db[..., np.arange(L), np.arange(L)] += 25.0
    gains = 10.0 ** (db / 10.0) * NOISE / P_MAX * 1e3  # SNRs from about -47 dB to +45 dB
    w = rng.uniform(0.0, 10.0, lead + (L,)) * (rng.random(lead + (L,)) > zero_weights)
    return gains, w


def _paper_problem(seed, exclusive, H=3):
    """Link gains of the 19-cell hexagonal network with Rayleigh fading (SPEC section 2)."""
    rng = np.random.default_rng(seed)
    layout = hex_layout(seed=seed)
    K, N = layout.n_aps, layout.n_devices
    gain = layout.path_gains() * rng.exponential(1.0, (H, K, N))
    w = rng.integers(0, 30, N).astype(float)
    if not exclusive:
        return gain[:, layout.serving, :], np.broadcast_to(w, (H, N)), np.ones((H, N), bool)
    agent_devices = np.stack([np.flatnonzero(layout.serving == k) for k in range(K)])
    direct = gain[:, layout.serving, np.arange(N)]
    device, has = select_devices(w, direct, agent_devices)
    return link_gains(gain, None, device), np.where(has, w[device], 0.0), has


# ----------------------------------------------------------------- registry
def test_registry():
    assert set(NAMES) == {"llq", "full_power", "random", "fair_itlinq", "fp", "wmmse",
                          "fp_all_links", "wmmse_all_links", "wmmse_sum_power"}
    info = {n: _get(n).information for n in NAMES}
    assert info == {"llq": "neighbourhood", "full_power": "local", "random": "local",
                    "fair_itlinq": "global", "fp": "global", "wmmse": "global",
                    "fp_all_links": "global", "wmmse_all_links": "global",
                    "wmmse_sum_power": "global"}
    for n in NAMES:
        p = _get(n)
        assert isinstance(p, rrmbook.Policy) and p.name == n
        assert p.coordination == ("central" if info[n] == "global" else "none")


def test_shared_names_resolve_to_the_cellular_family(hex_env):
    for name, cls in [("llq", baselines.CellularLLQ), ("random", baselines.CellularRandom)]:
        pol = baselines.get(name)  # no family: picks the implementation when it meets the env
        res = rrmbook.evaluate(hex_env, pol, slots=10, seed=0)
        assert isinstance(pol._impl, cls) and res.arrived > 0


def test_errors():
    class ConflictLike:
        family = "conflict"

    for n in NAMES:
        with pytest.raises(TypeError, match="cellular"):
            _get(n).reset(ConflictLike(), np.random.default_rng(0))
    with pytest.raises(ValueError, match="max_iter"):
        _get("fp", max_iter=0)
    with pytest.raises(ValueError, match="tol"):
        _get("wmmse", tol=-1.0)
    with pytest.raises(TypeError, match="per_ap_exclusive"):
        _get("fp", per_ap_exclusive="yes")
    with pytest.raises(ValueError, match="snr_threshold"):
        _get("fair_itlinq", snr_threshold="high")
    with pytest.raises(ValueError, match="m_high"):
        _get("fair_itlinq", m_high=0.0)
    with pytest.raises(ValueError, match="gain_links"):
        fp_powers(np.ones((3, 4)), np.ones(4), P_MAX, NOISE)
    with pytest.raises(ValueError, match="one entry per link"):
        wmmse_powers(np.ones((4, 4)), np.ones(3), P_MAX, NOISE)


# ----------------------------------------------------------------- pure helpers
def test_longest_queue_ties_are_uniform():
    rng = np.random.default_rng(0)
    q = np.tile([1.0, 4.0, 0.0, 4.0, 2.0], (4000, 1))
    idx, longest = longest_queue(q, rng)
    assert np.all(longest == 4.0) and set(np.unique(idx)) == {1, 3}
    assert abs((idx == 1).mean() - 0.5) < 0.05


def test_link_sinr_matches_the_channel_model(hex_env):
    """gain_links[m, l] = gain(tx of m -> rx of l): the SINR of the selected links equals the
    environment's downlink SINR, with or without per-AP exclusivity."""
    env = hex_env
    _warm(env)
    gain = env.state().gain.astype(float)
    rng = np.random.default_rng(1)
    # exclusive: one random device per AP and subband, random powers
    device = env.agent_devices[np.arange(env.n_agents), rng.integers(0, 3, gain.shape[:3])]
    p = rng.uniform(0, env.p_max, device.shape)
    power = np.zeros(gain.shape[:2] + (env.n_devices,))
    np.put_along_axis(power, device, p, axis=-1)
    ref, _ = downlink_sinr(gain, power, env.serving, env.noise_w)
    ours = link_sinr(link_gains(gain, None, device), p, env.noise_w)
    np.testing.assert_allclose(ours, np.take_along_axis(ref, device, axis=-1), rtol=1e-10)
    # all links: the serving AP's other links interfere too
    power = rng.uniform(0, env.p_max, gain.shape[:2] + (env.n_devices,))
    ref, _ = downlink_sinr(gain, power, env.serving, env.noise_w)
    np.testing.assert_allclose(link_sinr(gain[:, :, env.serving, :], power, env.noise_w), ref,
                               rtol=1e-10)
    np.testing.assert_allclose(link_gains(gain, env.serving, np.arange(env.n_devices)),
                               gain[:, :, env.serving, :])


def test_select_devices_picks_largest_weight_times_snr():
    agent_devices = np.array([[0, 1, -1], [2, 3, 4]])
    w = np.array([1.0, 2.0, 0.0, 5.0, 1.0])
    direct = np.array([3.0, 1.0, 9.0, 1.0, 4.0])  # scores 3, 2 | 0, 5, 4
    device, has = select_devices(w, direct, agent_devices)
    assert device.tolist() == [0, 3] and has.tolist() == [True, True]
    device, has = select_devices(np.zeros(5), direct, agent_devices)
    assert has.tolist() == [False, False]


# ----------------------------------------------------------------- FP and WMMSE
@pytest.mark.parametrize("solver", ["fp", "wmmse"])
def test_objective_history_never_decreases(solver):
    rng = np.random.default_rng(0)
    for L, lead in [(2, (50,)), (5, (20, 3)), (19, (10,)), (57, (4,))]:
        gains, w = _random_problem(rng, lead, L)
        p, hist = SOLVERS[solver](gains, w, P_MAX, NOISE, return_history=True)
        assert hist.shape[1:] == lead and 2 <= hist.shape[0] <= 101
        steps = np.diff(hist, axis=0)
        assert np.all(steps >= -1e-9 * np.abs(hist[:-1]))
        np.testing.assert_allclose(hist[-1], weighted_sum_rate(gains, w, p, NOISE), rtol=1e-9)
        assert p.min() >= 0 and p.max() <= P_MAX
        assert np.all(p[w == 0] == 0)  # nothing to send, nothing transmitted


@pytest.mark.parametrize("solver", ["fp", "wmmse"])
@pytest.mark.parametrize("exclusive", [True, False])
def test_beats_full_power_on_paper_gains(solver, exclusive):
    gains_wsr = []
    for seed in range(4):
        gains, w, on = _paper_problem(seed, exclusive)
        p, hist = SOLVERS[solver](gains, w, P_MAX, NOISE, return_history=True)
        full = weighted_sum_rate(gains, w, np.where(on, P_MAX, 0.0), NOISE)
        np.testing.assert_allclose(hist[0], full, rtol=1e-12)  # starts at full power
        assert np.all(np.diff(hist, axis=0) >= -1e-9 * np.abs(hist[:-1]))
        gains_wsr.append(weighted_sum_rate(gains, w, p, NOISE) / full)
    ratio = np.concatenate(gains_wsr)
    assert np.all(ratio >= 1.0 - 1e-12) and np.all(ratio > 1.001)


def test_fp_and_wmmse_take_the_same_steps():
    """For scalar weighted sum rate, FP with the Lagrangian dual and quadratic transforms and
    WMMSE generate the same iterates (Shen & Yu, Part II): two derivations, one algorithm."""
    rng = np.random.default_rng(3)
    gains, w = _random_problem(rng, (8,), 19)
    p_fp, h_fp = fp_powers(gains, w, P_MAX, NOISE, return_history=True)
    p_wm, h_wm = wmmse_powers(gains, w, P_MAX, NOISE, return_history=True)
    np.testing.assert_allclose(h_fp, h_wm, rtol=1e-9)
    np.testing.assert_allclose(p_fp, p_wm, rtol=1e-6, atol=1e-9 * P_MAX)


def _wmmse_inputs(snr_links, w, x):
    direct = np.diagonal(snr_links, axis1=-2, axis2=-1)
    received = (x[..., None, :] @ snr_links)[..., 0, :] + 1.0
    signal = direct * x
    return snr_links, w, x, direct, signal, received, 1.0 + signal / (received - signal)


def test_wmmse_update_hand_cases():
    """One WMMSE step: a lone link goes to full power; two links by the (u, W, v) updates
    written out (normalised units: noise 1, powers as fractions of P_max)."""
    lone = wmmse_update(*_wmmse_inputs(np.array([[4.0]]), np.array([1.0]), np.array([0.5])))
    np.testing.assert_allclose(lone, [1.0])  # v = (g x + 1) / (g x) > 1, clipped to 1
    g = np.array([[4.0, 1.0], [2.0, 9.0]])  # g[m, l]: m's transmitter to l's receiver
    w, x = np.array([1.0, 2.0]), np.array([0.5, 0.25])
    h, v = np.sqrt(np.diag(g)), np.sqrt(x)
    received = g.T @ x + 1.0
    u = h * v / received
    W = 1.0 / (1.0 - u * h * v)
    v_new = np.minimum(1.0, w * W * u * h / (g @ (w * W * u * u)))
    assert 0 < v_new.min() and v_new.max() < 1  # the clip is not what decides this case
    np.testing.assert_allclose(wmmse_update(*_wmmse_inputs(g, w, x)), v_new ** 2, rtol=1e-12)


def test_stopping_rule():
    rng = np.random.default_rng(4)
    gains, w = _random_problem(rng, (30,), 10)
    _, hist = fp_powers(gains, w, P_MAX, NOISE, max_iter=100, tol=1e-3, return_history=True)
    # per instance: it stops after the first update that improved by less than 1e-3
    # (relative) or after 100 updates, and the history stays constant from there on
    small = np.diff(hist, axis=0) <= 1e-3 * np.abs(hist[:-1])
    assert small.any(axis=0).mean() > 0.5
    stop = np.where(small.any(axis=0), small.argmax(axis=0) + 1, 100)
    assert len(hist) == stop.max() + 1
    for i, t in enumerate(stop):
        assert np.all(hist[t:, i] == hist[t, i])
        assert np.all(np.diff(hist[: t, i]) > 1e-3 * np.abs(hist[: t - 1, i]))
    _, short = fp_powers(gains, w, P_MAX, NOISE, max_iter=3, tol=0.0, return_history=True)
    assert short.shape[0] == 4
    p0 = fp_powers(gains, w, P_MAX, NOISE, max_iter=0)
    assert np.all(p0 == P_MAX)


@pytest.mark.parametrize("name", ["fp", "wmmse"])
@pytest.mark.parametrize("exclusive", [True, False])
def test_power_control_policies_output(hex_env, name, exclusive):
    env = hex_env
    obs = _warm(env)
    pol = _get(name, per_ap_exclusive=exclusive)
    pol.reset(env, np.random.default_rng(0))
    out = _act(pol, env, obs)
    assert isinstance(out, LinkPowers) and out.power.shape == (2, 3, env.n_devices)
    assert out.power.min() >= 0 and out.power.max() <= env.p_max
    zeta = env.state().zeta
    assert np.all(out.power[np.broadcast_to((zeta == 0)[:, None, :], out.power.shape)] == 0)
    per_ap = _links_per_ap(env, out.power)
    if exclusive:
        assert per_ap.max() <= 1
    else:
        assert per_ap.max() > 1  # the relaxation does use several links of one AP
    hist = pol.history
    assert hist.shape[1:] == (2, 3)
    assert np.all(np.diff(hist, axis=0) >= -1e-9 * np.abs(hist[:-1]))
    env.step(out)


# ----------------------------------------------------------------- Fair-ITLinQ
def _check_itlinq(gains, order, on, cand, snr_threshold):
    inr = gains * P_MAX / NOISE
    L = inr.shape[-1]
    for idx in np.ndindex(inr.shape[:-2]):
        g, o, a, c = inr[idx], order[idx], on[idx], cand[idx]
        snr = np.diag(g)
        t_in = 10.0 * snr ** 0.7
        t_out = itlinq_thresholds(snr, 10.0, 0.7, 0.1, 0.5, snr_threshold)
        first = [j for j in o if c[j]]
        if first:
            assert a[first[0]]
        active = []
        for j in o:
            ok = all(g[i, j] <= t_in[j] and g[j, i] <= t_out[j] for i in active)
            assert a[j] == (c[j] and ok), (idx, j)
            if a[j]:
                active.append(j)
        assert len(active) == a.sum() and a.sum() <= L


@pytest.mark.parametrize("snr_threshold", [1200.0, None])
def test_itlinq_activation_by_recomputation(snr_threshold):
    rng = np.random.default_rng(5)
    for L, lead in [(4, (40,)), (19, (6, 3))]:
        gains, _ = _random_problem(rng, lead, L, spread_db=30.0)
        order = rng.random(lead + (L,)).argsort(axis=-1)
        cand = rng.random(lead + (L,)) < 0.8
        on = itlinq_schedule(gains, order, P_MAX, NOISE, snr_threshold=snr_threshold,
                             candidates=cand)
        assert on.shape == lead + (L,) and not (on & ~cand).any()
        _check_itlinq(gains, order, on, cand, snr_threshold)
        assert on.sum(axis=-1).max() > 1  # the instances do exercise joining
    # the high-SNR rule makes strong links more careful: never more links on
    gains, _ = _random_problem(rng, (200,), 8, spread_db=30.0)
    order = rng.random((200, 8)).argsort(axis=-1)
    plain = itlinq_schedule(gains, order, P_MAX, NOISE, snr_threshold=None)
    fair = itlinq_schedule(gains, order, P_MAX, NOISE, snr_threshold=1200.0)
    assert np.all(fair.sum(-1) <= plain.sum(-1)) and (fair.sum() < plain.sum())


def test_itlinq_policy_on_env(hex_env):
    env = hex_env
    obs = _warm(env)
    pol = _get("fair_itlinq")
    pol.reset(env, np.random.default_rng(0))
    assert pol.snr_threshold_used == 1200.0  # hexagonal layout: the high-SNR rule is on
    act = _act(pol, env, obs)
    full = _get("full_power")
    full.reset(env, np.random.default_rng(0))
    ref = _act(full, env, obs)
    # ITLinQ switches off some of the full-power candidates, never adds another device
    on = act[..., 0] > 0
    assert np.all(act[..., 0][on] == ref[..., 0][on]) and 0 < on.sum() < (ref[..., 0] > 0).sum()
    assert np.all(act[..., 1][on] == len(env.levels) - 1)
    random_env = rrmbook.make_env("paper-random19", load="heavy", seed=0)
    pol.reset(random_env, np.random.default_rng(0))
    assert pol.snr_threshold_used is None


# ----------------------------------------------------------------- LLQ and full power by hand
def _set_queues(env, packets):
    env.q = np.zeros_like(env.q)
    env.zeta = np.broadcast_to(np.asarray(packets, float) * env.packet_size, env.q.shape).copy()
    return env.observe()


def test_llq_and_full_power_hand_case():
    env = rrmbook.make_env("paper-hex19", load="heavy", batch=1, seed=0)
    C = [set(c) for c in env.neighbourhoods]
    a = 0
    b = sorted(C[a] - {a})[0]
    c = next(k for k in range(env.n_agents) if k not in C[a] and k not in C[b])
    q = np.zeros(env.n_devices)
    q[env.agent_devices[a, 1]] = 5.0  # AP a's second device: longest of C(a)
    q[env.agent_devices[b, 0]] = 3.0  # b is a's neighbour: beaten by a's device
    q[env.agent_devices[c, 2]] = 3.0  # c is far from a and b: longest of C(c)
    obs = _set_queues(env, q)
    top = len(env.levels) - 1
    llq = _get("llq")
    llq.reset(env, np.random.default_rng(0))
    act = llq.act(obs)
    assert act.shape == (1, env.n_agents, env.n_subbands, 2)
    expect = np.zeros(env.n_agents, int)
    expect[a], expect[c] = 2, 3
    for h in range(env.n_subbands):
        assert act[0, :, h, 0].tolist() == expect.tolist()
        assert np.all(act[0, expect > 0, h, 1] == top)
    fullp = _get("full_power")
    fullp.reset(env, np.random.default_rng(0))
    expect[b] = 1
    assert np.all(fullp.act(obs)[0, :, :, 0] == expect[:, None])


def test_llq_ties():
    env = rrmbook.make_env("paper-hex19", load="heavy", batch=1, seed=0)
    llq = _get("llq")
    llq.reset(env, np.random.default_rng(1))
    a = 0
    b = sorted(set(env.neighbourhoods[a]) - {a})[0]
    # a tie between two devices of AP a: one of them, uniformly
    q = np.zeros(env.n_devices)
    q[env.agent_devices[a, :2]] = 4.0
    obs = _set_queues(env, q)
    picks = np.array([llq.act(obs)[0, a, 0, 0] for _ in range(600)])
    assert set(np.unique(picks)) == {1, 2} and abs((picks == 1).mean() - 0.5) < 0.08
    # a tie between a device of a and one of its neighbour b: each AP serves half the time
    q = np.zeros(env.n_devices)
    q[env.agent_devices[a, 0]] = q[env.agent_devices[b, 0]] = 4.0
    obs = _set_queues(env, q)
    acts = np.stack([llq.act(obs)[0, [a, b], 0, 0] for _ in range(600)])
    assert abs((acts[:, 0] == 1).mean() - 0.5) < 0.08
    assert abs((acts[:, 1] == 1).mean() - 0.5) < 0.08
    # empty neighbourhood: silent
    obs = _set_queues(env, np.zeros(env.n_devices))
    assert np.all(llq.act(obs)[..., 0] == 0)


def test_random_policy_covers_its_choices(hex_env):
    env = hex_env
    pol = _get("random")
    pol.reset(env, np.random.default_rng(0))
    acts = np.concatenate([pol.act(env.observe()) for _ in range(50)])
    assert set(np.unique(acts[..., 0])) == {0, 1, 2, 3}
    assert set(np.unique(acts[..., 1])) == set(range(len(env.levels)))


# ----------------------------------------------------------------- on the environments
@pytest.mark.parametrize("scenario", ["paper-hex19", "paper-random19"])
@pytest.mark.parametrize("name", NAMES)
def test_every_baseline_is_feasible_and_evaluates(scenario, name):
    env = rrmbook.make_env(scenario, load="medium", batch=2, seed=0)
    obs = _warm(env, slots=5)
    pol = _get(name)
    pol.reset(env, np.random.default_rng(0))
    for _ in range(5):
        a = _act(pol, env, obs)
        if isinstance(a, LinkPowers):
            assert a.power.shape == (2, env.n_subbands, env.n_devices)
        else:
            a = np.asarray(a)
            assert a.shape == (2, env.n_agents, env.n_subbands, 2)
            assert np.issubdtype(a.dtype, np.integer)
            n_own = (env.agent_devices >= 0).sum(axis=1)
            assert a[..., 0].min() >= 0 and np.all(a[..., 0] <= n_own[None, :, None])
            assert a[..., 1].min() >= 0 and a[..., 1].max() < len(env.levels)
        step = env.step(a)
        obs = step.obs
        power = step.info["link_power"]
        assert power.min() >= 0 and power.max() <= env.p_max * (1 + 1e-12)
        if not (isinstance(a, LinkPowers) and not pol.per_ap_exclusive):
            assert _links_per_ap(env, power).max() <= 1
    res = rrmbook.evaluate(env, _get(name), slots=50, seed=1)
    assert res.arrived > 0 and res.delivered + res.unfinished == res.arrived
    assert res.delay_unit == "ms" and res.delivered > 0


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_results(hex_env, name):
    a = rrmbook.evaluate(hex_env, _get(name), slots=40, seed=3)
    b = rrmbook.evaluate(hex_env, _get(name), slots=40, seed=3)
    for field in ("delays", "copy_of_delay", "unfinished_age", "queue_trace"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    c = rrmbook.evaluate(hex_env, _get(name), slots=40, seed=4)
    assert not np.array_equal(a.queue_trace, c.queue_trace)


def test_ranking_heavy_load_hex19():
    env = rrmbook.make_env("paper-hex19", load="heavy", batch=1, seed=0)
    res = rrmbook.compare(env, {n: _get(n) for n in ["fp", "wmmse", "random"]}, slots=300,
                          seed=0)
    d = {k: r.mean_delay for k, r in res.items()}
    # observed (seed 0, 300 slots): fp = wmmse ~ 30 ms, random ~ 280 ms
    assert d["fp"] < 0.5 * d["random"] and d["wmmse"] < 0.5 * d["random"]
