"""Conflict-graph schedulers (Zhang & Guo Sec. IV-A; SPEC section 4).

Each scheduler is a pure, batched function from queue lengths to a device schedule
(``(B, N)`` bool), wrapped in a :class:`~rrmbook.policy.Policy` that turns the schedule into
agent actions for :class:`~rrmbook.envs.ConflictGraphEnv`.  Schedulers use the *exclusion*
matrix (conflict in either direction, or the same agent), so a schedule they call
conflict-free really is collision-free under (Z-3).  Chapter 3 explains every one.

=====================  ===============  ==============  ==========================
policy                 information      coordination    conflict-free
=====================  ===============  ==============  ==========================
``gms``                global           central         yes (same set, all subbands)
``gms_multichannel``   global           central         yes (per subband, residual)
``max_weight``         global           central         yes (exact, small graphs)
``llq``                neighbourhood    none            no (ties may collide)
``qcsma``              local            broadcast       yes
``random``             local            none            no
``gms_paper_code``     global           central         no (in-interferers only)
``qcsma_paper_code``   local            broadcast       no (minislot clashes pass)
=====================  ===============  ==============  ==========================

The last two rows are variants from the authors' public code (Zhang & Guo's decentralised
recurrent MAPPO code, which the paper does not print), shown beside the SPEC versions:
``gms_paper_code`` removes only the *in*-interferers of a scheduled device, and
``qcsma_paper_code`` lets conflicting intents announced in the same minislot all go ahead.
Neither is collision-free: the environment still applies (Z-3) to what they schedule.
"""

from __future__ import annotations

import numpy as np

from ..conflict import exclusion_matrix, maximal_independent_sets
from ..envs.base import require_family
from ..policy import Policy

__all__ = [
    "gms_schedule",
    "in_interferer_exclusion",
    "max_weight_schedule",
    "llq_schedule",
    "qcsma_decision_set",
    "qcsma_update",
    "GMS",
    "GMSPaperCode",
    "MultiChannelGMS",
    "MaxWeight",
    "LLQ",
    "QCSMA",
    "QCSMAPaperCode",
    "RandomPolicy",
]


