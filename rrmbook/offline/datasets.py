"""Offline datasets: collect, save, load, mix (chapter 9; any model family).

A dataset is a set of transitions (o, a, r, o') of all agents at once, stored with
Minari-style field names and an agent axis (I agents, ``A`` the shape of one agent's action
as the env takes it: ``()`` in the PF model, ``(H,)`` on a conflict graph, ``(H, 2)`` in the
multi-cell model):

=====================  ==================  =========================================================
field                  shape, dtype        meaning
=====================  ==================  =========================================================
``observations``       (n, I, F) float32   every agent's observation o_i (PF: F = 2N, (SINR dB, w)
                                           of its top-N UEs; queueing models: X_k (Z-8))
``actions``            (n, I, *A) int64    every agent's action as the env takes it: PF (n, I),
                                           0..N-1 a top-n UE, N silence; conflict graph (n, I, H),
                                           per subband 0 silent or the i-th own device; multi-cell
                                           (n, I, H, 2), per subband (device, power level)
``rewards``            (n,) float32        the team reward: (E-16) in the PF model (every AP gets
                                           it); in the queueing models the mean over agents of
                                           the individual rewards R_k (Z-10)
``next_observations``  (n, I, F) float32   the observations one step later (for the last step of
                                           an episode: the observation that would have followed)
``terminations``       (n,) bool           true terminal states: always false in these models
``truncations``        (n,) bool           the episode was cut at this step (time limit, or in
                                           the queueing models a queue above ``max_queue``)
``episode_ids``        (n,) int64          which episode each transition belongs to
=====================  ==================  =========================================================

The sidecar's ``n_actions`` bounds every action entry (``0 .. n_actions - 1``); datasets of
the queueing models also record ``family``, ``action_shape`` (``A``), ``action_nvec`` (the
choices of each entry of the last action axis: ``[H choices]`` or ``[devices + 1, power
levels]``, checked entry by entry) and ``truncation_reasons`` (episodes cut by the time limit
and by a queue overflow).  PF datasets are stored exactly as before these fields existed.

On disk a dataset is two files: ``NAME.npz`` (the arrays, loaded with
``allow_pickle=False``) and ``NAME.json`` (the sidecar: schema, size, environment config,
scenario, seed, behaviour policy or mixture, rrmbook version, and each field's shape and
dtype).  Both are written atomically; :func:`load_dataset` checks one against the other
and raises a ``ValueError`` naming what is wrong for a truncated or mismatched file.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import __version__, checks, seeding
from ..envs.base import FAMILIES, require_family
from ..envs.cellular_env import LinkPowers
from ..envs.pettingzoo_env import truncation_reasons
from ..io import atomic_write_json, atomic_write_npz, to_plain
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
        action_shape = tuple(int(s) for s in self.meta.get("action_shape", ()))
        for name, (kind, dtype) in FIELDS.items():
            arr = np.asarray(getattr(self, name))
            want = (n,) + _trailing(kind, n_agents, obs_dim)
            if name == "actions":
                want += action_shape
            if arr.shape != want:
                raise ValueError(f"dataset field {name!r} must have shape {want}, got {arr.shape}")
            setattr(self, name, arr.astype(dtype, copy=False))
        self._check_values()
        self._check_action_entries()

    def _check_action_entries(self) -> None:
        """With ``action_nvec`` in the sidecar (multi-subband actions), check every entry of
        the last action axis against its own number of choices."""
        nvec = self.meta.get("action_nvec")
        if nvec is None or not self.actions.size:
            return
        nvec = np.asarray(nvec, dtype=np.int64)
        over = self.actions >= nvec
        if over.any():
            first = tuple(int(i) for i in np.argwhere(over)[0])
            raise ValueError(f"dataset field 'actions' must lie in 0 .. nvec - 1 entry by entry "
                             f"(nvec = {nvec.tolist()}), got {int(self.actions[first])} at "
                             f"{first}")

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
    if env.family == "pf":  # PF datasets: the sidecar of before (byte for byte)
        cfg = {k: v for k, v in asdict(env.config).items() if k != "noise_w"}
        return {"scenario": env.config.name, "env_config": cfg, "n_agents": env.n_agents,
                "obs_dim": env.obs_dim, "n_actions": env.n_actions}
    cfg = {f.name: to_plain(getattr(env.config, f.name)) for f in dataclasses.fields(env.config)}
    per_entry = np.atleast_1d(np.asarray(env.n_actions, dtype=np.int64))
    action_shape = (env.n_subbands,) + ((per_entry.size,) if per_entry.size > 1 else ())
    return {"scenario": env.config.name, "env_config": cfg, "n_agents": env.n_agents,
            "obs_dim": env.obs_dim, "family": env.family,
            # the bound that holds for every entry (the largest); action_nvec is exact
            "n_actions": int(per_entry.max()), "action_shape": list(action_shape),
            "action_nvec": per_entry.tolist() if per_entry.size > 1
            else [int(per_entry[0])] * env.n_subbands,
            "reward": "mean over agents of the individual rewards R_k (Z-10)"}


def collect(env, behaviour: Policy | object, size: int, seed: int = 0,
            progress: bool = False) -> Dataset:
    """Run ``behaviour`` on ``env`` (any model family) and record ``size`` transitions
    (rounded up to whole steps of the batch of copies: ``size`` rows are kept).  The env is
    reset with ``seed``; the policy gets its own seeded stream.

    The behaviour must give actions the env takes: top-N actions in the PF model (not UE
    indices), ``(B, K, H)`` choices on a conflict graph, ``(B, K, H, 2)`` (device, power
    level) in the multi-cell model (not :class:`~rrmbook.envs.LinkPowers`).  Rewards and
    action shapes: see the module docstring.  A queueing copy whose episode is cut (time
    limit or a queue above ``max_queue``) restarts with ``env.reset_copies`` (queues emptied,
    as in MAPPO training) and continues under a new episode id; the PF model restarts all
    copies together at its time limit."""
    require_family(env, FAMILIES, "collect")
    if hasattr(env, "envs"):
        raise ValueError("collect needs an environment of one named drop, not LayoutDraws "
                         "(its copies change layout, which a dataset's sidecar cannot record)")
    size = checks.positive_int("size", size)
    policy = as_policy(behaviour)
    pf_model = env.family == "pf"
    if pf_model and getattr(policy, "serves_ues", False):
        raise ValueError(f"{policy.name!r} picks UEs outside the top-N action set, so its "
                         "choices are not actions of the learners; collect with another policy")
    B, steps = env.batch, -(-int(size) // env.batch)
    obs = env.reset(seed=seed)
    policy.reset(env, seeding.rng(seed, Stream.POLICY))
    give_state = policy.information == "global"
    meta_env = _env_meta(env)
    action_shape = tuple(meta_env.get("action_shape", ()))
    shape = (steps, B)
    out = {name: np.zeros(shape + _trailing(kind, env.n_agents, env.obs_dim)
                          + (action_shape if name == "actions" else ()), dtype)
           for name, (kind, dtype) in FIELDS.items()}
    episode, next_id = np.arange(B), B
    reason = np.zeros(shape, dtype=np.int8)  # 1: time limit, 2: queue overflow (or both)
    for t in tqdm(range(steps), disable=not progress, desc=f"collect {policy.name}", leave=False):
        actions = policy.act(obs, env.state() if give_state else None)
        if isinstance(actions, LinkPowers):
            raise ValueError(f"{policy.name!r} gives continuous LinkPowers, not the discrete "
                             "(device, power level) actions a dataset stores; collect with "
                             "another policy")
        actions = np.asarray(actions)
        step = env.step(actions)
        out["observations"][t], out["actions"][t] = obs.X, actions
        out["truncations"][t], out["episode_ids"][t] = step.truncated, episode
        if pf_model:
            nxt = step.final_obs if step.final_obs is not None else step.obs
            out["rewards"][t], out["next_observations"][t] = step.reward, nxt.X
            obs = step.obs
        else:
            out["rewards"][t] = step.rewards.mean(axis=1)
            out["next_observations"][t] = step.obs.X
            obs = step.obs
            if step.truncated.any():
                time_limit, overflow = truncation_reasons(env, step.truncated)
                reason[t] = np.where(overflow, 2, np.where(time_limit, 1, 0))
                obs = env.reset_copies(step.truncated)
        if step.truncated.any():  # new episode ids, in copy order
            ended = np.flatnonzero(step.truncated)
            episode = episode.copy()
            episode[ended] = next_id + np.arange(len(ended))
            next_id += len(ended)
    # copy-major order keeps each episode's transitions contiguous
    flat = {k: np.swapaxes(v, 0, 1).reshape((steps * B,) + v.shape[2:])[: int(size)]
            for k, v in out.items()}
    meta = {"schema": SCHEMA, "size": int(size), "seed": int(seed), "batch": B,
            "behaviour": policy.name, "mixture": {policy.name: 1.0},
            "rrmbook_version": __version__} | meta_env
    if not pf_model:
        kept = reason.T.reshape(-1)[: int(size)]
        meta["truncation_reasons"] = {"time_limit": int((kept == 1).sum()),
                                      "queue_overflow": int((kept == 2).sum())}
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
