"""Conservative Q-learning on discrete SAC, trained from a fixed dataset (Eldeeb & Alves
Sec. IV, Algorithms 1-3): the centralised (E-26), independent (E-27) and CTDE (E-28)
variants differ only in how the team is split into heads (``config.variant``); the
update is :meth:`rrmbook.offline.sac.SACLearner.update` with the penalty weight
``cql_alpha``.  With a :class:`~rrmbook.offline.dqn.DQNConfig` the same loop trains CQL on
DQN (Fig. 5), and with ``cql_alpha = 0`` plain offline SAC, which over-estimates the actions
the dataset never took (chapter 8).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .. import checks, seeding
from ..io import TrainingLog, log_closed, refuse_to_replace, remove_stale_temp_files, writable_dir
from ..runtime import show_progress, trainer
from ..scenarios import make_env
from ..seeding import Stream
from .checkpoints import CHECKPOINT_NAME, eval_scores, resume_state, save_checkpoint
from .datasets import Dataset
from .dqn import DQNConfig, DQNLearner
from .sac import SACConfig, SACLearner

__all__ = ["CQLConfig", "train_cql", "dataset_fingerprint"]


@dataclass
class CQLConfig(SACConfig):
    """:class:`SACConfig` with the conservative penalty on: ``cql_alpha`` = 1 (the paper's
    alpha, Table III).  ``CQLConfig.paper()`` adds the paper's networks and rates.

    Every other field, its unit and its default are :class:`SACConfig`'s.  Offline
    training (:func:`train_cql`) samples its batches from the dataset, so the fields of
    online collection (``buffer_size``, ``n_envs``, ``warmup_steps``,
    ``updates_per_step``) do not apply.

    Attributes
    ----------
    cql_alpha : float
        Weight alpha of the conservative penalty of (E-26)-(E-28).  Default 1 (the
        paper's); 0 gives plain offline SAC, which over-estimates the actions the dataset
        never took (chapter 8).
    variant : str
        As in :class:`SACConfig`: ``"centralised"`` (the default), ``"independent"`` or
        ``"ctde"``, Algorithms 1-3 of the paper.
    critic_input : str
        As in :class:`SACConfig` (default ``"own"``).
    hidden : int
        As in :class:`SACConfig`: units per hidden layer (default 128).
    layers : int
        As in :class:`SACConfig`: hidden layers per MLP (default 2).
    actor_lr : float
        As in :class:`SACConfig` (default 3e-4).
    critic_lr : float
        As in :class:`SACConfig` (default 3e-4).
    temperature_lr : float
        As in :class:`SACConfig` (default 1e-3).
    gamma : float
        As in :class:`SACConfig`: discount per step (default 0.9).
    batch_size : int
        As in :class:`SACConfig`: dataset transitions per gradient step (default 256).
    buffer_size : int
        Unused offline (see :class:`SACConfig`).
    n_envs : int
        Unused offline (see :class:`SACConfig`).
    warmup_steps : int
        Unused offline (see :class:`SACConfig`).
    updates_per_step : int
        Unused offline (see :class:`SACConfig`).
    polyak : float
        As in :class:`SACConfig` (default 0.01).
    init_temperature : float
        As in :class:`SACConfig` (default 1).
    auto_temperature : bool
        As in :class:`SACConfig` (default True).
    target_entropy_ratio : float
        As in :class:`SACConfig` (default 0.5).
    reward_scale : float
        As in :class:`SACConfig` (default 0.1).
    max_grad_norm : float
        As in :class:`SACConfig` (default 10).
    checkpoint_interval : int
        As in :class:`SACConfig`: gradient steps between checkpoints (default 2_000).
    """

    cql_alpha: float = 1.0


def dataset_fingerprint(dataset: Dataset) -> str:
    """A short hash of a dataset's actions and rewards (a checkpoint remembers which data
    it was trained on)."""
    h = hashlib.sha256(dataset.actions.tobytes())
    h.update(dataset.rewards.tobytes())
    return h.hexdigest()[:16]


@trainer
def train_cql(dataset: Dataset, config: SACConfig | DQNConfig | None = None, seed: int = 0,
              gradient_steps: int = 20_000, *, checkpoint_dir: str | Path | None = None,
              resume: bool = False, progress: bool | None = None, eval_every: int | None = None,
              eval_slots: int = 1000, callback: Callable | None = None,
              overwrite: bool = False, log_csv: str | Path | None = None,
              tensorboard_dir: str | Path | None = None):
    """Train from ``dataset`` alone for ``gradient_steps`` steps; returns
    ``(policy, history)``.

    ``config`` defaults to :class:`CQLConfig` (CQL on SAC, centralised).  Every
    ``eval_every`` steps the greedy policy is evaluated online on ``eval_slots`` steps of
    the dataset's scenario (seed 1; evaluation only, nothing is learned from it).
    Checkpoints (``checkpoint_dir/last.pt``, atomic) every ``config.checkpoint_interval``
    steps; ``resume=True`` continues exactly, and refuses a checkpoint of another dataset
    or configuration; a fresh run refuses a ``checkpoint_dir`` that holds an earlier run's
    checkpoint unless ``overwrite=True``.  ``log_csv`` (CSV, one row per record) and
    ``tensorboard_dir`` (TensorBoard scalars at step ``updates``; needs ``pip install
    tensorboard``) log the history as :func:`~rrmbook.offline.train_sac` does; a resumed run
    rewrites the CSV from its checkpoint's history.  ``progress`` (default: where somebody
    watches) shows a bar; ``threads`` (default 1) is the number of torch threads while
    training (see :mod:`rrmbook.runtime`)."""
    config = CQLConfig() if config is None else config
    if not isinstance(config, SACConfig | DQNConfig):
        raise TypeError(f"config must be a SACConfig/CQLConfig or DQNConfig, got "
                        f"{type(config).__name__}")
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a rrmbook.offline.Dataset, got {type(dataset).__name__}")
    gradient_steps = checks.positive_int("gradient_steps", gradient_steps)
    if len(dataset) < config.batch_size:
        raise ValueError(f"the dataset has {len(dataset)} transitions, fewer than one batch "
                         f"({config.batch_size})")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir")
    log = TrainingLog(log_csv, tensorboard_dir, step="updates")
    if checkpoint_dir is not None and not resume and not overwrite:
        refuse_to_replace(Path(checkpoint_dir) / CHECKPOINT_NAME)
    log.check(resume, overwrite)
    if checkpoint_dir is not None:
        writable_dir(checkpoint_dir, "checkpoint_dir")
        remove_stale_temp_files(Path(checkpoint_dir) / CHECKPOINT_NAME)
    log.check_folders()
    cls = DQNLearner if isinstance(config, DQNConfig) else SACLearner
    learner = cls(config, dataset.n_agents, dataset.obs_dim,
                  int(dataset.meta.get("n_actions", int(dataset.actions.max()) + 1)), seed=seed)
    scenario = dataset.meta.get("scenario", "pf-4x20")
    env_config = {k: v for k, v in dataset.meta.get("env_config", {}).items() if k != "name"}
    eval_env = make_env(scenario, batch=4, seed=1, **env_config) if eval_every else None
    rng = seeding.rng(seed, Stream.CQL_BATCH)
    run = {"dataset": dataset_fingerprint(dataset), "size": len(dataset), "seed": int(seed),
           "learner": learner.kind}
    elapsed, history = 0.0, []
    checkpoint = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    if resume:
        state = resume_state(checkpoint, run, config, what="dataset, run or config")
        learner.load_state_dict(state["learner"])
        rng.bit_generator.state = state["rng"]
        elapsed, history = state["elapsed"], list(state["history"])

    def save() -> None:
        if checkpoint is not None:
            save_checkpoint(checkpoint, {"run": run,
                                         "learner": learner.state_dict(),
                                         "rng": rng.bit_generator.state, "elapsed": elapsed,
                                         "history": history})

    data = dataset.arrays()
    stats: dict = {}
    log.start(history, resume=resume)
    with log_closed(log), tqdm(total=gradient_steps, initial=min(learner.updates, gradient_steps),
                               disable=not show_progress(progress), unit="step",
                               desc=learner.name) as bar:
        while learner.updates < gradient_steps:
            start = time.perf_counter()
            idx = rng.integers(0, len(dataset), size=config.batch_size)
            stats = learner.update({k: v[idx] for k, v in data.items()})
            elapsed += time.perf_counter() - start
            bar.update(1)
            done = learner.updates >= gradient_steps
            if (eval_every and learner.updates % eval_every == 0) or done:
                record = {"updates": learner.updates, "time_s": round(elapsed, 2)} | stats
                if eval_env is not None:
                    record |= eval_scores(eval_env, learner, eval_slots)
                history.append(record)
                log.add(record, history)
                if callback is not None and callback(learner.policy(), record):
                    break
            if learner.updates % config.checkpoint_interval == 0:
                save()
    save()
    return learner.policy(), history
