"""What the figure modules share: the shipped MAPPO policies each scenario's figures use,
and saving a figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from ..marl import MAPPOPolicy
from .zoo import get_policy

__all__ = ["MARL_POLICIES", "marl_policies", "save_figure"]

#: The shipped MAPPO policies (see :data:`rrmbook.experiments.zoo.SHIPPED`) each scenario's
#: figures use, by method name.  All were trained at the scenario's heavy load.
MARL_POLICIES: dict[str, dict[str, str]] = {
    "paper-cg8": {"mappo_shared": "cg8-heavy-shared", "mappo_separate": "cg8-heavy-separate"},
    "paper-hex19": {"mappo_shared": "hex19-heavy-shared",
                    "mappo_separate": "hex19-heavy-separate"},
    "paper-random19": {"mappo_shared": "random19-heavy-shared",
                       "mappo_separate": "random19-heavy-separate"},
}


def marl_policies(scenario: str, policies: str | Path | None, retrain: bool,
                  marl: bool) -> dict[str, MAPPOPolicy]:
    """``{method: policy}`` of the shipped MAPPO policies for ``scenario`` (empty without
    ``marl``)."""
    if not marl:
        return {}
    return {method: get_policy(name, policies, retrain=retrain)
            for method, name in MARL_POLICIES[scenario].items()}


def save_figure(fig: Figure, path: Path, dpi: int = 100) -> None:
    """Lay out, write and close a figure."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
