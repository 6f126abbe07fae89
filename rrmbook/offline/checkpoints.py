"""What the offline-MARL learners share around training: config checks, the checkpoint
format, resuming, and the learning-curve evaluation.  SAC, DQN, the online loop and CQL all
import from here; nothing here imports a learner."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from .. import checks
from ..evaluate import evaluate
from ..io import CHECKPOINT_NAME, atomic_write_torch, read_torch
from .networks import VARIANTS

__all__ = ["CHECKPOINT_NAME", "FORMAT", "tensors", "arrays", "check_fields", "eval_scores",
           "save_checkpoint", "read_checkpoint", "resume_state", "export_learner",
           "learner_history"]

#: The format tag of every offline-MARL checkpoint and learner file.
FORMAT = "rrmbook-offline/1"


def tensors(obj):
    """numpy arrays -> tensors, recursively (checkpoints load with ``weights_only=True``)."""
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, dict):
        return {k: tensors(v) for k, v in obj.items()}
    return obj


def arrays(obj):
    """The inverse of :func:`tensors`."""
    if isinstance(obj, torch.Tensor):
        return obj.numpy().copy()
    if isinstance(obj, dict):
        return {k: arrays(v) for k, v in obj.items()}
    return obj


def check_fields(config, positive_ints: tuple[str, ...] = (), positive: tuple[str, ...] = (),
                 non_negative: tuple[str, ...] = ()) -> None:
    """Validate a learner config: raise ``ValueError`` naming the first field that is not a
    positive integer, not > 0, or not >= 0 (as listed), and a variant it does not know."""
    checks.one_of("variant", config.variant, VARIANTS)
    for name in positive_ints:
        checks.positive_int(name, getattr(config, name))
    for name in positive:
        checks.positive(name, getattr(config, name))
    for name in non_negative:
        checks.non_negative(name, getattr(config, name))
    checks.in_range("gamma", config.gamma, 0.0, 1.0, high_open=True)


def eval_scores(env, learner, slots: int) -> dict:
    """Sum rate, 5th-percentile rate and score of the learner's greedy policy on ``slots``
    steps of ``env`` (seed 1, never trained on): the points of a learning curve."""
    res = evaluate(env, learner.policy(), slots=slots, seed=1)
    return {"sum_rate": res.sum_rate, "p5_rate": res.p5_rate, "score": res.score}


def save_checkpoint(path: Path, state: dict) -> Path:
    """Write a training state atomically (``format`` is set to :data:`FORMAT`)."""
    return atomic_write_torch(path, {"format": FORMAT} | state)


def read_checkpoint(path: str | Path) -> dict:
    """Load an offline-MARL checkpoint or learner file safely (``weights_only``), refusing
    a missing file or one of another format with a message naming the path."""
    state = read_torch(path, "rrmbook offline-MARL checkpoint or learner file")
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a rrmbook offline-MARL checkpoint ({FORMAT!r})")
    return state


def resume_state(checkpoint: Path, run: dict, config, what: str = "run or config") -> dict:
    """Read a training checkpoint to continue from, refusing one whose run description or
    configuration differs from ``run`` / ``config`` (only ``checkpoint_interval`` may
    change) with a ``ValueError`` that names the differing keys."""
    state = read_checkpoint(checkpoint)
    diffs = [k for k in run if state["run"].get(k) != run[k]]
    diffs += [k for k, v in asdict(config).items()
              if state["learner"]["config"].get(k) != v and k != "checkpoint_interval"]
    if diffs:
        raise ValueError(f"the checkpoint belongs to another {what}: differs in {diffs}")
    return state


def export_learner(checkpoint: str | Path, path: str | Path) -> Path:
    """Write the small learner file of a training checkpoint: the networks, the
    configuration, the run and the learning curve, without the replay memory, the
    environment or the optimiser state (read back by
    :func:`rrmbook.offline.load_learner`)."""
    state = read_checkpoint(checkpoint)
    learner = {k: v for k, v in state["learner"].items() if not k.endswith("opt")}
    small = {"format": state["format"], "run": state["run"], "learner": learner,
             "history": state["history"]}
    return atomic_write_torch(path, small)


def learner_history(path: str | Path) -> list[dict]:
    """The training history (learning curve) stored in a learner file or checkpoint."""
    return list(read_checkpoint(path)["history"])
