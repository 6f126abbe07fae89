"""The pieces of the MAPPO objective as pure functions (Zhang & Guo Sec. III-B, chapter 5).

* :func:`gae` — truncated generalised advantage estimation (Z-19), bootstrapping from the
  critic wherever a trajectory is cut (end of a rollout, or an episode truncated by the time
  limit or ``max_queue``): a truncated episode is never treated as terminal.
* :func:`clipped_value_loss` — the critic loss (Z-20).
* :func:`clipped_surrogate` — the clipped policy objective with ratio (Z-21); the entropy
  bonus of (Z-22) is :func:`rrmbook.marl.networks.action_entropy`.

Every function works element-wise on tensors of any shape, so tests can feed hand-computed
numbers and the trainer can average per agent (separate mode) or over all agents (shared
mode, (Z-23), (Z-24)).
"""

from __future__ import annotations

import torch

__all__ = ["gae", "clipped_value_loss", "clipped_surrogate", "approx_kl", "clip_fraction"]


def gae(rewards: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor,
        cut: torch.Tensor, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimates and value targets along the first (time) axis.

    ``rewards[t]``, ``values[t] = V(X_t)`` and ``next_values[t]`` = the critic's value of the
    observation that followed step t (``V(X_{t+1})`` inside an episode, ``V(X_T)`` of the
    final observation where the episode was truncated after step t, and the value of the
    next observation after the last step of a rollout).  ``cut[t]`` is true where the
    trajectory does not continue into step t+1 (the episode was truncated there): the
    advantage sum stops, but the TD error still bootstraps from ``next_values[t]``.

        δ_t = r_t + γ V_next(t) − V(X_t)
        A_t = δ_t + γλ (1 − cut_t) A_{t+1}

    Returns ``(advantages, returns)`` with ``returns = advantages + values`` (the targets of
    the critic).
    """
    not_cut = (~cut.bool()).to(rewards.dtype)
    deltas = rewards + gamma * next_values - values
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = deltas[t] + gamma * lam * not_cut[t] * running
        advantages[t] = running
    return advantages, advantages + values


def clipped_value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor,
                       clip: float) -> torch.Tensor:
    """Element-wise critic loss (Z-20): ``max((V − R)², (c_ε(V, V_old) − R)²)`` where
    ``c_ε(V, V_old)`` keeps V within ``clip`` of the value before the update."""
    clipped = old_values + (values - old_values).clamp(-clip, clip)
    return torch.maximum((values - returns) ** 2, (clipped - returns) ** 2)


def clipped_surrogate(log_prob: torch.Tensor, old_log_prob: torch.Tensor,
                      advantages: torch.Tensor, clip: float) -> torch.Tensor:
    """Element-wise clipped surrogate objective (to be *maximised*, Z-21, Z-22):
    ``min(r A, clip(r, 1 − ε, 1 + ε) A)`` with ``r = π(a|X) / π_old(a|X)``."""
    ratio = torch.exp(log_prob - old_log_prob)
    return torch.minimum(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages)


def approx_kl(log_prob: torch.Tensor, old_log_prob: torch.Tensor,
              dims: tuple[int, ...] | None = None) -> torch.Tensor:
    """Low-variance estimate of KL(π_old ‖ π) from samples of π_old: the mean of
    (r − 1) − log r, over all elements or over ``dims``."""
    log_ratio = log_prob - old_log_prob
    return (torch.expm1(log_ratio) - log_ratio).mean(dim=dims)


def clip_fraction(log_prob: torch.Tensor, old_log_prob: torch.Tensor, clip: float) -> torch.Tensor:
    """Share of samples whose ratio left [1 − ε, 1 + ε] (a health signal of PPO updates)."""
    return ((log_prob - old_log_prob).exp().sub(1).abs() > clip).float().mean()
