"""Zhang & Guo in 19-cell networks: Figs. 9, 10 and 11 and Table IV (data and plot of
each), and the helpers they share (delay summaries, delay quantiles, timed decisions)."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .. import baselines
from ..evaluate import Results, compare, evaluate
from ..plots import decision_time_bars, delay_quantile_cdf, delay_vs_load
from ..policy import Policy
from ..scenarios import make_env
from .common import marl_policies, save_figure

__all__ = ["CELL_BASELINES", "CELL_PAPER_CODE", "CELL_LOADS", "FIG11_LOAD", "PAPER_TABLE_IV_MS", "fig9_data",
           "fig10_data", "fig11_data", "table4_data", "delay_quantiles", "cell_summary",
           "TimedPolicy", "decision_times", "plot_delay_vs_load", "plot_fig11", "plot_table4"]

#: The multi-cell baselines of Figs. 9-11 and Table IV: the paper's four (LLQ, Fair-ITLinQ,
#: FP, WMMSE) and two sanity checks.
CELL_BASELINES = ["llq", "fair_itlinq", "fp", "wmmse", "full_power", "random"]
#: FP and WMMSE as the authors' public code runs them (every link at its own P_max; issue
#: 13): Figs. 9-11 store them beside the SPEC versions
CELL_PAPER_CODE = ["fp_all_links", "wmmse_all_links"]
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


def cell_summary(res: Results) -> dict:
    s = res.summary()
    s["p50_delay"] = round(res.delay_percentile(50), 4)
    s["p99_delay"] = round(res.delay_percentile(99), 4)
    s["unfinished_mean_age"] = round(float(res.unfinished_age.mean()), 4) if res.unfinished else 0.0
    return s


def _cellular_compare(scenario: str, load: float, methods: Sequence[str], slots: int, seed: int,
                      batch: int, extra: dict[str, Policy] | None = None) -> dict[str, Results]:
    env = make_env(scenario, load=float(load), batch=batch, seed=seed)
    policies = {m: baselines.get(m, family="cellular") for m in methods} | (extra or {})
    return compare(env, policies, slots=slots, seed=seed)


def _delay_vs_load(figure: str, slots: int, seed: int, batch: int,
                   loads: Sequence[float] | None, methods: Sequence[str] | None,
                   policies: str | Path | None, retrain: bool, marl: bool) -> dict:
    scenario, default_loads = CELL_LOADS[figure]
    loads = [float(x) for x in (loads or default_loads)]
    extra = marl_policies(scenario, policies, retrain, marl)
    methods = list(methods or CELL_BASELINES + CELL_PAPER_CODE)
    start = time.perf_counter()
    table = {}
    for load in loads:
        results = _cellular_compare(scenario, load, methods, slots, seed, batch, extra)
        table[f"{load:g}"] = {m: cell_summary(r) for m, r in results.items()}
    return {"figure": figure, "scenario": scenario, "slots": slots, "seed": seed, "batch": batch,
            "loads": loads, "load_unit": "packets/s per device", "delay_unit": "ms",
            "methods": methods + list(extra), "table": table,
            "elapsed_s": round(time.perf_counter() - start, 1)}


def fig9_data(slots: int = 5000, seed: int = 0, batch: int = 1,
              loads: Sequence[float] | None = None, methods: Sequence[str] | None = None,
              policies: str | Path | None = None, retrain: bool = False,
              marl: bool = True) -> dict:
    """Fig. 9: average delay of MAPPO (shared and separate, trained at 25 packets/s) and the
    multi-cell baselines against the load, paper-hex19 (10-30 packets/s per device).
    ``table[load][method]`` is a delay summary."""
    return _delay_vs_load("fig9", slots, seed, batch, loads, methods, policies, retrain, marl)


def fig10_data(slots: int = 5000, seed: int = 0, batch: int = 1,
               loads: Sequence[float] | None = None, methods: Sequence[str] | None = None,
               policies: str | Path | None = None, retrain: bool = False,
               marl: bool = True) -> dict:
    """Fig. 10: as Fig. 9 on the random deployment paper-random19 (15-35 packets/s; the
    MAPPO policies trained at 30 packets/s)."""
    return _delay_vs_load("fig10", slots, seed, batch, loads, methods, policies, retrain, marl)


def fig11_data(slots: int = 5000, seed: int = 0, batch: int = 1, load: float = FIG11_LOAD,
               methods: Sequence[str] | None = None, policies: str | Path | None = None,
               retrain: bool = False, marl: bool = True) -> dict:
    """Fig. 11: delay distributions of MAPPO and the multi-cell baselines at one load on both
    layouts, each stored as quantiles at the levels ``p`` (see :func:`delay_quantiles`)."""
    methods = list(methods or CELL_BASELINES + CELL_PAPER_CODE)
    start = time.perf_counter()
    layouts = {}
    for scenario in ("paper-hex19", "paper-random19"):
        extra = marl_policies(scenario, policies, retrain, marl)
        results = _cellular_compare(scenario, load, methods, slots, seed, batch, extra)
        layouts[scenario] = {m: {"delay": delay_quantiles(r.delays), **cell_summary(r)}
                             for m, r in results.items()}
    return {"figure": "fig11", "load": float(load), "load_unit": "packets/s per device",
            "slots": slots, "seed": seed, "batch": batch, "delay_unit": "ms",
            "methods": methods + (["mappo_shared", "mappo_separate"] if marl else []),
            "p": _LEVELS.tolist(), "layouts": layouts,
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


def decision_times(env, methods: Sequence[str] | dict[str, Policy], slots: int = 50,
                   seed: int = 0) -> dict[str, dict]:
    """Milliseconds per decision (one call of ``act`` for the whole network) of each
    cellular baseline (by name) or policy (a ``{name: policy}`` dict) over a ``slots``-slot
    run on ``env``: mean, median, 95th percentile and maximum, plus the run's mean delay."""
    if not isinstance(methods, dict):
        methods = {m: baselines.get(m, family="cellular") for m in methods}
    out = {}
    for m, policy in methods.items():
        timed = TimedPolicy(policy)
        res = evaluate(env, timed, slots=slots, seed=seed)
        ms = 1000.0 * np.asarray(timed.times)
        out[m] = {"mean_ms": round(float(ms.mean()), 4), "median_ms": round(float(np.median(ms)), 4),
                  "p95_ms": round(float(np.percentile(ms, 95)), 4),
                  "max_ms": round(float(ms.max()), 4), "mean_delay": round(res.mean_delay, 4)}
    return out


