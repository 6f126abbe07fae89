"""One colour and label per method (old spellings in shipped files included), the shared
HTML table helper, and the drawing functions moved out of the physics modules."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rrmbook  # noqa: E402
from rrmbook import plots, topology  # noqa: E402
from rrmbook.plots import style  # noqa: E402

DATA = Path(rrmbook.__file__).parent / "data"


def test_one_key_per_method_and_aliases_resolve():
    assert not set(style.METHOD_ALIASES) & set(style.METHODS)
    assert set(style.METHOD_ALIASES.values()) <= set(style.METHODS)
    for old, new in style.METHOD_ALIASES.items():
        assert plots.color_of(old) == plots.color_of(new)
        assert plots.label_of(old) == plots.label_of(new)
        assert plots.linestyle_of(old) == plots.linestyle_of(new)
    assert plots.method_key("MARL-Shared") == "mappo_shared"
    assert plots.label_of("marl_shared") == "MARL shared"


def test_views_follow_the_one_table():
    assert plots.METHOD_COLORS == {k: s.color for k, s in plots.METHODS.items()}
    assert set(plots.METHOD_LABELS) <= set(plots.METHODS)
    assert plots.METHOD_LINESTYLES == {"wmmse": "--", "wmmse_sum_power": ":"}
    assert plots.label_of("sac+dqn") == "sac+dqn"        # no label: the name itself
    assert plots.label_of("Someone New") == "Someone New"


def test_every_method_in_the_shipped_results_has_a_row():
    names = set()
    for path in DATA.glob("*.json"):
        data = json.loads(path.read_text())
        names |= set(data.get("methods", []))
        names |= set(data.get("times", {}) if isinstance(data.get("times"), dict) else [])
    assert {"marl_shared", "mappo_shared"} <= names
    assert all(plots.method_key(n) in plots.METHODS for n in names), sorted(
        n for n in names if plots.method_key(n) not in plots.METHODS)


def _chapter_table(header, rows):
    """The helper the chapters pasted before :func:`rrmbook.plots.show_table`."""
    def tr(row, tag="td"):
        return "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in row) + "</tr>"
    return "<table>" + tr(header, "th") + "".join(tr(r) for r in rows) + "</table>"


def test_table_html_matches_the_chapters_helper():
    header = ["method", "λ", "share"]
    rows = [["gms", 0.25, "33%"], ["llq", np.float64(1 / 3), 7], ["x", True, np.int64(2)]]
    assert plots.table_html(header, rows) == _chapter_table(header, rows)
    assert plots.table_html(header, iter(rows)) == _chapter_table(header, rows)


def test_table_html_float_format_touches_only_non_integer_numbers():
    html = plots.table_html([0.5, "b"], [[1 / 3, 2, True, np.float32(0.5), "0.123456"]],
                            float_format=".2f")
    assert html == ("<table><tr><th>0.5</th><th>b</th></tr><tr><td>0.33</td><td>2</td>"
                    "<td>True</td><td>0.50</td><td>0.123456</td></tr></table>")


def test_show_table_displays_once_and_returns_none(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    assert plots.show_table(["a"], [[1.5]], float_format=".0f") is None
    assert len(shown) == 1 and shown[0].data == "<table><tr><th>a</th></tr><tr><td>2</td></tr></table>"


def test_draw_conflict_graph_colours_devices_by_agent():
    env = rrmbook.make_env("paper-cg8", load="light", seed=0)
    ax = plots.draw_conflict_graph(env.graph, queues=range(8), scheduled=[1, 0] * 4,
                                   success=[1, 0, 0, 0, 1, 0, 1, 0], title="cg8")
    nodes = ax.collections[-1]
    colours = [matplotlib.colors.to_hex(c) for c in nodes.get_facecolor()]
    assert colours == [plots.AGENT_COLORS[n // 2].lower() for n in range(8)]
    assert ax.get_title() == "cg8"
    plt.close("all")


def test_draw_layout_draws_every_ap_and_device():
    layout = topology.hex_layout(1, 2, seed=0)
    ax = plots.draw_layout(layout, neighbourhoods=[[0, 1], [1, 0]], annotate=True)
    assert len(ax.patches) == layout.n_aps                          # one hexagon per cell
    sizes = sorted(len(c.get_offsets()) for c in ax.collections)
    assert sizes == [layout.n_aps, layout.n_devices]
    plt.close("all")


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_conflict_dashboard_slots_must_be_a_positive_integer(bad):
    from rrmbook import widgets

    with pytest.raises(ValueError, match="slots must be a positive integer"):
        widgets.DashboardSettings(slots=bad).validate()


def test_rate_panels_draw_error_bars_from_a_sweep_report():
    import matplotlib

    matplotlib.use("Agg")
    from rrmbook.experiments import load_sweep
    from rrmbook.plots import rate_panels, report_rates

    rep = load_sweep("pf-baselines")
    rates = report_rates(rep, ["greedy", "itlinq"])
    assert rates["itlinq"]["score"].n == 10 and rates["itlinq"]["score"].low < rates["itlinq"]["score"].mean
    axes = rate_panels(rates)
    assert [b.get_height() for b in axes[2].patches] == [rates[m]["score"].mean for m in ("greedy", "itlinq")]
    assert axes[2].lines or axes[2].collections             # the error bars
    single = rate_panels({"greedy": {"sum_rate": 1.0, "p5_rate": 0.1, "score": 0.5}})
    assert not single[2].collections                        # one run: no error bars
