"""Tests of rrmbook.analysis on multi-cell networks: decision logs of multi-cell runs and learning-curve
summaries (chapter 7)."""

from __future__ import annotations

import numpy as np
import pytest

import rrmbook
from rrmbook import baselines
from rrmbook.analysis import (
    CellularLog,
    DecisionRecorder,
    halfway_slots,
    hex_rings,
    power_level_shares,
    power_vs_queue,
    record_decisions,
    service_choices,
    settling_slots,
)


@pytest.fixture(scope="module")
def small_env():
    return rrmbook.cellular(rings=1, devices_per_cell=2, seed=0, load=20.0)


def test_recorder_does_not_change_the_run(small_env):
    pol = baselines.get("fp", family="cellular")
    plain = rrmbook.evaluate(small_env, pol, slots=60, seed=3)
    res, log = record_decisions(small_env, baselines.get("fp", family="cellular"), slots=60, seed=3)
    assert np.array_equal(plain.delays, res.delays) and res.policy == plain.policy
    T, B, H, N = log.link_power.shape
    assert (T, B, H, N) == (60, 1, small_env.n_subbands, small_env.n_devices)
    assert log.queues.shape == (60, 1, N)
    assert res.information == "global"  # the genie still gets the global state


def test_full_power_log():
    env = rrmbook.cellular(rings=1, devices_per_cell=2, seed=0, load=30.0)
    _, log = record_decisions(env, baselines.get("full_power", family="cellular"), slots=80)
    shares = power_level_shares(log)
    assert shares.shape == (len(env.levels) + 1,) and np.isclose(shares.sum(), 1.0)
    assert shares[1:-1].sum() == 0                     # only silent or P_max
    served = log.served_device()
    on = served >= 0
    assert np.all(env.serving[served[on]] == np.nonzero(on)[3])   # each AP serves its own device
    choices = service_choices(log)
    assert choices["longest_queue"] == 1.0 and choices["empty_device"] == 0.0
    assert choices["on_while_empty"] == 0.0 and choices["silent_with_packets"] == 0.0
    means, counts = power_vs_queue(log, [0, 1, 1e9])
    assert counts.sum() == int((log.link_power > 0).sum())
    assert np.allclose(means[counts > 0], 23.0)


def test_hand_made_log():
    levels = np.array([1e-3, 1e-2, 1e-1])               # 0, 10, 20 dBm
    serving = np.array([0, 0, 1])
    queues = np.array([[[2.0, 5.0, 0.0]]])              # (T=1, B=1, N=3)
    power = np.zeros((1, 1, 2, 3))
    power[0, 0, 0, 0] = 1e-2                            # AP 0 serves device 0 (not its longest)
    power[0, 0, 1, 1] = 1e-1                            # AP 0 serves device 1 (longest)
    power[0, 0, 0, 2] = 1e-9                            # AP 1: practically off (FP-style)
    log = CellularLog(queues=queues, link_power=power, serving=serving, levels=levels)
    assert np.allclose(power_level_shares(log), [0.5, 0.0, 0.25, 0.25])
    assert np.allclose(power_level_shares(log, agents=[1]), [1.0, 0.0, 0.0, 0.0])
    assert np.allclose(power_level_shares(log, agents=np.array([True, False])), [0, 0, 0.5, 0.5])
    with pytest.raises(ValueError, match="empty"):
        power_level_shares(log, agents=[])
    assert log.served_device()[0, 0].tolist() == [[0, 2], [1, -1]]
    c = service_choices(log)
    assert c["longest_queue"] == 0.5 and c["empty_device"] == 0.0
    assert c["on_while_empty"] == 0.0 and c["devices_per_slot"] == 2.0
    means, counts = power_vs_queue(log, [0, 3, 10])
    assert counts.tolist() == [1, 1] and np.allclose(means, [10.0, 20.0])


def test_recorder_needs_a_queueing_env():
    env = rrmbook.make_env("pf-4x20", seed=0)
    with pytest.raises(ValueError, match="DecisionRecorder needs"):
        rrmbook.evaluate(env, DecisionRecorder(baselines.get("greedy")), slots=200)
    with pytest.raises(ValueError, match="nothing recorded"):
        DecisionRecorder(baselines.get("llq")).log()


def test_curve_summaries():
    x = np.arange(1, 101) * 1000.0
    curve = np.r_[np.linspace(-10, -50, 20), np.linspace(-50, -5, 50), np.full(30, -5.0)]
    settle = settling_slots(x, curve, tolerance=0.1, smooth=0.0)
    assert settle == x[np.flatnonzero(np.abs(curve + 5) > 0.5)[-1] + 1]
    half = halfway_slots(x, curve, smooth=0.0)
    assert curve[int(half / 1000) - 1] >= -27.5 > curve[int(half / 1000) - 2]
    both = halfway_slots(x, np.stack([curve, curve], axis=1), smooth=0.0)
    assert both.shape == (2,) and np.all(both == half)
    with pytest.raises(ValueError):
        settling_slots([], [])


def test_hex_rings():
    for rings, cells in [(1, 7), (2, 19), (4, 61)]:
        env = rrmbook.cellular(rings=rings, devices_per_cell=1, seed=0)
        r = hex_rings(env.layout)
        assert len(r) == cells and r.max() == rings
        assert np.array_equal(np.bincount(r), [1] + [6 * i for i in range(1, rings + 1)])
    with pytest.raises(ValueError, match="hexagonal"):
        hex_rings(rrmbook.make_env("paper-random19", seed=0).layout)


def test_plateau_slots_by_hand():
    from rrmbook.analysis.cellular import plateau_slots

    # plateau = mean of the last 3 = -1; points outside 10 %: -5 (x=1) and -2 (x=2), and
    # -1.05 at x=3 is inside: settles at x = 3
    assert plateau_slots([1, 2, 3, 4, 5, 6], [-5, -2, -1.05, -1, -1, -1], tail=3) == 3.0
    assert plateau_slots([1, 2], [-1, -1]) == 1.0          # flat from the start
    with pytest.raises(ValueError, match="one length"):
        plateau_slots([1, 2], [1.0])