def table4_data(slots: int = 5000, seed: int = 0, batch: int = 1,
                methods: Sequence[str] | None = None, policies: str | Path | None = None,
                retrain: bool = False, marl: bool = True) -> dict:
    """Table IV: time per decision of each multi-cell method on paper-hex19 (N = 57,
    K = 19, H = 3) at the medium load, next to the paper's values (MAPPO: all 19 agents'
    actors in one call).  Always one network copy (``batch`` is ignored, recorded as 1): a
    decision is made for one network."""
    methods = list(methods or CELL_BASELINES)
    env = make_env("paper-hex19", load="medium", batch=1, seed=seed)
    policies_ = {m: baselines.get(m, family="cellular") for m in methods}
    policies_ |= {f"marl_{m.split('_')[1]}": p
                  for m, p in marl_policies("paper-hex19", policies, retrain, marl).items()}
    start = time.perf_counter()
    times = decision_times(env, policies_, slots=slots, seed=seed)
    return {"figure": "table4", "scenario": "paper-hex19", "load": "medium", "slots": slots,
            "seed": seed, "batch": 1, "methods": list(policies_), "times": times,
            "paper_ms": PAPER_TABLE_IV_MS,
            "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or
                        platform.machine(), "python": platform.python_version()},
            "elapsed_s": round(time.perf_counter() - start, 1)}


def plot_delay_vs_load(data: dict, path: Path) -> None:
    loads = data["loads"]
    curves = {m: [data["table"][f"{ld:g}"][m]["mean_delay"] for ld in loads]
              for m in data["methods"]}
    fig, ax = plt.subplots(figsize=(6.5, 4))
    delay_vs_load(loads, curves, ax=ax, unit="ms",
                  xlabel="arrival rate (packets/s per device)",
                  title=f"{data['scenario']}, {data['slots']} slots x {data['batch']}")
    save_figure(fig, path)


def plot_fig11(data: dict, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    for ax, (scenario, methods) in zip(axes, data["layouts"].items(), strict=True):
        curves = {m: {"p": data["p"], "delay": c["delay"], "mean": c["mean_delay"]}
                  for m, c in methods.items()}
        delay_quantile_cdf(curves, ax=ax, title=f"{scenario}, {data['load']:g} packets/s")
    save_figure(fig, path)


def plot_table4(data: dict, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    decision_time_bars({m: t["mean_ms"] for m, t in data["times"].items()}, ax=ax,
                       reported=data["paper_ms"], title="time per decision, paper-hex19")
    save_figure(fig, path)
