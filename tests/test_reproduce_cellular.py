"""The multi-cell reproductions (Figs. 9-11, Table IV) run at a tiny budget with the expected
keys, the shipped result files load and cover every method and load, and the multi-cell
dashboard draws headless and rejects bad input with a message."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import json  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rrmbook  # noqa: E402
from rrmbook import experiments, plots, widgets  # noqa: E402
from rrmbook.experiments import multicell  # noqa: E402

TINY = {"slots": 20, "seed": 0, "batch": 1}


@pytest.mark.parametrize("figure", ["fig9", "fig10"])
def test_delay_vs_load_runs_at_a_tiny_budget(figure):
    compute, _ = experiments.FIGURES[figure]
    scenario, loads = multicell.CELL_LOADS[figure]
    data = compute(**TINY, loads=loads[:2], marl=False)
    assert data["figure"] == figure and data["scenario"] == scenario
    assert (data["slots"], data["batch"], data["seed"]) == (20, 1, 0)
    every = multicell.CELL_BASELINES + multicell.CELL_PAPER_CODE   # SPEC and the authors' code
    assert data["loads"] == loads[:2] and data["methods"] == every
    for load in loads[:2]:
        row = data["table"][f"{load:g}"]
        assert set(row) == set(every)
        for summary in row.values():
            assert {"mean_delay", "p95_delay", "unfinished", "within_1_slot"} <= set(summary)
            assert summary["delay_unit"] == "ms" and summary["slots"] == 20
    json.dumps(data)  # JSON-able


def test_fig11_stores_quantiles_for_both_layouts():
    data = multicell.fig11_data(**TINY, methods=["full_power", "fp"], marl=False)
    assert set(data["layouts"]) == {"paper-hex19", "paper-random19"}
    p = np.asarray(data["p"])
    assert p[0] == 0.0 and p[-1] == 1.0 and np.all(np.diff(p) > 0)
    for methods in data["layouts"].values():
        for c in methods.values():
            d = np.asarray(c["delay"])
            assert d.size == p.size and np.all(np.diff(d) >= 0)
            assert d[-1] == pytest.approx(c["max_delay"], abs=1e-3)
    json.dumps(data)


def test_table4_times_every_method():
    data = multicell.table4_data(slots=5, seed=0, batch=3, methods=["llq", "fp"], marl=False)
    assert data["batch"] == 1 and data["slots"] == 5
    assert set(data["times"]) == {"llq", "fp"}
    for t in data["times"].values():
        assert 0 < t["median_ms"] <= t["max_ms"] and t["mean_ms"] > 0
    assert data["paper_ms"]["wmmse"] > data["paper_ms"]["fp"]


def test_timed_policy_goes_through_evaluate():
    env = rrmbook.make_env("paper-hex19", load="light", seed=0)
    timed = multicell.TimedPolicy(rrmbook.baselines.get("fp", family="cellular"))
    res = rrmbook.evaluate(env, timed, slots=7, seed=0)
    plain = rrmbook.evaluate(env, rrmbook.baselines.get("fp", family="cellular"), slots=7, seed=0)
    assert len(timed.times) == 7 and timed.information == "global"
    np.testing.assert_array_equal(res.delays, plain.delays)


def test_reproduce_writes_json_and_png(tmp_path):
    path = experiments.reproduce("table4", out_dir=tmp_path, slots=3)  # shipped policies
    assert {"marl_shared", "marl_separate"} <= set(json.loads(path.read_text())["times"])
    assert path == tmp_path / "table4.json" and (tmp_path / "table4.png").stat().st_size > 0
    assert json.loads(path.read_text())["slots"] == 3
    plt.close("all")


@pytest.mark.parametrize("figure", ["fig9", "fig10", "fig11", "table4"])
def test_shipped_results_cover_every_method_and_load(figure):
    data = experiments.load_result(figure)
    assert {"slots", "batch", "seed"} <= set(data) and data["seed"] == 0
    methods = set(multicell.CELL_BASELINES + multicell.CELL_PAPER_CODE) | {"mappo_shared",
                                                                          "mappo_separate"}
    if figure in ("fig9", "fig10"):
        assert data["loads"] == multicell.CELL_LOADS[figure][1]
        for load in data["loads"]:
            assert set(data["table"][f"{load:g}"]) == methods
    elif figure == "fig11":
        assert data["load"] == multicell.FIG11_LOAD
        for layout in ("paper-hex19", "paper-random19"):
            assert set(data["layouts"][layout]) == methods
            assert all(len(c["delay"]) == len(data["p"]) for c in data["layouts"][layout].values())
    else:
        assert set(data["times"]) == set(multicell.CELL_BASELINES) | {"marl_shared",
                                                                         "marl_separate"}
    assert len(json.dumps(data)) < 100_000  # summaries, not raw delays


def test_load_result_errors_name_the_command(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown figure"):
        experiments.load_result("fig99")
    monkeypatch.setenv("RRMBOOK_DATA", str(tmp_path))  # a results folder without fig7
    with pytest.raises(FileNotFoundError, match="rrmbook reproduce fig7"):
        experiments.load_result("fig7")


def test_new_plot_functions_draw_headless():
    ax = plots.delay_quantile_cdf({"fp": {"p": [0, 0.5, 1], "delay": [1, 2, 4], "mean": 2.2,
                                          "max": 4}})
    assert len(ax.get_lines()) == 2
    ax = plots.decision_time_bars({"llq": 0.05, "fp": 0.6}, reported={"fp": 58.0})
    assert len(ax.patches) == 2
    ax = plots.objective_history({"fp": [1, 2, 2.5], "wmmse": [1, 2, 2.5]})
    assert len(ax.get_lines()) == 2
    plt.close("all")


def test_cellular_dashboard_figure_runs_headless():
    fig = widgets.cellular_dashboard_figure(rings=1, devices_per_cell=2, slots=30,
                                            policies=("llq", "fp"))
    assert len(fig.axes) >= 3
    plt.close("all")


def test_cellular_dashboard_updates_and_rejects_bad_input():
    dash = widgets.cellular_dashboard(slots=30, seed=0, rings=1, devices_per_cell=2,
                                      policies=("full_power",))
    fig = dash.update(load=30.0, policies=("llq", "fair_itlinq"))
    assert fig is not None and set(dash.results) == {"llq", "fair_itlinq"}
    assert dash.env.n_agents == 7 and dash.env.n_devices == 14
    assert dash.env.config.rates[0] == pytest.approx(30.0 * dash.env.config.slot_s)
    fig = dash.update(layout="random", devices_per_cell=3)
    assert fig is not None and dash.env.layout.kind == "random" and dash.env.n_devices == 21
    assert dash.update(policies=()) is None and "policies" in dash.message
    assert dash.update(layout="triangular") is None and "layout" in dash.message
    assert dash.update(policies=("gms",)) is None and "policies" in dash.message
    with pytest.raises(ValueError, match="unknown dashboard values"):
        dash.update(colour="blue")
    assert dash.update(layout="hexagonal", policies=("full_power",)) is not None
    plt.close("all")


def test_cellular_dashboard_settings_validate():
    bad = [{"rings": 4}, {"devices_per_cell": 0}, {"load": -1.0}, {"layout": "grid"},
           {"slots": 0}, {"policies": ("max_weight",)}]
    for values in bad:
        field = next(iter(values))
        with pytest.raises(ValueError, match=field):
            widgets.run_cellular_dashboard(widgets.CellularDashboardSettings(**values))
