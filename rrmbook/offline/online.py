"""The online training loop shared by discrete SAC and DQN (Eldeeb & Alves Sec. III): collect
transitions from ``n_envs`` copies of the PF model into a replay memory, take gradient
steps, evaluate now and then, write atomic checkpoints that a later run resumes exactly."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..evaluate import evaluate
from ..io import atomic_write_bytes
from ..scenarios import make_env
from .datasets import ReplayBuffer

__all__ = ["train_online", "load_learner", "resume_state", "check_fields", "CHECKPOINT_NAME",
           "tensors", "arrays"]

CHECKPOINT_NAME = "last.pt"
_FORMAT = "rrmbook-offline/1"
_SAMPLE_STREAM, _ACT_STREAM = 30, 31


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
    from .networks import VARIANTS

    if config.variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {config.variant!r}")
    for name in positive_ints:
        value = getattr(config, name)
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    for name in positive:
        if not getattr(config, name) > 0:
            raise ValueError(f"{name} must be > 0, got {getattr(config, name)!r}")
    for name in non_negative:
        if not getattr(config, name) >= 0:
            raise ValueError(f"{name} must be >= 0, got {getattr(config, name)!r}")
    if not 0 <= config.gamma < 1:
        raise ValueError(f"gamma must be in [0, 1), got {config.gamma!r}")


def eval_scores(env, learner, slots: int) -> dict:
    """Sum rate, 5th-percentile rate and score of the learner's greedy policy on ``slots``
    steps of ``env`` (seed 1, never trained on): the points of a learning curve."""
    res = evaluate(env, learner.policy(), slots=slots, seed=1)
    return {"sum_rate": res.sum_rate, "p5_rate": res.p5_rate, "score": res.score}


def _seed(seed: int, stream: int) -> int:
    return int(np.random.SeedSequence([int(seed), stream]).generate_state(1, np.uint64)[0] >> 1)


def save_checkpoint(path: Path, state: dict) -> Path:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def resume_state(checkpoint: Path, run: dict, config, what: str = "run or config") -> dict:
    """Read a training checkpoint to continue from, refusing one whose run description or
    configuration differs from ``run`` / ``config`` (only ``checkpoint_interval`` may
    change) with a ``ValueError`` that names the differing keys."""
    state = torch.load(checkpoint, weights_only=True)
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise ValueError(f"{checkpoint} is not a rrmbook offline-MARL checkpoint")
    diffs = [k for k in run if state["run"].get(k) != run[k]]
    diffs += [k for k, v in asdict(config).items()
              if state["learner"]["config"].get(k) != v and k != "checkpoint_interval"]
    if diffs:
        raise ValueError(f"the checkpoint belongs to another {what}: differs in {diffs}")
    return state


def load_learner(path: str | Path):
    """The learner (SAC, DQN or CQL) of a checkpoint or policy file, ready to act."""
    from .dqn import DQNConfig, DQNLearner
    from .sac import SACConfig, SACLearner

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    state = torch.load(path, weights_only=True)
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a rrmbook offline-MARL checkpoint ({_FORMAT!r})")
    learner_state = state["learner"]
    kind = learner_state["kind"]
    cls, cfg = (SACLearner, SACConfig) if kind == "sac" else (DQNLearner, DQNConfig)
    learner = cls(cfg(**learner_state["config"]), *learner_state["shape"])
    learner.load_state_dict(learner_state)
    return learner


def train_online(learner_cls, config, scenario: str = "pf-4x20", seed: int = 0,
                 budget_steps: int = 50_000, *, checkpoint_dir: str | Path | None = None,
                 resume: bool = False, progress: bool = False, eval_every: int | None = None,
                 eval_slots: int = 1000, callback: Callable | None = None,
                 env_kwargs: dict | None = None):
    """Train a learner online and return ``(policy, history)``.

    ``budget_steps`` counts transitions (whole batches of ``config.n_envs``).  Every
    ``eval_every`` transitions (if given) the greedy policy is evaluated on ``eval_slots``
    steps (seed 1, unseen during training) and the history records its sum rate,
    5th-percentile rate and score.  ``checkpoint_dir`` gets ``last.pt`` (atomic) every
    ``config.checkpoint_interval`` gradient steps and at the end; ``resume=True`` continues
    from it exactly.  ``callback(policy, record)`` returning True stops training."""
    if isinstance(budget_steps, bool) or int(budget_steps) != budget_steps or budget_steps < 1:
        raise ValueError(f"budget_steps must be a positive integer, got {budget_steps!r}")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir")
    env_kwargs = dict(env_kwargs or {})
    env = make_env(scenario, batch=config.n_envs, seed=seed, **env_kwargs)
    eval_env = make_env(scenario, batch=4, seed=1, **env_kwargs)
    learner = learner_cls(config, env.n_agents, env.obs_dim, env.n_actions, seed=seed)
    buffer = ReplayBuffer(config.buffer_size, env.n_agents, env.obs_dim)
    rng = np.random.default_rng(_seed(seed, _SAMPLE_STREAM))
    gen = torch.Generator().manual_seed(_seed(seed, _ACT_STREAM))
    run = {"scenario": scenario, "seed": int(seed), "env_kwargs": env_kwargs,
           "learner": learner.kind}
    steps, elapsed, history = 0, 0.0, []
    reward_sum, reward_n = 0.0, 0
    obs = env.observe()
    checkpoint = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    if resume:
        state = resume_state(checkpoint, run, config)
        learner.load_state_dict(state["learner"])
        env.restore(arrays(state["env"]))
        obs = env.observe()
        buffer.data = arrays(state["buffer"]["data"])
        buffer.size, buffer.pos = state["buffer"]["size"], state["buffer"]["pos"]
        rng.bit_generator.state = state["rng"]
        gen.set_state(state["generator"])
        steps, elapsed, history = state["steps"], state["elapsed"], list(state["history"])
        reward_sum, reward_n = state["reward_acc"]

    def save() -> None:
        if checkpoint is not None:
            save_checkpoint(checkpoint, {
                "format": _FORMAT, "run": run, "learner": learner.state_dict(),
                "env": tensors(env.snapshot()),
                "buffer": {"data": tensors(buffer.data), "size": buffer.size, "pos": buffer.pos},
                "rng": rng.bit_generator.state, "generator": gen.get_state(), "steps": steps,
                "elapsed": elapsed, "history": history, "reward_acc": [reward_sum, reward_n]})

    stats: dict = {}
    with tqdm(total=budget_steps, initial=min(steps, budget_steps), disable=not progress,
              unit="step", desc=learner.name) as bar:
        while steps < budget_steps:
            start = time.perf_counter()
            if steps < config.warmup_steps:
                actions = rng.integers(0, env.n_actions, size=(env.batch, env.n_agents))
            else:
                actions = learner.act(obs.X, explore=True, generator=gen)
            step = env.step(actions)
            nxt = step.final_obs if step.final_obs is not None else step.obs
            buffer.add(observations=obs.X, actions=actions, rewards=step.reward,
                       next_observations=nxt.X, terminations=np.zeros(env.batch, bool),
                       truncations=step.truncated, episode_ids=np.zeros(env.batch, np.int64))
            obs = step.obs
            steps += env.batch
            reward_sum, reward_n = reward_sum + float(step.reward.sum()), reward_n + env.batch
            if steps >= config.warmup_steps and buffer.size >= config.batch_size:
                for _ in range(config.updates_per_step):
                    stats = learner.update(buffer.sample(config.batch_size, rng))
                    if learner.updates % config.checkpoint_interval == 0:
                        save()
            elapsed += time.perf_counter() - start
            bar.update(min(steps, budget_steps) - bar.n)
            due = eval_every is not None and steps // eval_every != (steps - env.batch) // eval_every
            if due or steps >= budget_steps:
                record = {"steps": steps, "updates": learner.updates, "time_s": round(elapsed, 2),
                          "mean_reward": reward_sum / max(reward_n, 1)} | stats
                reward_sum, reward_n = 0.0, 0
                if eval_every is not None:
                    record |= eval_scores(eval_env, learner, eval_slots)
                history.append(record)
                if callback is not None and callback(learner.policy(), record):
                    break
    save()
    return learner.policy(), history
