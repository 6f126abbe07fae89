"""Configs and logs (issue 18, item 4): every config dataclass saves to and loads from
YAML, TOML and JSON (rrmbook.io.save_config / load_config); ``rrmbook train mappo`` takes
``--config FILE`` and ``--set FIELD=VALUE`` and keeps the config in its run folder; every
learner writes a CSV learning curve (rewritten from the checkpoint's history on resume) and,
with the optional ``tensorboard`` package, TensorBoard scalars."""

from __future__ import annotations

import csv
import sys

import pytest

import rrmbook
from rrmbook.cli import main, train_config
from rrmbook.envs import CellularConfig, ConflictGraphConfig, PFConfig
from rrmbook.io import (
    config_from_dict,
    config_to_dict,
    load_config,
    parse_overrides,
    save_config,
)
from rrmbook.marl import MAPPOConfig
from rrmbook.offline import CQLConfig, DQNConfig, SACConfig, collect, train_cql, train_sac

SUFFIXES = (".yaml", ".toml", ".json")


def _configs():
    graph = rrmbook.make_config("paper-cg8").graph
    return [
        MAPPOConfig(), MAPPOConfig.paper(mode="separate", test_interval=5),
        SACConfig.paper(variant="ctde", critic_input="joint"), DQNConfig(eps_end=0.1),
        CQLConfig(cql_alpha=0.5), PFConfig(), rrmbook.make_config("pf-4x20", mu1=0.1),
        rrmbook.make_config("paper-cg8", load="heavy"),
        ConflictGraphConfig(graph=graph, arrival_rate=tuple(0.05 * i for i in range(8)),
                            max_queue=None),
        rrmbook.make_config("paper-hex19", load=20.0),
        CellularConfig(layout=rrmbook.make_config("paper-hex19").layout, sinr_cap_db=None,
                       max_devices=4, truncate_neighbours=True),
    ]


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("config", _configs(), ids=lambda c: type(c).__name__)
def test_every_config_round_trips(tmp_path, config, suffix):
    path = save_config(config, tmp_path / f"config{suffix}", comment="a comment\non two lines")
    back = load_config(type(config), path)
    assert type(back) is type(config)
    assert config_to_dict(back) == config_to_dict(config)
    if type(config).__eq__ is not object.__eq__:   # the learner configs compare by value
        assert back == config


def test_env_configs_come_back_as_working_objects(tmp_path):
    cg = rrmbook.make_config("paper-cg8", load="heavy")
    back = load_config(ConflictGraphConfig, save_config(cg, tmp_path / "cg.toml"))
    assert sorted(back.graph.edges) == sorted(cg.graph.edges)
    assert [back.graph.nodes[d]["agent"] for d in range(8)] == \
        [cg.graph.nodes[d]["agent"] for d in range(8)]
    assert (back.rates == cg.rates).all()
    env = rrmbook.make_env(back, batch=2, seed=0)
    assert env.n_agents == 4
    cell = rrmbook.make_config("paper-hex19", load=20.0)
    back = load_config(CellularConfig, save_config(cell, tmp_path / "hex.yaml"))
    assert (back.layout.ap_xy == cell.layout.ap_xy).all()
    assert (back.layout.serving == cell.layout.serving).all()


def test_tuples_none_and_numbers_as_text_are_converted(tmp_path):
    (tmp_path / "c.toml").write_text('target_kl = "none"\nlr = "3e-4"\ngamma = 1\n')
    config = load_config(MAPPOConfig, tmp_path / "c.toml")
    assert config.target_kl is None and config.lr == 3e-4 and config.gamma == 1.0
    assert isinstance(config.gamma, float)
    graph = rrmbook.make_config("paper-cg8").graph
    cg = config_from_dict(ConflictGraphConfig, {"graph": config_to_dict(
        ConflictGraphConfig(graph=graph))["graph"], "arrival_rate": [0.1] * 8})
    assert cg.arrival_rate == (0.1,) * 8
    # a file leaves fields out: they keep their defaults; overrides go on top
    (tmp_path / "d.yaml").write_text("hidden_size: 32\n")
    assert load_config(MAPPOConfig, tmp_path / "d.yaml", lr=0.5) == MAPPOConfig(hidden_size=32,
                                                                                 lr=0.5)


