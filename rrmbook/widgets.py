"""Interactive dashboards (ipywidgets).  Thin: they call the library and :mod:`rrmbook.plots`.

Every dashboard comes in two halves that share one code path:

* a *figure function* (:func:`conflict_dashboard_figure`) that runs the simulations for given
  values and draws the figure, used by the HTML book (which cannot run widgets) and by tests;
* the *dashboard* (:func:`conflict_dashboard`), a set of controls whose every change calls
  :meth:`ConflictDashboard.update`, which can also be called from code.

Importing this module needs no display; widgets are only built when a dashboard is created.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from . import baselines, plots
from .conflict import draw_conflict_graph, maximal_independent_sets
from .evaluate import Results, evaluate
from .scenarios import make_env

__all__ = [
    "TOPOLOGIES",
    "DEFAULT_POLICIES",
    "DashboardSettings",
    "parse_multipliers",
    "run_conflict_dashboard",
    "draw_conflict_dashboard",
    "conflict_dashboard_figure",
    "ConflictDashboard",
    "conflict_dashboard",
]

#: Topologies the conflict dashboard offers.
TOPOLOGIES = ("paper-cg8", "random-cg")
#: Policies shown by default: the paper's GMS, the multi-channel GMS and the two local ones.
DEFAULT_POLICIES = ("gms", "gms_multichannel", "llq", "qcsma")


@dataclass
class DashboardSettings:
    """Everything the conflict dashboard lets a reader change (with its defaults).

    Attributes
    ----------
    load : arrival rate λ in packets per device per slot.
    multipliers : per-device factors on ``load`` (``None`` = all 1).
    topology : ``"paper-cg8"`` or ``"random-cg"``.
    n_agents, density, graph_seed : the random graph (ignored for paper-cg8).
    policies : baseline names, see :func:`rrmbook.baselines.available`.
    slots, seed, batch : length of each run, its seed and the number of copies.
    extra : further :func:`rrmbook.make_env` overrides (e.g. ``{"n_subbands": 2}``).
    """

    load: float = 0.3
    multipliers: str | tuple[float, ...] | None = None
    topology: str = "paper-cg8"
    n_agents: int = 6
    density: float = 0.25
    graph_seed: int = 0
    policies: tuple[str, ...] = DEFAULT_POLICIES
    slots: int = 2000
    seed: int = 0
    batch: int = 1
    extra: dict = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field."""
        if self.topology not in TOPOLOGIES:
            raise ValueError(f"topology must be one of {list(TOPOLOGIES)}, got {self.topology!r}")
        if not np.isfinite(self.load) or self.load < 0:
            raise ValueError(f"load must be a rate >= 0 packets per device per slot, got {self.load}")
        if not self.policies:
            raise ValueError("policies: choose at least one policy")
        unknown = [p for p in self.policies if p not in baselines.available()]
        if unknown:
            raise ValueError(f"policies: unknown {unknown}; choose from {baselines.available()}")
        if int(self.slots) != self.slots or self.slots < 1:
            raise ValueError(f"slots must be a positive integer, got {self.slots}")


