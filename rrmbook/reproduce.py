"""Regenerate the data and figures of the papers' results (``rrmbook reproduce FIG``).

Each figure is one function returning a JSON-able dict; :func:`reproduce` writes it (and a
PNG) atomically into an output folder.  Chapters compute the same quantities live at a
small budget; these functions run them at the paper's budget.

==========  =============================================================================
figure      what it computes
==========  =============================================================================
``fig7``    delay CDFs of the conflict-graph baselines, paper-cg8, light load
``fig8``    average delay of the conflict-graph baselines, paper-cg8, three loads
``fig9``    average delay against load of the multi-cell baselines, paper-hex19
``fig10``   the same on paper-random19
``fig11``   delay CDFs (stored as quantiles) of the multi-cell baselines, both layouts
``table4``  time per decision of each multi-cell baseline (the paper's Table IV)
==========  =============================================================================

The multi-cell results ship with the package (``rrmbook/data/<figure>.json``, read by
:func:`load_result`); each file records the budget it was computed with and is regenerated,
from the repository root, by ``rrmbook reproduce <figure> --slots 5000 --batch 1 --out
rrmbook/data``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from . import baselines
from .evaluate import Results, compare, evaluate
from .io import atomic_write_json
from .policy import Policy
from .scenarios import get_scenario, make_env

__all__ = ["FIGURES", "CG_BASELINES", "CELL_BASELINES", "CELL_LOADS", "FIG11_LOAD",
           "PAPER_TABLE_IV_MS", "DATA_COMMAND", "fig7_data", "fig8_data", "fig9_data",
           "fig10_data", "fig11_data", "table4_data", "delay_quantiles", "TimedPolicy",
           "decision_times", "load_result", "reproduce"]

#: The conflict-graph baselines compared in Figs. 7-8 (the paper's three plus two references).
CG_BASELINES = ["gms", "gms_multichannel", "llq", "qcsma", "max_weight"]


def fig7_data(slots: int = 5000, seed: int = 0, batch: int = 1) -> dict:
    """Fig. 7: delay CDFs of the conflict-graph baselines on paper-cg8 at light load."""
    env = make_env("paper-cg8", load="light", batch=batch, seed=seed)
    results = compare(env, CG_BASELINES, slots=slots, seed=seed)
    out = {"figure": "fig7", "scenario": "paper-cg8", "load": "light", "slots": slots,
           "seed": seed, "batch": batch, "methods": {}}
    for name, res in results.items():
        values, counts = np.unique(res.delays, return_counts=True)
        out["methods"][name] = {"delay": values.tolist(), "count": counts.tolist(),
                                **res.summary()}
    return out


def fig8_data(slots: int = 5000, seed: int = 0, batch: int = 1) -> dict:
    """Fig. 8: average delay of the baselines on paper-cg8 at light, medium and heavy load."""
    loads = get_scenario("paper-cg8").loads
    table: dict[str, dict[str, dict]] = {}
    for load in loads:
        env = make_env("paper-cg8", load=load, batch=batch, seed=seed)
        results = compare(env, CG_BASELINES, slots=slots, seed=seed)
        table[load] = {name: res.summary() for name, res in results.items()}
    return {"figure": "fig8", "scenario": "paper-cg8", "slots": slots, "seed": seed,
            "batch": batch, "loads": loads, "table": table}


def _plot_fig7(data: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    from .plots import delay_cdf

    delays = {name: np.repeat(m["delay"], m["count"]) for name, m in data["methods"].items()}
    fig, ax = plt.subplots(figsize=(6.5, 4))
    delay_cdf(delays, ax=ax, title=f"paper-cg8, light load, {data['slots']} slots")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_fig8(data: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    from .plots import mean_delay_bars

    table = {load: {name: s["mean_delay"] for name, s in row.items()}
             for load, row in data["table"].items()}
    fig, ax = plt.subplots(figsize=(7, 4))
    mean_delay_bars(table, ax=ax, title=f"paper-cg8, {data['slots']} slots")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# =========================================================================== multi-cell
#: The multi-cell baselines of Figs. 9-11 and Table IV: the paper's four (LLQ, Fair-ITLinQ,
#: FP, WMMSE) and two sanity checks.
CELL_BASELINES = ["llq", "fair_itlinq", "fp", "wmmse", "full_power", "random"]
#: Scenario and loads (packets/s per device) of Figs. 9 and 10 (the ranges of the paper's axes).
CELL_LOADS: dict[str, tuple[str, list[float]]] = {
    "fig9": ("paper-hex19", [10.0, 15.0, 20.0, 25.0, 30.0]),
    "fig10": ("paper-random19", [15.0, 20.0, 25.0, 30.0, 35.0]),
}
#: Fig. 11 compares delay distributions at one load (packets/s per device) on both layouts:
#: the heavy preset of paper-hex19, the medium one of paper-random19.
FIG11_LOAD = 25.0
#: Table IV of Zhang & Guo: milliseconds per decision, N = 57, K = 19, H = 3, a 4-core
#: laptop CPU.  The paper's "greedy" is its cellular LLQ.
PAPER_TABLE_IV_MS = {"fp": 58.131, "wmmse": 926.882, "fair_itlinq": 5.223, "llq": 0.166,
                     "marl_shared": 1.569, "marl_separate": 1.303}
#: How a shipped result file is regenerated (run from the repository root).
DATA_COMMAND = "rrmbook reproduce {figure} --slots 5000 --batch 1 --out rrmbook/data"

#: Probability levels at which a delay distribution is stored: every percent, then finer in
#: the upper tail, then the maximum.
_LEVELS = np.unique(np.round(np.r_[np.linspace(0.0, 0.95, 96),
                                   1.0 - np.geomspace(0.05, 2e-4, 25), 1.0], 6))


def delay_quantiles(delays: np.ndarray, levels: np.ndarray = _LEVELS) -> list[float]:
    """A delay distribution in a few hundred numbers: its quantiles at ``levels`` (rounded
    to 0.001).  Plotting quantile against level draws the CDF."""
    d = np.asarray(delays, dtype=float)
    if d.size == 0:
        return []
    return np.round(np.quantile(d, levels), 3).tolist()


def _cell_summary(res: Results) -> dict:
    s = res.summary()
    s["p50_delay"] = round(res.delay_percentile(50), 4)
    s["p99_delay"] = round(res.delay_percentile(99), 4)
    s["unfinished_mean_age"] = round(float(res.unfinished_age.mean()), 4) if res.unfinished else 0.0
    return s


def _cellular_compare(scenario: str, load: float, methods: Sequence[str], slots: int, seed: int,
                      batch: int) -> dict[str, Results]:
    env = make_env(scenario, load=float(load), batch=batch, seed=seed)
    policies = {m: baselines.get(m, family="cellular") for m in methods}
    return compare(env, policies, slots=slots, seed=seed)


def _delay_vs_load(figure: str, slots: int, seed: int, batch: int,
                   loads: Sequence[float] | None, methods: Sequence[str] | None) -> dict:
    scenario, default_loads = CELL_LOADS[figure]
    loads = [float(x) for x in (loads or default_loads)]
    methods = list(methods or CELL_BASELINES)
    start = time.perf_counter()
    table = {}
    for load in loads:
        results = _cellular_compare(scenario, load, methods, slots, seed, batch)
        table[f"{load:g}"] = {m: _cell_summary(r) for m, r in results.items()}
    return {"figure": figure, "scenario": scenario, "slots": slots, "seed": seed, "batch": batch,
            "loads": loads, "load_unit": "packets/s per device", "delay_unit": "ms",
            "methods": methods, "table": table,
            "elapsed_s": round(time.perf_counter() - start, 1)}


def fig9_data(slots: int = 5000, seed: int = 0, batch: int = 1,
              loads: Sequence[float] | None = None, methods: Sequence[str] | None = None) -> dict:
    """Fig. 9: average delay of the multi-cell baselines against the load, paper-hex19
    (10-30 packets/s per device).  ``table[load][method]`` is a delay summary."""
    return _delay_vs_load("fig9", slots, seed, batch, loads, methods)


def fig10_data(slots: int = 5000, seed: int = 0, batch: int = 1,
               loads: Sequence[float] | None = None, methods: Sequence[str] | None = None) -> dict:
    """Fig. 10: as Fig. 9 on the random deployment paper-random19 (15-35 packets/s)."""
    return _delay_vs_load("fig10", slots, seed, batch, loads, methods)


def fig11_data(slots: int = 5000, seed: int = 0, batch: int = 1, load: float = FIG11_LOAD,
               methods: Sequence[str] | None = None) -> dict:
    """Fig. 11: delay distributions of the multi-cell baselines at one load on both layouts,
    each stored as quantiles at the levels ``p`` (see :func:`delay_quantiles`)."""
    methods = list(methods or CELL_BASELINES)
    start = time.perf_counter()
    layouts = {}
    for scenario in ("paper-hex19", "paper-random19"):
        results = _cellular_compare(scenario, load, methods, slots, seed, batch)
        layouts[scenario] = {m: {"delay": delay_quantiles(r.delays), **_cell_summary(r)}
                             for m, r in results.items()}
    return {"figure": "fig11", "load": float(load), "load_unit": "packets/s per device",
            "slots": slots, "seed": seed, "batch": batch, "delay_unit": "ms",
            "methods": methods, "p": _LEVELS.tolist(), "layouts": layouts,
            "elapsed_s": round(time.perf_counter() - start, 1)}


class TimedPolicy(Policy):
    """Wraps a policy and records the wall-clock time of every :meth:`act` call (seconds in
    :attr:`times`), so a timed run goes through :func:`rrmbook.evaluate` like any other."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.name = policy.name
        self.information, self.coordination = policy.information, policy.coordination
        self.conflict_free = policy.conflict_free
        self.times: list[float] = []

    def reset(self, env, rng: np.random.Generator) -> None:
        self.policy.reset(env, rng)
        self.information = self.policy.information
        self.times = []

    def act(self, obs, state=None):
        start = time.perf_counter()
        actions = self.policy.act(obs, state)
        self.times.append(time.perf_counter() - start)
        return actions


