"""The shipped MAPPO policies and the learning figures (fig12, fig13, table5, scaling), with
tiny training budgets so the whole pipeline runs in seconds."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

import rrmbook
from rrmbook import experiments
from rrmbook.experiments import common, learning
from rrmbook.experiments import zoo as rm
from rrmbook.marl import MAPPOPolicy, export_policy, load_checkpoint, load_policy, train


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """Every shipped policy trained for one update of 2 copies x 64 slots, and the
    package's own policy folder replaced by an empty one (``tmp_path/package``)."""
    monkeypatch.setattr(rm, "data_dir", lambda: tmp_path / "package")
    table = {n: dataclasses.replace(p, budget_slots=128) if isinstance(p, rm.ShippedPolicy)
             else p for n, p in rm.SHIPPED.items()}
    monkeypatch.setattr(rm, "SHIPPED", table)
    monkeypatch.setattr(rm.ShippedPolicy, "config",
                        lambda self: rrmbook.marl.MAPPOConfig.laptop(mode=self.mode, n_envs=2,
                                                                    num_minibatches=2))
    monkeypatch.setattr(rm, "_retrained", set())
    return table


def test_registry_names_and_figures():
    assert all(p.figure in experiments.FIGURES for p in rm.SHIPPED.values())
    for methods in common.MARL_POLICIES.values():
        assert set(methods.values()) <= set(rm.SHIPPED)
    assert set(learning.TABLE5_POLICIES.values()) <= set(rm.SHIPPED)
    with pytest.raises(ValueError, match="unknown shipped policy"):
        rm.policy_path("nope")


def test_policy_file_round_trip(tmp_path):
    cfg = rrmbook.marl.MAPPOConfig(n_envs=2, num_minibatches=2)
    policy, history = train(cfg, "paper-cg8", "heavy", seed=3, budget_slots=128,
                            checkpoint_dir=tmp_path)
    small = export_policy(tmp_path / "last.pt", tmp_path / "p.pt")
    assert small.stat().st_size < (tmp_path / "last.pt").stat().st_size
    state = load_checkpoint(small, formats=("rrmbook-mappo-policy/1",))
    assert "optimizer" not in state and "critic" not in state
    assert len(state["history"][0]["agent_reward"]) == 4
    with pytest.raises(ValueError, match="not a rrmbook MAPPO checkpoint"):
        load_checkpoint(small)  # a policy file cannot resume training
    env = rrmbook.make_env("paper-cg8", load="heavy", seed=0)
    a = rrmbook.evaluate(env, load_policy(small, deterministic=True), slots=60, seed=1)
    b = rrmbook.evaluate(env, load_policy(tmp_path / "last.pt", deterministic=True), slots=60,
                         seed=1)
    np.testing.assert_array_equal(a.delays, b.delays)


def test_get_policy_trains_missing_then_reuses(tiny, tmp_path):
    policy = rm.get_policy("cg8-heavy-shared", tmp_path)
    assert isinstance(policy, MAPPOPolicy) and policy.name == "mappo-shared"
    path = rm.policy_path("cg8-heavy-shared", tmp_path)
    assert path.is_file() and not (path.parent / ".cg8-heavy-shared").exists()
    stamp = path.stat().st_mtime_ns
    rm.get_policy("cg8-heavy-shared", tmp_path)
    assert path.stat().st_mtime_ns == stamp  # not trained again


def test_missing_policy_names_the_command(tiny, tmp_path):
    with pytest.raises(FileNotFoundError, match="rrmbook reproduce fig12"):
        rm.get_policy("hex19-heavy-shared", tmp_path / "out", train_missing=False)
    # a policy shipped in the package is used when the output folder lacks it
    rm.ensure_policy("cg8-heavy-shared")  # into the (patched) package folder
    assert rm.get_policy("cg8-heavy-shared", tmp_path / "out", train_missing=False).name \
        == "mappo-shared"
    assert not rm.policy_path("cg8-heavy-shared", tmp_path / "out").exists()


def test_interrupted_training_resumes(tiny, tmp_path, monkeypatch):
    name = "cg8-heavy-separate"
    spec = rm.SHIPPED[name]
    work = rm.policies_dir(tmp_path) / f".{name}"
    # an interrupted run: a checkpoint after one of two updates
    monkeypatch.setitem(rm.SHIPPED, name, dataclasses.replace(spec, budget_slots=256))
    train(rm.SHIPPED[name].config(), spec.scenario, spec.load, seed=spec.seed, budget_slots=256,
          checkpoint_dir=work, callback=lambda policy, record: True)
    assert load_checkpoint(work / "last.pt")["updates"] == 1
    rm.ensure_policy(name, tmp_path)
    state = load_checkpoint(rm.policy_path(name, tmp_path), formats=("rrmbook-mappo-policy/1",))
    assert state["updates"] == 2 and len(state["history"]) == 2


