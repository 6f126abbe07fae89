"""The one policy interface shared by baselines, learned agents and students' functions.

A policy declares the information it uses, and the signature of :meth:`Policy.act` makes it
visible: every policy receives the agents' local observations; only a policy whose
``information`` is ``"global"`` also receives the global state (a genie).  This is the
distinction Table III of Zhang & Guo draws, and :func:`rrmbook.evaluate` enforces it.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Policy", "FunctionPolicy", "as_policy", "INFORMATION_LEVELS"]

#: What a policy may look at, from least to most.
INFORMATION_LEVELS = ("local", "neighbourhood", "global")


class Policy(ABC):
    """Base class.  Subclasses set the class attributes and implement :meth:`act`.

    Attributes
    ----------
    name : short identifier used in tables and plots.
    information : ``"local"`` (own devices only), ``"neighbourhood"`` (X_k: own and
        neighbours' observations) or ``"global"`` (the whole state; receives ``state``).
    coordination : message passing the method needs beyond its information
        (``"none"``, ``"broadcast"`` or ``"central"``), as in the paper's Table III.
    conflict_free : true when every schedule it produces is collision-free by design.
    """

    name: str = "policy"
    information: str = "local"
    coordination: str = "none"
    conflict_free: bool = False

    def reset(self, env: Any, rng: np.random.Generator) -> None:
        """Called once before a run with the environment (static structure only) and the
        policy's own random stream.  Stateless policies keep ``rng`` for tie-breaks."""
        self.rng = rng

    @abstractmethod
    def act(self, obs: Any, state: Any = None) -> np.ndarray:
        """Return the batch of joint actions for the observation ``obs``."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} information={self.information}>"


class FunctionPolicy(Policy):
    """Wrap a plain function ``f(obs)`` or ``f(obs, state)`` (a student's scheduler, say).

    A function with a keyword parameter ``rng`` receives the policy's seeded random stream,
    so a randomised rule is reproducible: ``def my_rule(obs, rng): ...``."""

    def __init__(self, fn: Callable, name: str | None = None, information: str = "local",
                 conflict_free: bool = False) -> None:
        if information not in INFORMATION_LEVELS:
            raise ValueError(
                f"information must be one of {INFORMATION_LEVELS}, got {information!r}"
            )
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "function")
        self.information = information
        self.conflict_free = conflict_free
        params = inspect.signature(fn).parameters
        self._wants_rng = "rng" in params
        self._n_params = len(params) - self._wants_rng
        if information == "global" and self._n_params < 2:
            raise TypeError(f"a global policy function must accept (obs, state); {self.name} takes "
                            f"{self._n_params} argument(s)")

    def act(self, obs, state=None):
        kwargs = {"rng": self.rng} if self._wants_rng else {}
        if self._n_params >= 2:
            return self.fn(obs, state, **kwargs)
        return self.fn(obs, **kwargs)


def as_policy(obj: Policy | Callable, **kwargs) -> Policy:
    """Return ``obj`` if it is a :class:`Policy`, else wrap the callable in a FunctionPolicy."""
    if isinstance(obj, Policy):
        return obj
    if callable(obj):
        return FunctionPolicy(obj, **kwargs)
    raise TypeError(f"policy must be a rrmbook Policy or a callable, got {type(obj).__name__}")
