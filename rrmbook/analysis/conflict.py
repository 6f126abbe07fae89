"""Looking inside a scheduler on a conflict graph: what it did, slot by slot (chapter 6).

:func:`rrmbook.evaluate` reports what a policy achieved (delays, queues).
:func:`rrmbook.analysis.record_decisions` runs the same evaluation with a recorder around the
policy and returns, beside the :class:`~rrmbook.evaluate.Results`, a :class:`ConflictLog`:
every agent's observation and action, the schedule and which transmissions succeeded, so
that a learned policy can be compared with the baselines on behaviour rather than on outcome
alone.  The questions chapter 6 asks are the ones Zhang & Guo raise at the end of their
Sec. IV-C-1: does the learned scheduler transmit more aggressively than an independent set
(:func:`aggressiveness`), which subbands does each agent use (:func:`subband_roles`,
:func:`reserved_subbands`, :func:`collision_share`), and how does its use of the spectrum
depend on its own and its neighbours' queues (:meth:`ConflictLog.own_backlog`,
:meth:`ConflictLog.neighbour_backlog`, :func:`binned_mean`).

Every function here is pure NumPy over a :class:`ConflictLog`.

>>> import rrmbook
>>> from rrmbook.analysis import aggressiveness, record_decisions
>>> env = rrmbook.make_env("paper-cg8", load="heavy", seed=0)
>>> results, log = record_decisions(env, rrmbook.baselines.get("gms"), slots=200, seed=0)
>>> aggressiveness(log)["collision_share"]
0.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..conflict import conflict_success

__all__ = ["ConflictLog", "capture", "aggressiveness", "subband_roles", "reserved_subbands",
           "collision_share", "binned_mean"]


@dataclass
class ConflictLog:
    """Every decision of a recorded run on a conflict graph; arrays start with the slot
    and batch-copy axes ``(T, B)``.

    Attributes
    ----------
    X : ``(T, B, K, F)`` each agent's observation X_k (Z-8) when it decided: its own
        devices' queues (``max_devices`` features), then its neighbours' blocks.
    actions : ``(T, B, K, H)`` the actions (0 = silent, i = own i-th device).
    schedule, success : ``(T, B, H, N)`` bool: who was scheduled on each subband, and who
        got a packet through (the collision rule (Z-3)).
    zeta : ``(T, B, N)`` the queues after arrivals (Z-5), which the service drew from.
    owner : ``(N,)`` the agent serving each device.
    exclusion : ``(N, N)`` bool, the devices that may not share a subband (a conflict in
        either direction, or the same agent).
    max_devices : D, the size of each block of X_k.
    """

    X: np.ndarray
    actions: np.ndarray
    schedule: np.ndarray
    success: np.ndarray
    zeta: np.ndarray
    owner: np.ndarray
    exclusion: np.ndarray
    max_devices: int

    @classmethod
    def from_records(cls, env, records: Sequence[dict]) -> ConflictLog:
        """The log of a run from the per-decision records of :func:`capture`."""
        return cls(**{k: np.stack([r[k] for r in records]) for k in records[0]},
                   owner=np.asarray(env.owner).copy(),
                   exclusion=np.asarray(env.exclusion, dtype=bool).copy(),
                   max_devices=int(env.max_devices))

    @property
    def n_agents(self) -> int:
        return int(self.actions.shape[2])

    @property
    def n_subbands(self) -> int:
        return int(self.actions.shape[3])

    def own_backlog(self) -> np.ndarray:
        """``(T, B, K)`` packets queued at the agent's own devices, as it saw them."""
        return self.X[..., : self.max_devices].sum(-1)

    def neighbour_backlog(self) -> np.ndarray:
        """``(T, B, K)`` packets queued at its neighbours' devices, as it saw them in X_k."""
        return self.X[..., self.max_devices:].sum(-1)

    def subbands_used(self) -> np.ndarray:
        """``(T, B, K)`` the number of subbands on which the agent served some device."""
        return (self.actions > 0).sum(-1)

    def queues_after(self) -> np.ndarray:
        """``(T, B, N)`` the queues at the end of each slot (Z-4): zeta minus the packets
        served (one per successful subband, at most the queue)."""
        return self.zeta - np.minimum(self.success.sum(axis=2), self.zeta)

    def window(self, start: int, stop: int | None = None) -> ConflictLog:
        """The slots ``start`` to ``stop - 1`` only (e.g. to leave out a start-up phase)."""
        part = slice(start, stop)
        if len(range(*part.indices(self.actions.shape[0]))) == 0:
            raise ValueError(f"the window [{start}, {stop}) holds no slot of this "
                             f"{self.actions.shape[0]}-slot log")
        return replace(self, X=self.X[part], actions=self.actions[part],
                       schedule=self.schedule[part], success=self.success[part],
                       zeta=self.zeta[part])


def capture(env, obs, actions) -> dict[str, np.ndarray]:
    """What one decision on a conflict graph leaves in the log, read at the moment it is
    taken: the observation, the queues after arrivals, the actions, the schedule they make
    and its successes under the collision rule (Z-3), exactly as the env's next step will
    compute them."""
    actions = np.asarray(actions)
    schedule = env.actions_to_schedule(actions)
    return {"X": np.asarray(obs.X, dtype=np.float32).copy(), "zeta": env.zeta.copy(),
            "actions": actions.astype(np.int64), "schedule": schedule,
            "success": conflict_success(schedule, env.adjacency)}


