"""PettingZoo ``ParallelEnv`` adapter around a single copy (batch = 1) of an rrmbook env.

Agents are named ``agent_0 .. agent_{K-1}``.  Observation of agent k: X_k (Z-8) as a float32
vector; action (``MultiDiscrete``): on a conflict graph one choice per subband (0 = silent,
i = i-th own device); in a cellular network a ``(H, 2)`` array of (device, power level) per
subband; in the PF scheduling model one ``Discrete(N + 1)`` choice (top-n UE or silence);
reward: R_k (Z-10), or the team reward (E-16) for every AP in the PF model.  Episodes end
by truncation only (time limit or a queue above ``max_queue``); there is no terminal
state.
"""

from __future__ import annotations

import functools

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

__all__ = ["RRMParallelEnv"]


class RRMParallelEnv(ParallelEnv):
    metadata = {"name": "rrmbook_v0", "render_modes": []}

    def __init__(self, env) -> None:
        if env.batch != 1:
            raise ValueError(f"the PettingZoo adapter wraps one copy: batch must be 1, got {env.batch}")
        self.env = env
        self.possible_agents = [f"agent_{k}" for k in range(env.n_agents)]
        self.agents: list[str] = []
        self.render_mode = None

    @functools.cache  # noqa: B019 - spaces are fixed per agent
    def observation_space(self, agent: str) -> spaces.Box:
        low = 0.0 if self.env.family == "conflict" else -np.inf  # dB features can be < 0
        return spaces.Box(low=low, high=np.inf, shape=(self.env.obs_dim,), dtype=np.float32)

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.MultiDiscrete | spaces.Discrete:
        if self.env.family == "pf":
            return spaces.Discrete(self.env.n_actions)
        per_subband = np.atleast_1d(self.env.n_actions)
        nvec = np.tile(per_subband, (self.env.n_subbands, 1))
        return spaces.MultiDiscrete(nvec if per_subband.size > 1 else nvec[:, 0])

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
        shape = self.action_space(self.possible_agents[0]).shape or ()
        joint = np.stack([np.asarray(actions[a], dtype=np.int64).reshape(shape)
                          for a in self.possible_agents])[None]
        res = self.env.step(joint)
        trunc = bool(res.truncated[0])
        obs = self._obs(res.obs)
        rewards = {a: float(res.rewards[0, k]) for k, a in enumerate(self.possible_agents)}
        terminations = {a: False for a in self.agents}
        truncations = {a: trunc for a in self.agents}
        infos = {a: {} for a in self.agents}
        if trunc:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        return self.env.state().zeta[0].astype(np.float32)

    def close(self) -> None:
        pass
