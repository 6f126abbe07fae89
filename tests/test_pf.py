"""The PF scheduling model (Eldeeb & Alves Sec. II): physics and metrics against hand
computations, the batched env's bookkeeping, the PettingZoo adapter and the four baselines."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pettingzoo.test import parallel_api_test, parallel_seed_test

import rrmbook
from rrmbook import pf
from rrmbook.baselines.pf import itlinq_pf_schedule
from rrmbook.envs import PFConfig, PFEnv


# ---------------------------------------------------------------------------- physics
def test_indoor_path_loss_hand_values():
    assert pf.indoor_path_loss_db(10.0) == pytest.approx(15.3 + 37.6 + 10.0)
    assert pf.indoor_path_loss_db(1.0) == pytest.approx(25.3)
    assert pf.indoor_path_loss_db(100.0, penetration_db=0.0) == pytest.approx(15.3 + 75.2)
    with pytest.raises(ValueError, match="distance_m"):
        pf.indoor_path_loss_db(0.0)


def test_rsrp_association_picks_the_smallest_loss():
    loss = np.array([[60.0, 80.0, 70.0], [65.0, 75.0, 90.0]])  # (I=2, J=3)
    np.testing.assert_array_equal(pf.rsrp_association(loss), [0, 1, 0])


def test_sinr_hand_case():
    # two APs, two UEs; UE 0 served by AP 0, UE 1 by AP 1
    gain = np.array([[1.0, 0.25], [0.5, 2.0]])
    serving = np.array([0, 1])
    both = pf.sinr(gain, serving, np.array([True, True]), power_w=2.0, noise_w=1.0)
    np.testing.assert_allclose(both, [2.0 / (0.5 * 2 + 1), 4.0 / (0.25 * 2 + 1)])
    alone = pf.sinr(gain, serving, np.array([True, False]), power_w=2.0, noise_w=1.0)
    np.testing.assert_allclose(alone, [2.0, 4.0 / (0.5 + 1)])  # UE 1 hears AP 0 only
    assert pf.spectral_efficiency(3.0) == pytest.approx(2.0)


def test_pf_recursion_hand_values():
    avg, w = pf.pf_update(np.array([2.0, 1.0]), np.array([4.0, 0.0]), eta=0.1)
    np.testing.assert_allclose(avg, [0.1 * 4 + 0.9 * 2, 0.9])
    np.testing.assert_allclose(w, [1 / 2.2, 1 / 0.9])
    # a starved UE's weight grows geometrically until the floor stops it
    avg = np.array([1.0])
    for _ in range(100):
        avg, w = pf.pf_update(avg, np.array([0.0]), eta=0.1, floor=0.01)
    assert avg[0] == pytest.approx(0.9 ** 100)
    assert w[0] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="eta"):
        pf.pf_update(avg, avg, eta=0.0)


def test_team_reward_and_ratio():
    w, c = np.array([4.0, 1.0, 0.25]), np.array([1.0, 2.0, 8.0])
    np.testing.assert_allclose(pf.pf_ratio(w, c), [4.0, 2.0, 2.0])
    assert pf.team_reward(w, c, lam=0.0) == pytest.approx(11.0)          # sum rate
    assert pf.team_reward(w, c, lam=1.0) == pytest.approx(8.0)           # sum of PF ratios
    assert pf.team_reward(w, c, lam=0.5) == pytest.approx(2 + 2 + 4)
    with pytest.raises(ValueError, match="lam"):
        pf.team_reward(w, c, lam=1.5)


def test_top_n_orders_by_ratio_and_pads():
    ratio = np.array([0.5, 3.0, 2.0, 1.0, 9.0])
    serving = np.array([0, 0, 0, 0, 1])
    top = pf.top_n(ratio, serving, n_aps=3, n=3)
    np.testing.assert_array_equal(top, [[1, 2, 3], [4, -1, -1], [-1, -1, -1]])


def test_p5_and_score_on_a_known_list():
    rates = np.arange(1.0, 21.0)                    # 20 UEs
    assert pf.p5_rate(rates) == pytest.approx(1.0 + 0.05 * 19)  # linear interpolation
    assert pf.sum_rate(rates) == pytest.approx(210.0)
    assert pf.score(rates[None], mu2=3.0) == pytest.approx(210.0 / 20 + 3 * 1.95)
    two = np.stack([rates, rates + 1])              # two episodes: mean sum, pooled p5
    assert pf.score(two, mu1=1.0, mu2=0.0) == pytest.approx(220.0)
    with pytest.raises(ValueError):
        pf.p5_rate(np.array([]))


def test_bounce_reflects_off_borders():
    pos, vel = pf.bounce(np.array([[99.5, 0.2]]), np.array([[1.0, -0.5]]), side=100.0)
    np.testing.assert_allclose(pos, [[99.5, 0.3]])
    np.testing.assert_allclose(vel, [[-1.0, 0.5]])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), d0=st.floats(0.0, 30.0))
def test_sampled_points_respect_minimum_distances(seed, d0):
    rng = np.random.default_rng(seed)
    aps = pf.sample_points(rng, (5, 4), 100.0, min_distance=d0, pairwise=True)
    d = np.linalg.norm(aps[:, :, None] - aps[:, None], axis=-1) + np.eye(4) * 1e9
    assert d.min() > d0
    ues = pf.sample_points(rng, (5, 20), 100.0, far_from=aps, min_distance=1.0)
    assert np.linalg.norm(ues[:, :, None] - aps[:, None], axis=-1).min() > 1.0
    assert ues.min() >= 0 and ues.max() <= 100


# ---------------------------------------------------------------------------- env
def test_config_errors_name_the_field():
    for kwargs, field in [({"n_aps": 0}, "n_aps"), ({"eta": 0.0}, "eta"), ({"lam": 2}, "lam"),
                          ({"side_m": -1}, "side_m"), ({"min_ap_distance_m": 60}, "min_ap")]:
        with pytest.raises(ValueError, match=field):
            PFConfig(**kwargs)
    with pytest.raises(ValueError, match="load does not apply"):
        rrmbook.make_env("pf-4x20", load="heavy")


def test_observation_matches_the_reported_sinr_and_weights():
    env = rrmbook.make_env("pf-4x20", batch=3, seed=1)
    obs = env.observe()
    assert obs.X.shape == (3, 4, 6) and obs.top.shape == (3, 4, 3)
    b, i, n = np.nonzero(obs.top >= 0)
    ue = obs.top[b, i, n]
    np.testing.assert_allclose(obs.X[b, i, 2 * n], 10 * np.log10(env.report_sinr[b, ue]),
                               rtol=1e-5)
    np.testing.assert_allclose(obs.X[b, i, 2 * n + 1], env.weight[b, ue], rtol=1e-5)
    assert np.all(env.serving[b, ue] == i)  # every offered UE belongs to its AP


def test_step_accounting_and_episode_rates():
    cfg = PFConfig(episode_steps=5)
    env = PFEnv(cfg, batch=2, seed=0)
    rng = np.random.default_rng(0)
    total = np.zeros((2, cfg.n_ues))
    for t in range(5):
        before_w = env.weight.copy()
        actions = rng.integers(0, cfg.top_n + 1, size=(2, cfg.n_aps))
        ues = env.actions_to_ues(actions)
        step = env.step(actions)
        served = np.zeros_like(total, dtype=bool)
        for b in range(2):
            served[b, ues[b][ues[b] >= 0]] = True
        assert np.all(step.rate[~served] == 0) and np.all(step.rate[served] > 0)
        np.testing.assert_allclose(step.reward, (before_w ** cfg.lam * step.rate).sum(-1))
        total += step.rate
        assert step.truncated.all() == (t == 4)
    np.testing.assert_allclose(step.episode_rates, total / 5)
    assert env.slot.max() == 0  # a new episode started


def test_same_seed_same_channels_whatever_the_policy():
    a, b = (rrmbook.make_env("pf-4x20", batch=2, seed=7) for _ in range(2))
    for _ in range(30):
        np.testing.assert_array_equal(a.gain, b.gain)
        a.step(np.zeros((2, 4), dtype=int))
        b.step(np.full((2, 4), 3))


def test_action_errors():
    env = rrmbook.make_env("pf-4x20", batch=2)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros((4,), dtype=int))
    with pytest.raises(ValueError, match="integers in 0..3"):
        env.step(np.full((2, 4), 4))
    foreign = np.full((2, 4), -1)
    foreign[0, 0] = int(np.nonzero(env.serving[0] != 0)[0][0])
    with pytest.raises(ValueError, match="associated"):
        env.step_ues(foreign)


def test_pettingzoo_api_and_seeds():
    parallel_api_test(rrmbook.make_parallel_env("pf-4x20", episode_steps=20), num_cycles=50)
    parallel_seed_test(lambda: rrmbook.make_parallel_env("pf-4x20"), num_cycles=30)


# ---------------------------------------------------------------------------- baselines
@pytest.mark.parametrize("name", ["random_walk", "greedy", "tdm", "itlinq", "pf_top1"])
def test_baselines_run_through_evaluate_and_are_reproducible(name):
    env = rrmbook.make_env("pf-4x20", batch=2, seed=0)
    r1 = rrmbook.evaluate(env, rrmbook.baselines.get(name), slots=400, seed=3)
    r2 = rrmbook.evaluate(env, rrmbook.baselines.get(name), slots=400, seed=3)
    assert r1.avg_rates.shape == (4, 20)
    np.testing.assert_array_equal(r1.avg_rates, r2.avg_rates)
    assert r1.score == pytest.approx(r1.mu1 * r1.sum_rate + 3 * r1.p5_rate)
    with pytest.raises(ValueError, match="multiple of the episode length"):
        rrmbook.evaluate(env, rrmbook.baselines.get(name), slots=300)


def test_greedy_serves_the_best_reported_sinr():
    env = rrmbook.make_env("pf-4x20", batch=4, seed=2)
    pol = rrmbook.baselines.get("greedy")
    pol.reset(env, np.random.default_rng(0))
    obs = env.observe()
    ues = env.actions_to_ues(pol.act(obs))
    for b in range(4):
        for i in range(4):
            own = np.nonzero(obs.top[b, i] >= 0)[0]
            if own.size:
                best = obs.top[b, i, own[np.argmax(obs.X[b, i, 2 * own])]]
                assert ues[b, i] == best


def test_pf_top1_by_hand():
    # 2 APs: AP 0 has UEs 0 and 1 with PF ratios w C = 1 x 2 = 2 and 4 x 1 = 4, AP 1 has
    # UE 2 (ratio 3) and UE 3 (ratio 3, a tie: the smaller index wins); a third AP has no
    # UE.  Every AP with a UE serves its largest ratio, never silent: UEs 1 and 2.
    from types import SimpleNamespace

    from rrmbook import pf

    ratio = pf.pf_ratio([1.0, 4.0, 1.5, 3.0], [2.0, 1.0, 2.0, 1.0])
    top = pf.top_n(ratio, np.array([0, 0, 1, 1]), n_aps=3, n=3)
    np.testing.assert_array_equal(top[:, 0], [1, 2, -1])
    pol = rrmbook.baselines.get("pf_top1")
    assert (pol.name, pol.information, pol.coordination) == ("pf_top1", "local", "none")
    pol.reset(rrmbook.make_env("pf-4x20"), np.random.default_rng(0))
    actions = pol.act(SimpleNamespace(top=top[None]))
    np.testing.assert_array_equal(actions, [[0, 0, pol.silent]])
    # on the model: the UE it serves is each AP's top-PF UE
    env = rrmbook.make_env("pf-4x20", batch=3, seed=1)
    pol.reset(env, np.random.default_rng(0))
    obs = env.observe()
    np.testing.assert_array_equal(env.actions_to_ues(pol.act(obs)), obs.top[..., 0])


def test_tdm_serves_every_associated_ue_equally_often():
    cfg = PFConfig(episode_steps=60)
    env = PFEnv(cfg, batch=3, seed=4)
    pol = rrmbook.baselines.get("tdm")
    pol.reset(env, np.random.default_rng(0))
    counts = np.zeros((3, cfg.n_ues))
    serving = env.serving.copy()
    obs = env.observe()
    for _ in range(60):
        ues = pol.act(obs)
        obs = env.step_ues(ues).obs
        for b in range(3):
            counts[b, ues[b][ues[b] >= 0]] += 1
    for b in range(3):
        for i in range(cfg.n_aps):
            mine = counts[b, serving[b] == i]
            if mine.size:
                assert mine.max() - mine.min() <= 1 and mine.sum() == 60


def test_random_ue_draws_uniformly_among_all_associated_ues():
    # 2 APs, 4 UEs: AP 0 serves UEs 0, 1, 3 and AP 1 serves UE 2; AP 2 has none.
    from types import SimpleNamespace

    pol = rrmbook.baselines.get("random_ue")
    assert (pol.name, pol.information, pol.serves_ues) == ("random_ue", "local", True)
    pol.reset(rrmbook.make_env("pf-4x20"), np.random.default_rng(0))
    pol.n_aps = 3
    obs = SimpleNamespace(serving=np.tile([0, 0, 1, 0], (3000, 1)))
    ues = pol.act(obs)
    assert ues.shape == (3000, 3)
    np.testing.assert_array_equal(ues[:, 1], 2)
    np.testing.assert_array_equal(ues[:, 2], -1)
    counts = np.bincount(ues[:, 0], minlength=4)
    assert counts[2] == 0 and counts[[0, 1, 3]].min() > 900     # ~1000 each


def test_itlinq_thresholds_extremes():
    env = rrmbook.make_env("pf-4x20", batch=5, seed=5)
    obs, st_ = env.observe(), env.state()
    ratio = np.where(obs.top[..., 0] >= 0, 1.0, -np.inf)
    lax = itlinq_pf_schedule(st_.gain, obs.top, ratio, st_.power_w, st_.noise_w, m=np.inf)
    np.testing.assert_array_equal(lax, np.where(obs.top[..., 0] >= 0, 0, 3))
    strict = itlinq_pf_schedule(st_.gain, obs.top, ratio, st_.power_w, st_.noise_w, m=0.0)
    assert np.all((strict < 3).sum(-1) == 1)  # only the first AP in the order transmits


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000),
       name=st.sampled_from(["random_walk", "greedy", "itlinq", "pf_top1"]))
def test_every_baseline_schedule_is_feasible(seed, name):
    env = rrmbook.make_env("pf-4x20", batch=2, seed=seed)
    pol = rrmbook.baselines.get(name)
    pol.reset(env, np.random.default_rng(seed))
    obs = env.observe()
    actions = pol.act(obs, env.state())
    ues = env.actions_to_ues(actions)
    on = ues >= 0
    assert np.all(env.serving[np.nonzero(on)[0], ues[on]] == np.nonzero(on)[1])


@pytest.mark.parametrize("literal", [False, True])
def test_silent_aps_interfere_switch_by_hand(literal):
    # 2 APs, 2 UEs (UE 0 of AP 0, UE 1 of AP 1); AP 0 serves UE 0 and AP 1 is silent.
    # Gains g[i, j]: g[0, 0] = 1e-6, g[1, 0] = 1e-7.  Physics (default): UE 0 hears no
    # interference, SINR = g00 P / N.  (E-7) as printed: AP 1 interferes although silent,
    # SINR = g00 P / (g10 P + N).
    cfg = PFConfig(n_aps=2, n_ues=2, silent_aps_interfere=literal)
    env = PFEnv(cfg, batch=1, seed=0)
    env.serving = np.array([[0, 1]])
    env.gain = np.array([[[1e-6, 2e-7], [1e-7, 3e-6]]])
    P, N = cfg.power_w, cfg.noise_w
    step = env.step_ues(np.array([[0, -1]]))
    sinr = 1e-6 * P / ((1e-7 * P if literal else 0.0) + N)
    assert step.rate[0, 0] == pytest.approx(np.log2(1 + sinr))
    assert step.rate[0, 1] == 0.0
    with pytest.raises(TypeError, match="silent_aps_interfere"):
        PFConfig(silent_aps_interfere=1)


def test_pf_threshold_by_hand():
    # AP 0's top UE: SINR 10 dB (C = log2 11 = 3.46), w = 1: ratio 3.46 > 3, it serves;
    # AP 1's top UE: SINR 0 dB (C = 1), w = 2: ratio 2 < 3, silent; AP 2 has no UE.
    from types import SimpleNamespace

    pol = rrmbook.baselines.get("pf_threshold")
    assert (pol.name, pol.information, pol.theta) == ("pf_threshold", "local", 3.0)
    pol.reset(rrmbook.make_env("pf-4x20"), np.random.default_rng(0))
    X = np.zeros((1, 3, 6))
    X[0, 0, :2], X[0, 1, :2] = (10.0, 1.0), (0.0, 2.0)
    top = np.array([[[4, 5, -1], [7, -1, -1], [-1, -1, -1]]])
    np.testing.assert_array_equal(pol.act(SimpleNamespace(X=X, top=top)), [[0, 3, 3]])
    low = rrmbook.baselines.get("pf_threshold", theta=1.5)
    low.reset(rrmbook.make_env("pf-4x20"), np.random.default_rng(0))
    np.testing.assert_array_equal(low.act(SimpleNamespace(X=X, top=top)), [[0, 0, 3]])
    with pytest.raises(ValueError, match="theta"):
        rrmbook.baselines.get("pf_threshold", theta=-1)
    # theta = 0 is pf_top1 on the model
    env = rrmbook.make_env("pf-4x20", batch=3, seed=2)
    a, b = rrmbook.baselines.get("pf_threshold", theta=0.0), rrmbook.baselines.get("pf_top1")
    a.reset(env, np.random.default_rng(0)), b.reset(env, np.random.default_rng(0))
    obs = env.observe()
    np.testing.assert_array_equal(a.act(obs), b.act(obs))


def test_utility_reward_telescopes_to_the_change_of_the_pf_utility():
    from rrmbook import pf

    # by hand: C~ goes from (1, 0.5) to (2, 0.005): log 2 + log(0.01 / 0.5) (floored)
    got = pf.utility_gain([1.0, 0.5], [2.0, 0.005], floor=0.01)
    assert got == pytest.approx(np.log(2.0) + np.log(0.01 / 0.5))
    env = rrmbook.make_env("pf-4x20", batch=2, seed=4, reward="utility", episode_steps=30)
    env.reset(seed=4)
    floor = env.config.weight_floor
    start = np.log(np.maximum(env.avg_rate, floor)).sum(-1)
    pol = rrmbook.baselines.get("pf_threshold")
    pol.reset(env, np.random.default_rng(0))
    obs, total = env.observe(), np.zeros(2)
    for _ in range(29):
        step = env.step(pol.act(obs))
        total += step.reward
        obs = step.obs
    np.testing.assert_allclose(total, np.log(np.maximum(env.avg_rate, floor)).sum(-1) - start)
    with pytest.raises(ValueError, match="reward"):
        rrmbook.make_env("pf-4x20", reward="score")
