"""PettingZoo adapters around an rrmbook env: one copy, or all B copies at once.

:class:`RRMParallelEnv` is a PettingZoo ``ParallelEnv`` around a single copy (batch = 1);
:class:`RRMVectorEnv` steps every one of the env's B copies in one call and returns the
same per-agent dicts with a leading batch axis (:func:`rrmbook.make_vector_env` builds one
for a named scenario).

Agents are named ``agent_0 .. agent_{K-1}``.  Observation of agent k: X_k (Z-8) as a float32
vector; action (``MultiDiscrete``): on a conflict graph one choice per subband (0 = silent,
i = i-th own device); in a cellular network a ``(H, 2)`` array of (device, power level) per
subband; in the PF scheduling model one ``Discrete(N + 1)`` choice (top-n UE or silence);
reward: R_k (Z-10), or the team reward (E-16) for every AP in the PF model.  Episodes end
by truncation only (time limit or a queue above ``max_queue``); there is no terminal
state.

Flat actions (``flat_actions=``):

- ``False`` (default): the structured spaces above;
- ``True`` or ``"discrete"``: one ``Discrete(prod(nvec))`` per agent, the structured action
  read as the digits of a mixed-radix number, first subband most significant
  (:class:`ActionCodec`).  ``Discrete`` is the one space every RL library takes (the
  value-based learners of most libraries, DQN and QMIX/VDN-style ones, take nothing else),
  which is why ``True`` means this one.  Sizes: 27 on ``paper-cg8`` (3 choices on 3
  subbands), 13824 on ``paper-hex19`` ((silence or one of 3 devices) x 6 power levels, on
  3 subbands);
- ``"multidiscrete"``: a 1-D ``MultiDiscrete`` (the ``(H, 2)`` array of the multi-cell
  model flattened row by row to ``(d_0, p_0, d_1, p_1, ...)``), for policy-gradient
  libraries that take one categorical head per entry but reject a 2-D ``nvec``.

The PF model's ``Discrete`` action is the same in every mode.

Infos: after each step ``infos[agent]`` holds ``"truncation"`` (``None``, ``"time_limit"`` or
``"queue_overflow"``; when both happen in the same slot, ``"queue_overflow"``) and the two
flags ``"time_limit"`` and ``"queue_overflow"`` (see :func:`truncation_reasons`), so an
external learner can bootstrap through a time limit and treat an overflow as it likes.
"""

from __future__ import annotations

import functools

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

__all__ = ["RRMParallelEnv", "RRMVectorEnv", "ActionCodec", "truncation_reasons",
           "FLAT_ACTION_MODES"]

#: the accepted values of ``flat_actions``
FLAT_ACTION_MODES = (False, True, "discrete", "multidiscrete")


