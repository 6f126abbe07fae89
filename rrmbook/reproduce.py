"""Regenerate the data and figures of the papers' results (``rrmbook reproduce FIG``).

Each figure is one function returning a JSON-able dict; :func:`reproduce` writes it (and a
PNG) atomically into an output folder.  Chapters compute the same quantities live at a
small budget; these functions run them at the paper's budget.

==========  =============================================================================
figure      what it computes
==========  =============================================================================
``fig7``    delay CDFs of MAPPO and the conflict-graph baselines, paper-cg8, light load
``fig8``    average delay of MAPPO and the conflict-graph baselines, paper-cg8, three loads
``fig9``    average delay against load of MAPPO and the multi-cell baselines, paper-hex19
``fig10``   the same on paper-random19
``fig11``   delay CDFs (stored as quantiles) of the multi-cell methods, both layouts
``table4``  time per decision of each multi-cell method (the paper's Table IV)
``fig12``   training curve of the shared policy on paper-hex19
``fig13``   training curves (every agent) of the separate policies on paper-hex19
``table5``  train/test load mismatch of the shared policy on paper-hex19 (Table V)
``scaling`` the 19-cell shared policy deployed on hexagonal networks of 19, 37 and 61 cells
``pf-fig4`` ... ``pf-fig7``: the offline-MARL figures of Eldeeb & Alves on pf-4x20
            (:mod:`rrmbook.reproduce_offline`)
==========  =============================================================================

The results ship with the package (``rrmbook/data/<figure>.json``, read by
:func:`load_result`), and so do the trained MAPPO policies they use
(``rrmbook/data/policies``, see :mod:`rrmbook.reproduce_marl`); each result file records
the budget it was computed with and is regenerated, from the repository root, by
``rrmbook reproduce <figure> --slots 5000 --batch 1 --out rrmbook/data`` (which trains a
policy first when its file is missing; ``--retrain`` trains them again).
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
from .reproduce_marl import data_dir, get_policy, queue_growth, stability_label, training_record
from .reproduce_offline import pf_fig4_data, pf_fig5_data, pf_fig6_data, pf_fig7_data
from .scenarios import get_scenario, make_env

__all__ = ["FIGURES", "CG_BASELINES", "CELL_BASELINES", "CELL_LOADS", "FIG11_LOAD",
           "PAPER_TABLE_IV_MS", "DATA_COMMAND", "fig7_data", "fig8_data", "fig9_data",
           "fig10_data", "fig11_data", "table4_data", "fig12_data", "fig13_data", "table5_data",
           "scaling_data", "MARL_POLICIES", "delay_quantiles", "TimedPolicy",
           "decision_times", "load_result", "reproduce"]

#: The conflict-graph baselines compared in Figs. 7-8 (the paper's three plus two references).
CG_BASELINES = ["gms", "gms_multichannel", "llq", "qcsma", "max_weight"]
#: The shipped MAPPO policies (see :data:`rrmbook.reproduce_marl.SHIPPED`) each scenario's
#: figures use, by method name.  All were trained at the scenario's heavy load.
MARL_POLICIES: dict[str, dict[str, str]] = {
    "paper-cg8": {"mappo_shared": "cg8-heavy-shared", "mappo_separate": "cg8-heavy-separate"},
    "paper-hex19": {"mappo_shared": "hex19-heavy-shared",
                    "mappo_separate": "hex19-heavy-separate"},
    "paper-random19": {"mappo_shared": "random19-heavy-shared",
                       "mappo_separate": "random19-heavy-separate"},
}


def _marl(scenario: str, policies: str | Path | None, retrain: bool, marl: bool) -> dict:
    """``{method: policy}`` of the shipped MAPPO policies for ``scenario`` (empty without
    ``marl``)."""
    if not marl:
        return {}
    return {method: get_policy(name, policies, retrain=retrain)
            for method, name in MARL_POLICIES[scenario].items()}


def fig7_data(slots: int = 5000, seed: int = 0, batch: int = 1, policies: str | Path | None = None,
              retrain: bool = False, marl: bool = True) -> dict:
    """Fig. 7: delay CDFs of MAPPO (shared and separate, trained at heavy load) and the
    conflict-graph baselines on paper-cg8 at light load.  ``policies`` is the folder
    holding ``policies/`` (None: the files shipped in the package)."""
    env = make_env("paper-cg8", load="light", batch=batch, seed=seed)
    methods = {m: m for m in CG_BASELINES} | _marl("paper-cg8", policies, retrain, marl)
    results = compare(env, methods, slots=slots, seed=seed)
    out = {"figure": "fig7", "scenario": "paper-cg8", "load": "light", "slots": slots,
           "seed": seed, "batch": batch, "methods": {}}
    for name, res in results.items():
        values, counts = np.unique(res.delays, return_counts=True)
        out["methods"][name] = {"delay": values.tolist(), "count": counts.tolist(),
                                **res.summary()}
    return out


def fig8_data(slots: int = 5000, seed: int = 0, batch: int = 1, policies: str | Path | None = None,
              retrain: bool = False, marl: bool = True) -> dict:
    """Fig. 8: average delay of MAPPO and the baselines on paper-cg8 at light, medium and
    heavy load (one MAPPO policy per mode, trained at heavy load)."""
    loads = get_scenario("paper-cg8").loads
    marl_policies = _marl("paper-cg8", policies, retrain, marl)
    table: dict[str, dict[str, dict]] = {}
    for load in loads:
        env = make_env("paper-cg8", load=load, batch=batch, seed=seed)
        results = compare(env, {m: m for m in CG_BASELINES} | marl_policies, slots=slots,
                          seed=seed)
        table[load] = {name: res.summary() for name, res in results.items()}
    return {"figure": "fig8", "scenario": "paper-cg8", "slots": slots, "seed": seed,
            "batch": batch, "loads": loads, "methods": list(CG_BASELINES) + list(marl_policies),
            "table": table}


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
                      batch: int, extra: dict[str, Policy] | None = None) -> dict[str, Results]:
    env = make_env(scenario, load=float(load), batch=batch, seed=seed)
    policies = {m: baselines.get(m, family="cellular") for m in methods} | (extra or {})
    return compare(env, policies, slots=slots, seed=seed)


def _delay_vs_load(figure: str, slots: int, seed: int, batch: int,
                   loads: Sequence[float] | None, methods: Sequence[str] | None,
                   policies: str | Path | None, retrain: bool, marl: bool) -> dict:
    scenario, default_loads = CELL_LOADS[figure]
    loads = [float(x) for x in (loads or default_loads)]
    extra = _marl(scenario, policies, retrain, marl)
    methods = list(methods or CELL_BASELINES)
    start = time.perf_counter()
    table = {}
    for load in loads:
        results = _cellular_compare(scenario, load, methods, slots, seed, batch, extra)
        table[f"{load:g}"] = {m: _cell_summary(r) for m, r in results.items()}
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
    methods = list(methods or CELL_BASELINES)
    start = time.perf_counter()
    layouts = {}
    for scenario in ("paper-hex19", "paper-random19"):
        extra = _marl(scenario, policies, retrain, marl)
        results = _cellular_compare(scenario, load, methods, slots, seed, batch, extra)
        layouts[scenario] = {m: {"delay": delay_quantiles(r.delays), **_cell_summary(r)}
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
                  for m, p in _marl("paper-hex19", policies, retrain, marl).items()}
    start = time.perf_counter()
    times = decision_times(env, policies_, slots=slots, seed=seed)
    return {"figure": "table4", "scenario": "paper-hex19", "load": "medium", "slots": slots,
            "seed": seed, "batch": 1, "methods": list(policies_), "times": times,
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


# =========================================================================== learning
def _curve_data(figure: str, name: str, policies: str | Path | None, retrain: bool) -> dict:
    get_policy(name, policies, retrain=retrain)  # trains it when missing
    rec = training_record(name, policies)
    return {"figure": figure, "policy": name, **rec}


def fig12_data(slots: int = 5000, seed: int = 0, batch: int = 1,
               policies: str | Path | None = None, retrain: bool = False, **_) -> dict:
    """Fig. 12: the training curve of the shared policy on paper-hex19 at 25 packets/s
    (mean individual reward per update, against copy-slots), read from the policy file
    (``slots``, ``seed`` and ``batch`` do not apply: the run is the one in
    :data:`rrmbook.reproduce_marl.SHIPPED`)."""
    return _curve_data("fig12", "hex19-heavy-shared", policies, retrain)


def fig13_data(slots: int = 5000, seed: int = 0, batch: int = 1,
               policies: str | Path | None = None, retrain: bool = False, **_) -> dict:
    """Fig. 13: as Fig. 12 for the separate policies, with every agent's own reward."""
    return _curve_data("fig13", "hex19-heavy-separate", policies, retrain)