def parse_multipliers(text: str | Sequence[float] | None, n_devices: int) -> np.ndarray:
    """Per-device rate factors from text such as ``"1, 1, 2"`` (or a sequence).

    Empty text means every factor is 1.  Fewer than ``n_devices`` numbers are allowed: the
    remaining devices keep factor 1.  Raises ``ValueError`` on anything else.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return np.ones(n_devices)
    if isinstance(text, str):
        try:
            vals = [float(v) for v in text.replace(";", ",").replace(" ", ",").split(",") if v]
        except ValueError:
            raise ValueError(f"multipliers must be numbers separated by commas, got {text!r}") from None
    else:
        vals = [float(v) for v in text]
    if len(vals) > n_devices:
        raise ValueError(f"multipliers: got {len(vals)} numbers for {n_devices} devices")
    if any(not np.isfinite(v) or v < 0 for v in vals):
        raise ValueError(f"multipliers must be finite and >= 0, got {vals}")
    out = np.ones(n_devices)
    out[: len(vals)] = vals
    return out


def _make_env(s: DashboardSettings):
    topo = {} if s.topology == "paper-cg8" else {
        "n_agents": int(s.n_agents), "density": float(s.density), "graph_seed": int(s.graph_seed)}
    env = make_env(s.topology, load=float(s.load), batch=s.batch, seed=s.seed, **topo, **s.extra)
    if s.multipliers is not None:
        rates = float(s.load) * parse_multipliers(s.multipliers, env.n_devices)
        env = make_env(s.topology, load=rates.tolist(), batch=s.batch, seed=s.seed, **topo,
                       **s.extra)
    return env


def run_conflict_dashboard(settings: DashboardSettings | None = None,
                           **values) -> tuple[object, dict[str, Results]]:
    """Build the environment the settings describe and evaluate every chosen policy on it
    (same seed, hence the same arrivals).  Returns ``(env, {policy: Results})``."""
    s = settings or DashboardSettings()
    if values:
        s = DashboardSettings(**{**s.__dict__, **values})
    s.validate()
    env = _make_env(s)
    results = {p: evaluate(env, baselines.get(p), slots=int(s.slots), seed=s.seed)
               for p in s.policies}
    return env, results


def draw_conflict_dashboard(env, results: dict[str, Results], fig: Figure | None = None) -> Figure:
    """The dashboard's figure: the conflict graph, the queue traces and the delay CDFs."""
    if fig is None:
        fig = plt.figure(figsize=(13.5, 4.2))
    ax_graph, ax_q, ax_cdf = fig.subplots(1, 3, gridspec_kw={"width_ratios": [0.8, 1.1, 1.1]})
    mis = maximal_independent_sets(env.exclusion)
    alpha = int(mis.sum(axis=1).max())
    draw_conflict_graph(env.graph, ax=ax_graph,
                        title=f"{env.config.name}: {env.n_devices} devices, {env.n_agents} agents")
    offered = float(env.config.rates.sum())
    ax_graph.text(0.5, -0.04, f"offered {offered:.2f} packets/slot; at most "
                  f"{env.n_subbands} subbands x {alpha} = {env.n_subbands * alpha} can be served",
                  transform=ax_graph.transAxes, ha="center", va="top", fontsize=8)
    window = max(1, min(100, int(next(iter(results.values())).slots) // 20))
    peaks = [float(r.queue_trace.sum(axis=1).max()) for r in results.values()]
    log = max(peaks) > 20 * (min(peaks) + 1)  # one policy's queues explode: use a log axis
    plots.queue_traces(results, ax=ax_q, window=window, title="queues over time", log=log)
    plots.delay_cdf(results, ax=ax_cdf, title="packet delays", log_x=True)
    fig.tight_layout()
    return fig


def conflict_dashboard_figure(load: float = 0.3, topology: str = "paper-cg8",
                              policies: Sequence[str] = DEFAULT_POLICIES, slots: int = 2000,
                              seed: int = 0, multipliers: str | Sequence[float] | None = None,
                              n_agents: int = 6, density: float = 0.25, graph_seed: int = 0,
                              batch: int = 1) -> Figure:
    """Run and draw the conflict dashboard for fixed values (what the HTML book shows)."""
    settings = DashboardSettings(load=load, multipliers=multipliers, topology=topology,
                                 n_agents=n_agents, density=density, graph_seed=graph_seed,
                                 policies=tuple(policies), slots=slots, seed=seed, batch=batch)
    env, results = run_conflict_dashboard(settings)
    return draw_conflict_dashboard(env, results)


class ConflictDashboard:
    """Controls for load, per-device multipliers, topology and policies, plus a live figure.

    ``update(**values)`` sets controls and redraws; it returns the new figure (``None`` if
    the values were rejected, with the reason in :attr:`message`).  Attributes after an
    update: :attr:`figure`, :attr:`env`, :attr:`results`, :attr:`settings`.
    """

    def __init__(self, slots: int = 2000, seed: int = 0, **defaults) -> None:
        import ipywidgets as W

        d = DashboardSettings(slots=slots, seed=seed, **defaults)
        style = {"description_width": "110px"}
        wide = W.Layout(width="340px")
        self.controls = {
            "load": W.FloatSlider(value=d.load, min=0.05, max=1.0, step=0.01,
                                  description="load λ", readout_format=".2f",
                                  continuous_update=False, style=style, layout=wide),
            "multipliers": W.Text(value="" if d.multipliers is None else
                                  ", ".join(f"{m:g}" for m in d.multipliers),
                                  placeholder="e.g. 2, 1, 1, 1 (device 0 twice as busy)",
                                  description="rate factors", continuous_update=False,
                                  style=style, layout=wide),
            "topology": W.Dropdown(options=list(TOPOLOGIES), value=d.topology,
                                   description="topology", style=style, layout=wide),
            "n_agents": W.IntSlider(value=d.n_agents, min=2, max=10, description="agents",
                                    continuous_update=False, style=style, layout=wide),
            "density": W.FloatSlider(value=d.density, min=0.0, max=0.8, step=0.05,
                                     description="density", continuous_update=False,
                                     style=style, layout=wide),
            "graph_seed": W.IntText(value=d.graph_seed, description="graph seed", style=style,
                                    layout=wide),
            "policies": W.SelectMultiple(options=baselines.available(), value=tuple(d.policies),
                                         rows=6, description="policies", style=style,
                                         layout=wide),
        }
        self._fixed = {"slots": d.slots, "seed": d.seed, "batch": d.batch}
        self.message_box = W.HTML()
        self.output = W.Output()
        self.figure: Figure | None = None
        self.env = None
        self.results: dict[str, Results] = {}
        self.settings: DashboardSettings | None = None
        self.message = ""
        self._holding = False
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        c = self.controls
        left = W.VBox([c["load"], c["multipliers"], c["policies"]])
        right = W.VBox([c["topology"], c["n_agents"], c["density"], c["graph_seed"]])
        self.widget = W.VBox([W.HBox([left, right]), self.message_box, self.output])
        self._sync_enabled()

    # ----------------------------------------------------------------- state
    def values(self) -> dict:
        """The current control values as keyword arguments of :class:`DashboardSettings`."""
        v = {k: w.value for k, w in self.controls.items()}
        v["multipliers"] = v["multipliers"] or None
        v["policies"] = tuple(v["policies"])
        return {**v, **self._fixed}

    def _sync_enabled(self) -> None:
        random = self.controls["topology"].value == "random-cg"
        for k in ("n_agents", "density", "graph_seed"):
            self.controls[k].disabled = not random

    def _on_change(self, _change) -> None:
        if not self._holding:
            self.update()

    # ----------------------------------------------------------------- update
    def update(self, **values) -> Figure | None:
        """Set the given controls (e.g. ``load=0.5, policies=("llq",)``), rerun and redraw."""
        unknown = set(values) - set(self.controls) - set(self._fixed)
        if unknown:
            raise ValueError(f"unknown dashboard values {sorted(unknown)}; "
                             f"use {sorted(self.controls) + sorted(self._fixed)}")
        self._holding = True
        try:
            for k, v in values.items():
                if k in self._fixed:
                    self._fixed[k] = v
                elif k == "multipliers" and not isinstance(v, str):
                    self.controls[k].value = "" if v is None else ", ".join(f"{x:g}" for x in v)
                else:
                    self.controls[k].value = tuple(v) if k == "policies" else v
        finally:
            self._holding = False
        self._sync_enabled()
        try:
            settings = DashboardSettings(**self.values())
            env, results = run_conflict_dashboard(settings)
        except ValueError as err:
            self.message = str(err)
            self.message_box.value = f"<span style='color:#b00'>{self.message}</span>"
            return None
        self.message = ""
        self.message_box.value = ""
        self.settings, self.env, self.results = settings, env, results
        fig = draw_conflict_dashboard(env, results)
        self.figure = fig
        self._show(fig)
        return fig

    def _show(self, fig: Figure) -> None:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            with self.output:
                self.output.clear_output(wait=True)
                display(fig)
        plt.close(fig)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if self.figure is None:
            self.update()
        display(self.widget)

    def __repr__(self) -> str:
        return f"ConflictDashboard({self.values()})"


def conflict_dashboard(slots: int = 2000, seed: int = 0, **defaults) -> ConflictDashboard:
    """The conflict-graph dashboard: traffic load, per-device rate factors, topology
    (paper-cg8 or a random graph) and policies; shows the graph, queues and delay CDFs.

    Display the returned object in a notebook; call its ``update(...)`` from code.
    """
    return ConflictDashboard(slots=slots, seed=seed, **defaults)
