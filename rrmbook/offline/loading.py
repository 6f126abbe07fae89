"""Loading a trained offline-MARL learner (SAC, DQN or CQL on either) from its file."""

from __future__ import annotations

from pathlib import Path

from .checkpoints import read_checkpoint
from .dqn import DQNConfig, DQNLearner
from .sac import SACConfig, SACLearner

__all__ = ["load_learner"]


def load_learner(path: str | Path):
    """The learner (SAC, DQN or CQL) of a checkpoint or policy file, ready to act."""
    learner_state = read_checkpoint(path)["learner"]
    kind = learner_state["kind"]
    cls, cfg = (SACLearner, SACConfig) if kind == "sac" else (DQNLearner, DQNConfig)
    learner = cls(cfg(**learner_state["config"]), *learner_state["shape"])
    learner.load_state_dict(learner_state)
    return learner
