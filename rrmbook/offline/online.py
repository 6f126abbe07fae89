"""The online training loop shared by discrete SAC and DQN (Eldeeb & Alves Sec. III): collect
transitions from ``n_envs`` copies of the PF model into a replay memory, take gradient
steps, evaluate now and then, write atomic checkpoints that a later run resumes exactly.

The loop is given the learner class, so it imports no learner: ``train_sac`` and
``train_dqn`` (in their own files) call it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import checks, seeding
from ..io import TrainingLog, log_closed, refuse_to_replace, remove_stale_temp_files, writable_dir
from ..runtime import show_progress, trainer
from ..scenarios import make_env
from ..seeding import Stream
from .checkpoints import (
    CHECKPOINT_NAME,
    arrays,
    eval_scores,
    resume_state,
    save_checkpoint,
    tensors,
)
from .datasets import ReplayBuffer

__all__ = ["train_online"]


@trainer
def train_online(learner_cls, config, scenario: str = "pf-4x20", seed: int = 0,
                 budget_steps: int = 50_000, *, checkpoint_dir: str | Path | None = None,
                 resume: bool = False, progress: bool | None = None, eval_every: int | None = None,
                 eval_slots: int = 1000, callback: Callable | None = None,
                 env_kwargs: dict | None = None, overwrite: bool = False,
                 log_csv: str | Path | None = None, tensorboard_dir: str | Path | None = None):
    """Train a learner online and return ``(policy, history)``.

    ``budget_steps`` counts transitions (whole batches of ``config.n_envs``).  Every
    ``eval_every`` transitions (if given) the greedy policy is evaluated on ``eval_slots``
    steps (seed 1, unseen during training) and the history records its sum rate,
    5th-percentile rate and score.  ``checkpoint_dir`` gets ``last.pt`` (atomic) every
    ``config.checkpoint_interval`` gradient steps and at the end; ``resume=True`` continues
    from it exactly, with the history it would have had (a checkpoint is written at the end
    of a step, after that step's record).  A fresh run refuses a ``checkpoint_dir`` that
    holds an earlier run's checkpoint unless ``overwrite=True``.  ``callback(policy,
    record)`` returning True stops training.
    ``log_csv`` gets the history as CSV (one row per record, appended as it comes; the
    columns are the records' keys in order of first appearance; a resumed run rewrites it
    from the checkpoint's history first); ``tensorboard_dir`` gets one TensorBoard scalar
    per numeric record field at step ``steps`` (needs ``pip install tensorboard``). A fresh
    run refuses earlier logs there too unless ``overwrite=True``.
    ``progress`` (default: where somebody watches) shows a bar; ``threads`` (default 1) is
    the number of torch threads while training (see :mod:`rrmbook.runtime`)."""
    budget_steps = checks.positive_int("budget_steps", budget_steps)
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir")
    checkpoint = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    log = TrainingLog(log_csv, tensorboard_dir, step="steps")
    if not resume and not overwrite:
        refuse_to_replace(checkpoint)
    log.check(resume, overwrite)
    if checkpoint_dir is not None:
        writable_dir(checkpoint_dir, "checkpoint_dir")
    log.check_folders()
    env_kwargs = dict(env_kwargs or {})
    env = make_env(scenario, batch=config.n_envs, seed=seed, **env_kwargs)
    eval_env = make_env(scenario, batch=4, seed=1, **env_kwargs)
    learner = learner_cls(config, env.n_agents, env.obs_dim, env.n_actions, seed=seed)
    buffer = ReplayBuffer(config.buffer_size, env.n_agents, env.obs_dim)
    rng = seeding.rng(seed, Stream.OFFLINE_SAMPLE)
    gen = seeding.torch_generator(seed, Stream.OFFLINE_ACT)
    run = {"scenario": scenario, "seed": int(seed), "env_kwargs": env_kwargs,
           "learner": learner.kind}
    steps, elapsed, history = 0, 0.0, []
    reward_sum, reward_n = 0.0, 0
    obs = env.observe()
    stats: dict = {}
    if checkpoint is not None:
        remove_stale_temp_files(checkpoint)
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
        stats = dict(state.get("stats", {}))

    def save() -> None:
        if checkpoint is not None:
            save_checkpoint(checkpoint, {
                "run": run, "learner": learner.state_dict(),
                "env": tensors(env.snapshot()),
                "buffer": {"data": tensors(buffer.data), "size": buffer.size, "pos": buffer.pos},
                "rng": rng.bit_generator.state, "generator": gen.get_state(), "steps": steps,
                "elapsed": elapsed, "history": history, "reward_acc": [reward_sum, reward_n],
                "stats": stats})

    log.start(history, resume=resume)
    with log_closed(log), tqdm(total=budget_steps, initial=min(steps, budget_steps),
                               disable=not show_progress(progress),
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
            save_due = False
            if steps >= config.warmup_steps and buffer.size >= config.batch_size:
                for _ in range(config.updates_per_step):
                    stats = learner.update(buffer.sample(config.batch_size, rng))
                    save_due |= learner.updates % config.checkpoint_interval == 0
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
                log.add(record, history)
                if callback is not None and callback(learner.policy(), record):
                    break
            if save_due:  # after the step's record, so a resumed run repeats nothing
                save()
    save()
    return learner.policy(), history
