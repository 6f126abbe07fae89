"""Offline datasets of the PF scheduling model: collect, save, load, mix (chapter 9).

A dataset is a set of transitions (o, a, r, o') of all APs at once, stored with
Minari-style field names and an agent axis:

=====================  ==================  =========================================================
field                  shape, dtype        meaning
=====================  ==================  =========================================================
``observations``       (n, I, 2N) float32  every AP's observation o_i: (SINR dB, w) of its top-N UEs
``actions``            (n, I) int64        every AP's action, 0..N-1 a top-n UE, N silence
``rewards``            (n,) float32        the team reward (E-16)
``next_observations``  (n, I, 2N) float32  the observations one step later (for the last step of
                                           an episode: the observation that would have followed)
``terminations``       (n,) bool           true terminal states: always false in this model
``truncations``        (n,) bool           the episode's time limit was reached at this step
``episode_ids``        (n,) int64          which episode each transition belongs to
=====================  ==================  =========================================================

On disk a dataset is two files: ``NAME.npz`` (the arrays, loaded with
``allow_pickle=False``) and ``NAME.json`` (the sidecar: schema, size, environment config,
scenario, seed, behaviour policy or mixture, rrmbook version, and each field's shape and
dtype).  Both are written atomically; :func:`load_dataset` checks one against the other
and raises a ``ValueError`` naming what is wrong for a truncated or mismatched file.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import __version__, checks, seeding
from ..envs.base import require_family
from ..io import atomic_write_json, atomic_write_npz
from ..policy import Policy, as_policy
from ..seeding import Stream

__all__ = ["Dataset", "FIELDS", "SCHEMA", "collect", "mix", "EpsilonBehaviour", "save_dataset", "load_dataset",
           "ReplayBuffer"]

SCHEMA = "rrmbook-offline-dataset/1"
#: field -> (trailing shape given (I, 2N) as a function, dtype)
FIELDS = {
    "observations": ("obs", np.float32),
    "actions": ("agents", np.int64),
    "rewards": ("scalar", np.float32),
    "next_observations": ("obs", np.float32),
    "terminations": ("scalar", np.bool_),
    "truncations": ("scalar", np.bool_),
    "episode_ids": ("scalar", np.int64),
}


def _trailing(kind: str, n_agents: int, obs_dim: int) -> tuple[int, ...]:
    return {"obs": (n_agents, obs_dim), "agents": (n_agents,), "scalar": ()}[kind]


@dataclass
class Dataset:
    """Transitions of all APs (see the module docstring for the fields) and ``meta``, the
    sidecar's description of where they came from."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    episode_ids: np.ndarray
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.rewards)
        n_agents, obs_dim = self.observations.shape[1:] if self.observations.ndim == 3 else (0, 0)
        for name, (kind, dtype) in FIELDS.items():
            arr = np.asarray(getattr(self, name))
            want = (n,) + _trailing(kind, n_agents, obs_dim)
            if arr.shape != want:
                raise ValueError(f"dataset field {name!r} must have shape {want}, got {arr.shape}")
            setattr(self, name, arr.astype(dtype, copy=False))
        self._check_values()

    def _check_values(self) -> None:
        """Refuse values no environment produces, before any learner sees them: ``nan`` or
        ``inf`` in the rewards or observations (training would turn every loss into ``nan``
        without a word) and actions outside ``0 .. n_actions - 1`` (torch would fail later,
        deep inside a gather)."""
        for name in ("rewards", "observations", "next_observations"):
            bad = ~np.isfinite(getattr(self, name))
            if bad.any():
                first = int(np.argwhere(bad)[0][0])
                raise ValueError(f"dataset field {name!r} holds {int(bad.sum())} non-finite "
                                 f"values (nan or inf), the first in transition {first}")
        n_actions = self.meta.get("n_actions")
        if self.actions.size and (self.actions.min() < 0 or (
                n_actions is not None and self.actions.max() >= int(n_actions))):
            allowed = f"0 .. {int(n_actions) - 1}" if n_actions is not None else ">= 0"
            raise ValueError(f"dataset field 'actions' must lie in {allowed}, got values from "
                             f"{int(self.actions.min())} to {int(self.actions.max())}")

    def __len__(self) -> int:
        return len(self.rewards)

    @property
    def n_agents(self) -> int:
        return self.observations.shape[1]

    @property
    def obs_dim(self) -> int:
        return self.observations.shape[2]

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in FIELDS}

    def subset(self, size: int) -> Dataset:
        """The first ``size`` transitions (whole prefix: episodes stay contiguous).  In a
        collected dataset the prefix holds the first copies' episodes only; for a size
        series use :meth:`episode_subset`."""
        if not 1 <= size <= len(self):
            raise ValueError(f"size must be in 1..{len(self)}, got {size}")
        meta = self.meta | {"size": int(size), "subset_of": self.meta.get("size", len(self))}
        return Dataset(**{k: v[:size] for k, v in self.arrays().items()}, meta=meta)

    def episode_subset(self, size: int, seed: int = 0) -> Dataset:
        """Whole episodes drawn at random (seeded) from every collection copy, as many as
        fit in ``size`` transitions, kept in their stored order.  For one ``seed`` the
        subsets are nested: a smaller one is part of every larger one, so a size series
        adds data without changing what was there."""
        size = checks.positive_int("size", size)
        ids, lengths = np.unique(self.episode_ids, return_counts=True)
        order = seeding.rng(seed, Stream.DATASET_SUBSET).permutation(len(ids))
        fits = np.cumsum(lengths[order]) <= size
        if not fits[0]:
            raise ValueError(f"size {size} is smaller than the episode drawn first "
                             f"({lengths[order[0]]} transitions)")
        keep = np.isin(self.episode_ids, ids[order[:int(fits.sum())]])  # fits: a prefix
        n = int(keep.sum())
        meta = self.meta | {"size": n, "subset_of": self.meta.get("size", len(self)),
                            "subset": {"episodes": int(len(np.unique(self.episode_ids[keep]))),
                                       "seed": int(seed)}}
        return Dataset(**{k: v[keep] for k, v in self.arrays().items()}, meta=meta)

    def episode_returns(self) -> np.ndarray:
        """Undiscounted team return of every complete episode in the dataset."""
        ids, inverse = np.unique(self.episode_ids, return_inverse=True)
        returns = np.bincount(inverse, weights=self.rewards.astype(float))
        complete = np.bincount(inverse, weights=self.truncations.astype(float)) > 0
        return returns[complete]

    def __repr__(self) -> str:
        return (f"<Dataset {len(self)} transitions, {self.n_agents} agents, behaviour "
                f"{self.meta.get('behaviour')!r}>")


