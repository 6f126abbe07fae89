"""The learned-policy dashboard (issue 16): a shipped MAPPO policy beside a baseline on the
same recorded run."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rrmbook  # noqa: E402
from rrmbook.widgets import (  # noqa: E402
    PolicyDashboardSettings,
    policy_dashboard,
    policy_dashboard_figure,
    run_policy_dashboard,
    shipped_policies,
)


def test_every_network_has_shipped_policies():
    assert shipped_policies("paper-cg8") == ["cg8-heavy-shared", "cg8-heavy-separate"]
    assert "hex19-light-shared" in shipped_policies("paper-hex19")
    assert all(n.startswith("random19") for n in shipped_policies("paper-random19"))


def test_the_run_is_an_evaluation_of_both_on_the_same_arrivals():
    env, runs = run_policy_dashboard(PolicyDashboardSettings(slots=300, window=20))
    (key, results, log), (base, base_results, _) = runs["policy"], runs["baseline"]
    assert key == "mappo_shared" and base == "gms"
    same = rrmbook.evaluate(rrmbook.make_env("paper-cg8", load="heavy", seed=0),
                            rrmbook.baselines.get("gms"), slots=300, seed=0)
    assert np.isclose(base_results.mean_delay, same.mean_delay)
    assert log.schedule.shape[0] == 300 and results.slots == 300


@pytest.mark.parametrize(("bad", "word"), [
    ({"scenario": "paper-cg9"}, "scenario"),
    ({"policy": "hex19-heavy-shared"}, "was not trained on paper-cg8"),
    ({"load": "extreme"}, "load"),
    ({"baseline": "fp"}, "baseline"),
    ({"window": 2000}, "window"),
])
def test_bad_settings_name_the_field(bad, word):
    with pytest.raises(ValueError, match=word):
        run_policy_dashboard(PolicyDashboardSettings(**bad))


def test_the_static_figure_has_both_schedules_queues_and_delays():
    fig = policy_dashboard_figure("paper-cg8", slots=200, window=20)
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("learned: ") for t in titles)
    assert any(t.startswith("baseline: ") for t in titles)
    assert "packet delays" in titles and "total queue over the run" in titles


def test_the_dashboard_offers_each_networks_policies_and_rejects_bad_values():
    dash = policy_dashboard(slots=100, window=10)
    assert dash.update() is not None
    assert list(dash.controls["policy"].options) == shipped_policies("paper-cg8")
    dash.update(scenario="paper-hex19", slots=50)
    assert list(dash.controls["policy"].options) == shipped_policies("paper-hex19")
    assert dash.controls["baseline"].value == "fp" and dash.settings.policy.startswith("hex19")
    assert dash.update(window=500) is None and "window" in dash.message
