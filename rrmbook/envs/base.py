"""The environment contract, and what the queueing environments share.

:class:`Env` is the explicit protocol every batched environment of the library follows (the
conflict graph, the multi-cell network and the PF scheduling model): ``B`` copies of one
scenario stepping together, ``K`` agents each seeing an observation row of ``obs_dim``
numbers, and a ``family`` tag that tells evaluation, baselines and analysis which model they
run on.  :func:`require_family` is the one way code checks that tag.

:class:`Observation` and :class:`StepResult` are the observation and step outcome of the two
queueing models (conflict graph and multi-cell); :class:`BatchedQueueEnv` holds their
shared episode resets and packet ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np

from ..traffic import PacketLedger

__all__ = ["Env", "Family", "FAMILIES", "require_family", "WrongEnvironment", "Observation", "StepResult",
           "BatchedQueueEnv", "ENV_ARRAYS", "env_snapshot", "env_restore"]

#: The model families: Zhang & Guo's conflict graph and multi-cell network, Eldeeb & Alves'
#: proportional-fair scheduling model.
Family = Literal["conflict", "cellular", "pf"]
FAMILIES: tuple[str, ...] = ("conflict", "cellular", "pf")


@runtime_checkable
class Env(Protocol):
    """What every batched environment of the library provides.

    Attributes: ``family`` (one of :data:`FAMILIES`), ``config`` (the scenario's config
    dataclass, with a ``name``), ``batch`` (B copies), ``n_agents`` (K), ``obs_dim`` (the
    length of one agent's observation row ``obs.X[b, k]``).  ``reset(seed)`` starts every
    copy afresh (same seed, same random draws) and returns the first observation;
    ``observe()`` returns the current one without advancing; ``step(actions)`` advances one
    slot; ``state()`` is the global state that only a centralised (genie) policy receives.
    """

    family: ClassVar[str]
    config: Any
    batch: int
    n_agents: int
    obs_dim: int

    def reset(self, seed: int | None = None) -> Any: ...

    def observe(self) -> Any: ...

    def step(self, actions: Any) -> Any: ...

    def state(self) -> Any: ...


class WrongEnvironment(TypeError, ValueError):
    """An environment of the wrong model family was given (both a ``TypeError`` and a
    ``ValueError``, so either kind of handler catches it)."""


def require_family(env: Any, family: str | tuple[str, ...], what: str) -> None:
    """Raise :class:`WrongEnvironment` naming ``what`` and the families it supports unless
    ``env`` is an environment of (one of) ``family``."""
    wanted = (family,) if isinstance(family, str) else tuple(family)
    got = getattr(env, "family", None)
    if got not in wanted:
        allowed = " or ".join(f"{f!r}" for f in wanted)
        raise WrongEnvironment(f"{what} needs an environment of family {allowed}, got "
                         f"{type(env).__name__} (family {got!r})")


@dataclass
class Observation:
    """What the agents of a queueing model see at the start of a slot (after arrivals).

    ``X[b, k]`` is agent k's local aggregate (Z-8): its own devices' features, then each
    neighbour's block, padded with zeros to ``max_devices`` devices per block and
    ``max_neighbours`` neighbour blocks.
    """

    X: np.ndarray  # (B, K, F) float32
    t: int


@dataclass
class StepResult:
    """One slot's outcome in a queueing model."""

    obs: Observation
    rewards: np.ndarray  # (B, K) individual rewards R_k
    truncated: np.ndarray  # (B,) time limit reached or a queue above max_queue
    info: dict


class BatchedQueueEnv:
    """Episode resets of single copies and the packet ledger, shared by the conflict-graph
    and multi-cell envs.  Subclasses keep ``q``, ``arrivals``, ``slot_in_episode`` and
    ``batch`` and define ``_refresh_zeta`` and ``observe``."""

    ledger: PacketLedger | None = None

    def start_recording(self) -> PacketLedger:
        """Record per-slot arrivals and departures from now on (for per-packet delays)."""
        self.ledger = PacketLedger()
        return self.ledger

    def reset_copies(self, mask: np.ndarray):
        """Start a new episode in the copies where ``mask`` is true: queues emptied, the
        arrivals already drawn for this slot discarded there, the episode clock restarted.

        Not allowed while a ledger records: discarded packets would break the accounting
        arrived = delivered + queued that per-packet delays rely on."""
        if self.ledger is not None:
            raise ValueError("reset_copies would discard queued packets while a ledger is "
                             "recording; evaluation runs never reset copies")
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.batch,):
            raise ValueError(f"mask must have shape (batch,) = ({self.batch},), got {mask.shape}")
        self.q[mask] = 0
        self.arrivals[mask] = 0
        self.slot_in_episode[mask] = 0
        self._refresh_zeta()
        return self.observe()


#: the environment attributes that change while it runs (both families); restoring them and
#: the random streams continues a run exactly where a checkpoint left it
ENV_ARRAYS = ("q", "arrivals", "zeta", "slot_in_episode", "beta", "gain", "_last")


def env_snapshot(env) -> dict:
    """The running state of an environment (tensors and plain values only, for a
    ``weights_only`` checkpoint); environments with their own ``snapshot`` use it."""
    if hasattr(env, "snapshot"):
        return env.snapshot()
    import torch

    snap = {"t": int(env.t), "traffic": env._traffic.bit_generator.state,
            "arrays": {n: torch.from_numpy(np.array(getattr(env, n)))
                       for n in ENV_ARRAYS if hasattr(env, n)}}
    if hasattr(env, "_fading"):
        snap["fading"] = env._fading.get_state()
    return snap


def env_restore(env, snap: dict) -> None:
    """Put an environment back into the state of :func:`env_snapshot`."""
    if hasattr(env, "restore"):
        env.restore(snap)
        return
    env.t = snap["t"]
    env._traffic.bit_generator.state = snap["traffic"]
    for name, value in snap["arrays"].items():
        setattr(env, name, value.numpy().copy())
    if "fading" in snap:
        env._fading.set_state(snap["fading"])