class EpsilonBehaviour(Policy):
    """A behaviour policy for datasets: ``base`` (a policy in the top-N action space), except
    that every AP independently, with probability ``epsilon``, takes an action drawn
    uniformly from its valid ones (its existing top-N UEs and silence).  With a local
    ``base`` such as ``pf_top1`` it logs the local rule and, around it, the deviations an
    offline learner needs to improve on it."""

    def __init__(self, base: Policy | object, epsilon: float) -> None:
        self.base = as_policy(base)
        if getattr(self.base, "serves_ues", False):
            raise ValueError(f"{self.base.name!r} picks UEs outside the top-N action set")
        self.epsilon = checks.in_range("epsilon", epsilon, 0.0, 1.0)
        self.name = f"{self.base.name}+eps{self.epsilon:g}"
        self.information, self.coordination = self.base.information, self.base.coordination

    def reset(self, env, rng: np.random.Generator) -> None:
        super().reset(env, rng)
        self.base.reset(env, rng.spawn(1)[0])
        self.silent = env.silent

    def act(self, obs, state=None):
        a = np.asarray(self.base.act(obs, state) if self.base.information == "global"
                       else self.base.act(obs))
        valid = (obs.top >= 0).sum(-1)                                  # (B, I) UEs listed
        pick = np.floor(self.rng.random(a.shape) * (valid + 1)).astype(np.int64)
        pick = np.where(pick == valid, self.silent, pick)               # the last: silence
        return np.where(self.rng.random(a.shape) < self.epsilon, pick, a)


def _env_meta(env) -> dict:
    cfg = {k: v for k, v in asdict(env.config).items() if k != "noise_w"}
    return {"scenario": env.config.name, "env_config": cfg, "n_agents": env.n_agents,
            "obs_dim": env.obs_dim, "n_actions": env.n_actions}


