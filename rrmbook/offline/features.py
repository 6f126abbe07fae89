"""Network inputs and joint actions of the PF scheduling model (chapter 9).

The environment reports o_i = ((SINR_dB, w) of the top-N UEs); :func:`pf_features` turns it
into well-scaled numbers for a neural network, and the joint-action helpers number the
(N+1)^I joint actions of the centralised learners (256 for 4 APs with 4 actions each).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["pf_features", "feature_dim", "joint_index", "split_joint"]


def feature_dim(obs_dim: int) -> int:
    """Features per agent for an observation of ``obs_dim`` = 2N numbers: 3N."""
    return 3 * (obs_dim // 2)


def pf_features(X: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(..., 2N) observations -> (..., 3N) float32 features: per top-n UE its SINR in dB
    divided by 20, log(w) / 2 and a 1 saying the UE exists (all three 0 for a missing UE,
    which the environment reports as (0, 0))."""
    X = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X,
                        dtype=torch.float32)
    sinr_db, w = X[..., 0::2], X[..., 1::2]
    valid = (w > 0).float()
    logw = torch.log(torch.clamp(w, min=1e-6)) * valid
    return torch.stack([sinr_db / 20.0, logw / 2.0, valid], dim=-1).flatten(-2)


def joint_index(actions: np.ndarray | torch.Tensor, n_actions: int):
    """Per-agent actions (..., I) -> joint action sum_i a_i (N+1)^i (agent 0 the fastest
    digit)."""
    if isinstance(actions, torch.Tensor):
        base = n_actions ** torch.arange(actions.shape[-1], device=actions.device)
        return (actions.long() * base).sum(-1)
    base = n_actions ** np.arange(np.shape(actions)[-1])
    return (np.asarray(actions, dtype=np.int64) * base).sum(-1)


def split_joint(joint, n_agents: int, n_actions: int):
    """Joint actions (...) -> per-agent actions (..., I), the inverse of :func:`joint_index`."""
    if isinstance(joint, torch.Tensor):
        base = n_actions ** torch.arange(n_agents, device=joint.device)
        return (joint.long()[..., None] // base) % n_actions
    base = n_actions ** np.arange(n_agents)
    return (np.asarray(joint, dtype=np.int64)[..., None] // base) % n_actions
