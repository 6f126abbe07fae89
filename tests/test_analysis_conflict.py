"""rrmbook.analysis on conflict graphs: recording decisions and measuring how a scheduler
behaves."""

from __future__ import annotations

import numpy as np
import pytest

import rrmbook
from rrmbook.analysis import (
    ConflictLog,
    aggressiveness,
    binned_mean,
    collision_share,
    record_decisions,
    reserved_subbands,
    subband_roles,
)
from rrmbook.conflict import conflict_success
from rrmbook.experiments import get_policy


def _log_from_schedule(env, schedule: np.ndarray, zeta: np.ndarray) -> ConflictLog:
    """A one-slot, one-copy log built by hand from a schedule ``(H, N)``."""
    schedule = np.asarray(schedule, dtype=bool)[None, None]
    actions = env.schedule_to_actions(schedule[0])[None]
    zpad = np.r_[zeta, 0]
    return ConflictLog(X=zpad[env.obs_index][None, None].astype(np.float32), actions=actions,
                       schedule=schedule, success=conflict_success(schedule, env.adjacency),
                       zeta=np.asarray(zeta)[None, None], owner=env.owner,
                       exclusion=env.exclusion, max_devices=env.max_devices)


def test_recorded_run_is_the_evaluated_run():
    env = rrmbook.make_env("paper-cg8", load="heavy", batch=2, seed=0)
    _, log = record_decisions(env, rrmbook.baselines.get("llq"), slots=300, seed=4)
    res = rrmbook.evaluate(env, rrmbook.baselines.get("llq"), slots=300, seed=4)
    np.testing.assert_allclose(log.queues_after().mean(axis=1), res.queue_trace)
    served = np.minimum(log.success.sum(axis=2), log.zeta).sum()
    assert served == res.delivered
    assert log.X.shape == (300, 2, 4, 6) and log.actions.shape == (300, 2, 4, 3)
    np.testing.assert_array_equal(log.own_backlog(), log.zeta.reshape(300, 2, 4, 2).sum(-1))
    assert np.all(log.neighbour_backlog() >= 0)


def test_same_seed_same_record():
    env = rrmbook.make_env("paper-cg8", load="medium", seed=0)
    _, a = record_decisions(env, rrmbook.baselines.get("qcsma"), slots=150, seed=2)
    _, b = record_decisions(env, rrmbook.baselines.get("qcsma"), slots=150, seed=2)
    _, c = record_decisions(env, rrmbook.baselines.get("qcsma"), slots=150, seed=3)
    np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.zeta, c.zeta)


def test_collision_free_baselines():
    env = rrmbook.make_env("paper-cg8", load="heavy", seed=0)
    gms = aggressiveness(record_decisions(env, rrmbook.baselines.get("gms"), 400, seed=0)[1])
    multi = aggressiveness(record_decisions(env, rrmbook.baselines.get("gms_multichannel"),
                                            400, seed=0)[1])
    for stats in (gms, multi):
        assert stats["collision_share"] == 0.0
        assert stats["non_independent_share"] == 0.0 and stats["conflicting_share"] == 0.0
        assert np.isnan(stats["conflicting_success"])            # nothing to divide
        assert stats["idle_transmit_share"] == 0.0                # empty queues stay silent
    assert gms["wasted_share"] > 0.05          # one set on every subband: service beyond zeta
    assert multi["wasted_share"] == 0.0        # planned on residual queues: never wasted


def test_directional_conflict_by_hand():
    env = rrmbook.make_env("paper-cg8", seed=0)
    schedule = np.zeros((3, 8), dtype=bool)
    schedule[0, [0, 2]] = True     # one-way conflict 0 -> 2: 0 gets through, 2 does not
    schedule[1, 0] = True          # device 0 again, alone: its queue of 1 is already served
    zeta = np.array([1, 0, 3, 0, 0, 0, 0, 0])
    log = _log_from_schedule(env, schedule, zeta)
    stats = aggressiveness(log)
    assert stats["transmissions_per_slot"] == 3
    assert stats["collision_share"] == pytest.approx(1 / 3)
    assert stats["non_independent_share"] == pytest.approx(1 / 3)   # subband 0 of 3
    assert stats["conflicting_share"] == pytest.approx(2 / 3)
    assert stats["conflicting_success"] == pytest.approx(1 / 2)
    assert stats["wasted_share"] == pytest.approx(1 / 2)
    assert stats["idle_transmit_share"] == 0.0                       # agents 2, 3 silent
    np.testing.assert_allclose(collision_share(log), [0.5, 0.0, np.nan])
    np.testing.assert_array_equal(log.subbands_used()[0, 0], [2, 1, 0, 0])