def collect(env, behaviour: Policy | object, size: int, seed: int = 0,
            progress: bool = False) -> Dataset:
    """Run ``behaviour`` (a policy acting in the top-N action space) on ``env`` and record
    ``size`` transitions (rounded up to whole steps of the batch of copies: ``size`` rows
    are kept).  The env is reset with ``seed``; the policy gets its own seeded stream."""
    require_family(env, "pf", "collect (datasets are collected on the PF scheduling model)")
    size = checks.positive_int("size", size)
    policy = as_policy(behaviour)
    if getattr(policy, "serves_ues", False):
        raise ValueError(f"{policy.name!r} picks UEs outside the top-N action set, so its "
                         "choices are not actions of the learners; collect with another policy")
    B, steps = env.batch, -(-int(size) // env.batch)
    obs = env.reset(seed=seed)
    policy.reset(env, seeding.rng(seed, Stream.POLICY))
    give_state = policy.information == "global"
    shape = (steps, B)
    out = {name: np.zeros(shape + _trailing(kind, env.n_agents, env.obs_dim), dtype)
           for name, (kind, dtype) in FIELDS.items()}
    episode = np.arange(B)
    for t in tqdm(range(steps), disable=not progress, desc=f"collect {policy.name}", leave=False):
        actions = np.asarray(policy.act(obs, env.state() if give_state else None))
        step = env.step(actions)
        nxt = step.final_obs if step.final_obs is not None else step.obs
        out["observations"][t], out["actions"][t] = obs.X, actions
        out["rewards"][t], out["next_observations"][t] = step.reward, nxt.X
        out["truncations"][t], out["episode_ids"][t] = step.truncated, episode
        if step.truncated.any():
            episode = episode + B
        obs = step.obs
    # copy-major order keeps each episode's transitions contiguous
    flat = {k: np.swapaxes(v, 0, 1).reshape((steps * B,) + v.shape[2:])[: int(size)]
            for k, v in out.items()}
    meta = {"schema": SCHEMA, "size": int(size), "seed": int(seed), "batch": B,
            "behaviour": policy.name, "mixture": {policy.name: 1.0},
            "rrmbook_version": __version__} | _env_meta(env)
    return Dataset(**flat, meta=meta)


def mix(parts: dict[str, Dataset]) -> Dataset:
    """One dataset made of several, e.g. ``{"sac": d1, "dqn": d2}``; episode ids are kept
    apart and the sidecar records each part's share."""
    if not parts:
        raise ValueError("mix needs at least one dataset")
    first = next(iter(parts.values()))
    for name, d in parts.items():
        if (d.n_agents, d.obs_dim) != (first.n_agents, first.obs_dim):
            raise ValueError(f"dataset {name!r} has {d.n_agents} agents x {d.obs_dim} "
                             f"observations, the first has {first.n_agents} x {first.obs_dim}")
    arrays, offset = {k: [] for k in FIELDS}, 0
    for d in parts.values():
        for k, v in d.arrays().items():
            arrays[k].append(v + offset if k == "episode_ids" else v)
        offset += int(d.episode_ids.max()) + 1
    total = sum(len(d) for d in parts.values())
    meta = first.meta | {"size": total, "behaviour": "+".join(parts),
                         "mixture": {k: round(len(d) / total, 4) for k, d in parts.items()},
                         "parts": {k: d.meta for k, d in parts.items()}}
    return Dataset(**{k: np.concatenate(v) for k, v in arrays.items()}, meta=meta)


def _paths(path: str | Path) -> tuple[Path, Path]:
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".npz", ".json") else path
    return stem.with_suffix(".npz"), stem.with_suffix(".json")


def save_dataset(dataset: Dataset, path: str | Path) -> Path:
    """Write ``PATH.npz`` and its sidecar ``PATH.json`` atomically; returns the npz path."""
    npz, side = _paths(path)
    meta = dataset.meta | {"schema": SCHEMA, "size": len(dataset),
                           "fields": {k: {"shape": list(v.shape), "dtype": str(v.dtype)}
                                      for k, v in dataset.arrays().items()}}
    atomic_write_npz(npz, **dataset.arrays())
    atomic_write_json(side, meta)
    return npz


def load_dataset(path: str | Path) -> Dataset:
    """Read a dataset written by :func:`save_dataset`, checking the arrays against the
    sidecar: a missing, truncated or mismatched file raises a ``ValueError`` (or
    ``FileNotFoundError``) that names the problem."""
    npz, side = _paths(path)
    for p in (npz, side):
        if not p.is_file():
            raise FileNotFoundError(f"no dataset file {p} (a dataset is NAME.npz + NAME.json)")
    try:
        meta = json.loads(side.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{side} is not valid JSON (truncated?): {err}") from None
    if meta.get("schema") != SCHEMA:
        raise ValueError(f"{side} has schema {meta.get('schema')!r}, expected {SCHEMA!r}")
    try:
        with np.load(npz, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise ValueError(f"{npz} is corrupt or truncated: {err}") from None
    missing = set(FIELDS) - set(arrays)
    if missing:
        raise ValueError(f"{npz} lacks the fields {sorted(missing)}")
    for name, spec in meta.get("fields", {}).items():
        got = arrays.get(name)
        if got is None or list(got.shape) != spec["shape"] or str(got.dtype) != spec["dtype"]:
            have = None if got is None else (list(got.shape), str(got.dtype))
            raise ValueError(f"{npz}: field {name!r} is {have}, the sidecar says "
                             f"{(spec['shape'], spec['dtype'])}")
    if len(arrays["rewards"]) != meta.get("size"):
        raise ValueError(f"{npz} holds {len(arrays['rewards'])} transitions, the sidecar says "
                         f"{meta.get('size')}")
    meta = {k: v for k, v in meta.items() if k != "fields"}
    try:
        return Dataset(**{k: arrays[k] for k in FIELDS}, meta=meta)
    except ValueError as err:
        raise ValueError(f"{npz}: {err}") from None


class ReplayBuffer:
    """A ring buffer of transitions with the dataset's fields (online SAC and DQN)."""

    def __init__(self, capacity: int, n_agents: int, obs_dim: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity, self.size, self.pos = int(capacity), 0, 0
        self.data = {name: np.zeros((self.capacity,) + _trailing(kind, n_agents, obs_dim), dtype)
                     for name, (kind, dtype) in FIELDS.items()}

    def add(self, **batch: np.ndarray) -> None:
        """Append a batch of transitions (each field with a leading batch axis)."""
        n = len(batch["rewards"])
        idx = (self.pos + np.arange(n)) % self.capacity
        for name in FIELDS:
            self.data[name][idx] = batch[name]
        self.pos = int((self.pos + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def sample(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        idx = rng.integers(0, self.size, size=n)
        return {name: v[idx] for name, v in self.data.items()}