def _share(part: float, whole: float) -> float:
    """``part / whole``, NaN when there is nothing to divide."""
    return float(part) / float(whole) if whole else float("nan")


def aggressiveness(log: ConflictLog) -> dict[str, float]:
    """How boldly a scheduler transmits, from a recorded run.

    Returns
    -------
    transmissions_per_slot : scheduled (device, subband) pairs per slot and copy.
    collision_share : share of those transmissions that failed.
    non_independent_share : share of (slot, copy, subband) whose scheduled devices are not
        an independent set of the exclusion graph (some pair may not share the subband).
    conflicting_share : share of transmissions made on a subband together with a device
        they exclude.
    conflicting_success : share of those conflicting transmissions that still got a packet
        through (possible because conflicts are directional: i -> j spoils j, not i).
    wasted_share : share of successful transmissions that found the queue already emptied
        by the device's other subbands (service beyond zeta).
    idle_transmit_share : share of (slot, copy, agent) with all own queues empty in which
        the agent still transmitted on some subband.
    """
    sched, ok = log.schedule, log.success
    excl = log.exclusion.astype(np.int64)
    rivals_on = (sched.astype(np.int64) @ excl) > 0          # an excluded device is on too
    conflicting = sched & rivals_on
    offered = ok.sum(axis=2)                                 # (T, B, N) successes per device
    idle = log.own_backlog() == 0
    transmits = log.actions.any(axis=-1)
    T, B = sched.shape[:2]
    return {
        "transmissions_per_slot": _share(sched.sum(), T * B),
        "collision_share": _share((sched & ~ok).sum(), sched.sum()),
        "non_independent_share": float(conflicting.any(axis=-1).mean()),
        "conflicting_share": _share(conflicting.sum(), sched.sum()),
        "conflicting_success": _share((conflicting & ok).sum(), conflicting.sum()),
        "wasted_share": _share(np.maximum(offered - log.zeta, 0).sum(), offered.sum()),
        "idle_transmit_share": _share((idle & transmits).sum(), idle.sum()),
    }


def subband_roles(log: ConflictLog) -> np.ndarray:
    """``(B, K, H)``: in each copy, the share of slots in which agent k served a device on
    subband h.  A row of ones and zeros is a fixed frequency plan."""
    return (log.actions > 0).mean(axis=0)


def reserved_subbands(log: ConflictLog, threshold: float = 0.95) -> np.ndarray:
    """``(B, K)`` int: in each copy, the subband each agent transmits on in at least
    ``threshold`` of the slots (its most used one), or -1 where it has none."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must lie in (0, 1], got {threshold!r}")
    roles = subband_roles(log)
    return np.where(roles.max(axis=-1) >= threshold, roles.argmax(axis=-1), -1)


def collision_share(log: ConflictLog) -> np.ndarray:
    """``(H,)``: on each subband, the share of transmissions that failed (NaN where
    nothing was sent)."""
    sent = log.schedule.sum(axis=(0, 1, 3))
    failed = (log.schedule & ~log.success).sum(axis=(0, 1, 3))
    return np.where(sent > 0, failed / np.maximum(sent, 1), np.nan)


def binned_mean(values: np.ndarray, x: np.ndarray, y: np.ndarray, x_edges: np.ndarray,
                y_edges: np.ndarray, min_count: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The mean of ``values`` over the cells of a 2-D grid, e.g. the subbands an agent uses
    against its own and its neighbours' backlog.

    ``values``, ``x`` and ``y`` have one shape; cell ``(i, j)`` holds the samples with
    ``x_edges[i] <= x < x_edges[i+1]`` and ``y_edges[j] <= y < y_edges[j+1]`` (samples
    outside the grid are left out).  Returns ``(means, counts)``, both
    ``(len(x_edges) - 1, len(y_edges) - 1)``; a mean is NaN where fewer than ``min_count``
    samples fell in its cell."""
    values, x, y = (np.asarray(a, dtype=float).ravel() for a in (values, x, y))
    if not values.shape == x.shape == y.shape:
        raise ValueError(f"values, x and y must have the same size, got {values.size}, "
                         f"{x.size} and {y.size}")
    x_edges, y_edges = np.asarray(x_edges, dtype=float), np.asarray(y_edges, dtype=float)
    for name, e in (("x_edges", x_edges), ("y_edges", y_edges)):
        if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0):
            raise ValueError(f"{name} must be at least two increasing numbers, got {e.tolist()}")
    counts, _, _ = np.histogram2d(x, y, bins=(x_edges, y_edges))
    sums, _, _ = np.histogram2d(x, y, bins=(x_edges, y_edges), weights=values)
    # np.histogram2d closes the last bin on the right; keep every bin half-open instead
    on_edge = (x == x_edges[-1]) | (y == y_edges[-1])
    if on_edge.any():
        c2, _, _ = np.histogram2d(x[on_edge], y[on_edge], bins=(x_edges, y_edges))
        s2, _, _ = np.histogram2d(x[on_edge], y[on_edge], bins=(x_edges, y_edges),
                                  weights=values[on_edge])
        counts, sums = counts - c2, sums - s2
    counts = counts.astype(np.int64)
    means = np.where(counts >= max(min_count, 1), sums / np.maximum(counts, 1), np.nan)
    return means, counts