#: Table V: the shipped policies trained at each load, and the loads they are tested at
#: (paper-hex19's light / medium / heavy presets, packets/s per device).
TABLE5_POLICIES = {"light": "hex19-light-shared", "medium": "hex19-medium-shared",
                   "heavy": "hex19-heavy-shared"}
TABLE5_LOADS = {"light": 15.0, "medium": 20.0, "heavy": 25.0}
#: an agent counts as unstable when its cell's backlog grew by more than this many packets
#: between the second and the last quarter of a test run
UNSTABLE_PACKETS = 20.0


def table5_data(slots: int = 5000, seed: int = 0, batch: int = 1,
                policies: str | Path | None = None, retrain: bool = False, **_) -> dict:
    """Table V: shared policies trained on paper-hex19 at light, medium and heavy load, each
    tested at the three loads.  Each cell holds the mean delay, FP's mean delay at that load,
    the backlog growth of every agent (:func:`~rrmbook.reproduce_marl.queue_growth`) and the
    paper's label: good / mixed / unstable (:func:`~rrmbook.reproduce_marl.stability_label`,
    threshold :data:`UNSTABLE_PACKETS`)."""
    start = time.perf_counter()
    trained = {tl: get_policy(name, policies, retrain=retrain) for tl, name in TABLE5_POLICIES.items()}
    table: dict[str, dict[str, dict]] = {tl: {} for tl in trained}
    reference = {}
    for test, load in TABLE5_LOADS.items():
        env = make_env("paper-hex19", load=load, batch=batch, seed=seed)
        reference[test] = evaluate(env, baselines.get("fp", family="cellular"), slots=slots,
                                   seed=seed).mean_delay
        for tl, policy in trained.items():
            res = evaluate(env, policy, slots=slots, seed=seed)
            growth = queue_growth(res.queue_trace, env.owner, env.n_agents)
            table[tl][test] = {"mean_delay": round(res.mean_delay, 4),
                               "unfinished": int(res.unfinished),
                               "growth": np.round(growth, 2).tolist(),
                               "label": stability_label(growth, UNSTABLE_PACKETS)}
    return {"figure": "table5", "scenario": "paper-hex19", "slots": slots, "seed": seed,
            "batch": batch, "loads": TABLE5_LOADS, "load_unit": "packets/s per device",
            "delay_unit": "ms", "policies": TABLE5_POLICIES, "fp_mean_delay": reference,
            "unstable_packets": UNSTABLE_PACKETS, "table": table,
            "elapsed_s": round(time.perf_counter() - start, 1)}


