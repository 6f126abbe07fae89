"""The networks of the offline-MARL learners: H independent MLPs computed at once.

A centralised learner has one head over the joint actions (its input is the state, all
agents' features side by side); independent and CTDE learners have one network per AP on
its own features.  :class:`HeadMLP` computes all of them with grouped matrix products
(:class:`rrmbook.marl.networks.GroupedLinear`), so no Python loop runs over agents.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..marl.networks import GroupedLinear
from .features import feature_dim, pf_features

__all__ = ["HeadMLP", "head_inputs", "VARIANTS"]

#: how the team is split into learners
VARIANTS = ("centralised", "independent", "ctde")


class HeadMLP(nn.Module):
    """``groups`` MLPs ``in -> hidden x layers (ReLU) -> out``: (G, n, in) -> (G, n, out)."""

    def __init__(self, groups: int, in_features: int, out_features: int, hidden: int,
                 layers: int, generator: torch.Generator, out_gain: float = 1.0) -> None:
        super().__init__()
        sizes = [in_features] + [hidden] * layers
        self.hidden = nn.ModuleList(
            GroupedLinear(groups, a, b, math.sqrt(2.0), generator) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.out = GroupedLinear(groups, sizes[-1], out_features, out_gain, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.out(x)


def head_inputs(X, variant: str, state: bool = False) -> torch.Tensor:
    """Observations (n, I, 2N) -> network inputs: (1, n, I * 3N) for the centralised
    learner (the state), (I, n, 3N) for per-agent networks on their own observation, or,
    with ``state``, (I, n, I * 3N): every agent's network reads the whole state (a critic
    of centralised training)."""
    f = pf_features(X)                                                   # (n, I, 3N)
    if variant == "centralised":
        return f.flatten(1)[None]
    if state:
        return f.flatten(1)[None].expand(f.shape[1], -1, -1)
    return f.transpose(0, 1)


def head_shapes(n_agents: int, obs_dim: int, n_actions: int, variant: str,
                state: bool = False) -> tuple[int, int, int]:
    """(heads, inputs per head, actions per head) of a variant (``state``: per-agent
    networks that read the whole state)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if variant == "centralised":
        return 1, n_agents * feature_dim(obs_dim), n_actions ** n_agents
    return n_agents, feature_dim(obs_dim) * (n_agents if state else 1), n_actions