def decision_times(env, methods: Sequence[str], slots: int = 50, seed: int = 0) -> dict[str, dict]:
    """Milliseconds per decision (one call of ``act`` for the whole network) of each
    cellular baseline over a ``slots``-slot run on ``env``: mean, median, 95th percentile and
    maximum, plus the run's mean delay."""
    out = {}
    for m in methods:
        timed = TimedPolicy(baselines.get(m, family="cellular"))
        res = evaluate(env, timed, slots=slots, seed=seed)
        ms = 1000.0 * np.asarray(timed.times)
        out[m] = {"mean_ms": round(float(ms.mean()), 4), "median_ms": round(float(np.median(ms)), 4),
                  "p95_ms": round(float(np.percentile(ms, 95)), 4),
                  "max_ms": round(float(ms.max()), 4), "mean_delay": round(res.mean_delay, 4)}
    return out


def table4_data(slots: int = 5000, seed: int = 0, batch: int = 1,
                methods: Sequence[str] | None = None) -> dict:
    """Table IV: time per decision of each multi-cell baseline on paper-hex19 (N = 57,
    K = 19, H = 3) at the medium load, next to the paper's values.  Always one network
    copy (``batch`` is ignored, recorded as 1): a decision is made for one network."""
    methods = list(methods or CELL_BASELINES)
    env = make_env("paper-hex19", load="medium", batch=1, seed=seed)
    start = time.perf_counter()
    times = decision_times(env, methods, slots=slots, seed=seed)
    return {"figure": "table4", "scenario": "paper-hex19", "load": "medium", "slots": slots,
            "seed": seed, "batch": 1, "methods": methods, "times": times,
            "paper_ms": PAPER_TABLE_IV_MS,
            "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or
                        platform.machine(), "python": platform.python_version()},
            "elapsed_s": round(time.perf_counter() - start, 1)}


