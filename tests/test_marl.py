"""Recurrent MAPPO (rrmbook.marl): GAE and the PPO loss pieces against hand-computed numbers,
recurrent chunking, shapes of both modes on both env families, checkpoints and resumption,
config validation, and a short run that learns (SPEC section 5)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import rrmbook
from rrmbook.marl import MAPPOConfig, gae, load_checkpoint, load_policy, train
from rrmbook.marl.losses import clipped_surrogate, clipped_value_loss
from rrmbook.marl.mappo import MAPPO, clip_grad_norm_per_group
from rrmbook.marl.networks import (
    action_entropy,
    action_log_prob,
    greedy_actions,
    gumbel_perturb,
    head_log_probs,
    masked_heads,
)


def _tiny(**kw) -> MAPPOConfig:
    """Small, fast settings: 4 copies, 16-slot rollouts in chunks of 8."""
    params = dict(n_envs=4, rollout_slots=16, chunk_length=8, update_epochs=2, num_minibatches=2,
                  checkpoint_interval=2)
    return MAPPOConfig(**(params | kw))


# ----------------------------------------------------------------- GAE (Z-19)
REWARDS = torch.tensor([1.0, 2.0, 3.0])
VALUES = torch.tensor([0.5, 1.0, 1.5])


def test_gae_matches_hand_computation():
    # gamma = lambda = 0.5; V after the last step = 2.0
    # deltas: 1 + .5*1 - .5 = 1, 2 + .5*1.5 - 1 = 1.75, 3 + .5*2 - 1.5 = 2.5
    # A2 = 2.5, A1 = 1.75 + .25*2.5 = 2.375, A0 = 1 + .25*2.375 = 1.59375
    next_values = torch.tensor([1.0, 1.5, 2.0])
    adv, ret = gae(REWARDS, VALUES, next_values, torch.zeros(3, dtype=torch.bool), 0.5, 0.5)
    torch.testing.assert_close(adv, torch.tensor([1.59375, 2.375, 2.5]))
    torch.testing.assert_close(ret, adv + VALUES)


def test_gae_truncation_bootstraps_and_stops():
    # the episode is truncated after step 1 with V(X_T) = 4: delta_1 = 2 + .5*4 - 1 = 3,
    # the sum stops there (A1 = 3), and step 2 belongs to the next episode (A2 = 2.5)
    next_values = torch.tensor([1.0, 4.0, 2.0])
    cut = torch.tensor([False, True, False])
    adv, ret = gae(REWARDS, VALUES, next_values, cut, 0.5, 0.5)
    torch.testing.assert_close(adv, torch.tensor([1.75, 3.0, 2.5]))
    torch.testing.assert_close(ret, torch.tensor([2.25, 4.0, 4.0]))


def test_gae_lambda_one_is_discounted_return_and_zero_is_td():
    r, v = torch.tensor([1.0, 1.0]), torch.tensor([0.0, 0.0])
    nxt = torch.tensor([0.0, 10.0])
    no_cut = torch.zeros(2, dtype=torch.bool)
    adv, _ = gae(r, v, nxt, no_cut, 0.9, 1.0)
    torch.testing.assert_close(adv, torch.tensor([1 + 0.9 * (1 + 0.9 * 10), 1 + 0.9 * 10]))
    adv, _ = gae(r, v, nxt, no_cut, 0.9, 0.0)
    torch.testing.assert_close(adv, torch.tensor([1.0, 1 + 0.9 * 10]))


def test_trainer_bootstraps_truncated_episodes_with_the_final_value():
    """MAPPO.advantages assembles V_next from the stored values, the final values of
    truncated episodes and the value after the rollout, exactly as in the hand example."""
    env = rrmbook.make_env("paper-cg8", load="heavy", batch=1, seed=0)
    learner = MAPPO(_tiny(n_envs=1, rollout_slots=3, chunk_length=1, gamma=0.5, gae_lambda=0.5,
                          value_norm=False, num_minibatches=1), env)
    st = learner.storage  # shared mode: (G, T, M) = (1, 3, 4)
    st.rewards[:] = REWARDS[None, :, None]
    st.values[:] = VALUES[None, :, None]
    st.cut[:] = torch.tensor([False, True, False])[None, :, None]
    st.final_values[:] = 4.0
    adv, ret = learner.advantages(torch.full((1, 4), 2.0))
    torch.testing.assert_close(adv[0, :, 0], torch.tensor([1.75, 3.0, 2.5]))
    torch.testing.assert_close(ret[0, :, 0], torch.tensor([2.25, 4.0, 4.0]))


# ----------------------------------------------------------------- PPO pieces (Z-20)-(Z-22)
def test_clipped_surrogate_hand_values():
    logp = torch.log(torch.tensor([1.5, 1.5, 0.5, 0.5]))
    adv = torch.tensor([2.0, -2.0, 2.0, -2.0])
    out = clipped_surrogate(logp, torch.zeros(4), adv, clip=0.2)
    # r = 1.5: min(3, 1.2*2) = 2.4; min(-3, -2.4) = -3; r = 0.5: min(1, 1.6) = 1; min(-1, -1.6)
    torch.testing.assert_close(out, torch.tensor([2.4, -3.0, 1.0, -1.6]))


def test_clipped_value_loss_hand_values():
    v = torch.tensor([1.0, 1.0, 0.0])
    old = torch.tensor([0.5, 0.9, 0.5])
    ret = torch.tensor([2.0, 0.0, 0.3])
    out = clipped_value_loss(v, old, ret, clip=0.2)
    # (1-2)^2 = 1 vs (0.7-2)^2 = 1.69; inside the clip: 1; (0-.3)^2 = .09 vs (.3-.3)^2 = 0
    torch.testing.assert_close(out, torch.tensor([1.69, 1.0, 0.09]))


def test_conflict_heads_mask_padding_devices():
    logits = torch.zeros(2, 3)  # H = 2 subbands, silent + 2 devices
    mask = torch.tensor([[True, True, False]])  # the second device is padding
    logps = head_log_probs(logits, mask, (3,))
    torch.testing.assert_close(action_entropy(logps), torch.tensor(2 * math.log(2)))
    torch.testing.assert_close(action_log_prob(logps, torch.tensor([[1], [0]])),
                               torch.tensor(2 * math.log(0.5)))
    noisy = gumbel_perturb(torch.zeros(5000, 2, 3), torch.Generator().manual_seed(0))
    draws = greedy_actions(masked_heads(noisy, mask, (3,)))
    assert draws.max() == 1  # never the padded device
    assert abs(float((draws == 1).float().mean()) - 0.5) < 0.02  # uniform over the rest


def test_cellular_heads_count_power_only_when_serving():
    logits = torch.zeros(1, 3 + 4)  # one subband: silent + 2 devices, 4 power levels
    logps = head_log_probs(logits, torch.ones(1, 3, dtype=torch.bool), (3, 4))
    # H(device) + P(served) H(power) = ln 3 + (2/3) ln 4
    torch.testing.assert_close(action_entropy(logps), torch.tensor(math.log(3) + 2 / 3 * math.log(4)))
    silent, served = torch.tensor([[0, 3]]), torch.tensor([[2, 3]])
    torch.testing.assert_close(action_log_prob(logps, silent), torch.tensor(math.log(1 / 3)))
    torch.testing.assert_close(action_log_prob(logps, served), torch.tensor(math.log(1 / 12)))


def test_per_group_gradient_clipping_is_independent():
    p = torch.nn.Parameter(torch.zeros(2, 3))
    p.grad = torch.tensor([[3.0, 4.0, 0.0], [0.3, 0.4, 0.0]])
    norms = clip_grad_norm_per_group([p], max_norm=1.0)
    torch.testing.assert_close(norms, torch.tensor([5.0, 0.5]))
    torch.testing.assert_close(p.grad, torch.tensor([[0.6, 0.8, 0.0], [0.3, 0.4, 0.0]]), atol=1e-5,
                               rtol=1e-5)


def test_separate_mode_gives_each_agent_only_its_own_gradient():
    env = rrmbook.make_env("paper-cg8", load="heavy", batch=2, seed=0)
    learner = MAPPO(_tiny(n_envs=2, mode="separate"), env)
    x = torch.rand(4, 3, 2, env.obs_dim)  # (K, L, B, F)
    out = learner.actor(x, learner.actor.initial_state(2), torch.zeros(4, 3, 2, dtype=torch.bool))
    out[1].sum().backward()  # a loss that only involves agent 1's rows
    for p in learner.actor.parameters():
        grads = p.grad.flatten(1).abs().sum(1)
        assert grads[1] > 0 and grads[[0, 2, 3]].sum() == 0


def _separate_update(target_kl, epochs=2, push_agent0=True, flip_agent0=False):
    """One rollout and one update of a separate-mode learner on paper-cg8, after moving agent
    0's policy away from the one that collected (or flipping its advantages).  Returns the
    record and the actor weights per agent ``(K, n)`` before and after."""
    env = rrmbook.make_env("paper-cg8", load="heavy", batch=2, seed=0)
    learner = MAPPO(_tiny(n_envs=2, mode="separate", num_minibatches=1, update_epochs=epochs,
                          target_kl=target_kl), env)
    adv, ret = learner.advantages(learner.collect()[0])
    with torch.no_grad():
        if push_agent0:
            learner.actor.out.bias[0] += torch.tensor([1.0, -1.0, 0.0]).repeat(3)
        if flip_agent0:
            adv[0] = -adv[0]

    def weights():
        return torch.cat([p.detach().flatten(1) for p in learner.actor.parameters()], 1)
    before = weights()
    return learner.update(adv, ret), before, weights()


def test_separate_update_moves_each_agent_by_its_own_loss_only():
    _, _, same = _separate_update(None, push_agent0=False)
    _, _, flipped = _separate_update(None, push_agent0=False, flip_agent0=True)
    assert torch.equal(same[1:], flipped[1:]) and not torch.allclose(same[0], flipped[0])


def test_kl_stop_of_one_agent_stops_every_agent():
    """Agent 0 alone has moved (KL ~ 4x the mean over the 4 agents): a limit between the mean
    and agent 0's KL stops the update before any step, for every agent."""
    probe, _, _ = _separate_update(None, epochs=1)  # approx_kl: mean over agents, before a step
    limit = 2 * probe["approx_kl"]
    record, before, after = _separate_update(limit / 1.5)
    assert record["minibatch_steps"] == 0 and torch.equal(before, after)
    record, before, after = _separate_update(limit / 1.5, push_agent0=False)
    assert record["minibatch_steps"] == 2 and torch.all((after - before).abs().sum(1) > 0)


