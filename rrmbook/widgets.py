"""Interactive dashboards (ipywidgets).  Thin: they call the library and :mod:`rrmbook.plots`.

Every dashboard comes in two halves that share one code path:

* a *figure function* (:func:`conflict_dashboard_figure`, :func:`cellular_dashboard_figure`,
  :func:`offline_dashboard_figure`) that runs the simulations for given values and draws the
  figure, used by the HTML book (which cannot run widgets) and by tests;
* the *dashboard* (:func:`conflict_dashboard`, :func:`cellular_dashboard`,
  :func:`offline_dashboard`), a set of controls whose every change calls ``update`` (the
  offline dashboard, which trains a learner, waits for its *train* button instead); ``update``
  can also be called from code.

Importing this module needs no display; widgets are only built when a dashboard is created.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from traitlets import TraitError

from . import baselines, plots
from .conflict import draw_conflict_graph, maximal_independent_sets
from .envs import CellularConfig, CellularEnv
from .evaluate import RateResults, Results, evaluate
from .scenarios import make_env
from .topology import draw_layout, hex_layout, random_layout

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
    "CELLULAR_LAYOUTS",
    "DEFAULT_CELLULAR_POLICIES",
    "CellularDashboardSettings",
    "make_cellular_env",
    "run_cellular_dashboard",
    "draw_cellular_dashboard",
    "cellular_dashboard_figure",
    "CellularDashboard",
    "cellular_dashboard",
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
        unknown = [p for p in self.policies if p not in baselines.available("conflict")]
        if unknown:
            raise ValueError(f"policies: unknown {unknown}; choose from {baselines.available('conflict')}")
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


class _Dashboard(ABC):
    """What every dashboard shares: controls, a message line, an output area and
    ``update(**values)``.  Subclasses build :attr:`controls` and the layout, then call
    :meth:`_finish`, and define ``_settings`` (the settings dataclass), ``_run`` and
    ``_draw``."""

    _settings: type
    controls: dict
    _fixed: dict

    @abstractmethod
    def _run(self, settings):
        """Simulate with ``settings``; return ``(env, results)``."""

    @abstractmethod
    def _draw(self, env, results) -> Figure:
        """Draw the dashboard figure."""

    def _finish(self, controls_box) -> None:
        import ipywidgets as W

        self.message_box = W.HTML()
        self.output = W.Output()
        self.figure: Figure | None = None
        self.env = None
        self.results: dict[str, Results] = {}
        self.settings = None
        self.message = ""
        self._holding = False
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.widget = W.VBox([controls_box, self.message_box, self.output])
        self._sync_enabled()

    # ----------------------------------------------------------------- state
    def values(self) -> dict:
        """The current control values as keyword arguments of the settings dataclass."""
        v = {k: w.value for k, w in self.controls.items()}
        if "policies" in v:
            v["policies"] = tuple(v["policies"])
        return {**v, **self._fixed}

    def _sync_enabled(self) -> None:  # noqa: B027 - optional hook, most dashboards need none
        """Disable the controls that do not apply to the current values (a hook)."""

    def _set_control(self, key: str, value) -> None:
        self.controls[key].value = tuple(value) if key == "policies" else value

    def _on_change(self, _change) -> None:
        if not self._holding:
            self.update()

    # ----------------------------------------------------------------- update
    def update(self, **values) -> Figure | None:
        """Set the given controls (e.g. ``policies=("llq",)``), rerun and redraw.  Returns
        the new figure, or ``None`` when the values were rejected (reason in
        :attr:`message`)."""
        unknown = set(values) - set(self.controls) - set(self._fixed)
        if unknown:
            raise ValueError(f"unknown dashboard values {sorted(unknown)}; "
                             f"use {sorted(self.controls) + sorted(self._fixed)}")
        self._holding = True
        try:
            for k, v in values.items():
                if k in self._fixed:
                    self._fixed[k] = v
                else:
                    self._set_control(k, v)
        except (TraitError, ValueError, TypeError) as err:  # a value a control refuses
            return self._reject(f"{k}: {err}")
        finally:
            self._holding = False
        self._sync_enabled()
        try:
            settings = self._settings(**self.values())
            env, results = self._run(settings)
        except ValueError as err:
            return self._reject(str(err))
        self.message = ""
        self.message_box.value = ""
        self.settings, self.env, self.results = settings, env, results
        fig = self._draw(env, results)
        self.figure = fig
        self._show(fig)
        return fig

    def _reject(self, message: str) -> None:
        self.message = message
        self.message_box.value = f"<span style='color:#b00'>{message}</span>"
        return None

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
        return f"{type(self).__name__}({self.values()})"


class ConflictDashboard(_Dashboard):
    """Controls for load, per-device multipliers, topology and policies, plus a live figure.

    ``update(**values)`` sets controls and redraws; it returns the new figure (``None`` if
    the values were rejected, with the reason in :attr:`message`).  Attributes after an
    update: :attr:`figure`, :attr:`env`, :attr:`results`, :attr:`settings`.
    """

    _settings = DashboardSettings

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
            "policies": W.SelectMultiple(options=baselines.available("conflict"), value=tuple(d.policies),
                                         rows=6, description="policies", style=style,
                                         layout=wide),
        }
        self._fixed = {"slots": d.slots, "seed": d.seed, "batch": d.batch}
        c = self.controls
        left = W.VBox([c["load"], c["multipliers"], c["policies"]])
        right = W.VBox([c["topology"], c["n_agents"], c["density"], c["graph_seed"]])
        self._finish(W.HBox([left, right]))

    def values(self) -> dict:
        v = super().values()
        v["multipliers"] = v["multipliers"] or None
        return v

    def _set_control(self, key: str, value) -> None:
        if key == "multipliers" and not isinstance(value, str):
            value = "" if value is None else ", ".join(f"{x:g}" for x in value)
        super()._set_control(key, value)

    def _sync_enabled(self) -> None:
        random = self.controls["topology"].value == "random-cg"
        for k in ("n_agents", "density", "graph_seed"):
            self.controls[k].disabled = not random

    def _run(self, settings):
        return run_conflict_dashboard(settings)

    def _draw(self, env, results) -> Figure:
        return draw_conflict_dashboard(env, results)


def conflict_dashboard(slots: int = 2000, seed: int = 0, **defaults) -> ConflictDashboard:
    """The conflict-graph dashboard: traffic load, per-device rate factors, topology
    (paper-cg8 or a random graph) and policies; shows the graph, queues and delay CDFs.

    Display the returned object in a notebook; call its ``update(...)`` from code.
    """
    return ConflictDashboard(slots=slots, seed=seed, **defaults)


# =========================================================================== multi-cell
#: Layout kinds the multi-cell dashboard offers.
CELLULAR_LAYOUTS = ("hexagonal", "random")
#: Policies shown by default: the greedy local rule, the CSI-based scheduler and FP.
DEFAULT_CELLULAR_POLICIES = ("llq", "fair_itlinq", "fp")


@dataclass
class CellularDashboardSettings:
    """Everything the multi-cell dashboard lets a reader change (with its defaults).

    Attributes
    ----------
    load : arrivals in packets per second per device (as on the paper's axes).
    rings : rings of cells around the centre cell (1 -> 7 cells, 2 -> 19, 3 -> 37).
    devices_per_cell : devices per cell (hexagonal) or on average per AP (random).
    layout_seed : seed of the deployment (device drops, AP jitter).
    layout : ``"hexagonal"`` (devices in their hexagon, as ``paper-hex19``) or ``"random"``
        (jittered APs, devices dropped near a random AP and associated with the nearest, as
        ``paper-random19``: every AP serves between ``devices_per_cell - 1`` and
        ``devices_per_cell + 2`` devices).
    policies : cellular baseline names, see ``rrmbook.baselines.available("cellular")``.
    slots, seed, batch : length of each run, its seed (traffic and fading), copies.
    extra : further :class:`~rrmbook.envs.CellularConfig` fields (e.g. ``{"n_subbands": 2}``).
    """

    load: float = 20.0
    rings: int = 2
    devices_per_cell: int = 3
    layout_seed: int = 0
    layout: str = "hexagonal"
    policies: tuple[str, ...] = DEFAULT_CELLULAR_POLICIES
    slots: int = 300
    seed: int = 0
    batch: int = 1
    extra: dict = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field."""
        if self.layout not in CELLULAR_LAYOUTS:
            raise ValueError(f"layout must be one of {list(CELLULAR_LAYOUTS)}, got {self.layout!r}")
        if not isinstance(self.load, int | float) or not np.isfinite(self.load) or self.load < 0:
            raise ValueError(f"load must be a rate >= 0 packets/s per device, got {self.load!r}")
        if int(self.rings) != self.rings or not 1 <= self.rings <= 3:
            raise ValueError(f"rings must be 1, 2 or 3, got {self.rings!r}")
        if int(self.devices_per_cell) != self.devices_per_cell or not 1 <= self.devices_per_cell <= 8:
            raise ValueError(f"devices_per_cell must be an integer from 1 to 8, got "
                             f"{self.devices_per_cell!r}")
        if not self.policies:
            raise ValueError("policies: choose at least one policy")
        known = baselines.available("cellular")
        unknown = [p for p in self.policies if p not in known]
        if unknown:
            raise ValueError(f"policies: unknown {unknown}; choose from {known}")
        if int(self.slots) != self.slots or self.slots < 1:
            raise ValueError(f"slots must be a positive integer, got {self.slots!r}")


def make_cellular_env(s: CellularDashboardSettings) -> CellularEnv:
    """The environment a dashboard setting describes (checked first)."""
    s.validate()
    rings, dpc = int(s.rings), int(s.devices_per_cell)
    if s.layout == "hexagonal":
        layout = hex_layout(rings, dpc, seed=int(s.layout_seed))
    else:
        n_aps = 1 + 3 * rings * (rings + 1)
        layout = random_layout(n_aps, n_aps * dpc, devices_per_ap=(max(1, dpc - 1), dpc + 2),
                               seed=int(s.layout_seed))
    slot_s = s.extra.get("slot_s", CellularConfig.__dataclass_fields__["slot_s"].default)
    try:
        config = CellularConfig(layout=layout, arrival_rate=float(s.load) * slot_s,
                                name=f"{s.layout}-{layout.n_aps}cells-{layout.n_devices}devices",
                                **s.extra)
    except TypeError as err:  # an unknown field in extra
        raise ValueError(f"extra: {err}") from None
    return CellularEnv(config, batch=int(s.batch), seed=int(s.seed))


def run_cellular_dashboard(settings: CellularDashboardSettings | None = None,
                           **values) -> tuple[CellularEnv, dict[str, Results]]:
    """Build the network the settings describe and evaluate every chosen policy on it (same
    seed: the same arrivals and the same fading).  Returns ``(env, {policy: Results})``."""
    s = settings or CellularDashboardSettings()
    if values:
        s = CellularDashboardSettings(**{**s.__dict__, **values})
    env = make_cellular_env(s)
    results = {p: evaluate(env, baselines.get(p, family="cellular"), slots=int(s.slots),
                           seed=int(s.seed))
               for p in s.policies}
    return env, results


def draw_cellular_dashboard(env: CellularEnv, results: dict[str, Results],
                            fig: Figure | None = None) -> Figure:
    """The multi-cell dashboard's figure: the layout with its 8 dB neighbourhoods, the
    queue traces and the delay CDFs (mean delay and unfinished packets in the legend)."""
    if fig is None:
        fig = plt.figure(figsize=(14.5, 4.8))
    ax_map, ax_q, ax_cdf = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.15, 1.0, 1.0]})
    draw_layout(env.layout, ax=ax_map, neighbourhoods=env.neighbourhoods,
                show_cells=env.layout.kind == "hexagonal",
                title=f"{env.n_agents} APs, {env.n_devices} devices ({env.layout.kind})")
    offered = float(env.config.rates.mean()) / env.config.slot_s
    ax_map.text(0.5, -0.16, f"red: neighbours (8 dB rule); offered {offered:g} packets/s "
                f"= {offered * env.packet_size / 1e6:g} Mbit/s per device",
                transform=ax_map.transAxes, ha="center", va="top", fontsize=8)
    window = max(1, min(50, int(next(iter(results.values())).slots) // 20))
    peaks = [float(r.queue_trace.sum(axis=1).max()) for r in results.values()]
    log = max(peaks) > 20 * (min(peaks) + 1)  # one policy's queues explode: use a log axis
    plots.queue_traces(results, ax=ax_q, window=window, title="queues over time", log=log)
    plots.delay_cdf(results, ax=ax_cdf, log_x=True, show_max=False,
                    title="packet delays (mean in the legend)")
    ax_cdf.set_xlim(left=1.0)
    left = {m: r.unfinished for m, r in results.items() if r.unfinished}
    if left:
        ax_cdf.text(0.02, 0.98, "still queued at the end:\n" + "\n".join(
            f"{plots.label_of(m)}: {n}" for m, n in left.items()), transform=ax_cdf.transAxes,
            va="top", fontsize=7)
    fig.tight_layout()
    return fig


def cellular_dashboard_figure(load: float = 20.0, rings: int = 2, devices_per_cell: int = 3,
                              layout_seed: int = 0, layout: str = "hexagonal",
                              policies: Sequence[str] = DEFAULT_CELLULAR_POLICIES,
                              slots: int = 300, seed: int = 0, batch: int = 1) -> Figure:
    """Run and draw the multi-cell dashboard for fixed values (what the HTML book shows)."""
    settings = CellularDashboardSettings(load=load, rings=rings, devices_per_cell=devices_per_cell,
                                         layout_seed=layout_seed, layout=layout,
                                         policies=tuple(policies), slots=slots, seed=seed,
                                         batch=batch)
    env, results = run_cellular_dashboard(settings)
    return draw_cellular_dashboard(env, results)


class CellularDashboard(_Dashboard):
    """Controls for load, network size (rings, devices per cell), layout kind and seed, and
    policies, plus a live figure.  ``update(**values)`` works as for
    :class:`ConflictDashboard`."""

    _settings = CellularDashboardSettings

    def __init__(self, slots: int = 300, seed: int = 0, **defaults) -> None:
        import ipywidgets as W

        d = CellularDashboardSettings(slots=slots, seed=seed, **defaults)
        style = {"description_width": "120px"}
        wide = W.Layout(width="340px")
        self.controls = {
            "load": W.FloatSlider(value=d.load, min=1.0, max=60.0, step=1.0,
                                  description="load (packets/s)", readout_format=".0f",
                                  continuous_update=False, style=style, layout=wide),
            "policies": W.SelectMultiple(options=baselines.available("cellular"),
                                         value=tuple(d.policies), rows=6,
                                         description="policies", style=style, layout=wide),
            "layout": W.Dropdown(options=list(CELLULAR_LAYOUTS), value=d.layout,
                                 description="layout", style=style, layout=wide),
            "rings": W.IntSlider(value=d.rings, min=1, max=3, description="rings of cells",
                                 continuous_update=False, style=style, layout=wide),
            "devices_per_cell": W.IntSlider(value=d.devices_per_cell, min=1, max=8,
                                            description="devices per cell",
                                            continuous_update=False, style=style, layout=wide),
            "layout_seed": W.IntText(value=d.layout_seed, description="layout seed",
                                     style=style, layout=wide),
        }
        self._fixed = {"slots": d.slots, "seed": d.seed, "batch": d.batch}
        c = self.controls
        left = W.VBox([c["load"], c["policies"]])
        right = W.VBox([c["layout"], c["rings"], c["devices_per_cell"], c["layout_seed"]])
        self._finish(W.HBox([left, right]))

    def _run(self, settings):
        return run_cellular_dashboard(settings)

    def _draw(self, env, results) -> Figure:
        return draw_cellular_dashboard(env, results)


def cellular_dashboard(slots: int = 300, seed: int = 0, **defaults) -> CellularDashboard:
    """The multi-cell dashboard: load, rings of cells, devices per cell, layout kind and
    seed, policies; shows the map with neighbourhoods, the queues and the delay CDFs.

    Display the returned object in a notebook; call its ``update(...)`` from code.
    """
    return CellularDashboard(slots=slots, seed=seed, **defaults)


# ----------------------------------------------------------------------------- offline MARL

#: the data sources the offline dashboard mixes (kinds of
#: :func:`rrmbook.reproduce_offline.make_dataset`)
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
        from .offline import CQLConfig
        from .offline.networks import VARIANTS

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
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

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
    from .reproduce_offline import learner_path

    if kind in ("sac", "dqn") and not learner_path(f"pf-{kind}").is_file():
        raise ValueError(f"the shipped online learner pf-{kind} is missing; regenerate it with "
                         f"`rrmbook reproduce pf-fig4 --out rrmbook/data`, or set {kind} to 0")


def offline_dashboard_dataset(settings: OfflineDashboardSettings, cache: dict | None = None):
    """The dataset the settings describe: :func:`rrmbook.reproduce_offline.make_dataset` for
    each source, joined by :func:`rrmbook.offline.mix`.  ``cache`` (a dict) keeps the parts
    already collected."""
    from .offline import mix
    from .reproduce_offline import make_dataset

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
    from .reproduce_offline import get_learner

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
    from .offline import CQLConfig, train_cql
    from .reproduce_offline import SCENARIO

    s = settings or OfflineDashboardSettings()
    if values:
        s = OfflineDashboardSettings(**{**s.__dict__, **values})
    s.validate()
    cache = {} if cache is None else cache
    data = offline_dashboard_dataset(s, cache)
    config = CQLConfig(variant=s.variant, hidden=int(s.hidden), cql_alpha=float(s.alpha))
    start = time.perf_counter()
    policy, history = train_cql(data, config, seed=int(s.seed), gradient_steps=int(s.steps))
    run = OfflineRun(s, data, policy, history, time.perf_counter() - start)
    env = make_env(SCENARIO, batch=int(s.batch), seed=int(s.seed))
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


class OfflineDashboard(_Dashboard):
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

        from .offline.networks import VARIANTS

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
