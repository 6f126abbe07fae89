"""The sweep runner (issue: numbers you can trust): specs and their errors, the resumable
store (kill -9 of the driver, a raising cell, a dying worker), the local backend, the
report, the CLI.  No timing asserts: the cells are tiny and the counts are exact."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import sweep_methods  # noqa: E402

import rrmbook  # noqa: E402
from rrmbook.cli import main  # noqa: E402
from rrmbook.experiments import sweep, sweep_report, sweep_status  # noqa: E402
from rrmbook.experiments.sweeps import Store, SweepSpec, aggregate, get_method, load_spec  # noqa: E402
from rrmbook.experiments.sweeps.methods import mappo_config  # noqa: E402
from rrmbook.experiments.sweeps.store import first_difference  # noqa: E402

TESTS = Path(__file__).resolve().parent

CG8_SPEC = {"name": "cg8-two", "scenarios": ["paper-cg8"], "loads": ["heavy"],
            "methods": ["gms", "llq"], "seeds": 3, "slots": 200}


@pytest.fixture(autouse=True)
def _test_methods():
    sweep_methods.register()


def _records(store: Path) -> dict:
    return {p.stem: json.loads(p.read_text()) for p in (store / "cells").glob("*.json")}


# ------------------------------------------------------------------ a real sweep, CLI
def test_cli_runs_a_cg8_sweep_and_reports_it(tmp_path, capsys):
    spec = tmp_path / "cg8.yaml"
    spec.write_text(textwrap.dedent("""\
        name: cg8-two
        scenarios: [paper-cg8]
        loads: [heavy]
        methods: [gms, llq]
        seeds: 3
        slots: 200
        """))
    store = tmp_path / "store"
    assert main(["sweep", str(spec), "--store", str(store), "--workers", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "gms" in out and "llq" in out and "6 done, 0 failed, 0 pending" in out

    records = _records(store)
    assert len(records) == 6 and all(r["status"] == "ok" for r in records.values())
    # each cell is exactly rrmbook.evaluate with the cell's seed
    for seed in range(3):
        env = rrmbook.make_env("paper-cg8", load="heavy", seed=seed)
        res = rrmbook.evaluate(env, rrmbook.baselines.get("gms"), slots=200, seed=seed)
        rec = records[f"paper-cg8__heavy__gms__s{seed}"]
        assert rec["metrics"]["mean_delay"] == res.summary()["mean_delay"]
        assert rec["cell"]["seed"] == seed and rec["seeds"]["eval_seeds"] == [seed]
        for field in ("rrmbook_version", "git_commit", "wall_s", "machine", "started"):
            assert field in rec
    rep = sweep_report(store)
    gms = rep.interval("gms", "mean_delay")
    values = [records[f"paper-cg8__heavy__gms__s{s}"]["metrics"]["mean_delay"]
              for s in range(3)]
    assert gms.n == 3 and gms.mean == pytest.approx(np.mean(values))
    assert gms.low < gms.mean < gms.high

    assert main(["sweep", "status", str(store)]) == 0
    assert "6 done, 0 failed, 0 pending of 6 cells" in capsys.readouterr().out
    assert main(["sweep", "report", str(store), "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in table["rows"]] == ["gms", "llq"]
    assert table["rows"][0]["metrics"]["mean_delay"]["n"] == 3

    # a second run finds everything done: nothing is written again
    mtimes = {p: p.stat().st_mtime_ns for p in (store / "cells").glob("*.json")}
    assert main(["sweep", "run", str(spec), "--store", str(store), "--quiet"]) == 0
    assert {p: p.stat().st_mtime_ns for p in (store / "cells").glob("*.json")} == mtimes

    # and the table draws as error bars and bands
    from rrmbook.plots import interval_bars, interval_lines

    ax = interval_bars(rep.table("mean_delay", methods_first=False), ylabel="delay")
    assert len(ax.patches) == 2
    interval_lines({"gms": {0.5: gms, 0.6: gms}}, band=True)


def test_cli_errors_name_the_problem(tmp_path, capsys):
    assert main(["sweep", "status"]) == 2
    assert "usage: rrmbook sweep" in capsys.readouterr().err
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps(CG8_SPEC))
    assert main(["sweep", str(spec)]) == 2
    assert "--store" in capsys.readouterr().err
    assert main(["sweep", str(spec), "--store", str(tmp_path / "x"), "--backend", "slurm"]) == 2
    assert "backend" in capsys.readouterr().err


# ------------------------------------------------------------------ failures, retries
def test_a_raising_cell_is_recorded_and_retried(tmp_path):
    fixed = tmp_path / "fixed"
    spec = {"scenarios": ["paper-cg8"], "loads": ["heavy"], "seeds": 3, "slots": 50,
            "methods": [{"method": "test_flaky", "params": {"fixed": str(fixed)}},
                        {"method": "test_logged", "label": "steady"}]}
    store = tmp_path / "store"
    rep = sweep(spec, store=store, workers=2, progress=False)
    st = sweep_status(store)
    assert (st["done"], st["failed"], st["pending"]) == (5, 1, 0)
    bad = _records(store)["paper-cg8__heavy__test_flaky__s1"]
    assert bad["status"] == "failed" and "RuntimeError: boom" in bad["traceback"]
    assert bad["attempt"] == 1
    row = rep.find("test_flaky")
    assert (row["n"], row["failed"], row["seeds"]) == (2, 1, [0, 2])

    sweep(spec, store=store, workers=2, progress=False)  # failed cells stay failed
    assert sweep_status(store)["failed"] == 1
    fixed.touch()
    rep = sweep(spec, store=store, workers=2, progress=False, retry_failed=True)
    st = sweep_status(store)
    assert (st["done"], st["failed"]) == (6, 0)
    good = _records(store)["paper-cg8__heavy__test_flaky__s1"]
    assert good["status"] == "ok" and good["attempt"] == 2
    assert rep.interval("test_flaky", "value").mean == pytest.approx(1.0)
    assert len(list((store / "cells").iterdir())) == 6


def test_a_dying_worker_is_replaced_and_its_cell_recorded_failed(tmp_path):
    spec = {"scenarios": ["paper-cg8"], "loads": ["heavy"], "seeds": [0, 1], "slots": 50,
            "methods": ["test_dies"]}
    sweep(spec, store=tmp_path / "store", workers=1, progress=False)
    records = _records(tmp_path / "store")
    assert records["paper-cg8__heavy__test_dies__s1"]["status"] == "ok"
    dead = records["paper-cg8__heavy__test_dies__s0"]
    assert dead["status"] == "failed" and "worker process died" in dead["error"]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_kill_9_of_the_driver_then_resume(tmp_path, monkeypatch):
    """SIGKILL the driver mid-sweep, run it again: every cell recorded once, no cell that
    was recorded before the kill computed again, the orphaned workers gone."""
    n = 40
    spec = {"name": "kill", "scenarios": ["paper-cg8"], "loads": ["heavy"], "seeds": n,
            "slots": 50, "methods": [{"method": "test_logged", "params": {"sleep": 0.1}}]}
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    store, log = tmp_path / "store", tmp_path / "runs.log"
    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(TESTS)!r})
        import sweep_methods
        sweep_methods.register()
        from rrmbook.experiments import sweep
        if __name__ == "__main__":  # the workers are spawned: they import this file
            sweep({str(spec_file)!r}, store={str(store)!r}, workers=2, progress=False)
        """))
    env = os.environ | {sweep_methods.LOG_VAR: str(log), sweep_methods.PHASE_VAR: "1",
                        "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, str(driver)], env=env)
    deadline = time.monotonic() + 300
    while len(list(store.glob("cells/*.json"))) < 5:
        assert proc.poll() is None, "the driver ended before it could be killed"
        assert time.monotonic() < deadline, "the driver wrote no records"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _records(store)
    assert 5 <= len(before) < n
    workers = {r["pid"] for r in before.values()}
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), "orphaned workers outlived the driver"

    monkeypatch.setenv(sweep_methods.LOG_VAR, str(log))
    monkeypatch.setenv(sweep_methods.PHASE_VAR, "2")
    rep = sweep(spec_file, store=store, workers=2, progress=False)
    after = _records(store)
    assert len(after) == n and all(r["status"] == "ok" for r in after.values())
    assert len(list((store / "cells").iterdir())) == n  # no duplicate, no temporary file
    resumed = [line.split()[1] for line in log.read_text().splitlines()
               if line.startswith("2 ")]
    assert len(resumed) == len(set(resumed))
    assert not set(resumed) & set(before), "a finished cell was computed again"
    assert set(resumed) | set(before) == set(after)
    for key, record in before.items():   # finished records are untouched
        assert after[key] == record
    row = rep.find("test_logged")
    assert row["n"] == n and row["metrics"]["value"]["mean"] == pytest.approx((n - 1) / 2)


