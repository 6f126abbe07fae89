"""Your own topology in every entry point (issue 18, item 1): a config object or a registered
scenario goes through make_env, the PettingZoo adapters, MAPPO training with checkpoints and
resume, online learners, evaluation and the command line, like the paper's scenarios."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import rrmbook
from rrmbook.cli import main
from rrmbook.envs import CellularConfig, ConflictGraphConfig
from rrmbook.marl import MAPPOConfig, load_checkpoint, train
from rrmbook.scenarios import SCENARIOS
from rrmbook.topology import random_layout


def _line_graph() -> nx.DiGraph:
    g = nx.DiGraph([(0, 1), (1, 2), (2, 3), (3, 0)])
    nx.set_node_attributes(g, {0: 0, 1: 0, 2: 1, 3: 1}, "agent")
    return g


@pytest.fixture
def registered():
    names = []

    def register(name, build, **kw):
        names.append(name)
        return rrmbook.register_scenario(name, build, overwrite=True, **kw)

    yield register
    for name in names:
        SCENARIOS.pop(name, None)


def _tiny():
    return MAPPOConfig(n_envs=2, rollout_slots=8, chunk_length=8, update_epochs=1,
                       num_minibatches=1, checkpoint_interval=1)


def test_a_config_object_is_an_environment():
    cfg = ConflictGraphConfig(graph=_line_graph(), arrival_rate=0.2)
    env = rrmbook.make_env(cfg, batch=3, seed=1)
    assert (env.n_devices, env.n_agents, env.batch) == (4, 2, 3)
    with pytest.raises(ValueError, match="config object is used as it is"):
        rrmbook.make_env(cfg, load=0.3)


def test_a_named_scenario_takes_your_graph():
    """make_env("paper-cg8", graph=G) used to fail with 'multiple values for graph'."""
    env = rrmbook.make_env("paper-cg8", load=0.3, graph=_line_graph())
    assert env.n_devices == 4 and env.n_subbands == 3


def test_register_a_config_and_use_it_everywhere(registered, tmp_path):
    layout = random_layout(n_aps=4, n_devices=8, seed=5)
    registered("my-cells", CellularConfig(layout=layout, arrival_rate=0.3),
               loads={"light": 0.2, "heavy": 0.5})
    env = rrmbook.make_env("my-cells", load="heavy", batch=2)
    assert env.config.name == "my-cells" and np.allclose(env.config.rates, 0.5)
    assert np.allclose(rrmbook.make_env("my-cells").config.rates, 0.3)   # its own rate
    par = rrmbook.make_parallel_env("my-cells", load="light", flat_actions=True)
    assert len(par.possible_agents) == 4
    vec = rrmbook.make_vector_env("my-cells", load="light", batch=3)
    obs, _ = vec.reset(seed=0)
    assert next(iter(obs.values())).shape[0] == 3
    # training with checkpoints, resume and a CSV log, as for the paper's scenarios
    _, first = train(_tiny(), "my-cells", "heavy", budget_slots=16, checkpoint_dir=tmp_path,
                     log_csv=tmp_path / "curve.csv", progress=False)
    assert load_checkpoint(tmp_path / "last.pt")["run"]["scenario"] == "my-cells"
    policy, history = train(_tiny(), "my-cells", "heavy", budget_slots=32, checkpoint_dir=tmp_path,
                            log_csv=tmp_path / "curve.csv", resume=True, progress=False)
    assert len(history) == 2 and history[0] == first[0]
    res = rrmbook.evaluate(rrmbook.make_env("my-cells", load="light"), policy, slots=40, seed=2)
    assert res.arrived > 0


def test_register_a_builder_function(registered):
    def build(rate, n=3, **overrides):
        g = nx.DiGraph()
        g.add_nodes_from((i, {"agent": i}) for i in range(n))
        g.add_edges_from((i, (i + 1) % n) for i in range(n))
        return ConflictGraphConfig(graph=g, arrival_rate=rate, **overrides)

    registered("ring", build, loads={"light": 0.1, "medium": 0.2})
    env = rrmbook.make_env("ring", n=5)
    assert env.n_devices == 5 and env.config.name == "ring" and np.allclose(env.config.rates, 0.2)


def test_bad_registrations_are_refused(registered):
    with pytest.raises(ValueError, match="cannot be replaced"):
        rrmbook.register_scenario("paper-cg8", ConflictGraphConfig(graph=_line_graph(),
                                                                   arrival_rate=0.1),
                                  overwrite=True)
    registered("mine", ConflictGraphConfig(graph=_line_graph(), arrival_rate=0.1))
    with pytest.raises(ValueError, match="already exists"):
        rrmbook.register_scenario("mine", ConflictGraphConfig(graph=_line_graph(),
                                                              arrival_rate=0.1))
    with pytest.raises(TypeError, match="must return a ConflictGraphConfig"):
        rrmbook.register_scenario("broken", lambda rate: 3)
    with pytest.raises(ValueError, match="register your own with rrmbook.register_scenario"):
        rrmbook.make_env("not-registered")


def test_the_command_line_registers_a_scenario_file(tmp_path, capsys):
    script = tmp_path / "my_net.py"
    script.write_text(
        "import networkx as nx\n"
        "import rrmbook\n"
        "from rrmbook.envs import ConflictGraphConfig\n"
        "g = nx.DiGraph([(0, 1), (1, 2), (2, 3), (3, 0)])\n"
        "nx.set_node_attributes(g, {0: 0, 1: 0, 2: 1, 3: 1}, 'agent')\n"
        "rrmbook.register_scenario('cli-line', ConflictGraphConfig(graph=g, arrival_rate=0.2),\n"
        "                          loads={'medium': 0.2}, overwrite=True)\n")
    try:
        assert main(["--register", str(script), "evaluate", "--scenario", "cli-line",
                     "--policy", "llq", "--slots", "50"]) == 0
        assert "llq on cli-line" in capsys.readouterr().out
        assert main(["--register", str(tmp_path / "missing.py"), "scenarios"]) == 2
        assert "no such file" in capsys.readouterr().err
    finally:
        SCENARIOS.pop("cli-line", None)


# ---------------------------------------------------------------- portable policies (item 2)
def test_a_shipped_policy_runs_on_bigger_networks_like_it_was_trained():
    """A policy trained on paper-hex19 (19 cells) runs on 37 and 61 cells with like=policy;
    without it the mismatch error names the fix."""
    from rrmbook.experiments import get_policy
    from rrmbook.scenarios import like_policy

    policy = get_policy("hex19-heavy-shared")
    assert like_policy(policy) == {"max_devices": 3, "max_neighbours": 5,
                                   "truncate_neighbours": True}
    for rings, cells in ((3, 37), (4, 61)):
        env = rrmbook.cellular(rings=rings, load="heavy", like=policy)
        assert env.n_agents == cells and env.obs_dim == policy.spec.obs_dim
        assert rrmbook.evaluate(env, policy, slots=20, seed=0).arrived > 0
    with pytest.raises(ValueError, match=r"obs_dim: trained 234 vs 273.*like=policy"):
        rrmbook.evaluate(rrmbook.cellular(rings=4), policy, slots=5)
    with pytest.raises(ValueError, match=r"largest cell \(4 devices\).*'max_devices': 4"):
        rrmbook.cellular(rings=3, devices_per_cell=4, like=policy)


def test_training_with_room_for_bigger_cells(tmp_path):
    """max_devices / max_neighbours above the training layout's: one policy then serves
    cells with more devices and wider neighbourhoods."""
    kwargs = {"max_devices": 4, "max_neighbours": 8, "truncate_neighbours": True}
    policy, _ = train(_tiny(), "paper-hex19", "heavy", budget_slots=16, progress=False,
                      env_kwargs=kwargs, checkpoint_dir=tmp_path)
    env = rrmbook.cellular(rings=3, devices_per_cell=4, load="heavy", like=policy)
    assert env.n_devices == 148 and rrmbook.evaluate(env, policy, slots=10).arrived > 0
    same = rrmbook.make_env("paper-hex19", load="light", like=tmp_path / "last.pt")  # a file
    assert same.max_devices == 4 and same.max_neighbours == 8


def test_a_cli_sweep_over_your_scenario_in_spawned_workers(tmp_path, monkeypatch, capsys):
    """`rrmbook --register FILE sweep ...`: the local workers are fresh processes; they find
    the scenario through $RRMBOOK_REGISTER, which --register sets."""
    import json
    import textwrap

    from rrmbook.scenarios import REGISTER_ENV

    monkeypatch.delenv(REGISTER_ENV, raising=False)
    script = tmp_path / "my_net.py"
    script.write_text(textwrap.dedent("""\
        import networkx as nx
        import rrmbook
        from rrmbook.envs import ConflictGraphConfig
        g = nx.DiGraph([(0, 1), (1, 2), (2, 3), (3, 0)])
        nx.set_node_attributes(g, {0: 0, 1: 0, 2: 1, 3: 1}, "agent")
        rrmbook.register_scenario("sweep-ring", ConflictGraphConfig(graph=g, arrival_rate=0.2),
                                  loads={"medium": 0.2}, overwrite=True)
        """))
    spec = tmp_path / "spec.yaml"
    spec.write_text("scenarios: [sweep-ring]\nmethods: [llq, gms]\nseeds: 2\nslots: 100\n")
    store = tmp_path / "store"
    try:
        assert main(["--register", str(script), "sweep", str(spec), "--store", str(store),
                     "--workers", "2", "--quiet"]) == 0
        assert "4 done, 0 failed" in capsys.readouterr().out
        records = [json.loads(p.read_text()) for p in (store / "cells").glob("*.json")]
        assert len(records) == 4 and all(r["status"] == "ok" for r in records)
    finally:
        SCENARIOS.pop("sweep-ring", None)