def _plot_delay_vs_load(data: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    from .plots import delay_vs_load

    loads = data["loads"]
    curves = {m: [data["table"][f"{ld:g}"][m]["mean_delay"] for ld in loads]
              for m in data["methods"]}
    fig, ax = plt.subplots(figsize=(6.5, 4))
    delay_vs_load(loads, curves, ax=ax, unit="ms",
                  xlabel="arrival rate (packets/s per device)",
                  title=f"{data['scenario']}, {data['slots']} slots x {data['batch']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_fig11(data: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    from .plots import delay_quantile_cdf

    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    for ax, (scenario, methods) in zip(axes, data["layouts"].items(), strict=True):
        curves = {m: {"p": data["p"], "delay": c["delay"], "mean": c["mean_delay"]}
                  for m, c in methods.items()}
        delay_quantile_cdf(curves, ax=ax, title=f"{scenario}, {data['load']:g} packets/s")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_table4(data: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    from .plots import decision_time_bars

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    decision_time_bars({m: t["mean_ms"] for m, t in data["times"].items()}, ax=ax,
                       reported=data["paper_ms"], title="time per decision, paper-hex19")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


FIGURES: dict[str, tuple[Callable[..., dict], Callable[[dict, Path], None]]] = {
    "fig7": (fig7_data, _plot_fig7),
    "fig8": (fig8_data, _plot_fig8),
    "fig9": (fig9_data, _plot_delay_vs_load),
    "fig10": (fig10_data, _plot_delay_vs_load),
    "fig11": (fig11_data, _plot_fig11),
    "table4": (table4_data, _plot_table4),
}


def load_result(figure: str) -> dict:
    """The result file of ``figure`` shipped with the package (``rrmbook/data/<figure>.json``).

    Raises ``ValueError`` for an unknown figure and ``FileNotFoundError``, naming the command
    that regenerates it, when the file is missing.
    """
    from importlib.resources import files

    if figure not in FIGURES:
        raise ValueError(f"unknown figure {figure!r}; choose one of {sorted(FIGURES)}")
    resource = files("rrmbook") / "data" / f"{figure}.json"
    if not resource.is_file():
        raise FileNotFoundError(f"no shipped result for {figure!r} ({resource}); regenerate it "
                                f"from the repository root with `{DATA_COMMAND.format(figure=figure)}`")
    return json.loads(resource.read_text(encoding="utf-8"))


def reproduce(figure: str, out_dir: Path | str = "results", slots: int = 5000, seed: int = 0,
              batch: int = 1) -> Path:
    """Compute ``figure``'s data, write ``<out>/<figure>.json`` and ``<out>/<figure>.png``."""
    if figure not in FIGURES:
        raise ValueError(f"unknown figure {figure!r}; choose one of {sorted(FIGURES)}")
    if slots < 1 or batch < 1:
        raise ValueError(f"slots and batch must be positive, got slots={slots}, batch={batch}")
    compute, plot = FIGURES[figure]
    out_dir = Path(out_dir)
    data = compute(slots=slots, seed=seed, batch=batch)
    path = atomic_write_json(out_dir / f"{figure}.json", data)
    plot(data, out_dir / f"{figure}.png")
    return path
