"""Offline MARL (Eldeeb & Alves Sec. III–IV): loss pieces against hand values, the VDN
logsumexp factorisation, datasets (round trip, corrupt files), learner shapes for every
variant, checkpoints and resume, and a short offline run that beats its behaviour policy."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import rrmbook
from rrmbook.offline import (
    CQLConfig,
    Dataset,
    DQNConfig,
    DQNLearner,
    EpsilonBehaviour,
    SACConfig,
    SACLearner,
    collect,
    load_dataset,
    load_learner,
    mix,
    save_dataset,
    train_cql,
    train_dqn,
    train_sac,
)
from rrmbook.offline.features import joint_index, pf_features, split_joint
from rrmbook.offline.losses import (
    cql_penalty,
    dqn_targets,
    joint_q_table,
    sac_actor_loss,
    sac_critic_loss,
    sac_targets,
    soft_state_value,
    vdn_logsumexp,
)

VARIANTS = ["centralised", "independent", "ctde"]


# ---------------------------------------------------------------------------- losses
def test_cql_penalty_hand_value():
    q = torch.tensor([[[1.0, 2.0, 0.0]], [[0.0, 0.0, 0.0]]])          # (n=2, H=1, A=3)
    a = torch.tensor([[1], [0]])
    lse0 = math.log(math.e + math.e ** 2 + 1)
    expected = ((lse0 - 2.0) + (math.log(3.0) - 0.0)) / 2
    assert float(cql_penalty(q, a)) == pytest.approx(expected)
    # the penalty is >= 0 and 0 only in the limit where the data action dominates
    assert float(cql_penalty(torch.tensor([[[100.0, 0.0]]]), torch.tensor([[0]]))) < 1e-6


def test_soft_value_and_sac_targets_hand_values():
    q = torch.tensor([[[1.0, 3.0]]])
    logits = torch.log(torch.tensor([[[0.25, 0.75]]]))
    tau = 0.5
    v = 0.25 * (1 - tau * math.log(0.25)) + 0.75 * (3 - tau * math.log(0.75))
    assert float(soft_state_value(q, logits, tau)) == pytest.approx(v)
    y = sac_targets(torch.tensor([2.0]), q, logits, tau, gamma=0.9, decomposed=False)
    assert float(y) == pytest.approx(2.0 + 0.9 * v)
    y_done = sac_targets(torch.tensor([2.0]), q, logits, tau, 0.9, False, done=torch.tensor([True]))
    assert float(y_done) == pytest.approx(2.0)
    # CTDE: the heads' soft values add up into one team target (E-24)
    q2, l2 = q.repeat(1, 3, 1), logits.repeat(1, 3, 1)
    y_tot = sac_targets(torch.tensor([2.0]), q2, l2, tau, 0.9, decomposed=True)
    assert float(y_tot) == pytest.approx(2.0 + 0.9 * 3 * v)


def test_critic_and_actor_losses_hand_values():
    q = torch.tensor([[[1.0, 3.0], [0.0, 2.0]]])                      # n=1, H=2
    a = torch.tensor([[1, 0]])
    y = torch.tensor([[2.0, 1.0]])
    assert float(sac_critic_loss(q, a, y, decomposed=False)) == pytest.approx(0.5 * (1 + 1))
    assert float(sac_critic_loss(q, a, torch.tensor([5.0]), decomposed=True)) == \
        pytest.approx(0.5 * (5 - 3) ** 2)
    logits = torch.zeros(1, 2, 2)                                      # uniform policies
    tau = 0.1
    expected = sum(0.5 * (tau * math.log(0.5) - qa) * 2 / 2 for qa in (1, 3)) + \
        sum(0.5 * (tau * math.log(0.5) - qa) for qa in (0, 2))
    assert float(sac_actor_loss(q, logits, tau)) == pytest.approx(expected)


def test_dqn_targets_are_double_q():
    online = torch.tensor([[[1.0, 5.0]]])
    target = torch.tensor([[[7.0, 2.0]]])
    y = dqn_targets(torch.tensor([1.0]), online, target, gamma=0.5, decomposed=False)
    assert float(y) == pytest.approx(1.0 + 0.5 * 2.0)  # action from online, value from target


def test_vdn_logsumexp_factorises_the_joint_table():
    g = torch.Generator().manual_seed(0)
    q = torch.randn(5, 4, 4, generator=g)
    table = joint_q_table(q)
    assert table.shape == (5, 256)
    torch.testing.assert_close(torch.logsumexp(table, -1), vdn_logsumexp(q))
    # the joint table is indexed like joint_index: Q_tot(a) = sum_i Q_i(a_i)
    a = torch.tensor([[1, 0, 3, 2]] * 5)
    torch.testing.assert_close(table.gather(-1, joint_index(a, 4)[:, None])[:, 0],
                               q.gather(-1, a[..., None])[..., 0].sum(-1))
    # and so the CTDE penalty (E-28) equals the joint one of Q_tot
    joint_pen = (torch.logsumexp(table, -1) - table.gather(-1, joint_index(a, 4)[:, None])[:, 0])
    torch.testing.assert_close(cql_penalty(q, a), joint_pen.mean())


def test_joint_actions_round_trip():
    a = np.array([[0, 1, 2, 3], [3, 3, 3, 3], [0, 0, 0, 0]])
    j = joint_index(a, 4)
    np.testing.assert_array_equal(j, [0 + 4 + 32 + 192, 255, 0])
    np.testing.assert_array_equal(split_joint(j, 4, 4), a)
    np.testing.assert_array_equal(split_joint(torch.as_tensor(j), 4, 4).numpy(), a)


def test_features_mark_missing_ues():
    X = np.array([[20.0, 0.5, 0.0, 0.0]], dtype=np.float32)          # one UE, one missing
    f = pf_features(X).numpy()
    np.testing.assert_allclose(f[0], [1.0, math.log(0.5) / 2, 1.0, 0.0, 0.0, 0.0], rtol=1e-6)


# ---------------------------------------------------------------------------- datasets
@pytest.fixture(scope="module")
def small_dataset():
    env = rrmbook.make_env("pf-4x20", batch=4, seed=2, episode_steps=20)
    return collect(env, rrmbook.baselines.get("greedy"), 300, seed=2)


def test_collect_fields_and_episode_bookkeeping(small_dataset):
    d = small_dataset
    assert len(d) == 300 and d.observations.shape == (300, 4, 6) and d.actions.shape == (300, 4)
    assert d.meta["behaviour"] == "greedy" and d.meta["scenario"] == "pf-4x20"
    assert not d.terminations.any()
    # each episode's 20 transitions are contiguous and end with a truncation
    ids = d.episode_ids[:20]
    assert (ids == ids[0]).all() and d.truncations[19] and not d.truncations[:19].any()
    # next_observations chain into the following observations inside an episode
    np.testing.assert_array_equal(d.next_observations[:19], d.observations[1:20])
    assert len(d.episode_returns()) == 12  # 4 copies x 75 steps: 3 whole episodes each


def test_collect_is_reproducible_and_matches_evaluate(small_dataset):
    env = rrmbook.make_env("pf-4x20", batch=4, seed=2, episode_steps=20)
    again = collect(env, rrmbook.baselines.get("greedy"), 300, seed=2)
    np.testing.assert_array_equal(again.rewards, small_dataset.rewards)
    with pytest.raises(ValueError, match="outside the top-N"):
        collect(env, rrmbook.baselines.get("tdm"), 100)
    with pytest.raises(ValueError, match="size"):
        collect(env, rrmbook.baselines.get("greedy"), 0)


def test_save_load_round_trip(tmp_path, small_dataset):
    path = save_dataset(small_dataset, tmp_path / "greedy")
    side = json.loads((tmp_path / "greedy.json").read_text())
    assert side["schema"] == "rrmbook-offline-dataset/1" and side["size"] == 300
    assert side["fields"]["observations"] == {"shape": [300, 4, 6], "dtype": "float32"}
    assert side["env_config"]["n_ues"] == 20 and side["rrmbook_version"]
    back = load_dataset(path)
    for k, v in small_dataset.arrays().items():
        np.testing.assert_array_equal(getattr(back, k), v)
    assert back.meta["behaviour"] == "greedy"


def test_corrupt_and_mismatched_files_raise_clear_errors(tmp_path, small_dataset):
    path = save_dataset(small_dataset, tmp_path / "d")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        load_dataset(path)
    save_dataset(small_dataset, tmp_path / "d")
    side = json.loads((tmp_path / "d.json").read_text())
    side["size"] = 999
    (tmp_path / "d.json").write_text(json.dumps(side))
    with pytest.raises(ValueError, match="sidecar says 999"):
        load_dataset(path)
    (tmp_path / "d.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_dataset(path)
    with pytest.raises(FileNotFoundError, match="NAME.npz"):
        load_dataset(tmp_path / "missing")


def test_datasets_with_impossible_values_are_refused(tmp_path, small_dataset):
    """Issue 18: nan rewards or observations and out-of-range actions are refused when a
    dataset is built or loaded, with the field named, before a learner sees them."""
    arrays = small_dataset.arrays()
    nan_rewards = arrays | {"rewards": np.full_like(arrays["rewards"], np.nan)}
    with pytest.raises(ValueError, match=r"'rewards' holds 300 non-finite values.*transition 0"):
        Dataset(**nan_rewards, meta=small_dataset.meta)
    actions = arrays["actions"].copy()
    actions[5, 1] = small_dataset.meta["n_actions"]
    with pytest.raises(ValueError, match=r"'actions' must lie in 0 \.\. 3, got values from 0 to 4"):
        Dataset(**(arrays | {"actions": actions}), meta=small_dataset.meta)
    # a file edited behind the sidecar's back: refused on loading, naming the file
    path = save_dataset(small_dataset, tmp_path / "d")
    with np.load(path) as f:
        edited = {k: f[k] for k in f.files}
    edited["observations"][7, 0, 0] = np.inf
    np.savez(path, **edited)
    with pytest.raises(ValueError, match=r"d\.npz: dataset field 'observations' holds 1 non-finite"):
        load_dataset(path)


def test_unreadable_offline_checkpoints_are_refused(tmp_path):
    from rrmbook.offline.checkpoints import read_checkpoint

    for name, data in {"empty.pt": b"", "text.pt": b"hello", "random.pt": bytes(range(256)) * 8}.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=rf"{name} is not a readable rrmbook offline-MARL"):
            read_checkpoint(tmp_path / name)


def test_mix_and_subset(small_dataset):
    both = mix({"a": small_dataset, "b": small_dataset})
    assert len(both) == 600 and both.meta["mixture"] == {"a": 0.5, "b": 0.5}
    assert set(both.episode_ids[:300]).isdisjoint(both.episode_ids[300:])
    assert len(small_dataset.subset(100)) == 100


# ---------------------------------------------------------------------------- learners
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("cls,config", [(SACLearner, SACConfig), (DQNLearner, DQNConfig)])
def test_shapes_and_one_update_for_every_variant(variant, cls, config, small_dataset):
    learner = cls(config(variant=variant, hidden=16, batch_size=32), 4, 6, 4, seed=0)
    heads = 1 if variant == "centralised" else 4
    assert (learner.heads, learner.head_actions) == (heads, 256 if heads == 1 else 4)
    acts = learner.act(small_dataset.observations[:7])
    assert acts.shape == (7, 4) and acts.min() >= 0 and acts.max() <= 3
    batch = {k: v[:32] for k, v in small_dataset.arrays().items()}
    stats = learner.update(batch)
    assert all(np.isfinite(v) for v in stats.values())
    env = rrmbook.make_env("pf-4x20", batch=2, seed=0, episode_steps=20)
    res = rrmbook.evaluate(env, learner.policy(), slots=40)
    assert res.avg_rates.shape == (4, 20)


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="variant"):
        SACConfig(variant="joint")
    with pytest.raises(ValueError, match="gamma"):
        CQLConfig(gamma=1.0)
    with pytest.raises(ValueError, match="critic_input"):
        SACConfig(critic_input="all")
    with pytest.raises(ValueError, match="critic_input='joint' needs variant='ctde'"):
        SACConfig(variant="independent", critic_input="joint")
    with pytest.raises(ValueError, match="eps_end"):
        DQNConfig(eps_start=0.1, eps_end=0.5)
    assert CQLConfig().cql_alpha == 1.0 and SACConfig.paper().actor_lr == 1e-5


def test_joint_critic_values_the_product_of_the_local_policies(small_dataset):
    """CTDE with a joint critic: one critic head over the 4^4 joint actions, four actors on
    their own observations; the actor loss is the soft value of the product policy,
    sum_a prod_i pi_i(a_i) (tau sum_i log pi_i(a_i) - Q(s, a)), checked by enumeration."""
    learner = SACLearner(SACConfig(variant="ctde", critic_input="joint", hidden=16,
                                   batch_size=32), 4, 6, 4, seed=0)
    assert learner.name == "sac-ctde-joint" and learner.heads == 4
    X = torch.as_tensor(small_dataset.observations[:3])
    q = learner._critic(learner.critics[0], X)
    logits = learner._heads(learner.actor, X)
    assert q.shape == (3, 1, 256) and logits.shape == (3, 4, 4)
    joint = learner._policy_logits(logits)[:, 0]                         # (3, 256)
    torch.testing.assert_close(joint.exp().sum(-1), torch.ones(3))
    logp = torch.log_softmax(logits, -1)
    tau, want = 0.3, torch.zeros(3)
    for a in range(256):
        acts = [(a // 4 ** i) % 4 for i in range(4)]                     # agent 0 fastest
        lp = sum(logp[:, i, acts[i]] for i in range(4))
        assert int(joint_index(np.array(acts), 4)) == a
        want += lp.exp() * (tau * lp - q[:, 0, a])
    got = sac_actor_loss(q, learner._policy_logits(logits), tau)
    torch.testing.assert_close(got, want.mean(), rtol=1e-4, atol=1e-5)
    stats = learner.update({k: v[:32] for k, v in small_dataset.arrays().items()})
    assert all(np.isfinite(v) for v in stats.values())
    assert learner.act(small_dataset.observations[:5]).shape == (5, 4)


def test_online_sac_resume_is_exact(tmp_path):
    cfg = SACConfig(hidden=16, batch_size=32, n_envs=4, warmup_steps=40, checkpoint_interval=10)
    kw = dict(seed=1, env_kwargs={"episode_steps": 20})
    _, full = train_sac(cfg, budget_steps=200, checkpoint_dir=tmp_path / "a", **kw)
    train_sac(cfg, budget_steps=100, checkpoint_dir=tmp_path / "b", **kw)
    _, resumed = train_sac(cfg, budget_steps=200, checkpoint_dir=tmp_path / "b", resume=True, **kw)
    # the shorter run closed a record at its budget, so only the learning state must agree
    drop = lambda r: {k: v for k, v in r.items() if k not in ("time_s", "mean_reward")}  # noqa: E731
    assert drop(resumed[-1]) == drop(full[-1])
    a, b = load_learner(tmp_path / "a" / "last.pt"), load_learner(tmp_path / "b" / "last.pt")
    for pa, pb in zip(a.actor.parameters(), b.actor.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)
    with pytest.raises(ValueError, match="another run or config"):
        train_sac(SACConfig(hidden=32, batch_size=32, n_envs=4), budget_steps=200,
                  checkpoint_dir=tmp_path / "b", resume=True, **kw)


def test_online_resume_after_a_kill_at_an_evaluation_step_keeps_the_history(tmp_path, monkeypatch):
    """Issue 18: a run killed right after a checkpoint that falls on an evaluation step, then
    resumed, ends with the history (every record, the same reward windows) and weights of an
    uninterrupted run; a fresh run into that folder is refused."""
    from rrmbook.offline import checkpoints, online

    # updates start at step 44, so every fifth update (a checkpoint) ends a multiple of 20
    cfg = SACConfig(hidden=16, batch_size=32, n_envs=4, warmup_steps=44, checkpoint_interval=5)
    kw = dict(seed=3, budget_steps=160, eval_every=20, eval_slots=40,
              env_kwargs={"episode_steps": 20})
    _, full = train_sac(cfg, checkpoint_dir=tmp_path / "a", **kw)
    saves = []
    real = checkpoints.save_checkpoint

    def save_then_die(path, state):
        real(path, state)
        saves.append(state["steps"])
        if state["steps"] == 60:          # an evaluation step (eval_every=20)
            raise KeyboardInterrupt

    monkeypatch.setattr(online, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_sac(cfg, checkpoint_dir=tmp_path / "b", **kw)
    monkeypatch.setattr(online, "save_checkpoint", real)
    assert saves[-1] == 60
    _, resumed = train_sac(cfg, checkpoint_dir=tmp_path / "b", resume=True, **kw)
    drop = lambda r: {k: v for k, v in r.items() if k != "time_s"}  # noqa: E731
    assert [drop(r) for r in resumed] == [drop(r) for r in full]
    a, b = load_learner(tmp_path / "a" / "last.pt"), load_learner(tmp_path / "b" / "last.pt")
    for pa, pb in zip(a.actor.parameters(), b.actor.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)
    with pytest.raises(FileExistsError, match="already exists from an earlier run"):
        train_sac(cfg, checkpoint_dir=tmp_path / "b", **kw)


def test_online_dqn_runs_and_checkpoints(tmp_path):
    cfg = DQNConfig(variant="independent", hidden=16, batch_size=32, n_envs=4, warmup_steps=40)
    policy, hist = train_dqn(cfg, seed=0, budget_steps=120, checkpoint_dir=tmp_path,
                             env_kwargs={"episode_steps": 20})
    learner = load_learner(tmp_path / "last.pt")
    assert learner.kind == "dqn" and hist[-1]["steps"] == 120
    obs = np.zeros((3, 4, 6), np.float32)
    np.testing.assert_array_equal(learner.act(obs), policy.learner.act(obs))


def test_cql_refuses_another_dataset(tmp_path, small_dataset):
    cfg = CQLConfig(hidden=16, batch_size=32, checkpoint_interval=5)
    train_cql(small_dataset, cfg, gradient_steps=10, checkpoint_dir=tmp_path)
    with pytest.raises(FileExistsError, match="already exists from an earlier run"):
        train_cql(small_dataset, cfg, gradient_steps=10, checkpoint_dir=tmp_path)
    other = small_dataset.subset(200)
    with pytest.raises(ValueError, match="another dataset"):
        train_cql(other, cfg, gradient_steps=20, checkpoint_dir=tmp_path, resume=True)
    _, hist = train_cql(small_dataset, cfg, gradient_steps=20, checkpoint_dir=tmp_path,
                        resume=True)
    assert hist[-1]["updates"] == 20


def test_episode_subset_draws_whole_episodes_from_every_copy():
    env = rrmbook.make_env("pf-4x20", batch=4, seed=0, episode_steps=25)
    data = collect(env, rrmbook.baselines.get("random_walk"), 4 * 25 * 5, seed=0)  # 20 episodes
    copy = data.episode_ids % 4
    assert set(copy[:125]) == {0}                       # the prefix: one copy's episodes only
    sub = data.episode_subset(260, seed=1)
    assert len(sub) == 250 and sub.meta["subset"] == {"episodes": 10, "seed": 1}
    ids, counts = np.unique(sub.episode_ids, return_counts=True)
    assert (counts == 25).all() and sub.truncations.sum() == 10      # whole episodes
    assert len(set(ids % 4)) >= 3                                     # from several copies
    big = data.episode_subset(400, seed=1)
    assert set(ids) <= set(big.episode_ids)                           # nested for one seed
    assert set(ids) != set(data.episode_subset(260, seed=2).episode_ids)
    rows = np.flatnonzero(np.isin(data.episode_ids, ids))
    np.testing.assert_array_equal(sub.actions, data.actions[rows])    # stored order
    with pytest.raises(ValueError, match="smaller than the episode"):
        data.episode_subset(10)


def test_epsilon_behaviour_explores_around_its_base():
    env = rrmbook.make_env("pf-4x20", batch=8, seed=2)
    base = rrmbook.baselines.get("pf_top1")
    data = collect(env, EpsilonBehaviour(base, 0.3), 4_000, seed=2)
    assert data.meta["behaviour"] == "pf_top1+eps0.3"
    # pf_top1 never chooses silence or a lower UE; with epsilon 0.3 an AP deviates with
    # probability 0.3 to one of its (usually 4) valid actions, 3 of which differ from top-1
    off = (data.actions != 0).mean()
    assert 0.17 < off < 0.28 and (data.actions == 3).mean() > 0.05
    same = collect(env, EpsilonBehaviour(base, 0.0), 400, seed=2)
    np.testing.assert_array_equal(same.actions, collect(env, base, 400, seed=2).actions)
    with pytest.raises(ValueError, match="epsilon"):
        EpsilonBehaviour(base, 1.5)


def test_short_ctde_run_beats_the_local_rule_it_was_logged_from():
    """CTDE-CQL (the paper's sum of per-AP critics, CQL weight 0.1) on a log of pf_top1 with
    30 % random deviations learns when an AP should stay silent, which pf_top1 never does,
    and beats pf_top1 on every evaluation seed (issue 14)."""
    env = rrmbook.make_env("pf-4x20", batch=16, seed=3)
    data = collect(env, EpsilonBehaviour(rrmbook.baselines.get("pf_top1"), 0.3), 20_000, seed=3)
    policy, _ = train_cql(data, CQLConfig(variant="ctde", hidden=64, cql_alpha=0.1), seed=0,
                          gradient_steps=2_000)
    learned, rule = [], []
    for s in (7, 8):
        ev = rrmbook.make_env("pf-4x20", batch=4, seed=s)
        learned.append(rrmbook.evaluate(ev, policy, slots=400, seed=s).score)
        rule.append(rrmbook.evaluate(ev, rrmbook.baselines.get("pf_top1"), slots=400,
                                     seed=s).score)
    assert all(a > b for a, b in zip(learned, rule, strict=True))
    assert np.mean(learned) > np.mean(rule) + 0.04


def test_short_offline_run_beats_its_behaviour_policy():
    """Centralised CQL on a random-walk dataset learns to coordinate the APs (only the
    best-placed one transmitting) and beats the random walk by a clear margin."""
    env = rrmbook.make_env("pf-4x20", batch=16, seed=3)
    data = collect(env, rrmbook.baselines.get("random_walk"), 10_000, seed=3)
    ev = rrmbook.make_env("pf-4x20", batch=4, seed=1)
    behaviour = rrmbook.evaluate(ev, rrmbook.baselines.get("random_walk"), slots=400, seed=1)
    policy, _ = train_cql(data, CQLConfig(hidden=64), seed=0, gradient_steps=1000)
    learned = rrmbook.evaluate(ev, policy, slots=400, seed=1)
    assert learned.score > 1.1 * behaviour.score