class ActionCodec:
    """The bijection between one agent's structured action and one integer (mixed radix).

    ``nvec`` holds the number of choices of every entry of the structured action (shape
    ``S``: ``(H,)`` on a conflict graph, ``(H, 2)`` in the multi-cell model, ``()`` for a
    single ``Discrete``).  The entries, read in C order, are the digits of the flat index,
    the first the most significant::

        index = sum_i a_i * prod_{j > i} n_j       (a, n: the entries of the action, nvec)

    e.g. a conflict-graph action ``(a_0, a_1, a_2)`` with ``n`` choices per subband is
    ``a_0 n^2 + a_1 n + a_2``; a multi-cell action ``[[d_0, p_0], [d_1, p_1], ...]`` with
    ``D`` device and ``P`` power choices is the number whose base-``D*P`` digits are
    ``d_h P + p_h``.  Both directions work on any leading batch shape.
    """

    def __init__(self, nvec) -> None:
        self.nvec = np.asarray(nvec, dtype=np.int64)
        if self.nvec.size == 0 or self.nvec.min() < 1:
            raise ValueError(f"nvec must hold positive numbers of choices, got {self.nvec}")
        self.shape = self.nvec.shape
        self.n = int(np.prod(self.nvec))
        radix = self.nvec.ravel()
        self._weights = np.concatenate([np.cumprod(radix[::-1])[::-1][1:], [1]]).astype(np.int64)
        self._radix = radix

    def flatten(self, actions) -> np.ndarray:
        """Structured actions ``(..., *S)`` to flat indices ``(...)`` in ``0 .. n - 1``."""
        a = np.asarray(actions)
        nd = len(self.shape)
        if a.shape[a.ndim - nd:] != self.shape or a.ndim < nd:
            raise ValueError(f"structured actions must end with shape {self.shape}, got {a.shape}")
        if a.dtype.kind not in "iu":
            raise TypeError(f"actions must be integers, got dtype {a.dtype}")
        digits = a.reshape(a.shape[: a.ndim - nd] + (-1,)).astype(np.int64)
        if digits.size and (digits.min() < 0 or np.any(digits >= self._radix)):
            raise ValueError(f"action entries must lie in 0 .. nvec - 1 (nvec = "
                             f"{self.nvec.tolist()}), got {a.tolist() if a.size < 20 else a}")
        return digits @ self._weights

    def unflatten(self, index) -> np.ndarray:
        """Flat indices ``(...)`` to structured actions ``(..., *S)`` (int64)."""
        i = np.asarray(index)
        if i.dtype.kind not in "iu":
            raise TypeError(f"flat actions must be integers, got dtype {i.dtype}")
        i = i.astype(np.int64)
        if i.size and (i.min() < 0 or i.max() >= self.n):
            raise ValueError(f"flat actions must lie in 0 .. {self.n - 1}, got "
                             f"{int(i.min())} .. {int(i.max())}")
        digits = (i[..., None] // self._weights) % self._radix
        return digits.reshape(i.shape + self.shape)


def _structured_nvec(env) -> np.ndarray:
    """Choices of every entry of one agent's env action: ``()`` (PF), ``(H,)`` or ``(H, 2)``."""
    if env.family == "pf":
        return np.asarray(env.n_actions, dtype=np.int64)
    per_subband = np.atleast_1d(np.asarray(env.n_actions, dtype=np.int64))
    nvec = np.tile(per_subband, (env.n_subbands, 1))
    return nvec if per_subband.size > 1 else nvec[:, 0]


def truncation_reasons(env, truncated) -> tuple[np.ndarray, np.ndarray]:
    """Why each copy's episode was cut in the step just taken: ``(time_limit,
    queue_overflow)``, two ``(B,)`` bool arrays (both false where ``truncated`` is false).

    Read from the env after its ``step`` (before any reset of the copies) with the env's own
    rule: the queueing models truncate when ``slot_in_episode >= episode_slots`` or when the
    longest queue exceeds ``max_queue`` packets (``max_queue * packet_size`` in the units
    of ``q``), the PF model only at its time limit.  Reads state, changes nothing."""
    truncated = np.asarray(truncated, dtype=bool)
    none = np.zeros_like(truncated)
    if not truncated.any():
        return none, none.copy()
    if env.family == "pf":
        return truncated.copy(), none
    if hasattr(env, "envs"):  # LayoutDraws: every copy is an env of its own
        parts = [truncation_reasons(e, truncated[b:b + 1]) for b, e in enumerate(env.envs)]
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    c = env.config
    time_limit = truncated & (env.slot_in_episode >= c.episode_slots)
    overflow = none.copy() if c.max_queue is None else \
        truncated & (env.q.max(axis=1) > c.max_queue * env.packet_size)
    return time_limit, overflow


def _reason_names(time_limit: np.ndarray, overflow: np.ndarray, truncated: np.ndarray):
    out = np.full(truncated.shape, None, dtype=object)
    out[truncated] = "unknown"  # a rule this adapter does not know of (none today)
    out[time_limit] = "time_limit"
    out[overflow] = "queue_overflow"
    return out


def _check_mode(flat_actions) -> str | bool:
    if not any(flat_actions is m or (isinstance(m, str) and flat_actions == m)
               for m in FLAT_ACTION_MODES):
        raise ValueError(f"flat_actions must be one of {FLAT_ACTION_MODES}, got {flat_actions!r}")
    return "discrete" if flat_actions is True else flat_actions


class _Actions:
    """One agent's action space as exposed (structured or flat) and its map to the env's."""

    def __init__(self, env, flat_actions) -> None:
        self.mode = _check_mode(flat_actions)
        self.codec = ActionCodec(_structured_nvec(env))
        nvec = self.codec.nvec
        if env.family == "pf":
            self.space, self.shape = spaces.Discrete(int(nvec)), ()
        elif self.mode == "discrete":
            self.space, self.shape = spaces.Discrete(self.codec.n), ()
        elif self.mode == "multidiscrete":
            self.space, self.shape = spaces.MultiDiscrete(nvec.ravel()), (nvec.size,)
        else:
            self.space, self.shape = spaces.MultiDiscrete(nvec), nvec.shape
        self.identity = env.family == "pf" or not self.mode or (
            self.mode == "multidiscrete" and nvec.ndim == 1)

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        """Exposed actions ``(..., *shape)`` to the env's ``(..., *S)``."""
        if self.identity:
            return actions
        if self.mode == "discrete":
            return self.codec.unflatten(actions)
        return actions.reshape(actions.shape[: actions.ndim - 1] + self.codec.shape)


class RRMParallelEnv(ParallelEnv):
    """A PettingZoo ``ParallelEnv`` around one copy of an rrmbook env (see the module
    docstring for spaces, ``flat_actions`` and infos)."""

    metadata = {"name": "rrmbook_v0", "render_modes": []}

    def __init__(self, env, flat_actions: bool | str = False) -> None:
        if env.batch != 1:
            raise ValueError(f"the PettingZoo adapter wraps one copy: batch must be 1, got {env.batch}")
        self.env = env
        self._actions = _Actions(env, flat_actions)
        self.flat_actions = self._actions.mode
        self.possible_agents = [f"agent_{k}" for k in range(env.n_agents)]
        self.agents: list[str] = []
        self.render_mode = None

    @functools.cache  # noqa: B019 - spaces are fixed per agent
    def observation_space(self, agent: str) -> spaces.Box:
        low = 0.0 if self.env.family == "conflict" else -np.inf  # dB features can be < 0
        return spaces.Box(low=low, high=np.inf, shape=(self.env.obs_dim,), dtype=np.float32)

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.MultiDiscrete | spaces.Discrete:
        return self._actions.space

    def flatten_action(self, action) -> np.ndarray:
        """An env (structured) action of one agent, or a batch of them, as flat indices."""
        return self._actions.codec.flatten(action)

    def unflatten_action(self, index) -> np.ndarray:
        """Flat indices to env (structured) actions: the inverse of :meth:`flatten_action`."""
        return self._actions.codec.unflatten(index)

    def _obs(self, obs) -> dict[str, np.ndarray]:
        return {a: obs.X[0, k].copy() for k, a in enumerate(self.possible_agents)}

    def reset(self, seed: int | None = None, options: dict | None = None):
        obs = self.env.reset(seed=seed)
        self.agents = list(self.possible_agents)
        return self._obs(obs), {a: {} for a in self.agents}

    def step(self, actions: dict[str, np.ndarray]):
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"actions missing for agents {missing}")
        shape = self._actions.shape
        joint = np.stack([np.asarray(actions[a], dtype=np.int64).reshape(shape)
                          for a in self.possible_agents])
        res = self.env.step(self._actions.to_env(joint)[None])
        trunc = bool(res.truncated[0])
        # the PF model starts its next episode inside step: the episode's last observation
        # is final_obs (None otherwise)
        final = getattr(res, "final_obs", None)
        obs = self._obs(final if trunc and final is not None else res.obs)
        rewards = {a: float(res.rewards[0, k]) for k, a in enumerate(self.possible_agents)}
        terminations = {a: False for a in self.agents}
        truncations = {a: trunc for a in self.agents}
        time_limit, overflow = truncation_reasons(self.env, res.truncated)
        reason = _reason_names(time_limit, overflow, res.truncated)[0]
        infos = {a: {"truncation": reason, "time_limit": bool(time_limit[0]),
                     "queue_overflow": bool(overflow[0])} for a in self.agents}
        if trunc:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        return self.env.state().zeta[0].astype(np.float32)

    def close(self) -> None:
        pass


