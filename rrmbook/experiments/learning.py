"""What only learners have, on Zhang & Guo's multi-cell networks: training curves
(Figs. 12-13), train/test load mismatch (Table V) and deployment on larger networks than the
one trained on (data and plot of each)."""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .. import baselines
from ..analysis.capacity import UNSTABLE_PACKETS, queue_growth, stability_label
from ..evaluate import compare, evaluate
from ..plots import delay_vs_load, mismatch_table, training_curve
from ..scenarios import cellular, make_env
from .common import save_figure
from .multicell import cell_summary
from .zoo import get_policy, training_record

__all__ = ["fig12_data", "fig13_data", "table5_data", "scaling_data", "TABLE5_POLICIES",
           "TABLE5_LOADS", "UNSTABLE_PACKETS", "SCALING_RINGS", "SCALING_LOAD",
           "SCALING_BASELINES", "queue_growth", "stability_label", "plot_curve",
           "plot_table5", "plot_scaling"]


def _curve_data(figure: str, name: str, policies: str | Path | None, retrain: bool) -> dict:
    get_policy(name, policies, retrain=retrain)  # trains it when missing
    rec = training_record(name, policies)
    return {"figure": figure, "policy": name, **rec}


def fig12_data(slots: int = 5000, seed: int = 0, batch: int = 1,
               policies: str | Path | None = None, retrain: bool = False, **_) -> dict:
    """Fig. 12: the training curve of the shared policy on paper-hex19 at 25 packets/s
    (mean individual reward per update, against copy-slots), read from the policy file
    (``slots``, ``seed`` and ``batch`` do not apply: the run is the one in
    :data:`rrmbook.experiments.zoo.SHIPPED`)."""
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


def table5_data(slots: int = 5000, seed: int = 0, batch: int = 1,
                policies: str | Path | None = None, retrain: bool = False, **_) -> dict:
    """Table V: shared policies trained on paper-hex19 at light, medium and heavy load, each
    tested at the three loads.  Each cell holds the mean delay, FP's mean delay at that load,
    the backlog growth of every agent (:func:`queue_growth`) and the
    paper's label: good / mixed / unstable (:func:`stability_label`,
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
        table[str(env.n_agents)] = {m: cell_summary(r) for m, r in results.items()}
    return {"figure": "scaling", "trained_on": "paper-hex19", "rings": SCALING_RINGS,
            "cells": [int(k) for k in table], "load": SCALING_LOAD,
            "load_unit": "packets/s per device", "delay_unit": "ms", "slots": slots,
            "seed": seed, "batch": batch, "methods": SCALING_BASELINES + ["mappo_shared"],
            "table": table, "elapsed_s": round(time.perf_counter() - start, 1)}


def plot_curve(data: dict, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.5, 4))
    agents = data["agent_reward"] if data["figure"] == "fig13" else None
    training_curve(data["slots"], data["mean_reward"], agent_rewards=agents, ax=ax,
                   title=f"{data['policy']} ({data['run']['scenario']}, "
                         f"{data['run']['load']} packets/s)")
    save_figure(fig, path)


def plot_table5(data: dict, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 3))
    mismatch_table(data, ax=ax)
    save_figure(fig, path)


def plot_scaling(data: dict, path: Path) -> None:
    cells = data["cells"]
    curves = {m: [data["table"][str(c)][m]["mean_delay"] for c in cells] for m in data["methods"]}
    fig, ax = plt.subplots(figsize=(6.5, 4))
    delay_vs_load(cells, curves, ax=ax, unit="ms", xlabel="cells in the network",
                  title=f"policy trained on 19 cells, {data['load']:g} packets/s")
    save_figure(fig, path)