def test_a_store_is_held_by_one_driver(tmp_path):
    st = Store.create_or_open(tmp_path / "store", load_spec(CG8_SPEC).as_dict())
    with st.lock(), pytest.raises(ValueError, match="in use by another sweep"):
        sweep(CG8_SPEC, store=tmp_path / "store", workers=1, progress=False)


# ------------------------------------------------------------------------- training
def test_a_training_cell_trains_evaluates_and_is_not_trained_again(tmp_path):
    tiny = {"n_envs": 2, "rollout_slots": 64, "num_minibatches": 1, "update_epochs": 1}
    spec = {"scenarios": ["paper-cg8"], "loads": ["heavy"], "seeds": [3], "slots": 60,
            "eval_seeds": [0, 1],
            "methods": [{"method": "mappo_shared",
                         "params": {"budget_slots": 128, "config": tiny}}]}
    store = tmp_path / "store"
    rep = sweep(spec, store=store, workers=1, progress=False)
    rec = _records(store)["paper-cg8__heavy__mappo_shared__s3"]
    assert rec["status"] == "ok", rec.get("traceback")
    assert [e["seed"] for e in rec["evaluations"]] == [0, 1]
    assert rec["metrics"]["mean_delay"] == pytest.approx(
        np.mean([e["mean_delay"] for e in rec["evaluations"]]))
    assert rec["train"]["budget_slots"] == 128
    assert Path(rec["artifact"]).is_file() and not (store / "work" / rec["key"]).exists()
    assert rep.find("mappo_shared")["n"] == 1

    # run again (as after a kill between the export and the record): no training, the
    # artifact is evaluated, and the numbers are the same
    st = Store(store)
    (cell,) = [dataclasses.replace(c, work_dir=str(st.work_dir(c.key)),
                                   artifact=str(st.artifact_path(c.key)))
               for c in load_spec(spec).cells()]
    again = get_method("mappo_shared").run(cell)
    assert "train_s" not in again["train"] and again["metrics"] == rec["metrics"]

    # a training cut short and resumed from its checkpoint ends where an uninterrupted
    # one does
    from rrmbook.marl import train

    other = dataclasses.replace(cell, work_dir=str(tmp_path / "w"),
                                artifact=str(tmp_path / "a.pt"))
    config = mappo_config(cell.params)
    train(config, "paper-cg8", "heavy", seed=3, budget_slots=128, checkpoint_dir=other.work_dir,
          callback=lambda policy, record: True)   # stops after the first update
    resumed = get_method("mappo_shared").run(other)
    assert resumed["train"]["resumed"] and resumed["metrics"] == rec["metrics"]


