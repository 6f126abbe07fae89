"""Batched Dec-POMDP-IR environments and the PettingZoo adapter."""

from .cellular_env import CellularConfig, CellularEnv, CellularState, LinkPowers
from .conflict_env import (
    ConflictGraphConfig,
    ConflictGraphEnv,
    GlobalState,
    Observation,
    StepResult,
)
from .pf_env import PFConfig, PFEnv, PFObservation, PFState, PFStep

__all__ = ["CellularConfig", "CellularEnv", "CellularState", "LinkPowers", "ConflictGraphConfig", "ConflictGraphEnv", "GlobalState", "Observation", "StepResult",
           "PFConfig", "PFEnv", "PFObservation", "PFState", "PFStep"]