def test_queue_growth_and_labels():
    T = 8
    trace = np.zeros((T, 3))
    trace[:, 2] = np.arange(T) * 10.0  # device 2 (agent 1) grows by 10 packets per slot
    growth = learning.queue_growth(trace, owner=np.array([0, 0, 1]), n_agents=2)
    # last quarter (slots 6, 7) mean 65, second quarter (2, 3) mean 25
    np.testing.assert_allclose(growth, [0.0, 40.0])
    assert learning.stability_label(growth, 20.0) == "unstable"
    assert learning.stability_label(np.array([0.0, 1.0, 30.0]), 20.0) == "mixed"
    assert learning.stability_label(np.array([0.0, 1.0, 3.0]), 20.0) == "good"


@pytest.mark.parametrize("figure", ["fig12", "fig13", "table5", "scaling", "fig8", "table4"])
def test_learning_figures_write_json_and_png(tiny, tmp_path, figure, monkeypatch):
    monkeypatch.setattr(learning, "SCALING_RINGS", [2, 3])
    path = experiments.reproduce(figure, out_dir=tmp_path, slots=30, retrain=True)
    data = json.loads(path.read_text())
    assert (tmp_path / f"{figure}.png").is_file()
    if figure in ("fig12", "fig13"):
        assert data["slots"] == [128] and len(data["mean_reward"]) == 1
        assert len(data["agent_reward"][0]) == 19
    elif figure == "table5":
        assert set(data["table"]) == {"light", "medium", "heavy"}
        for row in data["table"].values():
            assert set(row) == set(learning.TABLE5_LOADS)
            assert all(c["label"] in ("good", "mixed", "unstable") for c in row.values())
    elif figure == "scaling":
        assert data["cells"] == [19, 37]
        assert set(data["table"]["37"]) == {"fp", "llq", "full_power", "mappo_shared"}
    elif figure == "fig8":
        assert {"mappo_shared", "mappo_separate"} <= set(data["table"]["heavy"])
    else:
        assert {"marl_shared", "marl_separate"} <= set(data["times"])


def test_half_precision_policy_file(tmp_path):
    cfg = rrmbook.marl.MAPPOConfig(n_envs=2, num_minibatches=2)
    train(cfg, "paper-cg8", "heavy", seed=4, budget_slots=128, checkpoint_dir=tmp_path)
    full = export_policy(tmp_path / "last.pt", tmp_path / "full.pt")
    half = export_policy(full, tmp_path / "half.pt", half=True)  # from a policy file too
    state = load_checkpoint(half, formats=("rrmbook-mappo-policy/1",))
    assert all(v.dtype == torch.float16 for v in state["actor"].values())
    assert half.stat().st_size < 0.75 * full.stat().st_size
    a, b = load_policy(full), load_policy(half)
    for (name, p), q in zip(a.actor.state_dict().items(), b.actor.state_dict().values(),
                            strict=True):
        assert q.dtype == torch.float32, name
        torch.testing.assert_close(p, q, rtol=2e-3, atol=1e-4)


@pytest.mark.parametrize("name", sorted(n for n, p in rm.SHIPPED.items()
                                         if isinstance(p, rm.ShippedPolicy)))
def test_shipped_policy_files_load_and_match_their_run(name):
    spec = rm.SHIPPED[name]
    path = rm.policy_path(name)
    assert path.is_file(), f"missing {path}: run `rrmbook reproduce {spec.figure} " \
                           f"--out rrmbook/data`"
    assert path.stat().st_size < 4_000_000
    state = load_checkpoint(path, formats=("rrmbook-mappo-policy/1",))
    assert state["run"]["scenario"] == spec.scenario and state["run"]["load"] == spec.load
    assert state["config"]["mode"] == spec.mode and state["slots"] >= spec.budget_slots
    policy = rm.get_policy(name, train_missing=False)
    env = rrmbook.make_env(spec.scenario, load=spec.load, seed=0)
    assert rrmbook.evaluate(env, policy, slots=20, seed=0).arrived > 0


def test_provenance_of_shipped_policies_and_learners():
    policy = rm.provenance("cg8-heavy-shared")
    assert policy["entry"] is rm.SHIPPED["cg8-heavy-shared"]
    assert policy["run"]["scenario"] == "paper-cg8" and policy["config"]["mode"] == "shared"
    assert len(policy["history"]) == policy["updates"] > 0
    learner = rm.provenance("pf-sac")
    assert learner["run"]["scenario"] == "pf-4x20" and learner["config"]["variant"] == "centralised"
    assert learner["updates"] > 0
    assert [h["steps"] for h in learner["history"]][-1] == rm.SHIPPED["pf-sac"].budget_steps
    with pytest.raises(ValueError, match="unknown shipped policy or learner"):
        rm.provenance("nope")
