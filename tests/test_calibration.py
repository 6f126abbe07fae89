"""The Fig. 4 statements of Eldeeb & Alves judged on hand-made sweep tables (issue 14)."""

from __future__ import annotations

import pytest

from rrmbook.experiments.calibration import (
    FIG4_STATEMENTS,
    fig4_statements,
    judge_extreme,
    judge_value,
)
from rrmbook.experiments.sweeps import Report
from rrmbook.metrics import Interval, mean_ci


def _report(values: dict) -> Report:
    """values: {method: {metric: [per-seed values]}} -> a Report with one row per method."""
    rows = [{"scenario": "pf-4x20", "load": None, "drop": None, "method": m, "kind": "evaluate",
             "n": 3, "seeds": [0, 1, 2],
             "metrics": {k: mean_ci(v).as_dict() | {"values": v} for k, v in metrics.items()}}
            for m, metrics in values.items()]
    return Report("t", rows)


def _m(sum_rate, p5, score):
    spread = [-0.001, 0.0, 0.001]
    return {"sum_rate": [sum_rate + d for d in spread], "p5_rate": [p5 + d for d in spread],
            "score": [score + d for d in spread]}


def test_the_paper_ordering_holds_and_a_reversed_one_fails():
    paper = {"random_walk": _m(8.0, 0.03, 0.5), "greedy": _m(16.0, 0.04, 1.0),
             "tdm": _m(10.0, 0.30, 1.2), "itlinq": _m(14.0, 0.35, 1.3),
             "online_sac": _m(12.0, 0.28, 1.5), "online_dqn": _m(18.0, 0.2, 1.4)}
    verdicts = {s["statement"]: s["verdict"] for s in fig4_statements(_report(paper))}
    assert len(verdicts) == len(FIG4_STATEMENTS)
    assert set(verdicts.values()) == {"holds"}
    # random walk's tail above greedy's: only that statement fails
    paper["random_walk"] = _m(8.0, 0.05, 0.5)
    verdicts = {s["statement"]: s["verdict"] for s in fig4_statements(_report(paper))}
    assert verdicts.pop("random walk has the lowest 5th-percentile rate of the baselines") == "fails"
    assert set(verdicts.values()) == {"holds"}
    ours = _report({"random_walk": _m(12.0, 0.2, 1.0), "greedy": _m(16.0, 0.01, 1.2),
                    "tdm": _m(10.0, 0.3, 0.8), "itlinq": _m(14.0, 0.35, 1.6),
                    "online_sac": _m(12.0, 0.42, 1.5), "online_dqn": _m(11.0, 0.2, 1.4)})
    got = {s["statement"]: s["verdict"] for s in fig4_statements(ours)}
    assert got["random walk has the lowest sum rate of the baselines"] == "fails"
    assert got["online DQN reaches the largest sum rate of all"] == "fails"
    assert got["online SAC's 5th-percentile rate is about 0.28"] == "fails"
    assert got["online SAC and DQN both score above every baseline"] == "fails"
    assert got["ITLinQ has the highest score of the baselines"] == "holds"
    assert got["TDM has a lower sum rate and a higher 5th-percentile rate than greedy"] == "holds"
    # without learners their statements are left out
    assert len(fig4_statements(ours, sac=None, dqn=None)) == len(FIG4_STATEMENTS) - 5


def test_another_method_can_play_random_walk():
    ours = {"random_walk": _m(12.0, 0.2, 1.0), "random_ue": _m(9.0, 0.05, 0.6),
            "greedy": _m(16.0, 0.01, 1.2), "tdm": _m(10.0, 0.3, 0.8),
            "itlinq": _m(14.0, 0.35, 1.6)}
    got = {s["statement"]: s["verdict"]
           for s in fig4_statements(_report(ours), sac=None, dqn=None, random_walk="random_ue")}
    assert got["random walk has the lowest sum rate of the baselines"] == "holds"
    assert got["random walk has the lowest score of the baselines"] == "holds"
    assert got["random walk has the lowest 5th-percentile rate of the baselines"] == "fails"


def test_a_statement_of_several_comparisons():
    from rrmbook.experiments.calibration import judge_all

    assert judge_all("holds", "holds") == "holds"
    assert judge_all("holds", "indistinguishable") == "indistinguishable"
    assert judge_all("indistinguishable", "fails") == "fails"


def test_overlapping_intervals_are_indistinguishable():
    ivs = {"a": Interval(3, 1.0, 0.9, 1.1), "b": Interval(3, 1.05, 0.95, 1.15),
           "c": Interval(3, 2.0, 1.9, 2.1)}
    iv = lambda m, metric: ivs[m]  # noqa: E731
    assert judge_extreme(iv, "a", "x", ["a", "b", "c"], lowest=True) == "indistinguishable"
    assert judge_extreme(iv, "c", "x", ["a", "b", "c"], lowest=False) == "holds"
    assert judge_extreme(iv, "c", "x", ["a", "b"], lowest=True) == "fails"
    assert judge_value(iv, "a", "x", 1.0, tolerance=0.2) == "holds"
    assert judge_value(iv, "a", "x", 1.0, tolerance=0.05) == "indistinguishable"
    assert judge_value(iv, "c", "x", 1.0, tolerance=0.2) == "fails"
    with pytest.raises(KeyError):
        fig4_statements(_report({"greedy": _m(1, 1, 1)}))


def test_calibration_table_scores_each_setting_by_its_label_suffix():
    from rrmbook.experiments.calibration import calibration_table

    good = {"random_walk": _m(8.0, 0.01, 0.5), "greedy": _m(16.0, 0.0, 1.0),
            "tdm": _m(10.0, 0.30, 1.2), "itlinq": _m(14.0, 0.35, 1.6)}
    bad = {"random_walk": _m(12.0, 0.2, 1.7), "greedy": _m(11.0, 0.01, 1.2),
           "tdm": _m(10.0, 0.3, 0.8), "itlinq": _m(14.0, 0.35, 1.6)}
    rep = _report({f"{m}+{tag}": v for tag, d in (("a", good), ("b", bad)) for m, v in d.items()})
    table = calibration_table(rep, ["a", "b"], sac=None, dqn=None)
    assert table["a"]["ITLinQ has the highest score of the baselines"] == "holds"
    assert table["b"]["ITLinQ has the highest score of the baselines"] == "fails"
    assert table["a"]["random walk has the lowest sum rate of the baselines"] == "holds"
    assert table["b"]["greedy has the highest sum rate of the baselines"] == "fails"
