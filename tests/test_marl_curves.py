"""Learning curves as Zhang & Guo measured them (issue 13, Figs. 12-13): test evaluations of
the deterministic policy on a fixed seed every ``test_interval`` updates, which leave the
training itself unchanged."""

from __future__ import annotations

import pytest

from rrmbook.marl import MAPPOConfig, train
from rrmbook.marl.mappo import LOG_FIELDS, run_test_evaluation

TINY = dict(n_envs=2, rollout_slots=64, num_minibatches=1, update_epochs=1, test_slots=200,
            test_copies=2)


def _strip(history):
    return [{k: v for k, v in r.items() if k != "time_s" and not k.startswith("test_")}
            for r in history]


def test_test_evaluations_are_recorded_and_do_not_change_training(tmp_path):
    plain_policy, plain = train(MAPPOConfig(**TINY), "paper-cg8", "heavy", seed=2,
                                budget_slots=768)
    log = tmp_path / "curve.csv"
    policy, tested = train(MAPPOConfig(test_interval=2, **TINY), "paper-cg8", "heavy", seed=2,
                           budget_slots=768, log_csv=log)
    assert _strip(tested) == _strip(plain)
    # updates 2, 4, 6 (every second one, and the last)
    assert [r["update"] for r in tested if "test_mean_queue" in r] == [2, 4, 6]
    last = tested[-1]
    again = run_test_evaluation(policy, MAPPOConfig(test_interval=2, **TINY), "paper-cg8", "heavy")
    assert again == pytest.approx({k: last[k] for k in again}, nan_ok=True)
    # the reward is minus the queued packets of each neighbourhood: never above 0
    assert last["test_reward"] <= 0 <= last["test_mean_queue"]
    header = log.read_text().splitlines()[0].split(",")
    assert header == list(LOG_FIELDS)


def test_a_resumed_run_may_change_the_test_settings(tmp_path):
    config = MAPPOConfig(**TINY)
    train(config, "paper-cg8", "heavy", seed=2, budget_slots=768, checkpoint_dir=tmp_path,
          callback=lambda policy, record: record["update"] == 3)
    _, resumed = train(MAPPOConfig(test_interval=3, **TINY), "paper-cg8", "heavy", seed=2,
                       budget_slots=768, checkpoint_dir=tmp_path, resume=True)
    assert [r["update"] for r in resumed if "test_reward" in r] == [6]


def test_bad_test_settings_name_the_field():
    with pytest.raises(ValueError, match="test_interval"):
        MAPPOConfig(test_interval=0)
    with pytest.raises(ValueError, match="test_copies"):
        MAPPOConfig(test_copies=0)


def test_a_sweep_record_keeps_the_curve_of_a_tested_training(tmp_path):
    import json

    from rrmbook.experiments import sweep

    config = {k: v for k, v in TINY.items()} | {"test_interval": 2}
    spec = {"scenarios": ["paper-cg8"], "loads": ["heavy"], "seeds": [0], "slots": 40,
            "methods": [{"method": "mappo_shared",
                         "params": {"budget_slots": 768, "config": config}}]}
    sweep(spec, store=tmp_path, workers=1, progress=False)
    (record,) = [json.loads(p.read_text()) for p in (tmp_path / "cells").glob("*.json")]
    curve = record["curve"]
    assert curve["update"] == [1, 2, 3, 4, 5, 6]
    tested = [u for u, q in zip(curve["update"], curve["test_mean_queue"], strict=True) if q is not None]
    assert tested == [2, 4, 6] and curve["slots"][-1] == 768
