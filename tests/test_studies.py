"""The studies of issue 13 (``rrmbook reproduce STUDY``): their summaries computed from
hand-made sweep tables, where the verdict is known, and the CLI's errors."""

from __future__ import annotations

import json

import pytest

from rrmbook.cli import main
from rrmbook.experiments import studies
from rrmbook.experiments.sweeps import Report
from rrmbook.metrics import mean_ci


def _row(method, load, values, metric="mean_delay", scenario="paper-hex19", **more):
    metrics = {metric: mean_ci(values).as_dict() | {"values": list(values)}}
    for name, vals in more.items():
        metrics[name] = mean_ci(vals).as_dict() | {"values": list(vals)}
    return {"scenario": scenario, "load": float(load), "drop": None, "method": method,
            "kind": "train", "n": len(values), "seeds": list(range(len(values))),
            "metrics": metrics}


def _report(name, rows):
    return Report(name, rows)


def test_the_ablation_summary_finds_the_papers_asymmetry_only_where_it_is():
    # base: trained at 56 is better at 56 (separated) and no worse at 36 -> the asymmetry;
    # raw-queue: the light-trained policy is better at the heavy load -> not the asymmetry
    base = [_row("trained-36", 36, [10, 11, 12]), _row("trained-36", 56, [50, 52, 54]),
            _row("trained-56", 36, [10, 12, 14]), _row("trained-56", 56, [20, 21, 22])]
    cross = []
    for name, (l36, l56) in {"raw-queue": ((10, 11, 12), (20, 21, 22)),
                             "gamma995": ((10, 11, 12), (50, 52, 54)),
                             "no-cut": ((10, 11, 12), (50, 52, 54))}.items():
        cross += [_row(f"{name}-36", 36, l36), _row(f"{name}-36", 56, l56),
                  _row(f"{name}-56", 36, (30, 31, 32)), _row(f"{name}-56", 56, (40, 41, 42))]
    out = studies._table5_ablations({"hex19-ablation-transfer": _report("x", cross),
                                     "hex19-capacity-transfer": _report("y", base)}, {})
    ab = out["ablations"]
    assert ab["base"]["paper_asymmetry"] and ab["base"]["heavy_vs_light_at_heavy"] == "<"
    assert not ab["raw-queue"]["paper_asymmetry"]
    assert ab["raw-queue"]["heavy_vs_light_at_heavy"] == ">"
    # gamma995: heavy-trained better at heavy (40 < 52) but worse at light (31 > 11)
    assert not ab["gamma995"]["paper_asymmetry"]
    assert ab["gamma995"]["heavy_vs_light_at_light"] == ">"
    assert ab["base"]["mean_delay"]["56"]["36"]["mean"] == pytest.approx(12.0)


def test_the_curve_summary_reads_settling_points_from_the_records(tmp_path):
    cells = tmp_path / "hex19-curves" / "cells"
    cells.mkdir(parents=True)
    for mode, knee in (("shared", 4), ("separate", 12)):
        for seed in range(3):
            n = 20
            slots = [(i + 1) * 1000 for i in range(n)]
            # a curve that rises and is flat (at -1) from update `knee + seed // 2` on; the
            # separate seed-2 run still rises at its last test (knee 19: never settles)
            k = 19 if (mode, seed) == ("separate", 2) else knee + seed // 2
            test = [-(1 + 5 * max(k - i, 0)) for i in range(n)]
            curve = {"update": list(range(1, n + 1)), "slots": slots,
                     "time_s": [2.0 * s / 1000 for s in slots], "mean_reward": test,
                     "mean_queue": [0.0] * n, "test_mean_queue": [1.0] * n,
                     "test_reward": test, "test_mean_delay": [5.0] * n}
            (cells / f"paper-hex19__25.0__mappo_{mode}__s{seed}.json").write_text(json.dumps(
                {"status": "ok", "cell": {"seed": seed}, "curve": curve,
                 "metrics": {"mean_delay": 30.0 + seed}}))
    out = studies._curves({}, {"hex19-curves": tmp_path / "hex19-curves"})
    shared, separate = out["modes"]["shared"], out["modes"]["separate"]
    assert [r["settling_slots"] for r in shared["runs"]] == [5000.0, 5000.0, 6000.0]
    assert shared["settling_slots"]["mean"] == pytest.approx(16000.0 / 3)
    assert shared["settling_s"]["mean"] == pytest.approx(32.0 / 3)
    # the unsettled run widens separate's interval: no verdict at three seeds
    assert out["shared_vs_separate"]["settling_slots"] == "overlap"
    assert out["shared_vs_separate"]["final_mean_delay"] == "overlap"
    assert [r["settled"] for r in separate["runs"]] == [True, True, False]
    assert shared["settled_runs"] == 3 and separate["settled_runs"] == 2
    # unsettled: counted at its last test (20,000), a lower bound
    assert [r["settling_slots"] for r in separate["runs"]] == [13000.0, 13000.0, 20000.0]
    assert shared["train_s"]["mean"] == pytest.approx(40.0)


