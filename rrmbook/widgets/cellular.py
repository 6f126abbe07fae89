"""The multi-cell dashboard (chapter 4): load, rings of cells, devices per cell, layout kind
and seed, policies; shows the map with neighbourhoods, the queues and the delay CDFs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .. import baselines, checks, plots
from ..envs import CellularConfig, CellularEnv
from ..evaluate import Results, evaluate
from ..plots import draw_layout
from ..topology import hex_layout, random_layout
from ._base import Dashboard

__all__ = [
    "CELLULAR_LAYOUTS",
    "DEFAULT_CELLULAR_POLICIES",
    "CellularDashboardSettings",
    "make_cellular_env",
    "run_cellular_dashboard",
    "draw_cellular_dashboard",
    "cellular_dashboard_figure",
    "CellularDashboard",
    "cellular_dashboard",
]

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
        checks.positive_int("slots", self.slots)


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


class CellularDashboard(Dashboard):
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

