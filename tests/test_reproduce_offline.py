"""The offline-MARL figure pipeline (pf-fig4 ... pf-fig7) end to end at tiny budgets: learners
trained when missing, exported without their replay memory, datasets collected from them,
CQL runs, result files and plots."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from rrmbook import experiments
from rrmbook.experiments import offline_marl as ro
from rrmbook.experiments import zoo


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    small = {"n_envs": 4, "warmup_steps": 64, "batch_size": 32, "hidden": 16}
    table = {n: dataclasses.replace(r, budget_steps=200, overrides=small)
             if isinstance(r, zoo.OnlineRun) else r for n, r in zoo.SHIPPED.items()}
    monkeypatch.setattr(zoo, "SHIPPED", table)
    monkeypatch.setattr(zoo, "_EVAL_EVERY", 100)
    monkeypatch.setattr(zoo, "_EVAL_SLOTS", 200)
    monkeypatch.setattr(ro, "_EVAL_SLOTS", 200)
    monkeypatch.setattr(ro, "DATASET_SIZE", 400)
    monkeypatch.setattr(ro, "CQL_STEPS", 10)
    monkeypatch.setattr(ro, "SIZES", [300, 400])
    monkeypatch.setattr(zoo, "data_dir", lambda: tmp_path / "pkg")
    monkeypatch.setattr(zoo, "_retrained", set())
    return tmp_path


def test_learners_are_trained_exported_and_reloaded(tiny):
    learner = zoo.get_learner("pf-sac", tiny / "out")
    path = zoo.learner_path("pf-sac", tiny / "out")
    assert path.is_file() and not (path.parent / ".pf-sac").exists()
    assert path.stat().st_size < 200_000  # no replay memory inside
    again = zoo.get_learner("pf-sac", tiny / "out")
    obs = np.random.default_rng(0).normal(size=(5, 4, 6)).astype(np.float32)
    np.testing.assert_array_equal(again.act(obs), learner.act(obs))
    assert [h["steps"] for h in zoo.learning_curve("pf-sac", tiny / "out")] == [100, 200]
    with pytest.raises(ValueError, match="unknown shipped learner"):
        zoo.learner_path("pf-ppo")


def test_dataset_kinds(tiny):
    for kind in ro.DATASET_KINDS:
        d = ro.make_dataset(kind, 300, tiny / "out")
        assert len(d) == 300
    assert set(ro.make_dataset("baselines", 300, tiny / "out").meta["mixture"]) == \
        {"random_walk", "greedy", "itlinq"}
    rnd = ro.make_dataset("random", 3000, tiny / "out")
    assert rnd.meta["behaviour"] == "random"
    # every AP's action uniform over its valid ones: silence in about a quarter of rows
    silent = (rnd.actions == 3).mean()
    assert 0.2 < silent < 0.3
    with pytest.raises(ValueError, match="kind"):
        ro.make_dataset("tdm", 300)


@pytest.mark.parametrize("figure", ["pf-fig4", "pf-fig5", "pf-fig6", "pf-fig7"])
def test_figures_write_json_and_png(tiny, figure):
    path = experiments.reproduce(figure, out_dir=tiny / "out", slots=200, batch=1)
    assert path.is_file() and path.with_suffix(".png").is_file()
    data = json.loads(path.read_text())
    assert data["figure"] == figure and data["scenario"] == "pf-4x20"
    rows = data.get("methods") or data["quality"]
    for row in rows.values():
        assert {"sum_rate", "p5_rate", "score"} <= set(row)


def test_make_dataset_logs_the_reward_of_the_env_it_is_given():
    from rrmbook.experiments.offline_marl import make_dataset

    pf16 = make_dataset("baselines", 600, seed=3)
    util = make_dataset("baselines", 600, seed=3, env={"reward": "utility"})
    np.testing.assert_array_equal(pf16.actions, util.actions)      # same behaviour
    assert util.meta["env_config"]["reward"] == "utility"
    assert pf16.meta["env_config"]["reward"] == "pf"
    assert np.abs(util.rewards).mean() < 0.2 * np.abs(pf16.rewards).mean()