def test_trained_mappo_evaluates_another_sweeps_policy_elsewhere(tmp_path):
    """``trained_mappo`` reads the policy a training sweep wrote for the same seed and
    evaluates it at another load; it equals evaluating that file by hand, and a missing
    training names the store to run first."""
    from rrmbook.evaluate import evaluate
    from rrmbook.marl import load_policy
    from rrmbook.scenarios import make_env

    tiny = {"n_envs": 2, "rollout_slots": 64, "num_minibatches": 1, "update_epochs": 1}
    train_store = tmp_path / "train"
    sweep({"scenarios": ["paper-cg8"], "loads": [0.6], "seeds": [1], "slots": 40,
           "methods": [{"method": "mappo_shared",
                        "params": {"budget_slots": 128, "config": tiny}}]},
          store=train_store, workers=1, progress=False)
    transfer = {"scenarios": ["paper-cg8"], "loads": [0.3, 0.6], "seeds": [1, 2],
                "eval_seeds": [7], "slots": 40,
                "methods": [{"method": "trained_mappo", "label": "from-0.6",
                             "params": {"store": str(train_store), "train_load": 0.6}}]}
    store = tmp_path / "transfer"
    rep = sweep(transfer, store=store, workers=1, progress=False)
    recs = _records(store)
    ok = recs["paper-cg8__0.3__from-0.6__s1"]
    assert ok["status"] == "ok", ok.get("traceback")
    assert ok["artifact"].endswith("paper-cg8__0.6__mappo_shared__s1.pt")
    policy = load_policy(ok["artifact"], deterministic=True)
    by_hand = evaluate(make_env("paper-cg8", load=0.3, seed=7), policy, slots=40, seed=7)
    assert ok["metrics"]["mean_delay"] == pytest.approx(by_hand.summary()["mean_delay"])
    # seed 2 was never trained: the cell fails and says which store to run
    missing = recs["paper-cg8__0.3__from-0.6__s2"]
    assert missing["status"] != "ok" and "train" in missing["error"]
    assert str(train_store) in missing["error"]
    assert rep.find("from-0.6", load=0.3)["n"] == 1
    with pytest.raises(ValueError, match="train_load"):
        load_spec(transfer | {"methods": [{"method": "trained_mappo",
                                           "params": {"store": "x"}}]})