#: Scalability: hexagonal networks with this many rings (19, 37, 61 cells), three devices
#: per cell, at this load (packets/s per device), and the methods next to MAPPO.
SCALING_RINGS, SCALING_LOAD, SCALING_BASELINES = [2, 3, 4], 25.0, ["fp", "llq", "full_power"]


def scaling_data(slots: int = 5000, seed: int = 0, batch: int = 1,
                 policies: str | Path | None = None, retrain: bool = False, **_) -> dict:
    """Scalability: the shared policy trained on paper-hex19 (19 cells) deployed, without
    retraining, on generated hexagonal networks of 19, 37 and 61 cells (three devices per
    cell, layout seed 0) next to FP, LLQ and full power.  A shared policy runs on any number
    of agents because each agent's input has a fixed size (its own devices and a padded
    neighbourhood); where a larger network gives an agent more neighbours than it was
    trained with, it observes its most strongly coupled ones
    (``CellularConfig.truncate_neighbours``)."""
    from .scenarios import cellular

    policy = get_policy("hex19-heavy-shared", policies, retrain=retrain)
    spec = policy.spec  # the input size the policy was trained with: D devices per cell and
    devices = spec.head_sizes[0] - 1  # M neighbours, each block of queue_stride features
    neighbours = spec.obs_dim // (spec.queue_stride * devices) - 1
    start = time.perf_counter()
    table = {}
    for rings in SCALING_RINGS:
        env = cellular(rings=rings, devices_per_cell=devices, seed=seed, load=SCALING_LOAD,
                       batch=batch, max_neighbours=neighbours, truncate_neighbours=True)
        methods = {m: baselines.get(m, family="cellular") for m in SCALING_BASELINES}
        results = compare(env, methods | {"mappo_shared": policy}, slots=slots, seed=seed)
        table[str(env.n_agents)] = {m: _cell_summary(r) for m, r in results.items()}
    return {"figure": "scaling", "trained_on": "paper-hex19", "rings": SCALING_RINGS,
            "cells": [int(k) for k in table], "load": SCALING_LOAD,
            "load_unit": "packets/s per device", "delay_unit": "ms", "slots": slots,
            "seed": seed, "batch": batch, "methods": SCALING_BASELINES + ["mappo_shared"],
            "table": table, "elapsed_s": round(time.perf_counter() - start, 1)}


