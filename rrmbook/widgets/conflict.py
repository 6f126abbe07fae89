"""The conflict-graph dashboard (chapter 3): load, per-device rate factors, topology and
policies; shows the graph, the queues and the delay CDFs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .. import baselines, checks, plots
from ..conflict import maximal_independent_sets
from ..evaluate import Results, evaluate
from ..plots import draw_conflict_graph
from ..scenarios import make_env
from ._base import Dashboard

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
        unknown = [p for p in self.policies if p not in baselines.available("conflict")]
        if unknown:
            raise ValueError(f"policies: unknown {unknown}; choose from {baselines.available('conflict')}")
        checks.positive_int("slots", self.slots)


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


class ConflictDashboard(Dashboard):
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

