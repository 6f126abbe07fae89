"""The offline-MARL dashboard of chapter 9: settings are checked, the dashboard builds
headless, and one tiny run (a baseline dataset, a few gradient steps) trains, evaluates and
draws."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from rrmbook import widgets  # noqa: E402
from rrmbook.experiments.zoo import learner_path  # noqa: E402

TINY = {"sac": 0.0, "dqn": 0.0, "baselines": 1.0, "size": 600, "steps": 10, "slots": 200,
        "batch": 1}


def test_parts_are_normalised_and_add_up():
    s = widgets.OfflineDashboardSettings(sac=2.0, dqn=1.0, baselines=1.0, size=1000)
    assert s.parts() == {"sac": 500, "dqn": 250, "baselines": 250}
    odd = widgets.OfflineDashboardSettings(sac=1.0, dqn=0.001, baselines=1.0, size=999)
    assert "dqn" not in odd.parts() and sum(odd.parts().values()) == 999


@pytest.mark.parametrize("bad, word", [
    ({"sac": 0.0, "dqn": 0.0, "baselines": 0.0}, "shares"),
    ({"baselines": -1.0}, "shares"),
    ({"size": 100}, "size"),
    ({"alpha": -0.5}, "alpha"),
    ({"variant": "vdn"}, "variant"),
    ({"steps": 0}, "steps"),
])
def test_bad_settings_name_the_field(bad, word):
    with pytest.raises(ValueError, match=word):
        widgets.OfflineDashboardSettings(**bad).validate()


def test_dashboard_builds_trains_once_and_draws():
    dash = widgets.offline_dashboard(**TINY)
    assert dash.figure is None and "train" in dash.message_box.value   # nothing runs at build
    fig = dash.update()
    assert fig is not None and dash.message == ""
    run, results = dash.env, dash.results
    assert len(run.dataset) == 600 and run.history[-1]["updates"] == 10
    assert list(results) == ["cql-ctde", "random_walk", "greedy", "itlinq"]
    assert all(r.slots == 200 and r.avg_rates.shape == (1, 20) for r in results.values())
    assert len(fig.axes) == 4
    cached = len(dash.cache)
    assert dash.update(alpha=0.1, variant="independent") is not None
    assert len(dash.cache) == cached and "cql-independent" in dash.results  # data reused
    assert dash.update(baselines=0.0) is None and "shares" in dash.message
    with pytest.raises(ValueError, match="unknown dashboard values"):
        dash.update(colour="blue")
    plt.close("all")


@pytest.mark.skipif(not learner_path("pf-sac").is_file(), reason="shipped pf-sac missing")
def test_sac_data_and_its_behaviour_policy():
    run, results = widgets.run_offline_dashboard(**(TINY | {"sac": 1.0, "baselines": 1.0}))
    assert run.dataset.meta["mixture"] == {"sac": 0.5, "baselines": 0.5}
    assert {"online_sac", "random_walk"} <= set(results)
