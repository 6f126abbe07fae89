"""Baseline policies.  ``get(name)`` returns a fresh policy; ``available()`` lists names.

Every baseline is a :class:`~rrmbook.policy.Policy`, run through :func:`rrmbook.evaluate`
exactly like a learned agent or a student's function.
"""

from __future__ import annotations

from collections.abc import Callable

from ..policy import Policy
from .conflict import GMS, LLQ, QCSMA, MaxWeight, MultiChannelGMS, RandomPolicy

__all__ = ["get", "available", "GMS", "MultiChannelGMS", "MaxWeight", "LLQ", "QCSMA",
           "RandomPolicy"]

_REGISTRY: dict[str, Callable[..., Policy]] = {
    "gms": GMS,
    "gms_multichannel": MultiChannelGMS,
    "max_weight": MaxWeight,
    "llq": LLQ,
    "qcsma": QCSMA,
    "random": RandomPolicy,
}


def available() -> list[str]:
    """Names accepted by :func:`get`."""
    return sorted(_REGISTRY)


def get(name: str, **kwargs) -> Policy:
    """A new instance of the baseline called ``name`` (keyword arguments go to its constructor)."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"unknown policy {name!r}; choose one of {available()}")
    return _REGISTRY[name](**kwargs)