# ------------------------------------------------------------------------- the spec
def test_spec_files_dicts_and_dataclasses_agree(tmp_path):
    (tmp_path / "s.yaml").write_text(
        "scenarios: [paper-cg8]\nloads: [heavy, 0.45]\nmethods: [gms, llq]\nseeds: 3\n"
        "slots: 200\nname: cg8-two\n")
    (tmp_path / "s.toml").write_text(
        'name = "cg8-two"\nscenarios = ["paper-cg8"]\nloads = ["heavy", 0.45]\n'
        'methods = ["gms", "llq"]\nseeds = [0, 1, 2]\nslots = 200\n')
    as_dict = load_spec(CG8_SPEC | {"loads": ["heavy", 0.45]}).as_dict()
    assert load_spec(tmp_path / "s.yaml").as_dict() == as_dict
    assert load_spec(str(tmp_path / "s.toml")).as_dict() == as_dict
    dataclass = SweepSpec(scenarios=["paper-cg8"], methods=["gms", "llq"], seeds=3,
                          loads=["heavy", 0.45], slots=200, name="cg8-two")
    assert load_spec(dataclass).as_dict() == as_dict
    assert SweepSpec.from_dict(as_dict).as_dict() == as_dict
    cells = load_spec(dataclass).cells()
    assert len(cells) == 2 * 2 * 3 and len({c.key for c in cells}) == 12


def test_drops_apply_to_multicell_scenarios_only():
    spec = load_spec({"scenarios": ["paper-cg8", "paper-hex19"],
                      "loads": {"paper-cg8": ["heavy"], "paper-hex19": [25]},
                      "drops": [0, 4], "seeds": 2, "slots": 200,
                      "methods": [{"method": "random"}]})
    keys = [c.key for c in spec.cells()]
    assert "paper-cg8__heavy__random__s1" in keys
    assert "paper-hex19__25.0__d4__random__s0" in keys and len(keys) == 2 + 4
    pf = load_spec({"scenarios": ["pf-4x20"], "methods": ["itlinq"], "seeds": 2,
                    "slots": 400}).cells()
    assert [c.key for c in pf] == ["pf-4x20__none__itlinq__s0", "pf-4x20__none__itlinq__s1"]
    assert pf[0].load is None
    with pytest.raises(ValueError, match="slots must be a multiple"):
        load_spec({"scenarios": ["pf-4x20"], "methods": ["itlinq"], "seeds": 2, "slots": 300})
    with pytest.raises(ValueError, match="full buffers"):
        load_spec({"scenarios": ["pf-4x20"], "methods": ["itlinq"], "seeds": 2,
                   "loads": ["heavy"], "slots": 400})
    hex_cells = [c for c in spec.cells() if c.scenario == "paper-hex19"]
    assert {c.env["layout_seed"] for c in hex_cells} == {0, 4} and len(hex_cells) == 4


