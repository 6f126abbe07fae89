"""The conflict-graph model as a batched Dec-POMDP-IR environment (Zhang & Guo, Sec. II-B).

B independent copies of one conflict graph step together; every array has a leading batch
axis and nothing loops over devices or agents in Python.  Chapter 2 steps it by hand,
chapter 3 runs the baselines on it.

Timing of a slot t (SPEC section 0):

1. packets arrive (they were drawn at the end of the previous ``step``/``reset``);
2. each agent observes zeta of its neighbourhood (Z-5, Z-7, Z-8) and acts;
3. the collision rule (Z-3) decides which transmissions succeed, per subband;
4. queues are updated (Z-4);
5. each agent receives R_k = -(queues of the devices of C(k)) at the end of the slot (Z-9, Z-10).

Action of agent k: one integer per subband, 0 = stay silent, i = serve its i-th device
(local index, 1-based, the mapping f(i, k) of the paper).  Indices of padded dummy devices
(agents serving fewer than ``max_devices`` devices) mean silence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .. import checks, seeding
from ..conflict import adjacency_matrix, agent_neighbourhoods, conflict_success, exclusion_matrix
from ..seeding import Stream
from ..traffic import PacketLedger, poisson_arrivals, queue_step
from .base import BatchedQueueEnv, Observation, StepResult

__all__ = ["ConflictGraphConfig", "ConflictGraphEnv", "Observation", "GlobalState", "StepResult"]

@dataclass(eq=False)
class ConflictGraphConfig:
    """Everything that defines a conflict-graph scenario.

    Time is counted in slots and traffic in packets: a scheduled device that succeeds sends
    one packet per subband in the slot (Z-3, Z-4).

    Attributes
    ----------
    graph : networkx.DiGraph
        The directed conflict graph: nodes are the devices 0..N-1, each with the node
        attribute ``agent`` (its owner, 0..K-1); an edge u -> v means that a transmission
        of u on a subband makes v's transmission on the same subband fail (Z-3).
        Required, no default (:func:`~rrmbook.conflict.paper_cg8`,
        :func:`~rrmbook.conflict.random_conflict_graph` build one).
    arrival_rate : float or sequence of float
        Mean Poisson arrivals in packets per slot per device, one number for every device
        or one per device (N).  Default 0.3.  (For conflict graphs the ``load`` of
        :func:`~rrmbook.make_env` is in the same unit, packets per slot.)
    n_subbands : int
        H, the number of subbands; each is an independent collision domain on which every
        agent serves at most one of its devices per slot.  Default 3.
    episode_slots : int
        Training episodes are truncated after this many slots (evaluation ignores
        truncation).  Default 2000.
    max_queue : int or None
        A training episode of a copy is also truncated once any device's queue exceeds this
        many packets; ``None`` disables it.  Default 50.
    name : str
        Scenario name, recorded in results.  Default ``"custom"``
        (:func:`~rrmbook.make_config` sets the preset's name).
    rates : numpy.ndarray
        Derived, not a constructor argument: ``arrival_rate`` as one rate per device,
        shape (N,), in packets per slot.
    """

    graph: nx.DiGraph
    arrival_rate: float | tuple[float, ...] = 0.3
    n_subbands: int = 3
    episode_slots: int = 2000
    max_queue: int | None = 50
    name: str = "custom"
    rates: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.graph, nx.DiGraph):
            raise TypeError(f"graph must be a networkx.DiGraph, got {type(self.graph).__name__}")
        n = self.graph.number_of_nodes()
        if n == 0:
            raise ValueError("graph must have at least one device")
        missing = [d for d in self.graph.nodes if "agent" not in self.graph.nodes[d]]
        if missing:
            raise ValueError(f"graph nodes {missing[:5]} have no 'agent' attribute (the owner)")
        rates = np.broadcast_to(np.asarray(self.arrival_rate, dtype=float), (n,)).copy() \
            if np.ndim(self.arrival_rate) == 0 else np.asarray(self.arrival_rate, dtype=float)
        if rates.shape != (n,):
            raise ValueError(f"arrival_rate must be a number or have one entry per device ({n}), "
                             f"got shape {rates.shape}")
        if not np.all(np.isfinite(rates)) or np.any(rates < 0):
            raise ValueError(f"arrival_rate must be finite and >= 0 packets/slot, got {rates.tolist()}")
        checks.positive_int("n_subbands", self.n_subbands)
        checks.positive_int("episode_slots", self.episode_slots)
        if self.max_queue is not None and not self.max_queue >= 0:  # nan too
            raise ValueError(f"max_queue must be >= 0 or None, got {self.max_queue}")
        self.rates = rates


@dataclass
class GlobalState:
    """The global state s(t) (Z-6): what only a genie (centralised) policy sees."""

    zeta: np.ndarray  # (B, N) queue after this slot's arrivals
    q: np.ndarray  # (B, N) queue at the end of the previous slot
    t: int


class ConflictGraphEnv(BatchedQueueEnv):
    """Batched conflict-graph environment.  See the module docstring for the slot timing."""

    family = "conflict"
    within_slot = False  # a served packet takes the whole slot
    delay_unit = "slots"
    delay_scale = 1.0
    packet_size = 1.0  # queues count packets

    def __init__(self, config: ConflictGraphConfig, batch: int = 1, seed: int = 0) -> None:
        checks.instance_of("config", config, ConflictGraphConfig)
        self.config = config
        self.batch = checks.positive_int("batch", batch)
        # per copy: queues, schedules, observations and rewards, a few hundred bytes a device
        n = config.graph.number_of_nodes()
        checks.fits_in_memory(self.batch * n * (config.n_subbands + 8) * 64.0,
                              f"{self.batch:,} copies of {config.name}", "lower batch")
        g = config.graph
        self.graph = g
        self.n_devices = g.number_of_nodes()
        self.n_subbands = int(config.n_subbands)
        self.adjacency = adjacency_matrix(g)  # checks the labels are 0..N-1 first
        self.owner = np.array([g.nodes[n]["agent"] for n in range(self.n_devices)], dtype=np.int64)
        if self.owner.min() < 0 or sorted(set(self.owner.tolist())) != list(range(self.owner.max() + 1)):
            raise ValueError("agent labels must be 0..K-1 with every agent owning a device")
        self.n_agents = int(self.owner.max()) + 1
        self.exclusion = exclusion_matrix(self.adjacency, self.owner)
        counts = np.bincount(self.owner, minlength=self.n_agents)
        self.max_devices = int(counts.max())
        #: agent_devices[k, i] = global index of agent k's (i+1)-th device, or -1 (padding)
        self.agent_devices = -np.ones((self.n_agents, self.max_devices), dtype=np.int64)
        for k in range(self.n_agents):
            mine = np.flatnonzero(self.owner == k)
            self.agent_devices[k, : len(mine)] = mine
        self.neighbourhoods = agent_neighbourhoods(self.adjacency, self.owner)
        self.max_neighbours = max(len(c) for c in self.neighbourhoods) - 1
        self.obs_dim = (1 + self.max_neighbours) * self.max_devices
        # obs_index[k, f] = device whose zeta fills feature f of X_k (N = the zero pad)
        blocks = -np.ones((self.n_agents, 1 + self.max_neighbours), dtype=np.int64)
        for k, c in enumerate(self.neighbourhoods):
            blocks[k, : len(c)] = c
        dev = np.where(blocks[:, :, None] >= 0, self.agent_devices[np.maximum(blocks, 0)], -1)
        self.obs_index = np.where(dev >= 0, dev, self.n_devices).reshape(self.n_agents, -1)
        #: neighbour_matrix[i, k] = 1 if agent i is in C(k)
        self.neighbour_matrix = np.zeros((self.n_agents, self.n_agents), dtype=np.int64)
        for k, c in enumerate(self.neighbourhoods):
            self.neighbour_matrix[c, k] = 1
        self._owner_onehot = np.eye(self.n_agents, dtype=np.int64)[self.owner]  # (N, K)
        # lookup for actions: device_of[k, a] = device served by action a (-1 = silent)
        self.device_of = np.concatenate(
            [-np.ones((self.n_agents, 1), dtype=np.int64), self.agent_devices], axis=1
        )
        #: local_index[n] = i such that device n is its agent's i-th device (1-based)
        self.local_index = np.zeros(self.n_devices, dtype=np.int64)
        rows, cols = np.nonzero(self.agent_devices >= 0)
        self.local_index[self.agent_devices[rows, cols]] = cols + 1
        self.action_mask = self.device_of >= 0
        self.action_mask[:, 0] = True
        self.ledger: PacketLedger | None = None
        self.reset(seed)

    # ------------------------------------------------------------------ structure
    @property
    def n_actions(self) -> int:
        """Choices per subband for every agent (silent + ``max_devices`` devices)."""
        return self.max_devices + 1

    def actions_to_schedule(self, actions: np.ndarray) -> np.ndarray:
        """Map agent actions ``(B, K, H)`` to the device schedule ``(B, H, N)`` (bool)."""
        actions = self._check_actions(actions)
        B = actions.shape[0]
        dev = self.device_of[np.arange(self.n_agents)[None, :, None], actions]  # (B, K, H)
        sched = np.zeros((B, self.n_subbands, self.n_devices + 1), dtype=bool)
        b_idx = np.arange(B)[:, None, None]
        h_idx = np.arange(self.n_subbands)[None, None, :]
        sched[b_idx, h_idx, np.where(dev >= 0, dev, self.n_devices)] = True
        return sched[..., : self.n_devices]

    def schedule_to_actions(self, schedule: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`actions_to_schedule`: ``(B, H, N)`` bool to ``(B, K, H)`` actions.

        Raises ``ValueError`` if an agent would serve two devices on one subband.
        """
        schedule = np.asarray(schedule, dtype=bool)
        if schedule.ndim != 3 or schedule.shape[1:] != (self.n_subbands, self.n_devices):
            raise ValueError(f"schedule must have shape (B, {self.n_subbands}, {self.n_devices}), "
                             f"got {schedule.shape}")
        per_agent = schedule.astype(np.int64) @ self._owner_onehot  # (B, H, K)
        if np.any(per_agent > 1):
            raise ValueError("schedule serves two devices of one agent on the same subband")
        acts = (schedule * self.local_index) @ self._owner_onehot  # (B, H, K)
        return acts.transpose(0, 2, 1)

    def _check_actions(self, actions: np.ndarray) -> np.ndarray:
        actions = np.asarray(actions)
        expected = (self.batch, self.n_agents, self.n_subbands)
        if actions.shape != expected:
            raise ValueError(f"actions must have shape (batch, agents, subbands) = {expected}, "
                             f"got {actions.shape}")
        if not np.issubdtype(actions.dtype, np.integer):
            raise TypeError(f"actions must be integers (0 = silent, i = i-th own device), "
                            f"got dtype {actions.dtype}")
        if actions.min() < 0 or actions.max() > self.max_devices:
            raise ValueError(f"actions must lie in 0..{self.max_devices} "
                             f"(0 = silent), got values {actions.min()}..{actions.max()}")
        return actions

    # ------------------------------------------------------------------ dynamics
    def reset(self, seed: int | None = None) -> Observation:
        """Empty every queue and restart the clock.

        With a ``seed`` the traffic stream restarts from it (same seed, same arrivals); with
        ``None`` it carries on, so consecutive episodes see fresh arrivals (the Gymnasium
        convention)."""
        if seed is not None or not hasattr(self, "_traffic"):
            self._traffic = seeding.rng(seed or 0, Stream.TRAFFIC)
        self.t = 0
        self.slot_in_episode = np.zeros(self.batch, dtype=np.int64)
        self.q = np.zeros((self.batch, self.n_devices), dtype=np.int64)
        self.arrivals = poisson_arrivals(self._traffic, self.config.rates, self.batch)
        self._refresh_zeta()
        return self.observe()

    def _refresh_zeta(self) -> None:
        self.zeta = self.q + self.arrivals

    def observe(self) -> Observation:
        zpad = np.concatenate([self.zeta, np.zeros((self.batch, 1), dtype=self.zeta.dtype)], axis=1)
        return Observation(X=zpad[:, self.obs_index].astype(np.float32), t=self.t)

    def state(self) -> GlobalState:
        return GlobalState(zeta=self.zeta.copy(), q=self.q.copy(), t=self.t)

    def queue_packets(self) -> np.ndarray:
        """Queues at the end of the last slot, in packets (``(B, N)``)."""
        return self.q

    def rewards(self, q: np.ndarray) -> np.ndarray:
        """Individual rewards R_k = -sum of queues over the devices of C(k) (Z-9, Z-10)."""
        u = -(q @ self._owner_onehot)  # (B, K) direct contributions u_k
        return (u @ self.neighbour_matrix).astype(np.float64)

    def step(self, actions: np.ndarray) -> StepResult:
        """Advance every copy by one slot with the agents' ``actions`` ``(B, K, H)``."""
        schedule = self.actions_to_schedule(actions)  # (B, H, N)
        success = conflict_success(schedule, self.adjacency)
        service = success.sum(axis=1)  # one packet per successful subband
        zeta, q, served = queue_step(self.q, self.arrivals, service)
        if self.ledger is not None:
            self.ledger.record(self.arrivals, served)
        rewards = self.rewards(q)
        self.q = q
        self.t += 1
        self.slot_in_episode += 1
        truncated = self.slot_in_episode >= self.config.episode_slots
        if self.config.max_queue is not None:
            truncated |= q.max(axis=1) > self.config.max_queue
        info = {"schedule": schedule, "success": success, "served": served,
                "arrivals": self.arrivals, "zeta": zeta}
        self.arrivals = poisson_arrivals(self._traffic, self.config.rates, self.batch)
        self._refresh_zeta()
        return StepResult(obs=self.observe(), rewards=rewards, truncated=truncated, info=info)

    def __repr__(self) -> str:
        return (f"ConflictGraphEnv({self.config.name!r}, devices={self.n_devices}, "
                f"agents={self.n_agents}, subbands={self.n_subbands}, batch={self.batch})")
