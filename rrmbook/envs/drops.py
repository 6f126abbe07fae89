"""Training on many layouts: a batch of multi-cell copies, each on its own layout drop,
that draws a new drop whenever a copy's episode ends.

A policy trained on one drop of a 19-cell network learns that drop's geometry (which
neighbours are strong, which devices sit at a cell edge).  Zhang & Guo (Sec. VI-C) deploy
trained policies on networks they were not trained on; :class:`LayoutDraws` is the
training-side counterpart, *layout randomisation*: copy b of the batch runs
``make_config(layout_seed)`` for a layout seed drawn at random, and when its episode is cut
(the time limit or a queue above ``max_queue``) it continues on a freshly drawn drop.  The
learner sees as many drops as there are episodes.

The class has the interface the MAPPO trainer uses (``step``, ``reset``, ``reset_copies``,
``observe``, ``queue_packets``, the structure of :class:`~rrmbook.envs.CellularEnv`) and a
``snapshot``/``restore`` pair, so a checkpointed run resumes exactly.  Every drop must give
the agents the same inputs (observation size, devices per AP): use layouts with a fixed
number of devices per cell and a fixed ``max_neighbours`` with ``truncate_neighbours``.
Evaluation uses a plain :class:`~rrmbook.envs.CellularEnv` on a named drop.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import checks, seeding
from ..seeding import Stream
from .base import ENV_ARRAYS, Observation, StepResult, env_restore, env_snapshot
from .cellular_env import CellularConfig, CellularEnv

__all__ = ["LayoutDraws", "FIRST_TRAINING_DROP"]

#: training drops are drawn from [FIRST_TRAINING_DROP, 2**31): disjoint from the small layout
#: seeds (0, 1, 2, ...) that name the evaluation drops of the book and the sweeps
FIRST_TRAINING_DROP = 1_000_000

class LayoutDraws:
    """``batch`` single-copy :class:`~rrmbook.envs.CellularEnv` s, each on a layout drop of
    its own, redrawn whenever that copy's episode ends (see the module docstring).

    Parameters
    ----------
    make_config : ``layout_seed -> CellularConfig`` (the scenario at one drop).
    batch : copies stepped together.
    seed : seeds the drops drawn, and each copy's traffic and fading.
    """

    family = "cellular"
    within_slot = True
    delay_unit = "ms"
    ledger = None

    def __init__(self, make_config: Callable[[int], CellularConfig], batch: int = 1,
                 seed: int = 0) -> None:
        if not callable(make_config):
            raise TypeError("make_config must be a function layout_seed -> CellularConfig")
        self._make = make_config
        self.batch = checks.positive_int("batch", batch)
        self.reset(seed)

    # ------------------------------------------------------------------ drops
    def _draw(self) -> tuple[int, int]:
        """The next (layout seed, copy seed) from the draws' own stream."""
        layout, copy = self._draws.integers(FIRST_TRAINING_DROP, 2**31, size=2)
        return int(layout), int(copy)

    def _copy(self, layout_seed: int, copy_seed: int) -> CellularEnv:
        env = CellularEnv(self._make(layout_seed), batch=1, seed=copy_seed)
        if self.__dict__.get("envs"):
            self._check_same_inputs(env, layout_seed)
        return env

    def _check_same_inputs(self, env: CellularEnv, layout_seed: int) -> None:
        first = self.envs[0]
        for name in ("n_agents", "n_devices", "n_subbands", "obs_dim", "max_devices", "n_actions"):
            if getattr(env, name) != getattr(first, name):
                raise ValueError(f"layout drop {layout_seed} changes {name} ({getattr(first, name)}"
                                 f" -> {getattr(env, name)}): every drop must give the agents the "
                                 "same inputs (fixed devices per cell, max_neighbours with "
                                 "truncate_neighbours=True)")
        if not np.array_equal(env.agent_devices >= 0, first.agent_devices >= 0):
            raise ValueError(f"layout drop {layout_seed} has another number of devices in some "
                             "cell: every drop must have the same devices per AP")

    @property
    def layout_seeds(self) -> list[int]:
        """The drop each copy runs now."""
        return list(self._layout_seeds)

    # ------------------------------------------------------------------ structure
    def __getattr__(self, name: str):
        # structure that every drop shares (config, n_agents, obs_dim, levels, ...) comes
        # from the first copy; running state is never delegated
        if name.startswith("__") or name in ("envs", "_draws", "_make", "_layout_seeds"):
            raise AttributeError(name)
        if name in ENV_ARRAYS or name in ("t", "_traffic", "_fading"):
            raise AttributeError(f"LayoutDraws has no single {name!r}: each copy has its own")
        return getattr(self.envs[0], name)

    @property
    def t(self) -> int:
        return self._t

    @property
    def q(self) -> np.ndarray:
        return np.concatenate([e.q for e in self.envs])

    def queue_packets(self) -> np.ndarray:
        return np.concatenate([e.queue_packets() for e in self.envs])

    def start_recording(self):
        raise ValueError("LayoutDraws is a training environment (its copies change layout "
                         "when an episode ends); evaluate on a CellularEnv of a named drop")

    # ------------------------------------------------------------------ running
    def _gather(self, observations: list[Observation]) -> Observation:
        return Observation(X=np.concatenate([o.X for o in observations]), t=self._t)

    def reset(self, seed: int | None = None) -> Observation:
        """Draw a new drop for every copy and start their episodes (``seed`` None carries
        on with the draws' stream)."""
        if seed is not None or not hasattr(self, "_draws"):
            self._draws = seeding.rng(int(seed or 0), Stream.LAYOUT_DRAWS)
        self.envs: list[CellularEnv] = []
        self._layout_seeds: list[int] = []
        self._copy_seeds: list[int] = []
        for _ in range(self.batch):
            layout, copy = self._draw()
            self.envs.append(self._copy(layout, copy))
            self._layout_seeds.append(layout)
            self._copy_seeds.append(copy)
        self._t = 0
        return self.observe()

    def observe(self) -> Observation:
        return self._gather([e.observe() for e in self.envs])

    def step(self, actions) -> StepResult:
        actions = np.asarray(actions)
        if actions.shape[:1] != (self.batch,):
            raise ValueError(f"actions must have one row per copy (batch = {self.batch}), "
                             f"got shape {actions.shape}")
        steps = [e.step(actions[b:b + 1]) for b, e in enumerate(self.envs)]
        self._t += 1
        return StepResult(obs=self._gather([s.obs for s in steps]),
                          rewards=np.concatenate([s.rewards for s in steps]),
                          truncated=np.concatenate([s.truncated for s in steps]),
                          info={"layout_seeds": self.layout_seeds})

    def reset_copies(self, mask) -> Observation:
        """Copies where ``mask`` is true continue on a newly drawn drop, queues empty."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.batch,):
            raise ValueError(f"mask must have shape (batch,) = ({self.batch},), got {mask.shape}")
        for b in np.flatnonzero(mask):
            layout, copy = self._draw()
            self.envs[b] = self._copy(layout, copy)
            self._layout_seeds[b], self._copy_seeds[b] = layout, copy
        return self.observe()

    # ------------------------------------------------------------------ checkpoints
    def snapshot(self) -> dict:
        return {"t": self._t, "draws": self._draws.bit_generator.state,
                "layout_seeds": list(self._layout_seeds), "copy_seeds": list(self._copy_seeds),
                "copies": [env_snapshot(e) for e in self.envs]}

    def restore(self, snap: dict) -> None:
        self._t = int(snap["t"])
        self._draws.bit_generator.state = snap["draws"]
        self._layout_seeds = [int(s) for s in snap["layout_seeds"]]
        self._copy_seeds = [int(s) for s in snap["copy_seeds"]]
        self.envs = [self._copy(layout, copy) for layout, copy in
                     zip(self._layout_seeds, self._copy_seeds, strict=True)]
        for env, state in zip(self.envs, snap["copies"], strict=True):
            env_restore(env, state)

    def __repr__(self) -> str:
        first = self.envs[0]
        return (f"LayoutDraws({first.config.name!r}, aps={first.n_agents}, "
                f"devices={first.n_devices}, batch={self.batch}, drops={self.layout_seeds})")
