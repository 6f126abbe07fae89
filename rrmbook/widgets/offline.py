"""The offline-MARL dashboard (chapter 9): mix a dataset from online SAC, online DQN and
baseline data, train CQL on it and compare its rates with the behaviour policies'."""

from __future__ import annotations

import time
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .. import baselines, checks, plots
from ..evaluate import RateResults, evaluate
from ..experiments.offline_marl import make_dataset
from ..experiments.zoo import PF_SCENARIO, get_learner, learner_path
from ..offline import CQLConfig, mix, train_cql
from ..offline.networks import VARIANTS
from ..scenarios import make_env
from ._base import Dashboard

__all__ = [
    "OFFLINE_SOURCES",
    "OfflineDashboardSettings",
    "OfflineRun",
    "offline_dashboard_dataset",
    "behaviour_policies",
    "run_offline_dashboard",
    "draw_offline_dashboard",
    "offline_dashboard_figure",
    "OfflineDashboard",
    "offline_dashboard",
]

#: the data sources the offline dashboard mixes (kinds of
#: :func:`rrmbook.experiments.offline_marl.make_dataset`)
OFFLINE_SOURCES = ("sac", "dqn", "baselines")
#: the baselines behind the "baselines" source, in equal shares (TDM acts outside the top-N
#: action set, so it cannot be a behaviour policy)
_BEHAVIOUR_BASELINES = ("random_walk", "greedy", "itlinq")


