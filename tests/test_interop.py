"""Interop (issue 18, item 5): flat action spaces, truncation reasons in ``infos``, the batched
vector adapter, datasets collected on every model family, and the Minari export."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.test import parallel_api_test

import rrmbook
from rrmbook.envs.pettingzoo_env import (
    ActionCodec,
    RRMParallelEnv,
    RRMVectorEnv,
    _reason_names,
)
from rrmbook.offline import Dataset, collect, load_dataset, mix, save_dataset, to_minari
from rrmbook.scenarios import make_vector_env

SHORT = {"paper-cg8": {"episode_slots": 25}, "paper-hex19": {"episode_slots": 25},
         "pf-4x20": {"episode_steps": 25}}


def _env(scenario, batch=1, seed=0, **kw):
    return rrmbook.make_env(scenario, batch=batch, seed=seed, **(SHORT[scenario] | kw))


def _silent(env):
    """The joint all-silent action of a queueing env, (B, K, H) or (B, K, H, 2)."""
    shape = (env.batch, env.n_agents, env.n_subbands) + ((2,) if env.family == "cellular" else ())
    return np.zeros(shape, dtype=np.int64)


# ---------------------------------------------------------------------------- flat actions
@pytest.mark.parametrize("scenario", ["paper-cg8", "paper-hex19", "pf-4x20"])
def test_parallel_api_with_flat_actions(scenario):
    # 60 cycles of 25-slot episodes: the test also goes through truncation and resets
    env = RRMParallelEnv(_env(scenario), flat_actions=True)
    assert isinstance(env.action_space("agent_0"), spaces.Discrete)
    parallel_api_test(env, num_cycles=60)


def test_parallel_api_with_one_dimensional_multidiscrete():
    env = RRMParallelEnv(_env("paper-hex19"), flat_actions="multidiscrete")
    sp = env.action_space("agent_3")
    assert isinstance(sp, spaces.MultiDiscrete) and sp.nvec.tolist() == [4, 6, 4, 6, 4, 6]
    parallel_api_test(env, num_cycles=30)


def test_flat_action_sizes_and_modes():
    assert RRMParallelEnv(_env("paper-cg8"), flat_actions=True).action_space("agent_0").n == 27
    assert RRMParallelEnv(_env("paper-hex19"), flat_actions="discrete") \
        .action_space("agent_0").n == (4 * 6) ** 3
    assert RRMParallelEnv(_env("pf-4x20"), flat_actions=True).action_space("agent_0").n == 4
    # the structured spaces are unchanged by default
    assert RRMParallelEnv(_env("paper-hex19")).action_space("agent_0").shape == (3, 2)
    with pytest.raises(ValueError, match="flat_actions must be one of"):
        RRMParallelEnv(_env("paper-cg8"), flat_actions="yes")


def test_mixed_radix_bijection_hand_values_and_round_trip():
    cg = ActionCodec([3, 3, 3])
    assert cg.flatten(np.array([2, 0, 1])) == 2 * 9 + 0 * 3 + 1  # first subband most significant
    every = cg.unflatten(np.arange(27))
    assert every.shape == (27, 3) and len({tuple(a) for a in every.tolist()}) == 27
    np.testing.assert_array_equal(cg.flatten(every), np.arange(27))
    cell = ActionCodec(np.tile([4, 6], (3, 1)))                     # (H, 2): (device, power)
    a = np.array([[1, 2], [0, 5], [3, 0]])
    assert cell.flatten(a) == (1 * 6 + 2) * 24 ** 2 + (0 * 6 + 5) * 24 + (3 * 6 + 0)
    rng = np.random.default_rng(0)
    batch = np.stack([rng.integers(0, 4, (5, 7, 3)), rng.integers(0, 6, (5, 7, 3))], axis=-1)
    flat = cell.flatten(batch)
    assert flat.shape == (5, 7) and flat.min() >= 0 and flat.max() < cell.n
    np.testing.assert_array_equal(cell.unflatten(flat), batch)
    np.testing.assert_array_equal(cell.flatten(cell.unflatten(np.arange(cell.n))),
                                  np.arange(cell.n))
    with pytest.raises(ValueError, match="0 .. nvec - 1"):
        cell.flatten(np.array([[4, 0], [0, 0], [0, 0]]))
    with pytest.raises(ValueError, match=r"0 \.\. 13823"):
        cell.unflatten(13824)


@pytest.mark.parametrize("scenario", ["paper-cg8", "paper-hex19"])
def test_flat_actions_step_the_env_exactly_as_structured_ones(scenario):
    flat, plain = (RRMParallelEnv(_env(scenario, seed=4), flat_actions=m) for m in (True, False))
    flat.reset(seed=4)
    plain.reset(seed=4)
    sp = plain.action_space("agent_0")
    sp.seed(1)
    for _ in range(10):
        acts = {a: sp.sample() for a in plain.possible_agents}
        o1, r1, _, _, _ = plain.step(acts)
        o2, r2, _, _, _ = flat.step({a: flat.flatten_action(x) for a, x in acts.items()})
        assert r1 == r2
        for a in o1:
            np.testing.assert_array_equal(o1[a], o2[a])
    assert flat.unflatten_action(flat.flatten_action(acts["agent_1"])).tolist() == \
        acts["agent_1"].tolist()


# ---------------------------------------------------------------------------- truncation
@pytest.mark.parametrize("scenario", ["paper-cg8", "paper-hex19"])
def test_a_queue_overflow_is_named_in_infos(scenario):
    par = RRMParallelEnv(_env(scenario, load="heavy", max_queue=1, episode_slots=1000))
    par.reset(seed=0)
    silent = {a: _silent(par.env)[0, k] for k, a in enumerate(par.possible_agents)}
    for _ in range(200):
        _, _, term, trunc, infos = par.step(silent)
        if any(trunc.values()):
            break
        assert infos["agent_0"] == {"truncation": None, "time_limit": False,
                                    "queue_overflow": False}
    assert all(trunc.values()) and not any(term.values())
    assert par.env.queue_packets().max() > 1
    assert infos["agent_2"] == {"truncation": "queue_overflow", "time_limit": False,
                                "queue_overflow": True}


@pytest.mark.parametrize("scenario", ["paper-cg8", "paper-hex19", "pf-4x20"])
def test_a_time_limit_is_named_in_infos(scenario):
    kw = {"episode_steps": 3} if scenario == "pf-4x20" else {"episode_slots": 3, "max_queue": None}
    par = RRMParallelEnv(_env(scenario, **kw), flat_actions=True)
    par.reset(seed=0)
    reasons = []
    for _ in range(3):
        _, _, _, trunc, infos = par.step({a: 0 for a in par.agents})
        reasons.append(infos["agent_0"]["truncation"])
    assert reasons == [None, None, "time_limit"] and all(trunc.values())
    assert infos["agent_1"]["time_limit"] and not infos["agent_1"]["queue_overflow"]


def test_both_reasons_in_one_slot_report_the_overflow():
    t = np.array([True, True, True, False])
    names = _reason_names(np.array([True, False, True, False]),
                          np.array([False, True, True, False]), t)
    assert names.tolist() == ["time_limit", "queue_overflow", "queue_overflow", None]


def test_pf_adapter_returns_the_episode_s_last_observation_at_truncation():
    par = RRMParallelEnv(_env("pf-4x20", episode_steps=2))
    ref = _env("pf-4x20", episode_steps=2)
    par.reset(seed=5)
    ref.reset(seed=5)
    for _ in range(2):
        obs, *_ = par.step({a: 3 for a in par.agents})
        res = ref.step(np.full((1, 4), 3))
    np.testing.assert_array_equal(np.stack([obs[a] for a in par.possible_agents]),
                                  res.final_obs.X[0])


# ---------------------------------------------------------------------------- vector adapter
def test_vector_spaces_and_shapes():
    vec = make_vector_env("paper-hex19", load="heavy", batch=5, seed=0)
    assert rrmbook.make_vector_env is make_vector_env
    assert vec.num_envs == 5 and vec.possible_agents[-1] == "agent_18"
    assert vec.single_action_space("agent_0").shape == (3, 2)
    assert vec.action_space("agent_0").shape == (5, 3, 2)
    assert vec.observation_space("agent_0").shape == (5, 234)
    obs, infos = vec.reset(seed=0)
    assert obs["agent_4"].shape == (5, 234) and obs["agent_4"].dtype == np.float32
    assert vec.observation_space("agent_4").contains(obs["agent_4"])
    acts = {a: vec.action_space(a).sample() for a in vec.agents}
    obs, rew, term, trunc, infos = vec.step(acts)
    assert rew["agent_0"].shape == (5,) and trunc["agent_0"].shape == (5,)
    assert set(infos["agent_0"]) == {"truncation", "time_limit", "queue_overflow"}
    flat = make_vector_env("paper-hex19", batch=5, flat_actions=True)
    assert flat.action_space("agent_0") == spaces.MultiDiscrete([13824] * 5)
    with pytest.raises(ValueError, match="shape"):
        vec.step({a: np.zeros((4, 3, 2), dtype=np.int64) for a in vec.agents})


@pytest.mark.parametrize("scenario", ["paper-cg8", "paper-hex19"])
def test_vector_adapter_equals_the_batched_env_with_its_resets(scenario):
    """Same seed, same actions: the vector adapter returns the batched env's arrays, and a
    copy cut by its time limit or an overflow restarts as ``reset_copies`` restarts it."""
    kw = {"load": "heavy", "episode_slots": 7, "max_queue": 4}
    vec = RRMVectorEnv(_env(scenario, batch=6, seed=3, **kw), flat_actions=True)
    ref = _env(scenario, batch=6, seed=3, **kw)
    obs, _ = vec.reset(seed=3)
    x = ref.reset(seed=3).X
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(25):
        np.testing.assert_array_equal(np.stack([obs[a] for a in vec.possible_agents], 1), x)
        joint = rng.integers(0, vec.single_action_space("agent_0").n, (6, ref.n_agents))
        obs, rew, term, trunc, infos = vec.step(joint)     # a joint array is accepted too
        res = ref.step(vec.unflatten_action(joint))
        np.testing.assert_array_equal(np.stack([rew[a] for a in vec.possible_agents], 1),
                                      res.rewards)
        np.testing.assert_array_equal(trunc["agent_0"], res.truncated)
        assert not term["agent_0"].any()
        x = res.obs.X
        info = infos["agent_1"]
        if res.truncated.any():
            np.testing.assert_array_equal(info["final_observation"], x[:, 1])
            assert info["_final_observation"].tolist() == res.truncated.tolist()
            seen.update(r for r in info["truncation"][res.truncated])
            x = ref.reset_copies(res.truncated).X
        assert [r is None for r in info["truncation"]] == (~res.truncated).tolist()
    assert seen == {"time_limit", "queue_overflow"}


def test_vector_adapter_equals_the_batched_pf_env():
    vec = RRMVectorEnv(_env("pf-4x20", batch=4, seed=1, episode_steps=5))
    ref = _env("pf-4x20", batch=4, seed=1, episode_steps=5)
    obs, _ = vec.reset(seed=1)
    ref.reset(seed=1)
    rng = np.random.default_rng(2)
    for t in range(12):
        joint = rng.integers(0, 4, (4, 4))
        obs, rew, _, trunc, infos = vec.step({a: joint[:, k] for k, a in
                                              enumerate(vec.possible_agents)})
        res = ref.step(joint)
        np.testing.assert_array_equal(np.stack([obs[a] for a in vec.possible_agents], 1),
                                      res.obs.X)
        np.testing.assert_array_equal(rew["agent_2"], res.reward)
        assert trunc["agent_0"].all() == (t % 5 == 4)
        if t % 5 == 4:
            np.testing.assert_array_equal(infos["agent_3"]["final_observation"],
                                          res.final_obs.X[:, 3])
            assert set(infos["agent_3"]["truncation"]) == {"time_limit"}


# ---------------------------------------------------------------------------- datasets
@pytest.fixture(scope="module")
def cg_dataset():
    env = _env("paper-cg8", batch=4, seed=2, load="heavy", episode_slots=30)
    return collect(env, rrmbook.baselines.get("gms"), 250, seed=2)


@pytest.fixture(scope="module")
def hex_dataset():
    env = _env("paper-hex19", batch=3, seed=2, load="heavy", episode_slots=20, max_queue=3)
    return collect(env, rrmbook.baselines.get("random"), 150, seed=2)


def test_collect_on_a_conflict_graph(cg_dataset, tmp_path):
    d = cg_dataset
    assert len(d) == 250 and d.observations.shape == (250, 4, 6) and d.actions.shape == (250, 4, 3)
    assert d.meta["family"] == "conflict" and d.meta["action_shape"] == [3]
    assert d.meta["action_nvec"] == [3, 3, 3] and d.meta["n_actions"] == 3
    assert d.meta["env_config"]["graph"]["nodes"] == 8 and not d.terminations.any()
    # copy-major, whole episodes: 30 transitions each, ending with a truncation
    assert (d.episode_ids[:30] == d.episode_ids[0]).all() and d.truncations[29]
    assert not d.truncations[:29].any() and d.episode_ids[30] != d.episode_ids[0]
    np.testing.assert_array_equal(d.next_observations[:29], d.observations[1:30])
    assert d.meta["truncation_reasons"] == {"time_limit": int(d.truncations.sum()),
                                            "queue_overflow": 0}
    # the team reward is the mean of the agents' individual rewards R_k
    env = _env("paper-cg8", batch=4, seed=2, load="heavy", episode_slots=30)
    env.reset(seed=2)
    first = env.step(d.actions[[0, 63, 126, 189]]).rewards.mean(axis=1)  # copies' first rows
    np.testing.assert_allclose(d.rewards[[0, 63, 126, 189]], first, rtol=1e-6)
    # reproducible, and a save/load round trip keeps every array and the sidecar
    again = collect(_env("paper-cg8", batch=4, seed=2, load="heavy", episode_slots=30),
                    rrmbook.baselines.get("gms"), 250, seed=2)
    for k, v in d.arrays().items():
        np.testing.assert_array_equal(getattr(again, k), v)
    back = load_dataset(save_dataset(d, tmp_path / "cg"))
    for k, v in d.arrays().items():
        np.testing.assert_array_equal(getattr(back, k), v)
    assert back.meta["action_shape"] == [3] and len(mix({"a": d, "b": back})) == 500


def test_collect_on_a_multi_cell_network(hex_dataset, tmp_path):
    d = hex_dataset
    assert d.observations.shape == (150, 19, 234) and d.actions.shape == (150, 19, 3, 2)
    assert d.meta["action_nvec"] == [4, 6] and d.meta["n_actions"] == 6
    assert d.actions[..., 0].max() <= 3 and d.actions[..., 1].max() <= 5
    reasons = d.meta["truncation_reasons"]
    assert reasons["queue_overflow"] > 0 and sum(reasons.values()) == int(d.truncations.sum())
    # an episode cut by an overflow is shorter than the time limit; the next one starts empty
    ids, lengths = np.unique(d.episode_ids, return_counts=True)
    assert lengths.min() < 20
    back = load_dataset(save_dataset(d, tmp_path / "hex"))
    for k, v in d.arrays().items():
        np.testing.assert_array_equal(getattr(back, k), v)
    # every action entry is checked against its own number of choices
    bad = d.arrays()
    bad["actions"] = bad["actions"].copy()
    bad["actions"][3, 2, 1, 0] = 5  # device 5 < n_actions = 6, but only 4 device choices
    with pytest.raises(ValueError, match=r"nvec = \[4, 6\]"):
        Dataset(**bad, meta=d.meta)


def test_collect_refuses_continuous_powers_and_layout_draws():
    env = _env("paper-hex19", batch=2)
    powers = rrmbook.FunctionPolicy(
        lambda obs: rrmbook.envs.LinkPowers(np.zeros((2, 3, env.n_devices))), name="zero")
    with pytest.raises(ValueError, match="LinkPowers"):
        collect(env, powers, 10)
    with pytest.raises(ValueError, match="family"):
        collect(object(), rrmbook.baselines.get("random"), 10)


def test_pf_datasets_keep_their_sidecar(tmp_path):
    d = collect(_env("pf-4x20", batch=2, seed=0, episode_steps=10),
                rrmbook.baselines.get("greedy"), 40, seed=0)
    assert d.actions.shape == (40, 4)
    assert set(d.meta) == {"schema", "size", "seed", "batch", "behaviour", "mixture",
                           "rrmbook_version", "scenario", "env_config", "n_agents", "obs_dim",
                           "n_actions"}


# ---------------------------------------------------------------------------- Minari
def test_to_minari_names_the_extra_when_minari_is_missing(monkeypatch, cg_dataset, tmp_path):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    monkeypatch.setitem(sys.modules, "minari", None)
    with pytest.raises(ImportError, match=r"rrmbook\[minari\]"):
        to_minari(cg_dataset, "rrmbook/cg8/gms-v0")


@pytest.mark.parametrize("which", ["cg", "hex", "pf"])
def test_to_minari_round_trip(which, cg_dataset, hex_dataset, tmp_path, monkeypatch):
    minari = pytest.importorskip("minari")
    pytest.importorskip("h5py")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    d = {"cg": cg_dataset, "hex": hex_dataset,
         "pf": collect(_env("pf-4x20", batch=2, seed=0, episode_steps=10),
                       rrmbook.baselines.get("greedy"), 50, seed=0)}[which]
    with pytest.warns(UserWarning):  # Minari asks for an env spec we do not have
        to_minari(d, f"rrmbook/{which}/test-v0", author="tests", author_email="none",
                  code_permalink="none")
    m = minari.load_dataset(f"rrmbook/{which}/test-v0")
    ids, first = np.unique(d.episode_ids, return_index=True)
    assert m.total_episodes == len(ids) and m.total_steps == len(d)
    assert m.action_space.shape == d.actions.shape[1:]
    assert m.observation_space.shape == d.observations.shape[1:]
    eps = list(m.iterate_episodes())
    cat = {k: np.concatenate([getattr(e, k) for e in eps])
           for k in ("actions", "rewards", "terminations", "truncations")}
    for k, v in cat.items():
        assert v.dtype == getattr(d, k).dtype
        np.testing.assert_array_equal(v, getattr(d, k))
    np.testing.assert_array_equal(np.concatenate([e.observations[:-1] for e in eps]),
                                  d.observations)
    np.testing.assert_array_equal(np.concatenate([e.observations[1:] for e in eps]),
                                  d.next_observations)
    assert m.storage.metadata["algorithm_name"] == d.meta["behaviour"]
    with pytest.raises(ValueError, match="already exists"):
        to_minari(d, f"rrmbook/{which}/test-v0")


def test_to_minari_refuses_split_or_broken_episodes(cg_dataset, tmp_path, monkeypatch):
    pytest.importorskip("minari")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    arrays = cg_dataset.arrays()
    split = np.r_[0:15, 30:60, 15:30, 60:250]                # episode 0 in two blocks
    with pytest.raises(ValueError, match="contiguous"):
        to_minari(Dataset(**{k: v[split] for k, v in arrays.items()}, meta=cg_dataset.meta),
                  "rrmbook/cg/never-v0")
    backwards = np.r_[np.arange(29, -1, -1), 30:250]           # one episode's rows reversed
    with pytest.raises(ValueError, match=r"next_observations\[0\] is not observations\[1\]"):
        to_minari(Dataset(**{k: v[backwards] for k, v in arrays.items()}, meta=cg_dataset.meta),
                  "rrmbook/cg/never-v0")