def test_training_methods_evaluate_on_the_eval_seeds():
    spec = load_spec({"scenarios": ["paper-cg8"], "methods": ["gms", "mappo_separate"],
                      "seeds": [5], "eval_seeds": 3})
    gms, mappo = spec.cells()
    assert gms.eval_seeds == (5,) and mappo.eval_seeds == (0, 1, 2)
    assert mappo.params["mode"] == "separate" and mappo.load == "medium"


BAD_SPECS = [
    ({"scenarios": ["paper-cg9"]}, "scenarios"),
    ({"methods": ["gms", "gsm"]}, "methods"),
    ({"loads": ["heavy", "extreme"]}, "load"),
    ({"loads": [-0.1]}, "load"),
    ({"methods": []}, "methods"),
    ({"seeds": []}, "seeds"),
    ({"seeds": 0}, "seeds"),
    ({"scenarios": []}, "scenarios"),
    ({"loads": []}, "loads"),
    ({"seeds": [0, -1]}, "seeds"),
    ({"seeds": -2}, "seeds"),
    ({"seeds": [1, 2, 1]}, "seeds"),
    ({"eval_seeds": [3, 3]}, "eval_seeds"),
    ({"drops": [0, 1]}, "drops"),
    ({"methods": ["fp"]}, "methods"),
    ({"methods": ["gms", {"method": "llq", "label": "gms"}]}, "label"),
    ({"methods": [{"method": "gms", "params": {"speed": 2}}]}, "params"),
    ({"methods": [{"method": "mappo_shared", "params": {"budget_slots": 0}}]}, "budget_slots"),
    ({"methods": [{"method": "mappo_shared", "params": {"config": {"lr": -1}}}]}, "lr"),
    ({"env": {"n_subbandz": 2}}, "override"),
    ({"slots": 0}, "slots"),
    ({"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("change", "field"), BAD_SPECS,
                         ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD_SPECS)])
def test_a_bad_spec_fails_before_any_work_naming_the_field(tmp_path, change, field):
    store = tmp_path / "store"
    with pytest.raises(ValueError, match=field):
        sweep(CG8_SPEC | change, store=store, progress=False)
    assert not store.exists()


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"backend": "slurm"}, "backend"), ({"workers": 0}, "workers"),
    ({"address": "127.0.0.1:6379"}, "address"), ({"level": 1.5}, "level")])
def test_bad_run_arguments_fail_before_any_work(tmp_path, kwargs, field):
    with pytest.raises(ValueError, match=field):
        sweep(CG8_SPEC, store=tmp_path / "store", progress=False, **kwargs)
    assert not (tmp_path / "store").exists()


