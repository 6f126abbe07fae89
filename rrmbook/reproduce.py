"""Regenerate the data and figures of the papers' results (``rrmbook reproduce FIG``).

Each figure is one function returning a JSON-able dict; :func:`reproduce` writes it (and a
PNG) atomically into an output folder.  Chapters compute the same quantities live at a
small budget; these functions run them at the paper's budget.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .evaluate import compare
from .io import atomic_write_json
from .scenarios import get_scenario, make_env

__all__ = ["FIGURES", "CG_BASELINES", "fig7_data", "fig8_data", "reproduce"]

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


FIGURES: dict[str, tuple[Callable[..., dict], Callable[[dict, Path], None]]] = {
    "fig7": (fig7_data, _plot_fig7),
    "fig8": (fig8_data, _plot_fig8),
}


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