class RRMVectorEnv:
    """All B copies of an rrmbook env behind a batched PettingZoo-style parallel API.

    The dicts of :class:`RRMParallelEnv`, with a leading batch axis on every value:
    ``reset(seed)`` returns ``(observations, infos)`` with ``observations[agent]`` of shape
    ``(B, obs_dim)``; ``step(actions)`` takes ``actions[agent]`` of shape ``(B, *A)`` (``A``
    the shape of one agent's action: ``()``, ``(H,)``, ``(H, 2)`` or flat, see
    ``flat_actions``) or one joint array ``(B, K, *A)``, and returns ``(observations,
    rewards, terminations, truncations, infos)`` with ``rewards[agent]`` ``(B,)`` float64,
    ``terminations[agent]`` and ``truncations[agent]`` ``(B,)`` bool, and ``infos[agent]``
    a dict of ``(B,)`` arrays: ``"truncation"`` (object: None, ``"time_limit"``,
    ``"queue_overflow"``), ``"time_limit"``, ``"queue_overflow"`` and, Gymnasium style,
    ``"final_observation"`` ``(B, obs_dim)`` with its mask ``"_final_observation"`` (valid
    where the copy was truncated).  The info arrays are shared between agents: read them,
    do not write to them.

    Copies reset themselves in the step that truncates them (Gymnasium's same-step
    autoreset): ``observations`` then already hold the next episode's first observation and
    the episode's last one is in ``"final_observation"``.  A queueing copy restarts with
    :meth:`~rrmbook.envs.BatchedQueueEnv.reset_copies` (queues emptied, as in MAPPO
    training); the PF model restarts every copy together, as it always does.  Agents never
    leave: ``agents == possible_agents`` after ``reset``.

    Spaces: ``single_observation_space(agent)`` / ``single_action_space(agent)`` are one
    copy's (those of :class:`RRMParallelEnv`); ``observation_space(agent)`` and
    ``action_space(agent)`` are batched with ``gymnasium.vector.utils.batch_space``.
    """

    metadata = {"name": "rrmbook_vector_v0", "render_modes": [], "autoreset_mode": "same-step"}

    def __init__(self, env, flat_actions: bool | str = False) -> None:
        self.env = env
        self.num_envs = env.batch
        self._actions = _Actions(env, flat_actions)
        self.flat_actions = self._actions.mode
        self.possible_agents = [f"agent_{k}" for k in range(env.n_agents)]
        self.agents: list[str] = []
        self.render_mode = None
        self._pf = env.family == "pf"

    # ------------------------------------------------------------------ spaces
    @functools.cache  # noqa: B019 - spaces are fixed per agent
    def single_observation_space(self, agent: str) -> spaces.Box:
        low = 0.0 if self.env.family == "conflict" else -np.inf
        return spaces.Box(low=low, high=np.inf, shape=(self.env.obs_dim,), dtype=np.float32)

    @functools.cache  # noqa: B019
    def single_action_space(self, agent: str) -> spaces.Space:
        return self._actions.space

    @functools.cache  # noqa: B019
    def observation_space(self, agent: str) -> spaces.Space:
        from gymnasium.vector.utils import batch_space
        return batch_space(self.single_observation_space(agent), self.num_envs)

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Space:
        from gymnasium.vector.utils import batch_space
        return batch_space(self.single_action_space(agent), self.num_envs)

    def flatten_action(self, action) -> np.ndarray:
        """Env (structured) actions, any leading shape, as flat indices."""
        return self._actions.codec.flatten(action)

    def unflatten_action(self, index) -> np.ndarray:
        """Flat indices to env (structured) actions."""
        return self._actions.codec.unflatten(index)

    # ------------------------------------------------------------------ running
    def _split(self, X: np.ndarray) -> dict[str, np.ndarray]:
        per_agent = np.ascontiguousarray(np.swapaxes(X, 0, 1))  # (K, B, F): contiguous rows
        return dict(zip(self.possible_agents, per_agent, strict=True))

    def reset(self, seed: int | None = None, options: dict | None = None):
        obs = self.env.reset(seed=seed)
        self.agents = list(self.possible_agents)
        B = self.num_envs
        none = np.zeros(B, dtype=bool)
        info = {"truncation": np.full(B, None, dtype=object), "time_limit": none,
                "queue_overflow": none}
        return self._split(obs.X), {a: info for a in self.agents}

    def _joint(self, actions) -> np.ndarray:
        shape = (self.num_envs,) + self._actions.shape
        if isinstance(actions, dict):
            missing = [a for a in self.possible_agents if a not in actions]
            if missing:
                raise ValueError(f"actions missing for agents {missing}")
            parts = []
            for a in self.possible_agents:
                x = np.asarray(actions[a])
                if x.shape != shape:
                    raise ValueError(f"actions[{a!r}] must have shape (batch, ...) = {shape}, "
                                     f"got {x.shape}")
                parts.append(x)
            joint = np.stack(parts, axis=1)
        else:
            joint = np.asarray(actions)
            want = (self.num_envs, len(self.possible_agents)) + self._actions.shape
            if joint.shape != want:
                raise ValueError(f"a joint action array must have shape (batch, agents, ...) = "
                                 f"{want}, got {joint.shape}")
        if joint.dtype.kind not in "iu":
            raise TypeError(f"actions must be integers, got dtype {joint.dtype}")
        return self._actions.to_env(joint.astype(np.int64, copy=False))

    def step(self, actions):
        if not self.agents:
            raise RuntimeError("call reset() before step()")
        res = self.env.step(self._joint(actions))
        truncated = np.asarray(res.truncated, dtype=bool)
        time_limit, overflow = truncation_reasons(self.env, truncated)
        final_X = None
        if truncated.any():
            if self._pf:
                final_X, X = res.final_obs.X, res.obs.X
            else:
                final_X = res.obs.X
                X = self.env.reset_copies(truncated).X
        else:
            X = res.obs.X
        info = {"truncation": _reason_names(time_limit, overflow, truncated),
                "time_limit": time_limit, "queue_overflow": overflow}
        infos = {}
        finals = self._split(final_X) if final_X is not None else None
        for a in self.possible_agents:
            infos[a] = info if finals is None else \
                info | {"final_observation": finals[a], "_final_observation": truncated}
        rewards = dict(zip(self.possible_agents, np.ascontiguousarray(res.rewards.T), strict=True))
        no_term = np.zeros(self.num_envs, dtype=bool)
        return (self._split(X), rewards, {a: no_term for a in self.possible_agents},
                {a: truncated for a in self.possible_agents}, infos)

    def state(self) -> np.ndarray:
        """The global state of every copy, ``(B, state_dim)`` float32."""
        zeta = self.env.state().zeta
        return np.asarray(zeta, dtype=np.float32).reshape(self.num_envs, -1)

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"RRMVectorEnv({self.env!r}, flat_actions={self.flat_actions!r})"