def _plot_curve(data: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    from .plots import training_curve

    fig, ax = plt.subplots(figsize=(6.5, 4))
    agents = data["agent_reward"] if data["figure"] == "fig13" else None
    training_curve(data["slots"], data["mean_reward"], agent_rewards=agents, ax=ax,
                   title=f"{data['policy']} ({data['run']['scenario']}, "
                         f"{data['run']['load']} packets/s)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_table5(data: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    from .plots import mismatch_table

    fig, ax = plt.subplots(figsize=(6, 3))
    mismatch_table(data, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_scaling(data: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    from .plots import delay_vs_load

    cells = data["cells"]
    curves = {m: [data["table"][str(c)][m]["mean_delay"] for c in cells] for m in data["methods"]}
    fig, ax = plt.subplots(figsize=(6.5, 4))
    delay_vs_load(cells, curves, ax=ax, unit="ms", xlabel="cells in the network",
                  title=f"policy trained on 19 cells, {data['load']:g} packets/s")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_pf(data: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    from .plots import rate_panels

    if data["figure"] == "pf-fig7":
        fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
        rate_panels(data["quality"], axes=axes[:3], title="CTDE-CQL by dataset source",
                    labels={k: f"{k} data" for k in data["quality"]})
        sizes = [int(n) for n in data["size"]]
        axes[3].plot(sizes, [data["size"][str(n)]["score"] for n in sizes], "o-",
                     color="#ff7f0e", label="CTDE-CQL")
        best = max(r["score"] for r in data["reference"].values())
        axes[3].axhline(best, color="black", ls=":", label="best baseline")
        axes[3].set_xscale("log")
        axes[3].set_xlabel("dataset size (transitions)")
        axes[3].set_ylabel("score")
        axes[3].legend(fontsize=8)
    else:
        fig, axes = plt.subplots(1, 3, figsize=(12.5, 3.8))
        rate_panels(data["methods"], axes=axes, title=f"{data['figure']}: {data['scenario']}")
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
    "fig12": (fig12_data, _plot_curve),
    "fig13": (fig13_data, _plot_curve),
    "table5": (table5_data, _plot_table5),
    "scaling": (scaling_data, _plot_scaling),
    "pf-fig4": (pf_fig4_data, _plot_pf),
    "pf-fig5": (pf_fig5_data, _plot_pf),
    "pf-fig6": (pf_fig6_data, _plot_pf),
    "pf-fig7": (pf_fig7_data, _plot_pf),
}


def load_result(figure: str) -> dict:
    """The result file of ``figure`` shipped with the package (``rrmbook/data/<figure>.json``,
    or ``$RRMBOOK_DATA/<figure>.json`` when that variable is set).

    Raises ``ValueError`` for an unknown figure and ``FileNotFoundError``, naming the command
    that regenerates it, when the file is missing.
    """
    if figure not in FIGURES:
        raise ValueError(f"unknown figure {figure!r}; choose one of {sorted(FIGURES)}")
    resource = data_dir() / f"{figure}.json"
    if not resource.is_file():
        raise FileNotFoundError(f"no shipped result for {figure!r} ({resource}); regenerate it "
                                f"from the repository root with `{DATA_COMMAND.format(figure=figure)}`")
    return json.loads(resource.read_text(encoding="utf-8"))


def reproduce(figure: str, out_dir: Path | str = "results", slots: int = 5000, seed: int = 0,
              batch: int = 1, policies: Path | str | None = None, retrain: bool = False) -> Path:
    """Compute ``figure``'s data, write ``<out>/<figure>.json`` and ``<out>/<figure>.png``.

    The MAPPO policies are read from ``<policies>/policies/`` (default: ``out_dir``, falling
    back to the files shipped in the package for each one missing there); a policy found in
    neither place, or every policy the figure uses with ``retrain``, is trained into
    ``<policies or out_dir>/policies/`` first."""
    if figure not in FIGURES:
        raise ValueError(f"unknown figure {figure!r}; choose one of {sorted(FIGURES)}")
    if slots < 1 or batch < 1:
        raise ValueError(f"slots and batch must be positive, got slots={slots}, batch={batch}")
    compute, plot = FIGURES[figure]
    out_dir = Path(out_dir)
    data = compute(slots=slots, seed=seed, batch=batch,
                   policies=out_dir if policies is None else Path(policies), retrain=retrain)
    path = atomic_write_json(out_dir / f"{figure}.json", data)
    plot(data, out_dir / f"{figure}.png")
    return path
