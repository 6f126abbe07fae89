"""Zhang & Guo on the conflict graph: Figs. 7 and 8 (data and plot of each)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ..evaluate import compare
from ..plots import delay_cdf, mean_delay_bars
from ..scenarios import get_scenario, make_env
from .common import marl_policies, save_figure

__all__ = ["CG_BASELINES", "CG_PAPER_CODE", "fig7_data", "fig8_data", "plot_fig7", "plot_fig8"]

#: The conflict-graph baselines compared in Figs. 7-8 (the paper's three plus two references).
CG_BASELINES = ["gms", "gms_multichannel", "llq", "qcsma", "max_weight"]
#: GMS and Q-CSMA as the authors' public code runs them (issue 13), stored beside the SPEC
#: versions in Fig. 8's file
CG_PAPER_CODE = ["gms_paper_code", "qcsma_paper_code"]


def fig7_data(slots: int = 5000, seed: int = 0, batch: int = 1, policies: str | Path | None = None,
              retrain: bool = False, marl: bool = True) -> dict:
    """Fig. 7: delay CDFs of MAPPO (shared and separate, trained at heavy load) and the
    conflict-graph baselines on paper-cg8 at light load.  ``policies`` is the folder
    holding ``policies/`` (None: the files shipped in the package)."""
    env = make_env("paper-cg8", load="light", batch=batch, seed=seed)
    methods = {m: m for m in CG_BASELINES} | marl_policies("paper-cg8", policies, retrain, marl)
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
    heavy load (one MAPPO policy per mode, trained at heavy load); the baselines in their
    SPEC versions and as the authors' code runs them (:data:`CG_PAPER_CODE`)."""
    loads = get_scenario("paper-cg8").loads
    learned = marl_policies("paper-cg8", policies, retrain, marl)
    table: dict[str, dict[str, dict]] = {}
    for load in loads:
        env = make_env("paper-cg8", load=load, batch=batch, seed=seed)
        results = compare(env, {m: m for m in CG_BASELINES + CG_PAPER_CODE} | learned,
                          slots=slots, seed=seed)
        table[load] = {name: res.summary() for name, res in results.items()}
    return {"figure": "fig8", "scenario": "paper-cg8", "slots": slots, "seed": seed,
            "batch": batch, "loads": loads, "methods": CG_BASELINES + CG_PAPER_CODE + list(learned),
            "table": table}


def plot_fig7(data: dict, path: Path) -> None:
    delays = {name: np.repeat(m["delay"], m["count"]) for name, m in data["methods"].items()}
    fig, ax = plt.subplots(figsize=(6.5, 4))
    delay_cdf(delays, ax=ax, title=f"paper-cg8, light load, {data['slots']} slots")
    save_figure(fig, path, dpi=120)


def plot_fig8(data: dict, path: Path) -> None:
    table = {load: {name: s["mean_delay"] for name, s in row.items()}
             for load, row in data["table"].items()}
    fig, ax = plt.subplots(figsize=(7, 4))
    mean_delay_bars(table, ax=ax, title=f"paper-cg8, {data['slots']} slots")
    save_figure(fig, path, dpi=120)
