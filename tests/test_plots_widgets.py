"""The figure functions and the dashboard work headless, deterministically, and reject bad
input with a message instead of a traceback."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rrmbook  # noqa: E402
from rrmbook import plots, widgets  # noqa: E402


@pytest.fixture(scope="module")
def results():
    env = rrmbook.make_env("paper-cg8", load="light", seed=0)
    return rrmbook.compare(env, ["gms", "llq"], slots=300, seed=0)


def test_delay_cdf_draws_one_curve_and_max_line_per_method(results):
    ax = plots.delay_cdf(results)
    assert len(ax.get_lines()) == 2 * len(results)  # a step curve and a dashed max line each
    for name in results:
        assert any(line.get_color() == plots.color_of(name) for line in ax.get_lines())
    plt.close("all")


def test_mean_delay_bars_one_bar_per_method_and_load(results):
    table = {"light": {k: r.mean_delay for k, r in results.items()},
             "heavy": {k: 2 * r.mean_delay for k, r in results.items()}}
    ax = plots.mean_delay_bars(table)
    heights = sorted(p.get_height() for p in ax.patches)
    expected = sorted(v for row in table.values() for v in row.values())
    np.testing.assert_allclose(heights, expected)
    plt.close("all")


def test_colours_are_stable_and_distinct():
    assert plots.color_of("GMS") == plots.color_of("gms")
    names = ["gms", "gms_multichannel", "llq", "qcsma", "max_weight"]
    assert len({plots.color_of(n) for n in names}) == len(names)
    assert plots.color_of("someone-new") == plots.color_of("someone-new")


def test_static_dashboard_figure_is_deterministic():
    fig1 = widgets.conflict_dashboard_figure(load=0.3, slots=300, seed=1)
    fig2 = widgets.conflict_dashboard_figure(load=0.3, slots=300, seed=1)
    assert len(fig1.axes) >= 3
    l1 = [ln.get_ydata() for ax in fig1.axes for ln in ax.get_lines()]
    l2 = [ln.get_ydata() for ax in fig2.axes for ln in ax.get_lines()]
    assert len(l1) == len(l2) and all(np.array_equal(a, b) for a, b in zip(l1, l2, strict=True))
    plt.close("all")


def test_dashboard_updates_and_reports_bad_values():
    dash = widgets.conflict_dashboard(slots=300, seed=0)
    fig = dash.update(load=0.45, policies=("gms_multichannel",))
    assert fig is not None and set(dash.results) == {"gms_multichannel"}
    assert dash.env.config.rates[0] == pytest.approx(0.45)
    heavier = dash.update(multipliers="2, 1, 1, 1, 1, 1, 1, 1")
    assert heavier is not None and dash.env.config.rates[0] == pytest.approx(0.9)
    assert dash.update(multipliers="1, -2") is None and "multipliers" in dash.message.lower()
    assert dash.update(multipliers="1, 2") is not None and dash.env.config.rates[1] == pytest.approx(0.9)
    fig = dash.update(topology="random-cg", n_agents=5, density=0.3, multipliers="")
    assert fig is not None and dash.env.n_agents == 5
    with pytest.raises(ValueError, match="unknown dashboard values"):
        dash.update(colour="blue")
    plt.close("all")