# ----------------------------------------------------------------- recurrent chunks
CASES = [("paper-cg8", "shared", "lstm"), ("paper-cg8", "separate", "gru"),
         ("paper-hex19", "shared", "gru"), ("paper-random19", "separate", "lstm")]


@pytest.mark.parametrize("scenario, mode, cell", CASES)
def test_chunks_replay_the_rollout_log_probs(scenario, mode, cell):
    """Replaying the stored chunks from their stored recurrent states (episodes truncated
    every 13 slots, so resets fall inside chunks) reproduces the log-probabilities and values
    computed step by step during the rollout."""
    env = rrmbook.make_env(scenario, load="heavy", batch=3, seed=0, episode_slots=13)
    learner = MAPPO(_tiny(n_envs=3, rollout_slots=32, chunk_length=8, mode=mode, cell=cell), env)
    for _ in range(2):  # the second rollout starts from carried-over recurrent states
        last, stats = learner.collect()
        st = learner.storage
        assert stats["episodes"] > 0 and st.starts[:, 1:].any()
        adv, ret = learner.advantages(last)
        (mb,) = st.minibatches(1, torch.Generator().manual_seed(0), advantages=adv)
        with torch.no_grad():
            logits = learner.actor(mb["obs"], mb["actor_state"], mb["starts"])
            logps = learner._log_probs(logits, learner.mask[:, mb["row"]][:, None, :, None])
            values = learner.critic(mb["obs"], mb["critic_state"], mb["starts"])
        torch.testing.assert_close(action_log_prob(logps, mb["actions"]), mb["log_probs"],
                                   atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(values[..., 0], mb["values"], atol=1e-5, rtol=1e-5)
        learner.update(adv, ret)


# ----------------------------------------------------------------- shapes, both modes
@pytest.mark.parametrize("scenario", ["paper-cg8", "paper-hex19", "paper-random19"])
@pytest.mark.parametrize("mode", ["shared", "separate"])
def test_shapes_and_policy_through_evaluate(scenario, mode):
    env = rrmbook.make_env(scenario, load="heavy", batch=2, seed=0)
    cfg = _tiny(n_envs=2, mode=mode)
    learner = MAPPO(cfg, env)
    K, B, T = env.n_agents, 2, cfg.rollout_slots
    G, M = (K, B) if mode == "separate" else (1, B * K)
    st = learner.storage
    n_heads = 2 if env.family == "cellular" else 1
    assert st.obs.shape == (G, T, M, env.obs_dim)
    assert st.actions.shape == (G, T, M, env.n_subbands, n_heads)
    assert st.actor_state.shape == (T // cfg.chunk_length, 2, G, M, cfg.hidden_size)
    record = learner.iteration()
    assert record["slots"] == B * T and np.isfinite(record["policy_loss"])
    policy = learner.policy()
    assert policy.information == "neighbourhood"
    actions = None

    def spy(obs):
        nonlocal actions
        actions = policy.act(obs)
        return actions

    eval_env = rrmbook.make_env(scenario, load="heavy", batch=3, seed=1)
    policy.reset(eval_env, np.random.default_rng(0))
    res = rrmbook.evaluate(eval_env, rrmbook.FunctionPolicy(spy), slots=20, seed=0)
    expected = (3, K, env.n_subbands) + ((2,) if n_heads == 2 else ())
    assert actions.shape == expected and actions.dtype == np.int64
    assert res.arrived > 0
    # padded devices are never chosen
    valid = (env.agent_devices >= 0).sum(axis=1)
    device_choice = actions[..., 0] if n_heads == 2 else actions
    assert np.all(device_choice <= valid[None, :, None])


def test_shared_policy_runs_on_another_number_of_agents():
    """A shared network trained on 7 cells runs on the 19-cell network (same X_k size);
    separate networks (one per agent) refuse."""
    small = {"rings": 1, "devices_per_cell": 3, "max_devices": 3, "max_neighbours": 5}
    big = rrmbook.make_env("paper-hex19", load="heavy", seed=0)
    policy, _ = train(_tiny(n_envs=2), "cellular", 25.0, budget_slots=32, env_kwargs=small)
    assert rrmbook.evaluate(big, policy, slots=10, seed=0).arrived > 0
    separate, _ = train(_tiny(n_envs=2, mode="separate"), "cellular", 25.0, budget_slots=32,
                        env_kwargs=small)
    with pytest.raises(ValueError, match="n_agents: trained 7 vs 19"):
        rrmbook.evaluate(big, separate, slots=10, seed=0)


# ----------------------------------------------------------------- seeding, checkpoints
def _no_time(history):
    return [{k: v for k, v in r.items() if k != "time_s"} for r in history]


def test_same_seed_same_numbers():
    runs = [train(_tiny(), "paper-cg8", "heavy", seed=5, budget_slots=128)[1] for _ in range(2)]
    assert _no_time(runs[0]) == _no_time(runs[1])
    other = train(_tiny(), "paper-cg8", "heavy", seed=6, budget_slots=128)[1]
    assert _no_time(other) != _no_time(runs[0])


@pytest.mark.parametrize("scenario, mode", [("paper-cg8", "shared"), ("paper-hex19", "separate")])
def test_resume_continues_exactly(tmp_path, scenario, mode):
    """Stopping after 2 of 4 updates and resuming from the checkpoint gives the same learning
    curve and the same weights as 4 uninterrupted updates (episodes truncated every 20 slots,
    so the environment and recurrent states at the checkpoint are mid-episode; the learning
    rate is annealed over the budget)."""
    cfg = _tiny(mode=mode)
    per_update = cfg.n_envs * cfg.rollout_slots
    kw = dict(seed=2, env_kwargs={"episode_slots": 20})
    _, full = train(cfg, scenario, "heavy", budget_slots=4 * per_update,
                    checkpoint_dir=tmp_path / "a", log_csv=tmp_path / "a.csv", **kw)
    # interrupted after 2 updates (the callback stops it; a checkpoint is written on the way out)
    train(cfg, scenario, "heavy", budget_slots=4 * per_update, checkpoint_dir=tmp_path / "b",
          callback=lambda policy, record: record["update"] == 2, **kw)
    assert load_checkpoint(tmp_path / "b" / "last.pt")["updates"] == 2
    _, resumed = train(cfg, scenario, "heavy", budget_slots=4 * per_update,
                       checkpoint_dir=tmp_path / "b", resume=True, log_csv=tmp_path / "b.csv", **kw)
    assert _no_time(resumed) == _no_time(full)
    a, b = load_checkpoint(tmp_path / "a" / "last.pt"), load_checkpoint(tmp_path / "b" / "last.pt")
    for part in ("actor", "critic", "value_norm"):
        for name, tensor in a[part].items():
            assert torch.equal(tensor, b[part][name]), (part, name)
    lines = (tmp_path / "b.csv").read_text().splitlines()
    assert len(lines) == 5 and lines[0].startswith("update,slots,mean_reward,mean_queue")


def test_checkpoint_round_trip(tmp_path):
    policy, history = train(_tiny(), "paper-cg8", "heavy", seed=1, budget_slots=128,
                            checkpoint_dir=tmp_path)
    state = load_checkpoint(tmp_path / "last.pt")  # weights_only=True inside
    assert state["slots"] == 128 and state["run"]["scenario"] == "paper-cg8"
    assert state["config"] == {**state["config"], "n_envs": 4, "mode": "shared"}
    assert state["history"] == history
    loaded = load_policy(tmp_path / "last.pt")
    env = rrmbook.make_env("paper-cg8", load="heavy", seed=0)
    a = rrmbook.evaluate(env, policy, slots=200, seed=4)
    b = rrmbook.evaluate(env, loaded, slots=200, seed=4)
    np.testing.assert_array_equal(a.delays, b.delays)
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left no temp file


def test_a_fresh_run_never_replaces_an_earlier_one(tmp_path):
    """Issue 18: without resume, a folder holding a checkpoint (or a log holding a curve) is
    refused before any work; overwrite=True replaces them; temp files of killed checkpoint
    writes are removed by the next run."""
    log = tmp_path / "curve.csv"
    train(_tiny(), "paper-cg8", "heavy", budget_slots=128, checkpoint_dir=tmp_path, log_csv=log)
    before = (tmp_path / "last.pt").read_bytes(), log.read_text()
    with pytest.raises(FileExistsError, match=r"last\.pt already exists.*resume=True.*overwrite=True"):
        train(_tiny(), "paper-cg8", "heavy", budget_slots=64, checkpoint_dir=tmp_path)
    with pytest.raises(FileExistsError, match=r"curve\.csv already exists"):
        train(_tiny(), "paper-cg8", "heavy", budget_slots=64, log_csv=log)
    assert ((tmp_path / "last.pt").read_bytes(), log.read_text()) == before
    stale = tmp_path / ".last.pt.abc123.tmp"      # what a kill during a write leaves
    stale.write_bytes(b"half a checkpoint")
    _, history = train(_tiny(), "paper-cg8", "heavy", budget_slots=64, checkpoint_dir=tmp_path,
                       log_csv=log, overwrite=True)
    assert not stale.exists() and len(history) == 1
    assert load_checkpoint(tmp_path / "last.pt")["slots"] == 64
    assert len(log.read_text().splitlines()) == 2   # header and the one new update


def test_unreadable_checkpoints_are_refused_with_one_message(tmp_path):
    """Issue 18: an empty, truncated, text or random-byte file, or one with nan weights, is
    refused by load_checkpoint / load_policy with a ValueError naming the file (and by the
    CLI with that message and no traceback)."""
    import contextlib
    import io

    import torch

    from rrmbook.cli import main

    train(_tiny(), "paper-cg8", "heavy", budget_slots=64, checkpoint_dir=tmp_path)
    good = (tmp_path / "last.pt").read_bytes()
    rng = np.random.default_rng(0)
    bad = {"empty.pt": b"", "truncated.pt": good[: len(good) // 2], "text.pt": b"not a model\n",
           "random.pt": rng.bytes(4096)}
    state = load_checkpoint(tmp_path / "last.pt")
    state["actor"][next(iter(state["actor"]))][0] = float("nan")
    torch.save(state, tmp_path / "nan.pt")
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    for name in [*bad, "nan.pt"]:
        path = tmp_path / name
        why = "non-finite values" if name == "nan.pt" else "not a readable rrmbook MAPPO"
        with pytest.raises(ValueError, match=why):
            load_checkpoint(path)
        with pytest.raises(ValueError, match=why):
            load_policy(path)
    for name in ("truncated.pt", "nan.pt"):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert main(["evaluate", "--checkpoint", str(tmp_path / name), "--slots", "5"]) == 2
        assert name in err.getvalue() and "Traceback" not in err.getvalue()


def test_checkpoint_for_another_scenario_is_refused(tmp_path):
    train(_tiny(), "paper-cg8", "heavy", budget_slots=64, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match=r"obs_dim: trained 6 vs 234.*n_agents: trained 4 vs 19"):
        train(_tiny(), "paper-hex19", "heavy", budget_slots=128, checkpoint_dir=tmp_path,
              resume=True)
    with pytest.raises(ValueError, match="obs_dim"):
        rrmbook.evaluate(rrmbook.make_env("paper-hex19", load="heavy"),
                         load_policy(tmp_path / "last.pt"), slots=5, seed=0)
    with pytest.raises(ValueError, match="load: checkpoint 'heavy' vs 'light'"):
        train(_tiny(), "paper-cg8", "light", budget_slots=128, checkpoint_dir=tmp_path,
              resume=True)
    with pytest.raises(ValueError, match="lr: checkpoint 0.001 vs 0.002"):
        train(_tiny(lr=2e-3), "paper-cg8", "heavy", budget_slots=128, checkpoint_dir=tmp_path,
              resume=True)
    with pytest.raises(FileNotFoundError):
        train(_tiny(), "paper-cg8", "heavy", budget_slots=128, resume=tmp_path / "missing.pt")


# ----------------------------------------------------------------- config validation
@pytest.mark.parametrize("field, value", [
    ("mode", "both"), ("cell", "rnn"), ("activation", "gelu"), ("optimizer", "sgd"),
    ("lr", 0.0), ("lr", float("nan")), ("gamma", 1.5), ("gae_lambda", -0.1), ("clip", -0.2),
    ("entropy_coef", -0.01), ("n_envs", 0), ("hidden_size", 1.5), ("update_epochs", True),
    ("rollout_slots", 100), ("num_minibatches", 10**6), ("value_norm", "yes"),
    ("value_norm_beta", 1.0), ("queue_scale", 0), ("reward_scale", -1.0), ("target_kl", 0.0),
    ("queue_log", 1),
])
def test_config_errors_name_the_field(field, value):
    with pytest.raises(ValueError, match=f"MAPPOConfig.{field}"):
        MAPPOConfig(**{field: value})


def test_presets_and_train_argument_errors():
    paper = MAPPOConfig.paper()
    assert (paper.optimizer, paper.lr, paper.gamma, paper.gae_lambda, paper.entropy_coef,
            paper.chunk_length, paper.hidden_size, paper.hidden_layers) == \
        ("rmsprop", 1e-4, 0.995, 0.95, 0.01, 64, 64, 2)
    assert MAPPOConfig.laptop() == MAPPOConfig()
    assert MAPPOConfig.paper(mode="separate").mode == "separate"
    with pytest.raises(ValueError, match="budget_slots"):
        train(_tiny(), budget_slots=0)
    with pytest.raises(TypeError, match="MAPPOConfig"):
        train({"lr": 1e-3})
    with pytest.raises(ValueError, match="checkpoint_dir"):
        train(_tiny(), budget_slots=64, resume=True)
    with pytest.raises(ValueError, match="unknown scenario"):
        train(_tiny(), "paper-cg9", budget_slots=64)


# ----------------------------------------------------------------- it learns
def test_short_training_beats_the_untrained_policy():
    """80 updates of separate-mode MAPPO (82k copy-slots, about 30 s on 2 cores) on
    paper-cg8 at heavy load: the untrained actor (uniform random choices) lets the queues
    explode; the trained one keeps them short."""
    cfg = MAPPOConfig.laptop(mode="separate", n_envs=16)
    untrained = MAPPO(cfg, rrmbook.make_env("paper-cg8", load="heavy", batch=16, seed=0)).policy()
    trained, history = train(cfg, "paper-cg8", "heavy", seed=0, budget_slots=80 * 16 * 64)
    env = rrmbook.make_env("paper-cg8", load="heavy", seed=0)
    before = rrmbook.evaluate(env, untrained, slots=2000, seed=0)
    after = rrmbook.evaluate(env, trained, slots=2000, seed=0)
    assert after.queue_trace.mean() < 0.25 * before.queue_trace.mean()
    assert after.unfinished < 0.25 * before.unfinished
    peak = max(record["mean_queue"] for record in history)  # training queues rose, then fell
    assert history[-1]["mean_queue"] < 0.5 * peak
