"""A trained offline-MARL or online learner as a :class:`rrmbook.policy.Policy`, so it runs
through :func:`rrmbook.evaluate` like every baseline."""

from __future__ import annotations

import numpy as np
import torch

from ..envs.base import require_family
from ..policy import Policy

__all__ = ["LearnedPolicy"]


class LearnedPolicy(Policy):
    """Acts with a learner's networks: greedy (``deterministic``) or sampling; with
    ``act_by="critic"`` (actor-critic learners) greedy in the critic instead of the actor.

    A centralised learner chooses the joint action from all APs' observations, so it uses
    global information through a central controller; independent and CTDE learners act
    on each AP's own observation (E-25)."""

    def __init__(self, learner, deterministic: bool = True, name: str | None = None,
                 act_by: str = "actor") -> None:
        self.learner, self.deterministic = learner, bool(deterministic)
        if act_by not in ("actor", "critic"):
            raise ValueError(f"act_by must be 'actor' or 'critic', got {act_by!r}")
        if act_by == "critic" and not hasattr(learner, "act_by_critic"):
            raise ValueError(f"act_by='critic' needs an actor-critic learner; "
                             f"{learner.name!r} acts by its Q-values already")
        self.act_by = act_by
        self.name = name or learner.name
        central = learner.config.variant == "centralised"
        self.information = "global" if central else "local"
        self.coordination = "central" if central else "none"

    def reset(self, env, rng: np.random.Generator) -> None:
        require_family(env, "pf", f"the learned PF policy {self.name!r}")
        if env.n_agents != self.learner.n_agents \
                or env.obs_dim != self.learner.obs_dim or env.n_actions != self.learner.n_actions:
            raise ValueError(f"{self.name!r} was trained for {self.learner.n_agents} APs with "
                             f"{self.learner.n_actions} actions; got {env!r}")
        super().reset(env, rng)
        self._generator = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))

    def act(self, obs, state=None) -> np.ndarray:
        if self.act_by == "critic":
            return self.learner.act_by_critic(obs.X)
        return self.learner.act(obs.X, explore=not self.deterministic, generator=self._generator)
