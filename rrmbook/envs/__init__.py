"""Batched Dec-POMDP-IR environments and the PettingZoo adapter."""

from .conflict_env import (
    ConflictGraphConfig,
    ConflictGraphEnv,
    GlobalState,
    Observation,
    StepResult,
)

__all__ = ["ConflictGraphConfig", "ConflictGraphEnv", "GlobalState", "Observation", "StepResult"]