def test_a_store_refuses_another_spec_naming_the_field(tmp_path):
    Store.create_or_open(tmp_path / "store", load_spec(CG8_SPEC).as_dict())
    with pytest.raises(ValueError, match=r"another spec: field 'seeds\[2\]'"):
        sweep(CG8_SPEC | {"seeds": [0, 1, 5]}, store=tmp_path / "store", progress=False)
    with pytest.raises(ValueError, match=r"another spec: field 'seeds'"):
        sweep(CG8_SPEC | {"seeds": 2}, store=tmp_path / "store", progress=False)
    with pytest.raises(ValueError, match=r"'methods\[1\]\.label'"):
        sweep(CG8_SPEC | {"methods": ["gms", "qcsma"]}, store=tmp_path / "store",
              progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a sweep store"):
        sweep(CG8_SPEC, store=tmp_path / "other", progress=False)
    assert first_difference({"a": [1, {"b": 2}]}, {"a": [1, {"b": 3}]}) == "a[1].b"
    assert first_difference({"x": 1}, {"x": 1.0}) is None


def test_a_store_grows_by_added_seeds_and_runs_only_the_new_cells(tmp_path):
    store = tmp_path / "store"
    sweep(CG8_SPEC, store=store, progress=False)
    cells = sorted((store / "cells").glob("*.json"))
    stamps = [p.stat().st_mtime_ns for p in cells]
    rep = sweep(CG8_SPEC | {"seeds": 5}, store=store, progress=False)
    assert rep.counts["done"] == 10 and rep.find("gms")["seeds"] == [0, 1, 2, 3, 4]
    assert [p.stat().st_mtime_ns for p in cells] == stamps          # the old cells untouched
    record = json.loads((store / "spec.json").read_text())
    assert record["spec"]["seeds"] == [0, 1, 2, 3, 4]
    assert [(g["from_seeds"], g["to_seeds"]) for g in record["grown"]] == [([0, 1, 2], [0, 1, 2, 3, 4])]
    # the grown store now refuses the smaller spec, and seeds plus another change
    with pytest.raises(ValueError, match="another spec"):
        sweep(CG8_SPEC, store=store, progress=False)
    with pytest.raises(ValueError, match="another spec"):
        sweep(CG8_SPEC | {"seeds": 6, "slots": 100}, store=store, progress=False)


# ------------------------------------------------------------------------- the report
def test_aggregate_counts_and_intervals_by_drop():
    grid = [{"scenario": "paper-hex19", "load": 25.0, "drop": d, "method": "fp",
             "kind": "evaluate", "seed": s, "key": f"k{d}{s}"} for d in (0, 1) for s in (0, 1, 2)]
    records = {f"k{d}{s}": {"status": "ok", "metrics": {"mean_delay": 10.0 * d + s}}
               for d in (0, 1) for s in (0, 1, 2)}
    records["k12"] = {"status": "failed", "metrics": {}}
    rep = aggregate(grid, records)
    assert rep.counts == {"total": 6, "done": 5, "failed": 1, "pending": 0}
    d0 = rep.interval("fp", "mean_delay", drop=0)
    assert (d0.n, d0.mean) == (3, 1.0)
    assert d0.high - d0.mean == pytest.approx(4.302653 / np.sqrt(3), rel=1e-6)
    d1 = rep.find("fp", drop=1)
    assert (d1["n"], d1["failed"], d1["metrics"]["mean_delay"]["values"]) == (2, 1, [10, 11])
    pooled = aggregate(grid, records, pool_drops=True)
    assert len(pooled.rows) == 1 and pooled.rows[0]["n"] == 5
    assert pooled.rows[0]["drops"] == [0, 0, 0, 1, 1]
    assert "drop" in rep.format() and "1 failed" in rep.format()


def test_the_shipped_specs_are_valid():
    from rrmbook.experiments.sweeps.spec import shipped_specs

    specs = shipped_specs()
    assert {"cg8-baselines", "fig8", "fig9", "fig10", "fig8-mappo"} <= set(specs)
    for name, path in specs.items():
        spec = load_spec(name)
        assert spec.as_dict() == load_spec(path).as_dict() and spec.name == name
        assert len({c.key for c in spec.cells()}) == len(spec.cells())
    fig9 = load_spec("fig9")
    assert len(fig9.cells()) == 5 * 8 * 10 and fig9.drops == [0]
    drops = load_spec("fig9-drops")
    assert len(drops.cells()) == 5 * 7 * 10 and drops.drops == [0, 1, 2, 3, 4]
    assert drops.env == {"max_neighbours": 5, "truncate_neighbours": True}
    with pytest.raises(FileNotFoundError, match="shipped spec"):
        load_spec("fig99")


def test_ray_and_yaml_are_not_imported_until_needed():
    code = ("import sys, rrmbook.experiments, rrmbook.cli; "
            "assert 'ray' not in sys.modules and 'yaml' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env=os.environ | {"OMP_NUM_THREADS": "1"})


def test_export_and_load_sweep_round_trip(tmp_path, monkeypatch, capsys):
    """`sweep report DIR --out FILE` writes the table with the spec, the seeds and the
    compute used; `load_sweep` reads it back as a Report with the same intervals."""
    store = tmp_path / "store"
    table = sweep(CG8_SPEC, store=store, workers=1, progress=False)
    data_root = tmp_path / "data"
    out = data_root / "sweeps" / "cg8-two.json"
    assert main(["sweep", "report", str(store), "--out", str(out)]) == 0
    assert "6 cells" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["format"] == "rrmbook-sweep-result/1" and data["spec"]["name"] == "cg8-two"
    assert data["compute"]["cells"] == 6 and data["compute"]["cpu_seconds"] > 0
    monkeypatch.setenv("RRMBOOK_DATA", str(data_root))
    shipped = rrmbook.experiments.load_sweep("cg8-two")
    for method in ("gms", "llq"):
        a = shipped.interval(method, "mean_delay", load="heavy")
        assert a == table.interval(method, "mean_delay", load="heavy") and a.n == 3
        assert shipped.find(method)["seeds"] == [0, 1, 2]
    assert shipped.source["compute"]["cells"] == 6
    with pytest.raises(FileNotFoundError, match="rrmbook sweep"):
        rrmbook.experiments.load_sweep("nope")


def test_the_shipped_sweep_results_match_their_specs():
    """Every multi-seed result the book ships (``rrmbook/data/sweeps/*.json``) was made with
    the shipped spec of the same name, lost no cell, and its intervals are those of its own
    per-seed values (so a spec edited after its results were exported fails here)."""
    from rrmbook.experiments.zoo import data_dir
    from rrmbook.metrics import mean_ci

    shipped = sorted((data_dir() / "sweeps").glob("*.json"))
    assert shipped
    for path in shipped:
        data = json.loads(path.read_text())
        spec = load_spec(path.stem)
        assert data["spec"] == json.loads(json.dumps(spec.as_dict())), path.stem
        assert data["counts"]["failed"] == 0 and data["counts"]["total"] == len(spec.cells())
        rep = rrmbook.experiments.load_sweep(path.stem)
        for row in rep.rows:
            m = row["metrics"]["mean_delay" if "mean_delay" in row["metrics"] else "score"]
            assert len(m["values"]) == row["n"] == len(row["seeds"])
            ci = mean_ci(m["values"])
            assert np.isclose(ci.mean, m["mean"]) and (row["n"] < 2 or np.isclose(ci.low, m["low"]))


def test_offline_learner_cells_train_once_then_evaluate(tmp_path):
    """The PF learners as sweep cells, at toy budgets: online DQN and CTDE-CQL train, write
    their learner file, drop their checkpoints, and evaluate on the evaluation seeds; a
    second run of the sweep trains nothing again."""
    spec = {"name": "pf-tiny", "scenarios": ["pf-4x20"], "seeds": [0], "eval_seeds": [0, 1],
            "slots": 200,
            "methods": [{"method": "online_dqn", "params": {"budget_steps": 400, "eval_every": 200}},
                        {"method": "cql_ctde", "params": {"steps": 20, "dataset_size": 400,
                                                          "dataset": "baselines"}}]}
    table = sweep(spec, store=tmp_path / "s", workers=1, progress=False)
    records = _records(tmp_path / "s")
    assert len(records) == 2 and all(r["status"] == "ok" for r in records.values())
    for r in records.values():
        assert [e["seed"] for e in r["evaluations"]] == [0, 1]
        assert Path(r["artifact"]).is_file() and not any((tmp_path / "s" / "work").glob("*/*"))
        assert r["train"]["train_s"] >= 0 and r["train"]["resumed"] is False
    assert table.interval("cql_ctde", "score").n == 1
    stamp = {k: r["finished"] for k, r in records.items()}
    sweep(spec, store=tmp_path / "s", workers=1, progress=False)
    assert {k: r["finished"] for k, r in _records(tmp_path / "s").items()} == stamp


def test_trained_cql_acts_by_the_critic_of_another_sweeps_learner(tmp_path):
    """``trained_cql`` reads the CQL learner a training sweep wrote for the same seed; with
    ``act_by: critic`` every AP acts greedily in its own Q_i (E-25), which equals acting by
    hand with the learner's critics; a joint critic is refused (it needs the whole state)."""
    import torch

    from rrmbook.evaluate import evaluate
    from rrmbook.offline import load_learner
    from rrmbook.scenarios import make_env

    cql = {"steps": 20, "dataset_size": 400, "dataset": "baselines"}
    train = {"name": "t", "scenarios": ["pf-4x20"], "seeds": [0], "slots": 200,
             "methods": [{"method": "cql_ctde", "params": cql},
                         {"method": "cql_ctde", "label": "joint",
                          "params": cql | {"config": {"critic_input": "joint"}}}]}
    sweep(train, store=tmp_path / "t", workers=1, progress=False)
    by = {"name": "b", "scenarios": ["pf-4x20"], "seeds": [0], "eval_seeds": [3], "slots": 200,
          "methods": [{"method": "trained_cql", "label": f"{m}+{a}",
                       "params": {"store": str(tmp_path / "t"), "label": m, "act_by": a}}
                      for m in ("cql_ctde", "joint") for a in ("actor", "critic")]}
    sweep(by, store=tmp_path / "b", workers=1, progress=False)
    recs = _records(tmp_path / "b")
    ok = recs["pf-4x20__none__cql_ctde+critic__s0"]
    assert ok["status"] == "ok", ok.get("traceback")
    learner = load_learner(ok["artifact"])
    env = make_env("pf-4x20", seed=3)
    obs = env.reset(seed=3)
    with torch.no_grad():
        q = torch.minimum(*(learner._critic(c, obs.X) for c in learner.critics))
    np.testing.assert_array_equal(learner.act_by_critic(obs.X), q.argmax(-1).numpy())
    by_hand = evaluate(make_env("pf-4x20", seed=3), learner.policy(act_by="critic"), slots=200,
                       seed=3)
    assert ok["metrics"]["score"] == pytest.approx(by_hand.summary()["score"])
    assert recs["pf-4x20__none__joint+actor__s0"]["status"] == "ok"
    refused = recs["pf-4x20__none__joint+critic__s0"]
    assert refused["status"] != "ok" and "critic_input" in refused["error"]
    with pytest.raises(ValueError, match="act_by"):
        load_spec(by | {"methods": [{"method": "trained_cql",
                                     "params": {"store": "x", "act_by": "q"}}]})


def test_cql_ctde_subset_trains_on_whole_episodes_of_a_cached_pool(tmp_path):
    """``cql_ctde_subset`` collects its pool once into the store's ``datasets/`` and trains
    each cell on whole episodes drawn from it; the paper preset is Table III's."""
    from rrmbook.experiments.sweeps.methods import pool_dataset
    from rrmbook.offline import load_learner

    base = {"steps": 10, "dataset": "baselines", "pool_size": 1_600, "data_seed": 5,
            "config": {"batch_size": 32}}
    spec = {"name": "sz", "scenarios": ["pf-4x20"], "seeds": [0, 1], "eval_seeds": [0],
            "slots": 200,
            "methods": [{"method": "cql_ctde_subset", "label": "n400",
                         "params": base | {"dataset_size": 400}},
                        {"method": "cql_ctde_subset", "label": "n400-paper",
                         "params": base | {"dataset_size": 400, "preset": "paper"}}]}
    sweep(spec, store=tmp_path / "s", workers=1, progress=False)
    recs = _records(tmp_path / "s")
    assert all(r["status"] == "ok" for r in recs.values()), [r.get("traceback") for r in recs.values()]
    assert len(list((tmp_path / "s" / "datasets").glob("*.npz"))) == 1      # one pool, cached
    pool = pool_dataset(tmp_path / "s", "baselines", 1_600, 5)
    assert len(pool) == 1_600
    rec = recs["pf-4x20__none__n400-paper__s1"]
    assert rec["train"]["preset"] == "paper" and rec["train"]["dataset_size"] == 400
    learner = load_learner(rec["artifact"])
    assert learner.config.actor_lr == 1e-5 and learner.config.hidden == 256
    assert learner.config.variant == "ctde"
    with pytest.raises(ValueError, match="dataset_size"):
        load_spec(spec | {"methods": [{"method": "cql_ctde_subset",
                                       "params": {"pool_size": 100, "dataset_size": 200}}]})