def test_unknown_studies_and_missing_sweeps_name_the_problem(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown study"):
        studies.summarise("nope")
    with pytest.raises(FileNotFoundError, match="rrmbook reproduce curves"):
        studies.summarise("curves", sweeps_dir=tmp_path)
    assert main(["reproduce", "nope"]) != 0
    assert "curves" in capsys.readouterr().err
    for study in studies.STUDIES.values():    # every sweep of a study is a shipped spec
        from rrmbook.experiments.sweeps import load_spec
        for sweep in study.sweeps:
            assert load_spec(sweep).name == sweep


def test_the_shipped_study_summaries_are_those_of_the_shipped_sweeps():
    """Every summary in rrmbook/data/studies is what summarise() computes from the shipped
    sweep exports (and committed stores), so an edited sweep or summary fails here."""
    from rrmbook.experiments.zoo import data_dir

    shipped = sorted((data_dir() / "studies").glob("*.json"))
    assert {p.stem for p in shipped} >= {"paper-code", "table5-capacity"}
    for path in shipped:
        again = json.loads(json.dumps(studies.summarise(path.stem)))
        assert json.loads(path.read_text()) == again, path.stem
        assert studies.load_study(path.stem) == again


def test_run_study_runs_exports_and_summarises_then_resumes(tmp_path, monkeypatch):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "tiny-pc.yaml").write_text(
        "name: tiny-pc\nscenarios: [paper-cg8]\nloads: [heavy]\n"
        "methods: [gms, gms_paper_code]\nseeds: 2\nslots: 100\n")

    def summary(reports, stores):
        rep = reports["tiny-pc"]
        a, b = (rep.interval(m, "mean_delay") for m in ("gms", "gms_paper_code"))
        return {"verdict": studies.compare_intervals(b, a), "n": a.n}

    monkeypatch.setitem(studies.STUDIES, "tiny",
                        studies.Study("tiny", "a test study", ("tiny-pc",), summary))
    out = tmp_path / "out"
    path = studies.run_study("tiny", out_dir=out, stores=tmp_path / "stores", workers=1,
                             progress=False, spec_dir=specs)
    data = json.loads(path.read_text())
    assert data["study"] == "tiny" and data["n"] == 2 and data["verdict"] in ("<", ">", "overlap")
    assert (out / "sweeps" / "tiny-pc.json").is_file()
    records = sorted((tmp_path / "stores" / "tiny-pc" / "cells").glob("*.json"))
    assert len(records) == 4
    stamp = [r.stat().st_mtime_ns for r in records]
    again = studies.run_study("tiny", out_dir=out, stores=tmp_path / "stores", workers=1,
                              progress=False, spec_dir=specs)
    assert json.loads(again.read_text()) == data       # nothing was run again
    assert [r.stat().st_mtime_ns for r in records] == stamp


def test_the_ctde_local_summary_pairs_rules_and_judges_learners_on_the_fixed_test_set():
    def row(method, scores, silent=0.1):
        return _row(method, 0, scores, metric="score", scenario="pf-4x20",
                    silent=[silent] * len(scores), sum_rate=[10.0] * len(scores),
                    p5_rate=[0.2] * len(scores), mean_reward=[20.0] * len(scores))
    # five evaluation seeds shared by all rules: pf_top1 varies a lot from seed to seed,
    # the threshold rule is 0.05 above it on every seed (unpaired intervals overlap)
    top1 = [1.4, 1.5, 1.6, 1.7, 1.8]
    rules = Report("r", [row("pf_top1", top1), row("itlinq", [v + 0.02 for v in top1]),
                         row("pf_threshold+t3", [v + 0.05 for v in top1], 0.2),
                         row("pf_threshold+t8", [v - 0.1 for v in top1], 0.5)])
    abl = Report("a", [row("cql_ctde+vdn-a1", [1.45, 1.46, 1.47]),
                       row("cql_ctde+joint-a0.1", [1.70, 1.66, 1.68]),
                       row("cql_independent+a0.1", [1.0, 1.1, 1.05])])
    act_by = Report("c", [row("cql_ctde+vdn-a1+critic", [1.46, 1.47, 1.48])])
    utility = Report("u", [row("cql_ctde+utility-a0.1", [1.70, 1.72, 1.74]),
                           row("cql_independent+utility-a1", [1.69, 1.71, 1.73])])
    out = studies._ctde_local({"pf-local-rules": rules, "pf-ctde-ablations": abl,
                               "pf-ctde-act-by": act_by, "pf-ctde-utility": utility}, {})
    # CTDE is compared with independent CQL on the same reward
    assert out["learners"]["cql_ctde+utility-a0.1"]["vs_independent"] == "overlap"
    assert out["learners"]["cql_ctde+utility-a0.1"]["vs_pf_top1"] == ">"
    assert out["best_rule"] == "pf_threshold+t3"
    t3 = out["rules"]["pf_threshold+t3"]
    assert t3["vs_pf_top1"] == ">" and t3["minus_pf_top1"]["mean"] == pytest.approx(0.05)
    assert out["rules"]["pf_threshold+t8"]["vs_pf_top1"] == "<"
    vdn, joint = out["learners"]["cql_ctde+vdn-a1"], out["learners"]["cql_ctde+joint-a0.1"]
    assert vdn["vs_pf_top1"] == "<" and vdn["vs_best_rule"] == "<"          # 1.46 < 1.6, 1.65
    assert joint["vs_pf_top1"] == ">" and joint["vs_best_rule"] == "overlap"  # 1.68 vs 1.65
    assert joint["minus_best_rule"]["mean"] == pytest.approx(0.03)
    assert joint["vs_independent"] == vdn["vs_independent"] == ">"
    assert "vs_independent" not in out["learners"]["cql_independent+a0.1"]
    critic = out["learners"]["cql_ctde+vdn-a1+critic"]               # +0.01 on every seed
    assert critic["vs_actor"] == ">" and critic["minus_actor"]["mean"] == pytest.approx(0.01)


