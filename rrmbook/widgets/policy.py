"""The learned-policy dashboard (chapters 6 and 7): pick a shipped MAPPO policy, its network
(the conflict graph, or the hexagonal or random 19-cell layout), a load and a baseline, and
watch both schedule: who transmits in each slot, how the queues grow, and how long packets
wait.

The run is an evaluation recorded with :func:`rrmbook.analysis.record_decisions`, so the
policy and the baseline see the same arrivals (and channels) and the numbers are those of
:func:`rrmbook.evaluate` with the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from .. import baselines, checks, plots
from ..analysis import record_decisions
from ..experiments.zoo import SHIPPED, ShippedPolicy, get_policy
from ..scenarios import make_env
from ._base import Dashboard

__all__ = [
    "POLICY_SCENARIOS",
    "PolicyDashboardSettings",
    "shipped_policies",
    "run_policy_dashboard",
    "draw_policy_dashboard",
    "policy_dashboard_figure",
    "PolicyDashboard",
    "policy_dashboard",
]

#: the networks with shipped policies, and the baseline each is shown beside by default
POLICY_SCENARIOS = {"paper-cg8": "gms", "paper-hex19": "fp", "paper-random19": "fp"}
LOADS = ("light", "medium", "heavy")


def shipped_policies(scenario: str) -> list[str]:
    """The shipped MAPPO policies trained on ``scenario``, in the order of the zoo."""
    return [n for n, p in SHIPPED.items() if isinstance(p, ShippedPolicy) and p.scenario == scenario]


@dataclass
class PolicyDashboardSettings:
    """Everything the learned-policy dashboard lets a reader change.

    Attributes
    ----------
    scenario : the network: ``"paper-cg8"``, ``"paper-hex19"`` or ``"paper-random19"``.
    policy : a shipped MAPPO policy trained on that network (:func:`shipped_policies`;
        ``None``: the first).
    load : ``"light"``, ``"medium"`` or ``"heavy"`` (the scenario's presets).
    baseline : a baseline of the network's family (``None``: :data:`POLICY_SCENARIOS`).
    slots, seed : the length of the recorded run and its seed.
    window : the slots shown in the schedule panels (the first ``window`` of the run).
    """

    scenario: str = "paper-cg8"
    policy: str | None = None
    load: str = "heavy"
    baseline: str | None = None
    slots: int = 1000
    seed: int = 0
    window: int = 40

    def __post_init__(self) -> None:
        if self.scenario in POLICY_SCENARIOS:
            self.policy = self.policy or shipped_policies(self.scenario)[0]
            self.baseline = self.baseline or POLICY_SCENARIOS[self.scenario]

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field."""
        if self.scenario not in POLICY_SCENARIOS:
            raise ValueError(f"scenario must be one of {list(POLICY_SCENARIOS)}, got {self.scenario!r}")
        names = shipped_policies(self.scenario)
        if self.policy not in names:
            raise ValueError(f"policy: {self.policy!r} was not trained on {self.scenario}; "
                             f"choose from {names}")
        if self.load not in LOADS:
            raise ValueError(f"load must be one of {list(LOADS)}, got {self.load!r}")
        family = make_env(self.scenario, seed=0).family
        if self.baseline not in baselines.available(family):
            raise ValueError(f"baseline: unknown {self.baseline!r}; choose from "
                             f"{baselines.available(family)}")
        checks.positive_int("slots", self.slots)
        checks.positive_int("window", self.window)
        if self.window > self.slots:
            raise ValueError(f"window ({self.window}) must not exceed slots ({self.slots})")


def run_policy_dashboard(settings: PolicyDashboardSettings | None = None, **values):
    """Record the policy and the baseline on the same run.  Returns
    ``(env, {"policy": (method, Results, log), "baseline": (method, Results, log)})``, the
    method being ``mappo_shared``/``mappo_separate`` or the baseline's name."""
    s = settings or PolicyDashboardSettings()
    if values:
        s = PolicyDashboardSettings(**{**s.__dict__, **values})
    s.validate()
    env = make_env(s.scenario, load=s.load, seed=s.seed)
    runs = {}
    learned = f"mappo_{SHIPPED[s.policy].mode}"          # the method key of plots' styles
    for role, key, policy in (("policy", learned, get_policy(s.policy, train_missing=False)),
                              ("baseline", s.baseline, baselines.get(s.baseline))):
        results, log = record_decisions(env, policy, slots=s.slots, seed=s.seed)
        runs[role] = (key, results, log)
    return env, runs


def _activity(log, window: int) -> tuple[np.ndarray, np.ndarray | None, str]:
    """``(devices x slots)`` what each device did in the first ``window`` slots, the
    collisions (conflict graph) and a colour-bar label."""
    if hasattr(log, "schedule"):                                    # conflict graph
        sent = log.schedule[:window, 0].sum(axis=1).T               # (N, T) subbands used
        lost = (log.schedule[:window, 0] & ~log.success[:window, 0]).any(axis=1).T
        return sent.astype(float), lost, "subbands scheduled"
    power = log.link_power[:window, 0].sum(axis=1).T                # (N, T) watts
    return power / float(np.max(log.levels)), None, "transmit power / P_max (sum over subbands)"


def draw_policy_dashboard(env, runs: dict, window: int = 40, title: str = "",
                          fig: Figure | None = None) -> Figure:
    """The figure: the policy's and the baseline's schedules in the first ``window`` slots
    (left), their total queue over the run and their delay CDFs (right)."""
    if fig is None:
        fig = plt.figure(figsize=(13.0, 6.4))
    grid = fig.add_gridspec(2, 2, width_ratios=[1.35, 1.0])
    vmax = max(float(_activity(log, window)[0].max()) for _, _, log in runs.values()) or 1.0
    cmap = ListedColormap(plt.get_cmap("Blues")(np.linspace(0.0, 0.9, 256)))
    for row, (role, (key, results, log)) in enumerate(runs.items()):
        ax = fig.add_subplot(grid[row, 0])
        act, lost, label = _activity(log, window)
        im = ax.imshow(act, aspect="auto", cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
        if lost is not None and lost.any():
            n, t = np.nonzero(lost)
            ax.scatter(t, n, marker="x", color="C3", s=18, label="collision")
            ax.legend(loc="upper right", fontsize=7, framealpha=0.8)
        what = "learned" if role == "policy" else "baseline"
        ax.set(title=f"{what}: {plots.label_of(key)}, mean delay {results.mean_delay:.2f} "
                     f"{env.delay_unit}", ylabel="device", xlabel="slot" if row == 1 else "")
        fig.colorbar(im, ax=ax, fraction=0.04, pad=0.01).set_label(label, fontsize=8)
    by_key = {key: results for key, results, _ in runs.values()}
    window_q = max(1, min(50, next(iter(by_key.values())).slots // 20))
    plots.queue_traces(by_key, ax=fig.add_subplot(grid[0, 1]), window=window_q,
                       title="total queue over the run")
    plots.delay_cdf(by_key, ax=fig.add_subplot(grid[1, 1]), title="packet delays", log_x=True)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _title(s: PolicyDashboardSettings) -> str:
    return f"{s.policy} on {s.scenario}, {s.load} load, {s.slots:,} slots (seed {s.seed})"


def policy_dashboard_figure(scenario: str = "paper-cg8", policy: str | None = None,
                            load: str = "heavy", baseline: str | None = None, slots: int = 1000,
                            seed: int = 0, window: int = 40) -> Figure:
    """Run and draw the learned-policy dashboard for fixed values (what the HTML book shows)."""
    settings = PolicyDashboardSettings(scenario, policy, load, baseline, slots, seed, window)
    env, runs = run_policy_dashboard(settings)
    return draw_policy_dashboard(env, runs, window=settings.window, title=_title(settings))


class PolicyDashboard(Dashboard):
    """Controls for the network, the shipped policy, the load and the baseline, plus a live
    figure.  Changing the network offers that network's policies and baselines.

    ``update(**values)`` sets controls and redraws; it returns the new figure (``None`` if
    the values were rejected, with the reason in :attr:`message`)."""

    _settings = PolicyDashboardSettings

    def __init__(self, slots: int = 1000, seed: int = 0, window: int = 40, **defaults) -> None:
        import ipywidgets as W

        d = PolicyDashboardSettings(slots=slots, seed=seed, window=window, **defaults)
        style, wide = {"description_width": "90px"}, W.Layout(width="330px")
        family = make_env(d.scenario, seed=0).family
        self.controls = {
            "scenario": W.Dropdown(options=list(POLICY_SCENARIOS), value=d.scenario,
                                   description="network", style=style, layout=wide),
            "policy": W.Dropdown(options=shipped_policies(d.scenario), value=d.policy,
                                 description="policy", style=style, layout=wide),
            "load": W.Dropdown(options=list(LOADS), value=d.load, description="load",
                               style=style, layout=wide),
            "baseline": W.Dropdown(options=baselines.available(family), value=d.baseline,
                                   description="baseline", style=style, layout=wide),
        }
        self._fixed = {"slots": d.slots, "seed": d.seed, "window": d.window}
        c = self.controls
        self._finish(W.HBox([W.VBox([c["scenario"], c["policy"]]),
                             W.VBox([c["load"], c["baseline"]])]))

    def _sync_enabled(self) -> None:
        """Offer the chosen network's policies and its family's baselines."""
        scenario = self.controls["scenario"].value
        policies = shipped_policies(scenario)
        options = baselines.available(make_env(scenario, seed=0).family)
        holding, self._holding = self._holding, True
        try:
            for key, opts, default in (("policy", policies, policies[0]),
                                       ("baseline", options, POLICY_SCENARIOS[scenario])):
                w = self.controls[key]
                if list(w.options) != list(opts):
                    keep = w.value if w.value in opts else default
                    w.options = opts
                    w.value = keep
        finally:
            self._holding = holding

    def _run(self, settings):
        return run_policy_dashboard(settings)

    def _draw(self, env, runs) -> Figure:
        return draw_policy_dashboard(env, runs, window=self.settings.window,
                                     title=_title(self.settings))


def policy_dashboard(slots: int = 1000, seed: int = 0, window: int = 40,
                     **defaults) -> PolicyDashboard:
    """The learned-policy dashboard: a shipped MAPPO policy beside a baseline on the same
    run (schedules, queues, delay CDFs).  Display the returned object in a notebook; call
    its ``update(...)`` from code."""
    return PolicyDashboard(slots=slots, seed=seed, window=window, **defaults)