def test_unknown_keys_and_bad_files_are_refused(tmp_path):
    (tmp_path / "c.yaml").write_text("hidden_size: 32\nlearning_rate: 0.1\n")
    with pytest.raises(ValueError, match=r"no field 'learning_rate'.*hidden_size, hidden_layers"):
        load_config(MAPPOConfig, tmp_path / "c.yaml")
    with pytest.raises(ValueError, match=r"sac.json \(MAPPOConfig\) has no field 'actor_lr'"):
        load_config(MAPPOConfig, save_config(SACConfig(), tmp_path / "sac.json"))
    with pytest.raises(ValueError, match=r"no field 'noise_w' \(derived"):
        config_from_dict(PFConfig, {"noise_w": 1e-13})
    with pytest.raises(ValueError, match="must end in"):
        save_config(MAPPOConfig(), tmp_path / "c.ini")
    with pytest.raises(FileNotFoundError, match="no config file"):
        load_config(MAPPOConfig, tmp_path / "missing.yaml")
    (tmp_path / "bad.toml").write_text("lr = = 1\n")
    with pytest.raises(ValueError, match="bad.toml is not a readable TOML file"):
        load_config(MAPPOConfig, tmp_path / "bad.toml")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="a table of field = value"):
        load_config(MAPPOConfig, tmp_path / "list.json")
    with pytest.raises(ValueError, match="MAPPOConfig.lr must be > 0"):   # the config's checks
        config_from_dict(MAPPOConfig, {"lr": -1})


def test_set_overrides_parse_as_yaml_scalars():
    assert parse_overrides(["lr=3e-4", "target_kl=null", "anneal_lr=false", "cell=gru",
                            "hidden_size=32", "name=a=b"]) == {
        "lr": "3e-4", "target_kl": None, "anneal_lr": False, "cell": "gru", "hidden_size": 32,
        "name": "a=b"}
    for bad in ("lr", "=3", "x={a: 1}", "x=[1"):
        with pytest.raises(ValueError, match="--set"):
            parse_overrides([bad])
    config, slots = train_config("2048", None, "separate", ["lr=3e-4", "target_kl=null"])
    assert (config.lr, config.target_kl, config.mode, slots) == (3e-4, None, "separate", 2048)
    config, _ = train_config("full", None, None, [])
    assert config == MAPPOConfig.paper()
    with pytest.raises(ValueError, match=r"no field 'lrr'.*its fields are: mode"):
        train_config("laptop", None, None, ["lrr=1"])