def test_idle_transmissions_counted():
    env = rrmbook.make_env("paper-cg8", seed=0)
    schedule = np.zeros((3, 8), dtype=bool)
    schedule[2, 4] = True                      # agent 2 sends from an empty device
    log = _log_from_schedule(env, schedule, np.zeros(8, dtype=np.int64))
    assert aggressiveness(log)["idle_transmit_share"] == pytest.approx(1 / 4)


def test_roles_and_reserved_subbands():
    T, B, K, H = 20, 2, 3, 3
    actions = np.zeros((T, B, K, H), dtype=np.int64)
    actions[:, 0, 0, 1] = 1                    # copy 0: agent 0 always on subband 1
    actions[:10, 0, 1, 2] = 2                  # agent 1 half the time on subband 2
    actions[:, 1, 2, 0] = 1                    # copy 1: agent 2 always on subband 0
    actions[0, 1, 2, 0] = 0                    # ... except once (19 of 20 slots)
    log = ConflictLog(X=np.zeros((T, B, K, 2), np.float32), actions=actions,
                      schedule=np.zeros((T, B, H, K), bool), success=np.zeros((T, B, H, K), bool),
                      zeta=np.zeros((T, B, K), np.int64), owner=np.arange(K),
                      exclusion=np.zeros((K, K), bool), max_devices=1)
    roles = subband_roles(log)
    assert roles.shape == (B, K, H)
    assert roles[0, 0, 1] == 1.0 and roles[0, 1, 2] == 0.5 and roles[1, 2, 0] == 0.95
    np.testing.assert_array_equal(reserved_subbands(log), [[1, -1, -1], [-1, -1, 0]])
    np.testing.assert_array_equal(reserved_subbands(log, threshold=1.0), [[1, -1, -1], [-1] * 3])
    with pytest.raises(ValueError, match="threshold"):
        reserved_subbands(log, threshold=0)
    late = log.window(10)                      # slots 10..19: agent 1 never on subband 2
    assert late.actions.shape[0] == 10 and subband_roles(late)[0, 1, 2] == 0.0
    np.testing.assert_array_equal(reserved_subbands(late, threshold=1.0), [[1, -1, -1], [-1, -1, 0]])
    with pytest.raises(ValueError, match="holds no slot"):
        log.window(20)


def test_binned_mean():
    x = np.array([0, 0, 1, 1, 1, 2, 3])
    y = np.array([0, 5, 0, 0, 9, 3, 0])
    v = np.array([1.0, 3.0, 2.0, 4.0, 7.0, 5.0, 9.0])
    means, counts = binned_mean(v, x, y, x_edges=[0, 1, 2, 3], y_edges=[0, 4, 9])
    np.testing.assert_array_equal(counts, [[1, 1], [2, 0], [1, 0]])   # y = 9 and x = 3 left out
    np.testing.assert_allclose(means, [[1.0, 3.0], [3.0, np.nan], [5.0, np.nan]])
    means, _ = binned_mean(v, x, y, [0, 1, 2, 3], [0, 4, 9], min_count=2)
    assert np.isnan(means[0, 0]) and means[1, 0] == 3.0
    with pytest.raises(ValueError, match="same size"):
        binned_mean(v, x[:-1], y, [0, 1], [0, 1])
    with pytest.raises(ValueError, match="x_edges"):
        binned_mean(v, x, y, [1, 0], [0, 1])


def test_errors():
    cg = rrmbook.make_env("paper-cg8", seed=0)
    with pytest.raises(ValueError, match="positive integer"):
        record_decisions(cg, rrmbook.baselines.get("gms"), slots=0)
    pf = rrmbook.make_env("pf-4x20", seed=0)
    with pytest.raises(ValueError, match="family 'conflict' or 'cellular'"):
        record_decisions(pf, rrmbook.baselines.get("greedy"), slots=5)


def test_shipped_policy_is_recorded_like_evaluate():
    env = rrmbook.make_env("paper-cg8", load="heavy", seed=0)
    policy = get_policy("cg8-heavy-shared")
    _, log = record_decisions(env, policy, slots=200, seed=1)
    res = rrmbook.evaluate(env, policy, slots=200, seed=1)
    np.testing.assert_allclose(log.queues_after()[:, 0], res.queue_trace)
    assert policy.information == "neighbourhood"
