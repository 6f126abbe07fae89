"""Batched Dec-POMDP-IR environments, their explicit contract and the PettingZoo adapter.

:mod:`~rrmbook.envs.base` defines the :class:`Env` protocol that every environment follows;
one module per model family implements it (conflict graph, multi-cell, PF scheduling).
"""

from .base import FAMILIES, BatchedQueueEnv, Env, Observation, StepResult, require_family
from .cellular_env import CellularConfig, CellularEnv, CellularState, LinkPowers
from .conflict_env import ConflictGraphConfig, ConflictGraphEnv, GlobalState
from .drops import LayoutDraws
from .pf_env import PFConfig, PFEnv, PFObservation, PFState, PFStep

__all__ = ["Env", "FAMILIES", "require_family", "BatchedQueueEnv", "Observation", "StepResult",
           "CellularConfig", "CellularEnv", "CellularState", "LinkPowers", "LayoutDraws",
           "ConflictGraphConfig", "ConflictGraphEnv", "GlobalState",
           "PFConfig", "PFEnv", "PFObservation", "PFState", "PFStep"]