@pytest.mark.parametrize("argv, message", [
    (["--set", "lrr=0.1"], "no field 'lrr'"),
    (["--set", "lr"], "--set takes FIELD=VALUE"),
    (["--set", "cell=rnn"], "MAPPOConfig.cell must be one of"),
    (["--config", "missing.yaml"], "no config file"),
])
def test_cli_refuses_bad_configs_before_any_work(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "mappo", "--budget", "2048", "--out", "run", "--quiet", *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_cli_train_with_config_file_and_set(tmp_path, capsys):
    base = save_config(MAPPOConfig(n_envs=4, rollout_slots=128), tmp_path / "base.toml")
    run = tmp_path / "run"
    assert main(["train", "mappo", "--budget", "2048", "--config", str(base), "--set",
                 "lr=0.002", "--set", "target_kl=null", "--out", str(run), "--quiet"]) == 0
    saved = load_config(MAPPOConfig, run / "config.yaml")
    assert saved == MAPPOConfig(n_envs=4, rollout_slots=128, lr=0.002, target_kl=None)
    assert "rrmbook train mappo" in (run / "config.yaml").read_text().splitlines()[1]
    rows = list(csv.DictReader((run / "learning_curve.csv").open()))
    assert [int(r["slots"]) for r in rows] == [512, 1024, 1536, 2048]
    assert "config.yaml" in capsys.readouterr().out
    # --resume takes the folder's config.yaml: the run continues with lr 0.002
    assert main(["train", "mappo", "--budget", "2560", "--out", str(run), "--quiet",
                 "--resume"]) == 0
    rows = list(csv.DictReader((run / "learning_curve.csv").open()))
    assert [int(r["slots"]) for r in rows] == [512, 1024, 1536, 2048, 2560]


# --------------------------------------------------------------------------- logs

def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _same(rows, history, skip=("time_s",)):
    """The CSV rows hold the history's values (as text), column for column."""
    assert len(rows) == len(history)
    for row, record in zip(rows, history, strict=True):
        for key, value in record.items():
            if key not in skip:
                assert row[key] == str(value), (key, row[key], value)


def test_sac_writes_csv_and_resume_rewrites_it(tmp_path):
    cfg = SACConfig(hidden=16, batch_size=32, n_envs=4, warmup_steps=44, checkpoint_interval=5)
    kw = dict(seed=3, budget_steps=120, eval_every=20, eval_slots=20,
              env_kwargs={"episode_steps": 20})
    _, full = train_sac(cfg, checkpoint_dir=tmp_path / "a", log_csv=tmp_path / "a.csv", **kw)
    rows = _rows(tmp_path / "a.csv")
    # before the first update the records have no losses: the header widened when they came
    assert list(rows[0])[:4] == ["steps", "updates", "time_s", "mean_reward"]
    assert "critic_loss" in rows[0] and rows[0]["critic_loss"] == ""
    assert "sum_rate" in rows[0]
    _same(rows, full)

    def die_at_80(policy, record):   # after the checkpoint of step 60, before that of 80
        if record["steps"] == 80:
            raise KeyboardInterrupt

    log = tmp_path / "b.csv"
    with pytest.raises(KeyboardInterrupt):
        train_sac(cfg, checkpoint_dir=tmp_path / "b", log_csv=log, callback=die_at_80, **kw)
    assert [r["steps"] for r in _rows(log)] == ["20", "40", "60", "80"]
    with pytest.raises(FileExistsError, match="b.csv already exists"):
        train_sac(cfg, log_csv=log, **kw)
    _, resumed = train_sac(cfg, checkpoint_dir=tmp_path / "b", log_csv=log, resume=True, **kw)
    rows = _rows(log)
    assert [r["steps"] for r in rows] == ["20", "40", "60", "80", "100", "120"]
    _same(rows, resumed)
    drop = lambda r: {k: v for k, v in r.items() if k != "time_s"}  # noqa: E731
    assert [drop(r) for r in resumed] == [drop(r) for r in full]


@pytest.fixture(scope="module")
def small_dataset():
    env = rrmbook.make_env("pf-4x20", batch=4, seed=2, episode_steps=20)
    return collect(env, rrmbook.baselines.get("greedy"), 300, seed=2)


def test_cql_writes_csv_and_resume_rewrites_it(tmp_path, small_dataset):
    cfg = CQLConfig(hidden=16, batch_size=32, checkpoint_interval=10)
    kw = dict(seed=0, gradient_steps=20, eval_every=5, eval_slots=20)
    _, full = train_cql(small_dataset, cfg, log_csv=tmp_path / "a.csv", **kw)
    rows = _rows(tmp_path / "a.csv")
    assert list(rows[0])[:3] == ["updates", "time_s", "critic_loss"]
    _same(rows, full)

    def die_at_15(policy, record):
        if record["updates"] == 15:
            raise KeyboardInterrupt

    log = tmp_path / "b.csv"
    with pytest.raises(KeyboardInterrupt):
        train_cql(small_dataset, cfg, checkpoint_dir=tmp_path / "b", log_csv=log,
                  callback=die_at_15, **kw)
    assert [r["updates"] for r in _rows(log)] == ["5", "10", "15"]
    _, resumed = train_cql(small_dataset, cfg, checkpoint_dir=tmp_path / "b", log_csv=log,
                           resume=True, **kw)
    rows = _rows(log)
    assert [r["updates"] for r in rows] == ["5", "10", "15", "20"]
    _same(rows, resumed)
    drop = lambda r: {k: v for k, v in r.items() if k != "time_s"}  # noqa: E731
    assert [drop(r) for r in resumed] == [drop(r) for r in full]


def test_no_log_files_unless_asked(tmp_path, small_dataset, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train_cql(small_dataset, CQLConfig(hidden=16, batch_size=32), gradient_steps=3)
    assert list(tmp_path.iterdir()) == []


def test_tensorboard_missing_is_refused_before_any_work(tmp_path, small_dataset, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)   # as if it were not installed
    with pytest.raises(ImportError, match="pip install tensorboard"):
        train_cql(small_dataset, CQLConfig(hidden=16, batch_size=32), gradient_steps=3,
                  checkpoint_dir=tmp_path / "run", tensorboard_dir=tmp_path / "tb")
    with pytest.raises(ImportError, match="pip install tensorboard"):
        train_sac(SACConfig(hidden=16, batch_size=32, n_envs=4), budget_steps=8,
                  tensorboard_dir=tmp_path / "tb")
    assert not (tmp_path / "run").exists() and not (tmp_path / "tb").exists()


def _scalars(folder, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_tensorboard_scalars_of_every_learner(tmp_path, small_dataset):
    pytest.importorskip("tensorboard")
    _, history = train_cql(small_dataset, CQLConfig(hidden=16, batch_size=32), gradient_steps=6,
                           eval_every=3, eval_slots=20, tensorboard_dir=tmp_path / "cql")
    got = _scalars(tmp_path / "cql", "critic_loss")
    assert [s for s, _ in got] == [3, 6]
    assert [v for _, v in got] == pytest.approx([r["critic_loss"] for r in history], rel=1e-6)
    assert [s for s, _ in _scalars(tmp_path / "cql", "sum_rate")] == [3, 6]
    with pytest.raises(FileExistsError, match="TensorBoard logs from an earlier run"):
        train_cql(small_dataset, CQLConfig(hidden=16, batch_size=32), gradient_steps=6,
                  tensorboard_dir=tmp_path / "cql")

    cfg = SACConfig(hidden=16, batch_size=32, n_envs=4, warmup_steps=8)
    _, history = train_sac(cfg, budget_steps=40, eval_every=20, eval_slots=20, seed=0,
                           env_kwargs={"episode_steps": 20}, tensorboard_dir=tmp_path / "sac")
    assert [s for s, _ in _scalars(tmp_path / "sac", "mean_reward")] == [20, 40]

    _, history = rrmbook.marl.train(MAPPOConfig(n_envs=4), "paper-cg8", "heavy",
                                    budget_slots=512, tensorboard_dir=tmp_path / "mappo")
    got = _scalars(tmp_path / "mappo", "mean_queue")
    assert [s for s, _ in got] == [256, 512]
    assert [v for _, v in got] == pytest.approx([r["mean_queue"] for r in history], rel=1e-6)


def test_tensorboard_resume_hides_what_came_after_the_checkpoint(tmp_path, small_dataset):
    pytest.importorskip("tensorboard")
    cfg = CQLConfig(hidden=16, batch_size=32, checkpoint_interval=10)
    kw = dict(seed=0, gradient_steps=20, eval_every=5, eval_slots=20,
              checkpoint_dir=tmp_path / "run", tensorboard_dir=tmp_path / "tb")

    def die_at_15(policy, record):   # after the checkpoint of step 10
        if record["updates"] == 15:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_cql(small_dataset, cfg, callback=die_at_15, **kw)
    _, history = train_cql(small_dataset, cfg, resume=True, **kw)
    got = _scalars(tmp_path / "tb", "critic_loss")
    assert [s for s, _ in got] == [5, 10, 15, 20]
    assert [v for _, v in got] == pytest.approx([r["critic_loss"] for r in history], rel=1e-6)