@dataclass
class OfflineDashboardSettings:
    """What the offline-MARL dashboard of chapter 9 lets a reader change.

    Attributes
    ----------
    sac, dqn, baselines : weights of the three data sources (numbers >= 0, not all 0; they
        are normalised): the shipped online SAC and DQN learners sampling their actions as
        they did while learning, and random walk, greedy and ITLinQ in equal parts.
    size : transitions in the dataset.
    alpha : the CQL penalty weight (0: plain offline SAC).
    variant : ``"ctde"``, ``"centralised"`` or ``"independent"``.
    steps : gradient steps of the training run.
    hidden : units in each of the two hidden layers.
    slots, batch, seed : how every policy is evaluated (steps, copies, seed); ``seed`` also
        seeds the training.
    data_seed : seed of the dataset collection (each source adds its own offset).
    """

    sac: float = 0.5
    dqn: float = 0.0
    baselines: float = 0.5
    size: int = 10_000
    alpha: float = 1.0
    variant: str = "ctde"
    steps: int = 1_000
    hidden: int = 64
    slots: int = 1_000
    batch: int = 4
    seed: int = 0
    data_seed: int = 100

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field."""
        shares = [self.sac, self.dqn, self.baselines]
        if any(not np.isfinite(v) or v < 0 for v in shares) or sum(shares) <= 0:
            raise ValueError(f"the shares sac, dqn, baselines must be >= 0 and not all 0, got "
                             f"{shares}")
        least = CQLConfig().batch_size
        if isinstance(self.size, bool) or int(self.size) != self.size or self.size < least:
            raise ValueError(f"size must be an integer >= {least} (one batch), got {self.size!r}")
        if not np.isfinite(self.alpha) or self.alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha!r}")
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {list(VARIANTS)}, got {self.variant!r}")
        for name in ("steps", "hidden"):
            checks.positive_int(name, getattr(self, name))

    def parts(self) -> dict[str, int]:
        """Transitions from each source (rounded; a source with fewer than 3 is left out
        and the biggest part makes up the total)."""
        shares = {k: float(getattr(self, k)) for k in OFFLINE_SOURCES}
        total = sum(shares.values())
        parts = {k: round(int(self.size) * v / total) for k, v in shares.items()}
        parts = {k: n for k, n in parts.items() if n >= 3}
        biggest = max(parts, key=parts.get)
        parts[biggest] += int(self.size) - sum(parts.values())
        return parts


@dataclass
class OfflineRun:
    """One training run of the offline dashboard: the dataset, the learned policy, its
    training history (:func:`rrmbook.offline.train_cql`) and the training time (s)."""

    settings: OfflineDashboardSettings
    dataset: object
    policy: object
    history: list
    train_s: float


def _check_learner(kind: str) -> None:
    if kind in ("sac", "dqn") and not learner_path(f"pf-{kind}").is_file():
        raise ValueError(f"the shipped online learner pf-{kind} is missing; regenerate it with "
                         f"`rrmbook reproduce pf-fig4 --out rrmbook/data`, or set {kind} to 0")


def offline_dashboard_dataset(settings: OfflineDashboardSettings, cache: dict | None = None):
    """The dataset the settings describe: :func:`rrmbook.experiments.offline_marl.make_dataset` for
    each source, joined by :func:`rrmbook.offline.mix`.  ``cache`` (a dict) keeps the parts
    already collected."""
    cache = {} if cache is None else cache
    parts = {}
    for offset, (kind, n) in enumerate(settings.parts().items()):
        _check_learner(kind)
        key = ("data", kind, n, settings.data_seed)
        if key not in cache:
            cache[key] = make_dataset(kind, n, seed=settings.data_seed + 10 * offset)
        parts[kind] = cache[key]
    return mix(parts)


def behaviour_policies(kind: str) -> dict:
    """The policies behind a data source, acting as they did when the data were collected
    (the online learners sample their actions)."""
    if kind not in OFFLINE_SOURCES:
        raise ValueError(f"kind must be one of {list(OFFLINE_SOURCES)}, got {kind!r}")
    if kind == "baselines":
        return {n: baselines.get(n) for n in _BEHAVIOUR_BASELINES}
    _check_learner(kind)
    policy = get_learner(f"pf-{kind}").policy(deterministic=False)
    policy.name = f"online_{kind}"
    return {policy.name: policy}


def run_offline_dashboard(settings: OfflineDashboardSettings | None = None,
                          cache: dict | None = None,
                          **values) -> tuple[OfflineRun, dict[str, RateResults]]:
    """Collect (or reuse from ``cache``) the dataset, train CQL on it, and evaluate the
    learned policy and every behaviour policy in the data on the same seed.  Returns
    ``(run, {policy: RateResults})``, the learned policy first."""
    s = settings or OfflineDashboardSettings()
    if values:
        s = OfflineDashboardSettings(**{**s.__dict__, **values})
    s.validate()
    cache = {} if cache is None else cache
    data = offline_dashboard_dataset(s, cache)
    config = CQLConfig(variant=s.variant, hidden=int(s.hidden), cql_alpha=float(s.alpha))
    start = time.perf_counter()
    policy, history = train_cql(data, config, seed=int(s.seed), gradient_steps=int(s.steps),
                                progress=False)
    run = OfflineRun(s, data, policy, history, time.perf_counter() - start)
    env = make_env(PF_SCENARIO, batch=int(s.batch), seed=int(s.seed))
    results = {policy.name: evaluate(env, policy, slots=int(s.slots), seed=int(s.seed))}
    for kind in s.parts():
        for name, behaviour in behaviour_policies(kind).items():
            key = ("eval", name, int(s.slots), int(s.batch), int(s.seed))
            if key not in cache:
                cache[key] = evaluate(env, behaviour, slots=int(s.slots), seed=int(s.seed))
            results[name] = cache[key]
    return run, results


def draw_offline_dashboard(run: OfflineRun, results: dict[str, RateResults],
                           fig: Figure | None = None) -> Figure:
    """The offline dashboard's figure: sum rate, 5th-percentile rate and score of the learned
    policy next to the behaviour policies, and how many APs stay silent per step in the data
    and under the learned policy on the same states."""
    if fig is None:
        fig = plt.figure(figsize=(15.5, 4.2))
    axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [1, 1, 1, 1.15]})
    s, learned = run.settings, run.policy.name
    labels = {learned: f"learned: {plots.label_of(learned)}, α = {s.alpha:g}"}
    plain = {"online_sac": "online SAC, sampling", "online_dqn": "online DQN, ε-greedy"}
    labels |= {n: f"{plain.get(n, plots.label_of(n))} (behaviour)" for n in results
               if n != learned}
    plots.rate_panels(results, axes=axes[:3], labels=labels)
    n_agents = run.dataset.n_agents
    silent = int(run.dataset.meta.get("n_actions", run.dataset.actions.max() + 1)) - 1
    counts = {"in the data": (run.dataset.actions == silent).sum(1),
              "learned policy, same states":
                  (run.policy.learner.act(run.dataset.observations) == silent).sum(1)}
    xs = np.arange(n_agents + 1)
    for k, (name, c) in enumerate(counts.items()):
        share = np.bincount(c, minlength=n_agents + 1) / len(c)
        axes[3].bar(xs + (k - 0.5) * 0.4, share, width=0.4, label=name,
                    color=["0.6", plots.color_of(learned)][k])
    axes[3].set(xticks=xs, xlabel="silent APs in a step", ylabel="share of steps",
                title="who stays silent")
    axes[3].legend(fontsize=8)
    axes[3].grid(axis="y", alpha=0.3)
    mixture = ", ".join(f"{v:.0%} {k}" for k, v in run.dataset.meta["mixture"].items())
    fig.suptitle(f"{len(run.dataset):,} transitions ({mixture}); {plots.label_of(learned)}, "
                 f"{s.steps:,} gradient steps in {run.train_s:.0f} s", fontsize=10)
    fig.tight_layout()
    return fig


def offline_dashboard_figure(**values) -> Figure:
    """Run and draw the offline dashboard for fixed values (what the HTML book shows);
    keyword arguments as :class:`OfflineDashboardSettings`."""
    return draw_offline_dashboard(*run_offline_dashboard(OfflineDashboardSettings(**values)))


class OfflineDashboard(Dashboard):
    """Controls for the dataset (shares of SAC, DQN and baseline data, size), the penalty
    weight alpha, the learner variant and the number of gradient steps.  A run trains a
    learner for tens of seconds, so changes wait for the *train* button; ``update(**values)``
    sets controls and trains at once.  After an update, :attr:`env` holds the
    :class:`OfflineRun` and :attr:`results` the evaluations; collected datasets and
    behaviour evaluations are kept in :attr:`cache`."""

    _settings = OfflineDashboardSettings

    SIZES = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000)
    STEPS = (200, 500, 1_000, 1_500)

    def __init__(self, slots: int = 1_000, seed: int = 0, **defaults) -> None:
        import ipywidgets as W

        d = OfflineDashboardSettings(slots=slots, seed=seed, **defaults)
        d.validate()
        style = {"description_width": "120px"}
        wide = W.Layout(width="340px")

        def share(value: float, text: str):
            return W.FloatSlider(value=value, min=0.0, max=1.0, step=0.05, description=text,
                                 continuous_update=False, style=style, layout=wide)

        self.controls = {
            "sac": share(d.sac, "online SAC data"),
            "dqn": share(d.dqn, "online DQN data"),
            "baselines": share(d.baselines, "baseline data"),
            "size": W.SelectionSlider(options=sorted({*self.SIZES, int(d.size)}),
                                      value=int(d.size), description="transitions",
                                      continuous_update=False, style=style, layout=wide),
            "alpha": W.FloatLogSlider(value=max(d.alpha, 0.01), base=10, min=-2, max=1,
                                      step=0.1, description="CQL weight α",
                                      continuous_update=False, style=style, layout=wide),
            "variant": W.Dropdown(options=list(VARIANTS), value=d.variant,
                                  description="learner", style=style, layout=wide),
            "steps": W.SelectionSlider(options=sorted({*self.STEPS, int(d.steps)}),
                                       value=int(d.steps), description="gradient steps",
                                       continuous_update=False, style=style, layout=wide),
        }
        self._fixed = {"hidden": d.hidden, "slots": d.slots, "batch": d.batch, "seed": d.seed,
                       "data_seed": d.data_seed}
        self.cache: dict = {}
        self.button = W.Button(description="train", button_style="primary",
                               tooltip="collect the dataset, train, evaluate")
        self.button.on_click(lambda _button: self.update())
        c = self.controls
        left = W.VBox([c["sac"], c["dqn"], c["baselines"], c["size"]])
        right = W.VBox([c["alpha"], c["variant"], c["steps"], self.button])
        self._finish(W.HBox([left, right]))
        self.message_box.value = "<i>choose the data and α, then press <b>train</b></i>"

    def _on_change(self, _change) -> None:
        if not self._holding:
            self.message_box.value = "<i>changed: press <b>train</b> to retrain</i>"

    def update(self, **values) -> Figure | None:
        self.message_box.value = "<i>collecting, training and evaluating ...</i>"
        return super().update(**values)

    def _run(self, settings):
        return run_offline_dashboard(settings, cache=self.cache)

    def _draw(self, run, results) -> Figure:
        return draw_offline_dashboard(run, results)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def offline_dashboard(slots: int = 1_000, seed: int = 0, **defaults) -> OfflineDashboard:
    """The offline-MARL dashboard of chapter 9: mix a dataset from online SAC, online DQN
    and baseline data, choose its size, alpha and the learner, train CQL and compare its
    rates with the behaviour policies'.

    Display the returned object in a notebook and press *train*; call ``update(...)`` from
    code."""
    return OfflineDashboard(slots=slots, seed=seed, **defaults)

