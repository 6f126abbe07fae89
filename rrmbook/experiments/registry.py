"""The registry of the papers' figures and tables: ``rrmbook reproduce NAME``.

Each entry pairs the function that computes a figure's data (a JSON-able dict) with the
function that draws it; both live in the module of the paper section the figure belongs to.
:func:`reproduce` writes a figure's JSON and PNG atomically into a folder, and
:func:`load_result` reads the copy shipped with the package.

===========  ===========================================================  ==================
figure       what it computes                                             module
===========  ===========================================================  ==================
``fig7``     delay CDFs, MAPPO and the conflict-graph baselines, light    ``conflict_graph``
``fig8``     average delay, MAPPO and the baselines, paper-cg8, 3 loads   ``conflict_graph``
``fig9``     average delay against load, multi-cell methods, paper-hex19  ``multicell``
``fig10``    the same on paper-random19                                   ``multicell``
``fig11``    delay CDFs (as quantiles) of the multi-cell methods          ``multicell``
``table4``   time per decision of each multi-cell method (Table IV)       ``multicell``
``fig12``    training curve of the shared policy on paper-hex19           ``learning``
``fig13``    training curves (every agent) of the separate policies       ``learning``
``table5``   train/test load mismatch of the shared policy (Table V)      ``learning``
``scaling``  the 19-cell shared policy on 19, 37 and 61 cells             ``learning``
``pf-fig4``  online SAC and DQN against the PF baselines                  ``offline_marl``
``pf-fig5``  centralised CQL on SAC and on DQN                            ``offline_marl``
``pf-fig6``  CQL centralised / independent / CTDE                         ``offline_marl``
``pf-fig7``  CTDE-CQL by dataset source and size                          ``offline_marl``
===========  ===========================================================  ==================

The results ship with the package (``rrmbook/data/<figure>.json``), and so do the trained
policies and learners they use (:mod:`rrmbook.experiments.zoo`); each result file records
the budget it was computed with and is regenerated, from the repository root, by
``rrmbook reproduce <figure> --slots 5000 --batch 1 --out rrmbook/data`` (which trains a
policy first when its file is missing; ``--retrain`` trains them again).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from .. import checks
from ..io import atomic_write_json
from .conflict_graph import fig7_data, fig8_data, plot_fig7, plot_fig8
from .learning import (
    fig12_data,
    fig13_data,
    plot_curve,
    plot_scaling,
    plot_table5,
    scaling_data,
    table5_data,
)
from .multicell import (
    fig9_data,
    fig10_data,
    fig11_data,
    plot_delay_vs_load,
    plot_fig11,
    plot_table4,
    table4_data,
)
from .offline_marl import pf_fig4_data, pf_fig5_data, pf_fig6_data, pf_fig7_data, plot_pf
from .zoo import data_dir

__all__ = ["FIGURES", "DATA_COMMAND", "SWEEP_COMMAND", "load_result", "load_sweep", "reproduce"]

#: How a shipped multi-seed result (``rrmbook/data/sweeps/<name>.json``) is regenerated
#: from the repository root: run the shipped spec into a store, then export its table.
SWEEP_COMMAND = ("rrmbook sweep {name} --store results/sweeps/{name} && "
                 "rrmbook sweep report results/sweeps/{name} --out rrmbook/data/sweeps/{name}.json")

#: How a shipped result file is regenerated (run from the repository root).
DATA_COMMAND = "rrmbook reproduce {figure} --slots 5000 --batch 1 --out rrmbook/data"

FIGURES: dict[str, tuple[Callable[..., dict], Callable[[dict, Path], None]]] = {
    "fig7": (fig7_data, plot_fig7),
    "fig8": (fig8_data, plot_fig8),
    "fig9": (fig9_data, plot_delay_vs_load),
    "fig10": (fig10_data, plot_delay_vs_load),
    "fig11": (fig11_data, plot_fig11),
    "table4": (table4_data, plot_table4),
    "fig12": (fig12_data, plot_curve),
    "fig13": (fig13_data, plot_curve),
    "table5": (table5_data, plot_table5),
    "scaling": (scaling_data, plot_scaling),
    "pf-fig4": (pf_fig4_data, plot_pf),
    "pf-fig5": (pf_fig5_data, plot_pf),
    "pf-fig6": (pf_fig6_data, plot_pf),
    "pf-fig7": (pf_fig7_data, plot_pf),
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


def load_sweep(name: str):
    """The shipped multi-seed result of the sweep ``name`` (``rrmbook/data/sweeps/<name>.json``,
    written by :func:`rrmbook.experiments.sweeps.export`) as a
    :class:`~rrmbook.experiments.sweeps.Report`: ``.interval(method, metric, load=...)``
    gives n, mean and the 95 % interval over seeds; the file's ``spec`` and ``compute``
    (cells, CPU-seconds, machines, commits) are in ``.source``."""
    from .sweeps import Report

    resource = data_dir() / "sweeps" / f"{name}.json"
    if not resource.is_file():
        shipped = sorted(p.stem for p in (data_dir() / "sweeps").glob("*.json"))
        raise FileNotFoundError(f"no shipped sweep {name!r} (shipped: {shipped}); regenerate it "
                                f"from the repository root with `{SWEEP_COMMAND.format(name=name)}`")
    data = json.loads(resource.read_text(encoding="utf-8"))
    rep = Report.from_dict(data)
    rep.source = {k: data.get(k) for k in ("spec", "compute", "pool_drops")}
    return rep


def reproduce(figure: str, out_dir: Path | str = "results", slots: int = 5000, seed: int = 0,
              batch: int = 1, policies: Path | str | None = None, retrain: bool = False) -> Path:
    """Compute ``figure``'s data, write ``<out>/<figure>.json`` and ``<out>/<figure>.png``.

    The MAPPO policies are read from ``<policies>/policies/`` (default: ``out_dir``, falling
    back to the files shipped in the package for each one missing there); a policy found in
    neither place, or every policy the figure uses with ``retrain``, is trained into
    ``<policies or out_dir>/policies/`` first."""
    if figure not in FIGURES:
        raise ValueError(f"unknown figure {figure!r}; choose one of {sorted(FIGURES)}")
    slots = checks.positive_int("slots", slots)
    batch = checks.positive_int("batch", batch)
    compute, plot = FIGURES[figure]
    out_dir = Path(out_dir)
    data = compute(slots=slots, seed=seed, batch=batch,
                   policies=out_dir if policies is None else Path(policies), retrain=retrain)
    path = atomic_write_json(out_dir / f"{figure}.json", data)
    plot(data, out_dir / f"{figure}.png")
    return path