def gms_schedule(queues: np.ndarray, exclusion: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Greedy maximal scheduling, batched.

    Repeatedly schedule the available device with the longest non-empty queue (ties broken
    uniformly at random) and disable it and every device it excludes, until no non-empty
    available device is left.  ``queues`` is ``(B, N)``; returns ``(B, N)`` bool, an
    independent set of the exclusion graph.  The loop runs once per *scheduled device*
    (at most the size of the largest independent set), vectorised over the batch.
    """
    queues = np.asarray(queues, dtype=np.float64)
    excl = np.asarray(exclusion, dtype=bool)
    B, N = queues.shape
    # random jitter in [0, 0.5) breaks ties between equal integer queues uniformly
    key = queues + 0.5 * rng.random((B, N))
    available = queues > 0
    chosen = np.zeros((B, N), dtype=bool)
    rows = np.arange(B)
    while available.any():
        best = np.argmax(np.where(available, key, -np.inf), axis=1)
        has = available[rows, best]
        chosen[rows[has], best[has]] = True
        available[has] &= ~excl[best[has]]
        available[rows[has], best[has]] = False
    return chosen


def in_interferer_exclusion(adjacency: np.ndarray, owner: np.ndarray | None = None) -> np.ndarray:
    """The one-way "exclusion" matrix of the authors' public GMS.

    Row i lists the devices removed from the candidates once device i is scheduled: its
    *in*-interferers j (edges j -> i, ``adjacency[j, i]``) and, when ``owner`` is given, the
    other devices of its agent (an agent serves one device per subband).  Devices that i
    interferes with (edges i -> j) stay eligible, so :func:`gms_schedule` with this matrix
    may pick a device that a device scheduled before it makes fail under (Z-3).  Compare
    :func:`rrmbook.conflict.exclusion_matrix`, which counts conflicts in both directions.
    """
    adjacency = np.asarray(adjacency, dtype=bool)
    if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
        raise ValueError(f"adjacency must be square (N, N), got shape {adjacency.shape}")
    same_agent = exclusion_matrix(np.zeros_like(adjacency), owner)  # owner None: no pairs
    return adjacency.T | same_agent


def max_weight_schedule(queues: np.ndarray, independent_sets: np.ndarray,
                        rng: np.random.Generator) -> np.ndarray:
    """Exact max-weight scheduling: the independent set maximising the total queue length.

    ``independent_sets`` is the ``(S, N)`` bool matrix of maximal independent sets
    (:func:`rrmbook.conflict.maximal_independent_sets`).  Ties are broken at random.
    Devices with empty queues are dropped from the chosen set (they have nothing to send).
    """
    queues = np.asarray(queues, dtype=np.float64)
    weights = queues @ independent_sets.T.astype(np.float64)  # (B, S)
    key = weights + 0.5 * rng.random(weights.shape)
    best = np.argmax(key, axis=1)
    return independent_sets[best] & (queues > 0)


def llq_schedule(own: np.ndarray, rivals: np.ndarray, same_agent: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """Local longest-queue (LLQ).

    ``own[b, n]`` is device n's queue; ``rivals[b, n, :]`` the queues of the devices n
    conflicts with (padded with -1).  Device n transmits if its queue is non-empty and
    longer than every rival's; when it ties with j-1 rivals for the longest queue it
    transmits with probability 1/j.  An agent then keeps at most one of its devices
    (``same_agent`` is the ``(N, N)`` same-owner matrix), picked at random.
    """
    top = rivals.max(axis=2) if rivals.shape[2] else np.full(own.shape, -1)
    ties = (rivals == own[..., None]).sum(axis=2)
    candidate = (own > 0) & (own >= top)
    on = candidate & (rng.random(own.shape) < 1.0 / (1 + ties))
    priority = np.where(on, rng.random(own.shape), -1.0)
    beaten = (priority[:, None, :] > priority[:, :, None]) & same_agent[None]
    return on & ~beaten.any(axis=2)


def qcsma_decision_set(exclusion: np.ndarray, backoff: np.ndarray, window: int,
                       collide: np.ndarray | None = None) -> np.ndarray:
    """Q-CSMA's randomised decision set (Ni, Tan & Srikant, 2012), batched.

    Each link draws a back-off minislot in ``0..window-1`` (``backoff``, ``(B, N)``).  In
    minislot order, a link whose conflicting links have not announced yet broadcasts an
    INTENT; two conflicting links announcing in the same minislot collide and both drop
    out.  A link hearing an earlier announcement stays out.  The loop is over minislots,
    vectorised over links and copies.  Returns a ``(B, N)`` independent set.

    ``collide`` (``(N, N)`` bool, default ``exclusion``) names the pairs whose intents in
    the same minislot collide.  The authors' public code ignores those collisions: with
    ``collide`` the same-agent matrix (an agent still names one device), conflicting intents
    of different agents in one minislot all join, and the set need not be independent.
    """
    excl = exclusion.astype(np.int32)
    coll = excl if collide is None else np.asarray(collide).astype(np.int32)
    if coll.shape != excl.shape:
        raise ValueError(f"collide must have the shape of exclusion {excl.shape}, got {coll.shape}")
    B, N = backoff.shape
    blocked = np.zeros((B, N), dtype=bool)
    decided = np.zeros((B, N), dtype=bool)
    for slot in range(window):
        announce = (backoff == slot) & ~blocked
        if not announce.any():
            continue
        heard = (announce.astype(np.int32) @ excl) > 0
        collided = (announce.astype(np.int32) @ coll) > 0
        decided |= announce & ~collided
        blocked |= heard | announce
    return decided


def qcsma_update(previous: np.ndarray, decision: np.ndarray, queues: np.ndarray,
                 exclusion: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One Q-CSMA state update.

    A link in the decision set switches on with probability e^w / (1 + e^w), w = log(10 q),
    if none of its conflicting links was on in the previous slot, and off otherwise; links
    outside the decision set keep their previous state; empty queues are off.
    """
    q = np.asarray(queues, dtype=np.float64)
    p_on = np.where(q > 0, (10.0 * q) / (1.0 + 10.0 * q), 0.0)  # e^w/(1+e^w) with w=log(10q)
    neighbour_on = (previous.astype(np.int32) @ exclusion.astype(np.int32)) > 0
    switch_on = ~neighbour_on & (rng.random(q.shape) < p_on)
    state = np.where(decision, switch_on, previous)
    return state & (q > 0)


class _SchedulePolicy(Policy):
    """Helper for schedulers that compute a device schedule per subband."""

    def reset(self, env, rng):
        require_family(env, "conflict", f"the {self.name} conflict-graph scheduler")
        super().reset(env, rng)
        self.env = env

    def _to_actions(self, per_subband: np.ndarray) -> np.ndarray:
        return self.env.schedule_to_actions(per_subband)


class GMS(_SchedulePolicy):
    """Greedy maximal scheduling as in the paper: one greedy set, used on every subband."""

    name = "gms"
    information = "global"
    coordination = "central"
    conflict_free = True

    def reset(self, env, rng):
        super().reset(env, rng)
        self.exclusion = self._exclusion(env)

    def _exclusion(self, env) -> np.ndarray:
        """Row i: the devices removed once device i is scheduled (SPEC: both directions)."""
        return env.exclusion

    def act(self, obs, state):
        s = gms_schedule(state.zeta, self.exclusion, self.rng)
        return self._to_actions(np.repeat(s[:, None, :], self.env.n_subbands, axis=1))


class GMSPaperCode(GMS):
    """GMS as in the authors' public code: a scheduled device removes only its
    *in*-interferers (devices j with an edge j -> i) and its agent's other devices, see
    :func:`in_interferer_exclusion`; the same set is used on every subband, as in ``gms``.

    SPEC section 4's GMS removes conflicts in both directions.  Here a device that i
    interferes with stays eligible and may be scheduled after i, and then fails under (Z-3):
    the schedule is not conflict-free.
    """

    name = "gms_paper_code"
    conflict_free = False

    def _exclusion(self, env) -> np.ndarray:
        return in_interferer_exclusion(env.adjacency, env.owner)


class MultiChannelGMS(_SchedulePolicy):
    """GMS run once per subband on the queues left after earlier subbands' planned service."""

    name = "gms_multichannel"
    information = "global"
    coordination = "central"
    conflict_free = True

    def _one(self, queues):
        return gms_schedule(queues, self.env.exclusion, self.rng)

    def act(self, obs, state):
        residual = state.zeta.copy()
        sched = np.zeros((self.env.batch, self.env.n_subbands, self.env.n_devices), dtype=bool)
        for h in range(self.env.n_subbands):
            sched[:, h] = self._one(residual)
            residual = residual - sched[:, h]
        return self._to_actions(sched)


class MaxWeight(MultiChannelGMS):
    """Exact max-weight scheduling (throughput-optimal reference), per subband on residual
    queues.  Enumerates maximal independent sets once, so it is for small graphs only."""

    name = "max_weight"

    def reset(self, env, rng):
        super().reset(env, rng)
        self.sets = maximal_independent_sets(env.exclusion)

    def _one(self, queues):
        return max_weight_schedule(queues, self.sets, self.rng)


class LLQ(_SchedulePolicy):
    """Local longest queue: every number it reads comes from its own agent's X_k."""

    name = "llq"
    information = "neighbourhood"
    coordination = "none"
    conflict_free = False

    def reset(self, env, rng):
        super().reset(env, rng)
        n_feat = env.obs_dim
        # feature position of every device inside each agent's X_k (-1 where absent)
        pos = -np.ones((env.n_agents, env.n_devices + 1), dtype=np.int64)
        for k in range(env.n_agents):
            pos[k, env.obs_index[k]] = np.arange(n_feat)
        pos = pos[:, : env.n_devices]
        width = max(1, int(env.exclusion.sum(axis=1).max()))
        rivals = np.full((env.n_devices, width), n_feat, dtype=np.int64)  # n_feat = pad (-1)
        for n in range(env.n_devices):
            others = np.flatnonzero(env.exclusion[n])
            rivals[n, : len(others)] = pos[env.owner[n], others]
        self.agent = env.owner
        self.own_pos = pos[env.owner, np.arange(env.n_devices)]
        self.rival_pos = rivals
        self.same_agent = (env.owner[:, None] == env.owner[None, :]) & ~np.eye(env.n_devices, dtype=bool)

    def act(self, obs, state=None):
        X = obs.X
        Xpad = np.concatenate([X, -np.ones(X.shape[:2] + (1,), dtype=X.dtype)], axis=2)
        own = Xpad[:, self.agent, self.own_pos]  # (B, N)
        rivals = Xpad[:, self.agent[:, None], self.rival_pos]  # (B, N, M)
        s = llq_schedule(own, rivals, self.same_agent, self.rng)
        return self._to_actions(np.repeat(s[:, None, :], self.env.n_subbands, axis=1))


class QCSMA(_SchedulePolicy):
    """Q-CSMA: carrier sensing over ``window`` minislots (default 2N), queue-based weights."""

    name = "qcsma"
    information = "local"
    coordination = "broadcast"
    conflict_free = True
    #: conflicting intents announced in the same minislot collide and drop out (SPEC)
    minislot_collisions = True

    def __init__(self, window: int | None = None) -> None:
        if window is not None and window < 1:
            raise ValueError(f"window must be a positive number of minislots, got {window}")
        self.window = window

    def reset(self, env, rng):
        super().reset(env, rng)
        self.W = self.window or 2 * env.n_devices
        self.on = np.zeros((env.batch, env.n_devices), dtype=bool)
        self.own_pos = env.local_index - 1  # own block comes first in X_k
        # pairs whose same-minislot intents collide: every conflict, or (paper code) only the
        # devices of one agent, which can serve just one of them
        self.collide = (env.exclusion if self.minislot_collisions
                        else exclusion_matrix(np.zeros_like(env.adjacency), env.owner))

    def act(self, obs, state=None):
        own = obs.X[:, self.env.owner, self.own_pos]  # each device's queue, read by its agent
        backoff = self.rng.integers(0, self.W, size=own.shape)
        self.decision = qcsma_decision_set(self.env.exclusion, backoff, self.W, self.collide)
        self.on = qcsma_update(self.on, self.decision, own, self.env.exclusion, self.rng)
        return self._to_actions(np.repeat(self.on[:, None, :], self.env.n_subbands, axis=1))


class QCSMAPaperCode(QCSMA):
    """Q-CSMA as in the authors' public code: conflicting intents announced in the same
    back-off minislot do not collide, they all join the decision set (see
    :func:`qcsma_decision_set`'s ``collide``).  Devices of one agent still collide, since an
    agent serves one device per subband.  Everything else is ``qcsma``.

    SPEC section 4 (after Ni, Tan & Srikant) makes such intents collide and both drop out.
    Here two conflicting links that pick the same minislot may both switch on in the same
    slot, so the schedule is not conflict-free.
    """

    name = "qcsma_paper_code"
    conflict_free = False
    minislot_collisions = False


class MultiChannelQCSMA(QCSMA):
    """Q-CSMA with one independent Markov chain per subband (an ablation of issue 13).

    ``qcsma`` (SPEC, like the paper's GMS) turns one set of links on and uses it on every
    subband, so a device with one packet occupies all three subbands for it.  Here every
    subband runs its own back-off, decision set and on/off state, with the same queue-based
    weights; a device may be on in several subbands at once.  Each subband's schedule is
    still conflict-free.  The paper's text does not say which of the two it ran.
    """

    name = "qcsma_multichannel"

    def reset(self, env, rng):
        super().reset(env, rng)
        self.on = np.zeros((env.batch, env.n_subbands, env.n_devices), dtype=bool)

    def act(self, obs, state=None):
        own = obs.X[:, self.env.owner, self.own_pos]  # each device's queue, read by its agent
        chains = []
        for h in range(self.env.n_subbands):
            backoff = self.rng.integers(0, self.W, size=own.shape)
            decision = qcsma_decision_set(self.env.exclusion, backoff, self.W, self.collide)
            chains.append(qcsma_update(self.on[:, h], decision, own, self.env.exclusion,
                                       self.rng))
        self.on = np.stack(chains, axis=1)
        return self._to_actions(self.on)


class RandomPolicy(Policy):
    """Each agent picks, per subband, silence or one of its devices uniformly at random."""

    name = "random"
    information = "local"
    coordination = "none"

    def reset(self, env, rng):
        super().reset(env, rng)
        self.env = env
        self.n_choices = 1 + (env.device_of[:, 1:] >= 0).sum(axis=1)  # (K,)

    def act(self, obs, state=None):
        B = obs.X.shape[0]
        u = self.rng.random((B, self.env.n_agents, self.env.n_subbands))
        return np.floor(u * self.n_choices[None, :, None]).astype(np.int64)