def test_the_calibration_summary_counts_statements_and_keeps_today_on_a_tie(monkeypatch):
    def row(method, sum_rate, p5, score, silent=0.0):
        d = [-0.01, 0.0, 0.01]
        return _row(method, 0, [score + x for x in d], metric="score", scenario="pf-4x20",
                    sum_rate=[sum_rate + x for x in d], p5_rate=[p5 + x / 100 for x in d],
                    silent=[silent] * 3)
    # "today": random walk is not the worst (3 statements fail); "x": every statement about
    # the baselines holds; "y": the same as today
    today = {"random_walk": (15, 0.15, 1.2), "greedy": (22, 0.02, 1.1), "tdm": (12, 0.10, 0.9),
             "itlinq": (18, 0.22, 1.6), "random_ue": (12.5, 0.09, 0.85)}
    good = today | {"random_walk": (10, 0.01, 0.5)}

    def summary(settings):
        rows = [row(f"{m}+{t}", *v) for t, vals in (("today", today), ("x", good), ("y", today))
                for m, v in vals.items() if t in settings]
        return studies._pf_calibration(
            {"pf-calibration-baselines": Report("b", [r for r in rows if "random_ue" not in r["method"]]),
             "pf-calibration-readings": Report("r", [r for r in rows if "random_ue" in r["method"]])}, {})

    assert summary(("today", "x", "y"))["settings"] == ["today"]   # only known settings
    monkeypatch.setattr(studies, "CALIBRATION_SETTINGS", ("today", "x", "y"))
    out = summary(("today", "x", "y"))
    assert out["counts"]["paper"]["today"] == {"holds": 4, "fails": 3, "indistinguishable": 0}
    assert out["counts"]["paper"]["x"]["holds"] == 7 and out["default"] == "x"
    # random_ue (12.5, 0.09, 0.85) is the worst but in the tail, where greedy is lower
    ue = out["verdicts"]["random_ue"]["today"]
    assert ue["random walk has the lowest score of the baselines"] == "holds"
    assert ue["random walk has the lowest 5th-percentile rate of the baselines"] == "fails"
    assert out["rates"]["today"]["itlinq"]["score"]["mean"] == pytest.approx(1.6)
    # a tie between today and another setting keeps today
    out = summary(("today", "y"))
    assert out["settings"] == ["today", "y"] and out["default"] == "today"
    # more statements holding, with as many failing, is not enough to replace today: today's
    # ITLinQ sum rate ties with greedy's (undecided), y's does not (holds)
    tie = today | {"itlinq": (22, 0.22, 1.6)}
    rows = [row(f"{m}+{t}", *v) for t, vals in (("today", tie), ("y", today)) for m, v in vals.items()]
    out = studies._pf_calibration(
        {"pf-calibration-baselines": Report("b", [r for r in rows if "random_ue" not in r["method"]]),
         "pf-calibration-readings": Report("r", [r for r in rows if "random_ue" in r["method"]])}, {})
    assert out["counts"]["paper"]["y"]["fails"] == out["counts"]["paper"]["today"]["fails"]
    assert out["settings_with_most_holds"] == ["y"] and out["default"] == "today"
