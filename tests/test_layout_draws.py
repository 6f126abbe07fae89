"""Layout randomisation (issue 13, scaling): LayoutDraws gives every copy its own layout
drop and a new one when its episode ends; each copy is exactly a CellularEnv on its drop;
MAPPO trains on it and resumes exactly; bad settings fail before any work."""

from __future__ import annotations

import numpy as np
import pytest

from rrmbook.envs import CellularEnv, LayoutDraws
from rrmbook.envs.drops import FIRST_TRAINING_DROP
from rrmbook.scenarios import make_config, make_env

NB = {"max_neighbours": 5, "truncate_neighbours": True}


def _draws(batch=3, seed=4, load=30.0) -> LayoutDraws:
    return make_env("paper-hex19", load=load, batch=batch, seed=seed, layout_draws=True, **NB)


def _actions(rng, batch, env):
    d = rng.integers(0, env.max_devices + 1, size=(batch, env.n_agents, env.n_subbands))
    p = rng.integers(0, len(env.levels), size=d.shape)
    return np.stack([d, p], axis=-1)


def test_each_copy_is_a_cellular_env_on_its_own_drop():
    env = _draws()
    seeds = env.layout_seeds
    assert len(set(seeds)) == 3 and min(seeds) >= FIRST_TRAINING_DROP
    # copy 1 alone, rebuilt by hand from its drop and its own seed, sees the same slots
    alone = CellularEnv(make_config("paper-hex19", 30.0, layout_seed=seeds[1], **NB), batch=1,
                        seed=env._copy_seeds[1])
    np.testing.assert_array_equal(env.observe().X[1:2], alone.observe().X)
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = _actions(rng, 3, env)
        step, ref = env.step(a), alone.step(a[1:2])
        np.testing.assert_array_equal(step.obs.X[1:2], ref.obs.X)
        np.testing.assert_array_equal(step.rewards[1:2], ref.rewards)
    np.testing.assert_array_equal(env.queue_packets()[1:2], alone.queue_packets())
    assert env.obs_dim == alone.obs_dim and env.t == 20


def test_an_ended_episode_continues_on_a_new_drop_and_the_seed_decides_all():
    env, twin = _draws(), _draws()
    assert env.layout_seeds == twin.layout_seeds
    before = env.layout_seeds
    env.reset_copies(np.array([False, True, False]))
    after = env.layout_seeds
    assert after[0] == before[0] and after[2] == before[2] and after[1] != before[1]
    assert env.queue_packets()[1].sum() == 0
    assert _draws(seed=5).layout_seeds != before


def test_bad_settings_fail_before_any_work():
    with pytest.raises(ValueError, match="max_neighbours"):
        make_env("paper-hex19", load=30.0, layout_draws=True)
    with pytest.raises(ValueError, match="layout_seed"):
        make_env("paper-hex19", load=30.0, layout_draws=True, layout_seed=2, **NB)
    with pytest.raises(ValueError, match="layout drops"):
        make_env("paper-cg8", load=0.4, layout_draws=True)
    with pytest.raises(TypeError, match="layout_draws"):
        make_env("paper-hex19", load=30.0, layout_draws="yes", **NB)
    with pytest.raises(ValueError, match="devices"):   # random drops: cells of other sizes
        make_env("paper-random19", load=30.0, batch=8, layout_draws=True, max_devices=12, **NB)
    with pytest.raises(ValueError, match="evaluate on a CellularEnv"):
        _draws().start_recording()


def test_mappo_trains_on_layout_draws_and_resumes_exactly(tmp_path):
    from rrmbook.evaluate import evaluate
    from rrmbook.marl import MAPPOConfig, train

    config = MAPPOConfig(n_envs=2, rollout_slots=64, num_minibatches=1, update_epochs=1)
    kwargs = {"layout_draws": True, "max_queue": 2.0} | NB   # short episodes: many drops
    full_policy, full = train(config, "paper-hex19", 40.0, seed=1, budget_slots=384,
                              env_kwargs=kwargs)
    assert sum(r["episodes"] for r in full) > 0
    train(config, "paper-hex19", 40.0, seed=1, budget_slots=384, env_kwargs=kwargs,
          checkpoint_dir=tmp_path, callback=lambda policy, record: record["update"] == 2)
    policy, resumed = train(config, "paper-hex19", 40.0, seed=1, budget_slots=384,
                            env_kwargs=kwargs, checkpoint_dir=tmp_path, resume=True)
    strip = [{k: v for k, v in r.items() if k != "time_s"} for r in full]
    assert [{k: v for k, v in r.items() if k != "time_s"} for r in resumed] == strip
    # the trained policy runs on a drop it never saw, and on a bigger network
    for env in (make_env("paper-hex19", load=20.0, layout_seed=3, **NB),
                make_env("cellular", load=20.0, rings=3, **NB)):
        assert evaluate(env, policy, slots=20, seed=0).summary()["arrived"] > 0
