"""A trained MAPPO actor as a :class:`~rrmbook.policy.Policy`, run by :func:`rrmbook.evaluate`
like any baseline.

Each agent decides from its own local aggregate X_k (its devices' and its neighbours'
observations) and its recurrent memory, so the policy's information level is
``"neighbourhood"`` and it needs no coordination at run time (Zhang & Guo Sec. III-C).  The
module also holds the small pieces the trainer and the policy share: the description of an
environment's shapes (:class:`AgentSpec`), the observation scaling, and the moves between the
environment's ``(B, K, ...)`` layout and the networks' group layout.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..policy import Policy
from .networks import RecurrentNet, greedy_actions, gumbel_perturb, masked_heads

__all__ = ["AgentSpec", "MAPPOPolicy", "to_groups", "from_groups", "MODES"]

#: training modes: one network for all agents, or one per agent
MODES = ("shared", "separate")


def to_groups(x: torch.Tensor, mode: str) -> torch.Tensor:
    """``(B, K, ...)`` -> group layout ``(G, M, ...)``: shared ``(1, B·K, ...)`` (row
    b·K + k), separate ``(K, B, ...)`` (agent k's rows in group k)."""
    if mode == "shared":
        return x.reshape(1, x.shape[0] * x.shape[1], *x.shape[2:])
    return x.transpose(0, 1)


def from_groups(x: torch.Tensor, mode: str, n_agents: int) -> torch.Tensor:
    """Inverse of :func:`to_groups`: ``(G, M, ...)`` -> ``(B, K, ...)``."""
    if mode == "shared":
        return x.reshape(-1, n_agents, *x.shape[2:])
    return x.transpose(0, 1)


@dataclass(frozen=True)
class AgentSpec:
    """The shapes a trained actor depends on, read from an environment.

    ``head_sizes`` are the choices per subband: ``(D+1,)`` on a conflict graph (silent or
    one of D devices), ``(D+1, |P|)`` in a multi-cell network (device, power level).
    ``queue_stride``: every ``queue_stride``-th feature of X_k, starting at 0, is a queue
    length in packets (all features on a conflict graph; the first feature of each device
    block in a multi-cell network)."""

    family: str
    scenario: str
    n_agents: int
    obs_dim: int
    n_subbands: int
    head_sizes: tuple[int, ...]
    queue_stride: int

    @classmethod
    def from_env(cls, env) -> AgentSpec:
        sizes = env.n_actions
        head_sizes = tuple(int(s) for s in sizes) if isinstance(sizes, tuple) else (int(sizes),)
        return cls(family=env.family, scenario=env.config.name, n_agents=int(env.n_agents),
                   obs_dim=int(env.obs_dim), n_subbands=int(env.n_subbands),
                   head_sizes=head_sizes, queue_stride=int(getattr(env, "device_features", 1)))

    @classmethod
    def from_dict(cls, d: dict) -> AgentSpec:
        return cls(**{**d, "head_sizes": tuple(d["head_sizes"])})

    def to_dict(self) -> dict:
        return asdict(self) | {"head_sizes": list(self.head_sizes)}

    def check(self, other: AgentSpec, mode: str) -> None:
        """Raise ``ValueError`` naming every field in which ``other`` (an environment)
        differs from this one (the trained networks).  A shared network also runs on
        networks with another number of agents; a separate one does not."""
        fields = ["family", "obs_dim", "n_subbands", "head_sizes", "queue_stride"]
        if mode == "separate":
            fields.append("n_agents")
        bad = [f for f in fields if getattr(self, f) != getattr(other, f)]
        if bad:
            diffs = ", ".join(f"{f}: trained {getattr(self, f)!r} vs {getattr(other, f)!r}"
                              for f in bad)
            fix = ""
            if self.family == other.family == "cellular" and "obs_dim" in bad:
                fix = ("; build the network with make_env(..., like=policy) (or rrmbook.cellular("
                       "..., like=policy)), which pads its observations as in training")
            raise ValueError(f"the networks were trained on {self.scenario!r} and cannot run on "
                             f"{other.scenario!r}: mismatch in {diffs}{fix}")

    def queue_mask(self) -> torch.Tensor:
        """``(F,)`` bool: which features of X_k are queue lengths."""
        mask = torch.zeros(self.obs_dim, dtype=torch.bool)
        mask[:: self.queue_stride] = True
        return mask


def scale_observation(X: torch.Tensor, queue_mask: torch.Tensor, queue_scale: float,
                      queue_log: bool) -> torch.Tensor:
    """The fixed observation scaling: queue lengths q (packets) become ``log(1 + q/scale)``
    (``queue_log``) or ``q/scale``; the multi-cell channel features are already O(1) (see
    ``CellularEnv``) and pass unchanged.  The logarithm keeps "empty" and "one packet" far
    apart while compressing long queues."""
    q = X / queue_scale
    return torch.where(queue_mask, torch.log1p(q) if queue_log else q, X)


def device_mask(env, mode: str, batch: int | None = None) -> torch.Tensor:
    """``(G, M, D+1)`` bool in the group layout of ``batch`` copies (default
    ``env.batch``): false where a device index is padding (an agent serving fewer than D
    devices)."""
    valid = np.concatenate([np.ones((env.n_agents, 1), dtype=bool), env.agent_devices >= 0], axis=1)
    batch = env.batch if batch is None else int(batch)
    mask = torch.from_numpy(valid).unsqueeze(0).expand(batch, -1, -1)
    return to_groups(mask, mode).contiguous()


class MAPPOPolicy(Policy):
    """Runs a trained recurrent actor: each agent samples (or, with ``deterministic``,
    takes the most likely) action from π(a | X_k, memory).

    The recurrent memory starts at zero in :meth:`reset` and is carried from slot to slot.
    Sampling uses a ``torch.Generator`` seeded from the policy's random stream, so
    :func:`rrmbook.evaluate` runs are reproducible."""

    information = "neighbourhood"
    coordination = "none"
    conflict_free = False

    def __init__(self, actor: RecurrentNet, spec: AgentSpec, mode: str, queue_scale: float,
                 queue_log: bool, deterministic: bool = False, name: str | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.actor, self.spec, self.mode = actor, spec, mode
        self.queue_scale, self.queue_log = float(queue_scale), bool(queue_log)
        self.deterministic = bool(deterministic)
        self.name = name or f"mappo-{mode}"
        self._queue_mask = spec.queue_mask()

    def copy(self) -> MAPPOPolicy:
        """An independent copy (its own weights), e.g. a snapshot during training."""
        return MAPPOPolicy(copy.deepcopy(self.actor), self.spec, self.mode, self.queue_scale,
                           self.queue_log, self.deterministic, self.name)

    def reset(self, env, rng: np.random.Generator) -> None:
        env_spec = AgentSpec.from_env(env)
        self.spec.check(env_spec, self.mode)
        super().reset(env, rng)
        self._n_agents = env_spec.n_agents
        self._device = self.actor.rnn.weight_ih.device
        self._queue_mask = self._queue_mask.to(self._device)
        self._mask = device_mask(env, self.mode)[:, :, None].to(self._device)  # (G, M, 1, D+1)
        self._state = self.actor.initial_state(self._mask.shape[1])
        self._generator = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))

    @torch.inference_mode()
    def act(self, obs, state=None) -> np.ndarray:
        X = scale_observation(torch.from_numpy(obs.X).to(self._device), self._queue_mask,
                              self.queue_scale, self.queue_log)
        x = to_groups(X, self.mode)
        logits, self._state = self.actor.step(x, self._state)
        logits = logits.unflatten(-1, (self.spec.n_subbands, sum(self.spec.head_sizes)))
        if not self.deterministic:
            logits = gumbel_perturb(logits, self._generator)
        actions = greedy_actions(masked_heads(logits, self._mask, self.spec.head_sizes))
        actions = from_groups(actions, self.mode, self._n_agents)
        if len(self.spec.head_sizes) == 1:
            actions = actions[..., 0]
        return actions.cpu().numpy()

    @torch.inference_mode()
    def action_probs(self, X, env=None) -> tuple[np.ndarray, ...]:
        """The probabilities from which :meth:`act` samples, after a history of aggregates.

        ``X``: the aggregates X_k in the units of ``obs.X`` (queues in packets, unscaled),
        either one slot ``(B, K, F)`` or a history ``(T, B, K, F)``.  The actor starts from
        the zero memory of :meth:`reset` and reads the slots in order, as :meth:`act` does
        after a reset; the policy's own running memory is neither used nor changed.  ``env``
        (optional) supplies the padding of the device head, as in :meth:`reset`; without it
        every agent is taken to serve D devices (no padding: true on ``paper-cg8``).  In
        shared mode K may differ from the trained number of agents; in separate mode agent k
        uses network k, so K must equal it.

        Returns one array per head (a single device head on a conflict graph; device and
        power heads in a multi-cell network), each ``(B, K, H, n)`` for the H subbands and n
        choices of that head, as of the last slot of the history: every row sums to 1 and
        padded devices have probability exactly 0.  The power head's probabilities apply
        where a device is served.  The most likely choice of each head is what the policy
        takes with ``deterministic=True``.
        """
        X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
        if X.ndim == 3:
            X = X[None]
        if X.ndim != 4 or X.shape[-1] != self.spec.obs_dim:
            raise ValueError(f"X must be (B, K, {self.spec.obs_dim}) or (T, B, K, "
                             f"{self.spec.obs_dim}), got shape {tuple(X.shape)}")
        n_slots, batch, n_agents = X.shape[:3]
        if n_slots == 0:
            raise ValueError("X holds no slot")
        if self.mode == "separate" and n_agents != self.spec.n_agents:
            raise ValueError(f"separate networks run {self.spec.n_agents} agents, X has "
                             f"{n_agents}")
        if env is None:
            mask = torch.ones(batch * n_agents, self.spec.head_sizes[0], dtype=torch.bool)
            mask = to_groups(mask.view(batch, n_agents, -1), self.mode)
        else:
            self.spec.check(AgentSpec.from_env(env), self.mode)
            if env.n_agents != n_agents:
                raise ValueError(f"env has {env.n_agents} agents, X has {n_agents}")
            mask = device_mask(env, self.mode, batch)
        device = self.actor.rnn.weight_ih.device
        mask = mask.to(device)
        x = scale_observation(X.to(device), self._queue_mask.to(device), self.queue_scale,
                              self.queue_log)
        state = self.actor.initial_state(mask.shape[1])
        for t in range(n_slots):
            logits, state = self.actor.step(to_groups(x[t], self.mode), state)
        logits = logits.unflatten(-1, (self.spec.n_subbands, sum(self.spec.head_sizes)))
        heads = masked_heads(logits, mask[:, :, None], self.spec.head_sizes)
        return tuple(from_groups(torch.softmax(h, dim=-1), self.mode, n_agents).cpu().numpy()
                     for h in heads)
