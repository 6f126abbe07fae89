"""MAPPOPolicy.action_probs: the probabilities from which MAPPOPolicy.act samples (chapter 5's
memory test uses it).  Rows sum to 1, padded devices get exactly 0, the greedy action is the
argmax, sampling frequencies agree, and a hand-set actor gives hand-computed numbers."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import rrmbook
from rrmbook.marl import AgentSpec, MAPPOConfig, MAPPOPolicy
from rrmbook.marl.mappo import build_networks


def _policy(env, mode: str, sharpen: float = 1.0, deterministic: bool = False) -> MAPPOPolicy:
    """An untrained policy for ``env``; ``sharpen`` scales the output weights so that the
    probabilities are far from uniform."""
    config = MAPPOConfig(mode=mode)
    spec = AgentSpec.from_env(env)
    actor, _ = build_networks(config, spec, torch.Generator().manual_seed(0))
    with torch.no_grad():
        actor.out.weight.mul_(sharpen)
    return MAPPOPolicy(actor, spec, mode, config.queue_scale, config.queue_log,
                       deterministic=deterministic)


def _history(env, slots: int, seed: int = 0) -> np.ndarray:
    """``(T, B, K, F)`` aggregates of a run in which every AP stays silent (queues grow)."""
    obs, out = env.reset(seed=seed), []
    silent = np.zeros((env.batch, env.n_agents, env.n_subbands)
                      + ((2,) if isinstance(env.n_actions, tuple) else ()), dtype=np.int64)
    for _ in range(slots):
        out.append(obs.X)
        obs = env.step(silent).obs
    return np.stack(out)


@pytest.mark.parametrize("scenario", ["paper-cg8", "paper-random19"])
@pytest.mark.parametrize("mode", ["shared", "separate"])
def test_rows_sum_to_one_and_padding_gets_zero(scenario, mode):
    env = rrmbook.make_env(scenario, load="heavy", batch=2, seed=0)
    policy = _policy(env, mode, sharpen=30.0)
    probs = policy.action_probs(_history(env, 5), env)
    sizes = env.n_actions if isinstance(env.n_actions, tuple) else (env.n_actions,)
    assert len(probs) == len(sizes)
    for p, n in zip(probs, sizes, strict=True):
        assert p.shape == (2, env.n_agents, env.n_subbands, n)
        np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-5)
        assert np.all(p >= 0)
    padded = np.concatenate([np.zeros((env.n_agents, 1), bool), env.agent_devices < 0], axis=1)
    assert np.all(probs[0].transpose(0, 1, 3, 2)[:, padded] == 0.0)
    if padded.any():  # without env, padding is not known: every choice is possible
        unmasked = policy.action_probs(_history(env, 5))[0]
        assert np.all(unmasked.transpose(0, 1, 3, 2)[:, padded] > 0)


@pytest.mark.parametrize("scenario", ["paper-cg8", "paper-random19"])
@pytest.mark.parametrize("mode", ["shared", "separate"])
def test_greedy_action_is_the_argmax_after_the_same_history(scenario, mode):
    """A deterministic policy run slot by slot (its memory carried by act) takes the most
    likely choice of action_probs fed the whole history from the start."""
    env = rrmbook.make_env(scenario, load="heavy", batch=2, seed=0)
    policy = _policy(env, mode, sharpen=30.0, deterministic=True)
    policy.reset(env, np.random.default_rng(0))
    history = _history(env, 6)
    for t in range(len(history)):
        actions = policy.act(SimpleNamespace(X=history[t]))
        if t == 2:  # does not disturb the running memory of act
            policy.action_probs(history[:1], env)
        probs = policy.action_probs(history[: t + 1], env)
        greedy = np.stack([p.argmax(-1) for p in probs], axis=-1)
        np.testing.assert_array_equal(greedy if len(probs) == 2 else greedy[..., 0], actions)


def test_sampling_frequencies_match_the_probabilities():
    env = rrmbook.make_env("paper-random19", load="heavy", batch=4000, seed=0)
    policy = _policy(env, "separate", sharpen=200.0)
    policy.reset(env, np.random.default_rng(0))
    X = np.repeat(_history(rrmbook.make_env("paper-random19", load="heavy", seed=0), 4)[-1],
                  4000, axis=0)  # the same aggregates in every copy: 4000 draws
    actions = policy.act(SimpleNamespace(X=X))  # (B, K, H, 2)
    probs = policy.action_probs(X[:1], env)
    for head, p in enumerate(probs):
        n = p.shape[-1]
        freq = (actions[..., head, None] == np.arange(n)).mean(axis=0)  # (K, H, n)
        np.testing.assert_allclose(freq, p[0], atol=0.04)
    assert min(p.max() for p in probs) > 0.4  # far from uniform (1/6, 1/5): a real check


def test_hand_set_actor_gives_the_softmax_of_its_bias():
    """With zero output weights the logits are the output bias, whatever the input and the
    memory: the probabilities are its softmax per subband, 0 for padded devices."""
    env = rrmbook.make_env("paper-cg8", seed=0)
    policy = _policy(env, "shared")
    target = np.array([[0.5, 0.25, 0.25], [0.1, 0.2, 0.7], [1 / 3, 1 / 3, 1 / 3]])
    with torch.no_grad():
        policy.actor.out.weight.zero_()
        policy.actor.out.bias.copy_(torch.log(torch.tensor(target, dtype=torch.float32)).view(1, 1, 9))
    X = np.random.default_rng(0).integers(0, 5, (7, 3, 5, env.obs_dim))  # 5 agents: shared
    (p,) = policy.action_probs(X)
    assert p.shape == (3, 5, 3, 3)
    np.testing.assert_allclose(p, np.broadcast_to(target, p.shape), rtol=1e-6)

    cell = rrmbook.make_env("paper-random19", seed=0)
    policy = _policy(cell, "separate")
    with torch.no_grad():
        policy.actor.out.weight.zero_()
        policy.actor.out.bias.zero_()
    device, power = policy.action_probs(np.zeros((1, cell.n_agents, cell.obs_dim)), cell)
    served = (cell.agent_devices >= 0).sum(axis=1)  # devices of each AP
    for k in range(cell.n_agents):
        expected = np.r_[np.full(served[k] + 1, 1 / (served[k] + 1)),
                         np.zeros(cell.max_devices - served[k])]
        np.testing.assert_allclose(device[0, k], np.broadcast_to(expected, (3, len(expected))),
                                   rtol=1e-6)
    np.testing.assert_allclose(power, 1 / cell.n_actions[1], rtol=1e-6)
    assert math.isclose(float(device[0, 0, 0, 0]), 1 / (served[0] + 1), rel_tol=1e-6)


def test_shape_errors():
    env = rrmbook.make_env("paper-cg8", seed=0)
    policy = _policy(env, "separate")
    with pytest.raises(ValueError, match="separate networks run 4 agents"):
        policy.action_probs(np.zeros((1, 3, env.obs_dim)))
    with pytest.raises(ValueError, match="X must be"):
        policy.action_probs(np.zeros((1, 4, env.obs_dim + 1)))
    with pytest.raises(ValueError, match="no slot"):
        policy.action_probs(np.zeros((0, 1, 4, env.obs_dim)))
