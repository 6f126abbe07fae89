"""Recurrent MAPPO with decentralised training (Zhang & Guo Sec. III; chapter 5).

Every agent k has a recurrent actor π(a | X_k, memory) and a recurrent critic V(X_k, memory)
that see only the agent's local aggregate X_k, never the global state.  Two modes:

* ``"separate"``: one actor and one critic per agent, each trained on its own trajectory and
  its own individual reward R_k (Sec. III-B).  The K networks are stored as one stack of
  weights with a leading agent axis (:mod:`rrmbook.marl.networks`): acting and the MLP
  layers use batched matrix products over all agents, and only the update's recurrent
  layer loops over the agents (one fused-kernel call each).  The agents' losses are
  summed, so every agent's weights receive exactly the gradient of its own loss; advantages,
  value normalisation and gradient clipping are per agent.
* ``"shared"``: one actor and one critic for all agents; the losses are averaged over all
  agents' samples ((Z-23), (Z-24), Sec. III-D).

One training iteration collects ``rollout_slots`` slots from ``n_envs`` batched copies of the
environment (every agent of every copy in one network call), computes truncated GAE (Z-19)
with bootstrapping wherever an episode was truncated, and runs ``update_epochs`` epochs of
clipped PPO (Z-20)–(Z-22) on chunks of ``chunk_length`` slots replayed from their stored
recurrent states.

>>> from rrmbook.marl import MAPPOConfig, train
>>> policy, history = train(MAPPOConfig(n_envs=4), "paper-cg8", "heavy", seed=0,
...                         budget_slots=512)
>>> history[-1]["slots"]
512
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import checks, seeding
from ..envs.base import env_restore, env_snapshot
from ..io import (
    CHECKPOINT_NAME,
    TrainingLog,
    atomic_write_torch,
    read_torch,
    refuse_to_replace,
    remove_stale_temp_files,
    writable_dir,
)
from ..runtime import show_progress, trainer
from ..scenarios import make_env
from ..seeding import Stream
from .agent import (
    MODES,
    AgentSpec,
    MAPPOPolicy,
    device_mask,
    from_groups,
    scale_observation,
    to_groups,
)
from .losses import approx_kl, clip_fraction, clipped_surrogate, clipped_value_loss, gae
from .networks import (
    RecurrentNet,
    ValueNorm,
    action_entropy,
    action_log_prob,
    greedy_actions,
    gumbel_perturb,
    head_log_probs,
)
from .storage import RolloutStorage

__all__ = ["MAPPOConfig", "MAPPO", "train", "load_checkpoint", "load_policy", "export_policy",
           "clip_grad_norm_per_group", "CHECKPOINT_NAME", "LOG_FIELDS", "TEST_SEED", "FORMAT",
           "POLICY_FORMAT"]

#: columns of the learning-curve CSV (one row per training iteration)
LOG_FIELDS = ("update", "slots", "mean_reward", "mean_queue", "episodes", "policy_loss",
              "value_loss", "entropy", "approx_kl", "clip_fraction", "minibatch_steps",
              "explained_variance", "time_s", "test_mean_queue", "test_reward",
              "test_mean_delay")
#: the traffic and fading seed of every test evaluation (MAPPOConfig.test_interval)
TEST_SEED = 9_000
#: MAPPOConfig fields a resumed run may change (they do not change the training)
_NOT_MATCHED = ("checkpoint_interval", "device", "test_interval", "test_slots", "test_copies")
#: format tags of a training checkpoint and of a (small) policy file
FORMAT = "rrmbook-mappo/1"
POLICY_FORMAT = "rrmbook-mappo-policy/1"


@dataclass
class MAPPOConfig:
    """Every hyperparameter of recurrent MAPPO.  The defaults are the laptop preset.

    Two presets:

    * :meth:`paper` — Table II of Zhang & Guo: RMSprop, learning rate 1e-4, γ = 0.995,
      λ = 0.95, entropy coefficient δ = 0.01, one recurrent layer and two hidden layers of
      64 units, sequence length 64, one environment, an update after every ~2,000-slot
      episode.  Table II does not give the PPO clip range, the number of epochs or
      minibatches, or the gradient clipping; those take the defaults of Yu et al.'s public
      MAPPO code (clip 0.2, 15 epochs, 1 minibatch, gradient norm 10, no KL stop, a
      constant learning rate).  Two of that code's defaults are not adopted: its Huber
      value loss (we keep the squared loss of (Z-20)) and treating time-limit cuts as
      terminal (we bootstrap every truncated episode).
    * :meth:`laptop` (= the defaults) — the same networks and losses, tuned to learn in
      minutes on 2 CPU cores: Adam with a ten times larger learning rate, annealed to 0 over
      the budget, with a KL stop guarding each update; a shorter horizon γ = 0.95 (a
      scheduling decision shows in the queues within a few slots; with γ = 0.995 the
      returns are so noisy that on paper-cg8 the shared policy settled, in our runs, in a
      schedule that starves half of the agents); 32 environment copies stepped together
      (one network call serves every copy) and short rollouts (one 64-slot chunk per copy),
      hence many small updates (4 epochs of 4 minibatches) instead of one large update per
      2,000-slot episode.

    Attributes
    ----------
    mode : str
        ``"shared"`` (one network for all agents, default) or ``"separate"`` (one per agent).
    cell : str
        Recurrent layer, ``"lstm"`` (the paper, default) or ``"gru"``.
    hidden_size : int
        Units of the recurrent layer and of each hidden layer (default 64).
    hidden_layers : int
        Hidden layers of the MLP after the recurrent layer (default 2).
    activation : str
        ``"tanh"`` (default) or ``"relu"`` in the MLP.
    optimizer : str
        ``"adam"`` (default) or ``"rmsprop"`` (the paper's).
    lr : float
        The optimiser's learning rate (default 1e-3; the paper's 1e-4).
    optim_eps : float
        The optimiser's ε (default 1e-5).
    anneal_lr : bool
        Let the learning rate fall linearly to 0 over the training budget (the
        ``budget_slots`` of :func:`train`), which keeps a converged policy from drifting
        (default True).
    max_grad_norm : float
        Gradients of each network (each agent's, in separate mode) are scaled down to this
        norm (default 10).
    n_envs : int
        Environment copies stepped together, B (default 32).
    rollout_slots : int
        Slots collected per copy before each update, T; a multiple of ``chunk_length``
        (default 64).
    chunk_length : int
        Recurrent sequence length L: training replays chunks of L slots from the recurrent
        state stored at their start (default 64).
    update_epochs : int
        Passes over each rollout (default 4).
    num_minibatches : int
        Minibatches per pass, each a set of whole chunks (default 4).
    gamma : float
        Discount γ (Z-19; default 0.95, the paper's 0.995).
    gae_lambda : float
        GAE weight λ (Z-19; default 0.95).
    clip : float
        PPO ratio clip ε (Z-21, Z-22; default 0.2).
    value_clip : float
        The critic's clip (Z-20; default 0.2).
    target_kl : float or None
        An update stops early, before a minibatch step, once the approximate KL divergence
        between the current policy and the one that collected the rollout exceeds 1.5 × this
        value (for any agent network); ``None`` never stops (default 0.02). A guard against
        the rare oversized update that wrecks a good policy.
    entropy_coef : float
        Weight of the entropy bonus (Z-22), the paper's δ; chapter 5 writes c_H, since δ
        there is the TD error (default 0.01).
    value_coef : float
        Weight of the critic loss in the summed loss; the actor and critic have separate
        weights, so it only rescales the critic's gradient (default 1).
    normalize_advantages : bool
        Standardise advantages per agent network before each update (default True).
    value_norm : bool
        Learn normalised value targets with a running normaliser, MAPPO's ValueNorm
        (default True).
    value_norm_beta : float
        The normaliser's averaging weight (default 0.99999).
    queue_scale : float
        The fixed observation scaling: a queue of q packets enters the networks as
        ``log(1 + q / queue_scale)`` (default 1); every other feature is already O(1).
    queue_log : bool
        Use the logarithm above; ``False`` feeds ``q / queue_scale`` (default True).
    reward_scale : float
        The individual rewards R_k (minus queued packets in the neighbourhood) are
        multiplied by this constant (default 0.1).
    checkpoint_interval : int
        Updates between checkpoints, when :func:`train` has a directory (default 20).
    device : str
        Where the networks, the rollout storage and the update run: ``"cpu"`` (default),
        ``"cuda"``/``"cuda:N"``, or ``"auto"`` (CUDA when PyTorch sees a GPU, else the CPU).
        The environments stay NumPy on the CPU, and every random draw of the learner
        (action sampling, minibatch order) is made on the CPU and then moved, so a run's
        random numbers do not depend on the device; the arithmetic on a GPU differs within
        floating-point tolerance.
    test_interval : int or None
        Every this many updates (and after the last), :func:`train` runs a *test
        evaluation*, as Zhang & Guo measured their learning curves: the deterministic
        policy (the most likely action) on ``test_copies`` copies of the training scenario
        at the training load (on its named layout, never a layout draw) for ``test_slots``
        slots, always with the traffic and fading seed :data:`TEST_SEED`. The record of that
        update gains ``test_mean_queue`` (packets per device), ``test_reward`` (mean
        individual reward R_k per agent and slot, unscaled) and ``test_mean_delay``.
        ``None`` (default) never tests. The test uses its own environment and random
        streams, so it does not change the training; its time is not in ``time_s``.
    test_slots : int
        Slots of each test evaluation (default 2000).
    test_copies : int
        Environment copies of each test evaluation (default 4).

    ``device``, ``checkpoint_interval`` and the ``test_*`` fields are not part of what a
    resumed run must match.
    """

    mode: str = "shared"
    cell: str = "lstm"
    hidden_size: int = 64
    hidden_layers: int = 2
    activation: str = "tanh"
    optimizer: str = "adam"
    lr: float = 1e-3
    optim_eps: float = 1e-5
    anneal_lr: bool = True
    max_grad_norm: float = 10.0
    n_envs: int = 32
    rollout_slots: int = 64
    chunk_length: int = 64
    update_epochs: int = 4
    num_minibatches: int = 4
    gamma: float = 0.95
    gae_lambda: float = 0.95
    clip: float = 0.2
    value_clip: float = 0.2
    target_kl: float | None = 0.02
    entropy_coef: float = 0.01
    value_coef: float = 1.0
    normalize_advantages: bool = True
    value_norm: bool = True
    value_norm_beta: float = 0.99999
    queue_scale: float = 1.0
    queue_log: bool = True
    reward_scale: float = 0.1
    checkpoint_interval: int = 20
    device: str = "cpu"
    test_interval: int | None = None
    test_slots: int = 2000
    test_copies: int = 4

    def __post_init__(self) -> None:
        choices = {"mode": MODES, "cell": ("lstm", "gru"), "activation": ("tanh", "relu"),
                   "optimizer": ("adam", "rmsprop")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"MAPPOConfig.{name} must be one of {allowed}, "
                                 f"got {getattr(self, name)!r}")
        for name in ("hidden_size", "hidden_layers", "n_envs", "rollout_slots", "chunk_length",
                     "update_epochs", "num_minibatches", "checkpoint_interval", "test_slots",
                     "test_copies"):
            checks.positive_int(f"MAPPOConfig.{name}", getattr(self, name))
        if self.test_interval is not None:
            checks.positive_int("MAPPOConfig.test_interval", self.test_interval)
        positive = ("lr", "optim_eps", "max_grad_norm", "clip", "value_clip", "value_coef",
                    "queue_scale", "reward_scale")
        unit = ("gamma", "gae_lambda")
        for name in positive + unit + ("entropy_coef", "value_norm_beta"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value):
                raise ValueError(f"MAPPOConfig.{name} must be a finite number, got {value!r}")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"MAPPOConfig.{name} must be > 0, got {getattr(self, name)!r}")
        for name in unit:
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"MAPPOConfig.{name} must lie in [0, 1], got {getattr(self, name)!r}")
        if self.target_kl is not None and (isinstance(self.target_kl, bool) or not isinstance(
                self.target_kl, int | float) or not math.isfinite(self.target_kl)
                or self.target_kl <= 0):
            raise ValueError(f"MAPPOConfig.target_kl must be a number > 0 or None, "
                             f"got {self.target_kl!r}")
        if self.entropy_coef < 0:
            raise ValueError(f"MAPPOConfig.entropy_coef must be >= 0, got {self.entropy_coef!r}")
        if not 0 < self.value_norm_beta < 1:
            raise ValueError(f"MAPPOConfig.value_norm_beta must lie in (0, 1), "
                             f"got {self.value_norm_beta!r}")
        if self.rollout_slots % self.chunk_length:
            raise ValueError(f"MAPPOConfig.rollout_slots ({self.rollout_slots}) must be a multiple "
                             f"of chunk_length ({self.chunk_length})")
        sequences = self.n_envs * (self.rollout_slots // self.chunk_length)
        if self.num_minibatches > sequences:
            raise ValueError(f"MAPPOConfig.num_minibatches ({self.num_minibatches}) must not exceed "
                             f"the chunks per agent network and rollout, n_envs × rollout_slots / "
                             f"chunk_length = {sequences}")
        if self.device != "auto":
            try:
                torch.device(self.device)
            except (RuntimeError, TypeError):
                raise ValueError(f"MAPPOConfig.device must be 'cpu', 'cuda', 'cuda:N' or 'auto', "
                                 f"got {self.device!r}") from None
        for name in ("anneal_lr", "normalize_advantages", "value_norm", "queue_log"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"MAPPOConfig.{name} must be True or False, "
                                 f"got {getattr(self, name)!r}")

    @classmethod
    def laptop(cls, **overrides) -> MAPPOConfig:
        """The fast preset (the defaults); ``overrides`` change any field."""
        return cls(**overrides)

    @classmethod
    def paper(cls, **overrides) -> MAPPOConfig:
        """Table II of Zhang & Guo (see the class docstring); ``overrides`` change any field.
        ``rollout_slots`` is 2,048 (32 chunks of 64), the multiple of 64 closest to the
        paper's 2,000-slot training episodes."""
        params = dict(optimizer="rmsprop", lr=1e-4, gamma=0.995, gae_lambda=0.95,
                      entropy_coef=0.01, chunk_length=64, hidden_size=64, hidden_layers=2,
                      n_envs=1, rollout_slots=2048, update_epochs=15, num_minibatches=1,
                      clip=0.2, value_clip=0.2, target_kl=None, anneal_lr=False, max_grad_norm=10.0,
                      checkpoint_interval=5)
        return cls(**(params | overrides))


def resolve_device(device: str) -> torch.device:
    """The torch device of ``MAPPOConfig.device``: ``"auto"`` is CUDA when available, else
    the CPU; asking for CUDA on a machine without it is an error naming the field."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"MAPPOConfig.device={device!r} but PyTorch sees no CUDA device here; "
                         f"use 'cpu' or 'auto'")
    return resolved


def build_networks(config: MAPPOConfig, spec: AgentSpec,
                   generator: torch.Generator) -> tuple[RecurrentNet, RecurrentNet]:
    """The actor (all head logits, output gain 0.01) and the critic (one value, gain 1),
    with ``K`` stacked networks in separate mode and one in shared mode."""
    groups = spec.n_agents if config.mode == "separate" else 1
    kw = dict(hidden=config.hidden_size, layers=config.hidden_layers, cell=config.cell,
              activation=config.activation, generator=generator)
    actor = RecurrentNet(groups, spec.obs_dim, spec.n_subbands * sum(spec.head_sizes),
                         out_gain=0.01, **kw)
    critic = RecurrentNet(groups, spec.obs_dim, 1, out_gain=1.0, **kw)
    return actor, critic


def clip_grad_norm_per_group(parameters: list[torch.nn.Parameter], max_norm: float) -> torch.Tensor:
    """Scale the gradients of each group (each agent's network in separate mode) down to
    norm ``max_norm``.  Every parameter has the group axis first.  Returns the norms
    ``(G,)`` before clipping."""
    grads = [p.grad for p in parameters if p.grad is not None]
    norms = sum(g.flatten(1).pow(2).sum(1) for g in grads).sqrt()
    factor = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(factor.view(-1, *([1] * (g.ndim - 1))))
    return norms


class MAPPO:
    """The learner: actor, critic, optimiser, value normaliser, the training environment
    and the running state of the rollout (recurrent states, episode starts).

    :func:`train` drives it; a chapter can also call :meth:`iteration` step by step."""

    def __init__(self, config: MAPPOConfig, env, seed: int = 0, run: dict | None = None) -> None:
        if env.batch != config.n_envs:
            raise ValueError(f"the environment has batch={env.batch} copies but "
                             f"MAPPOConfig.n_envs={config.n_envs}")
        self.config, self.env, self.seed = config, env, int(seed)
        self.run = run or {"scenario": env.config.name, "seed": self.seed}
        self.spec = AgentSpec.from_env(env)
        self.mode = config.mode
        self.device = resolve_device(config.device)
        actor, critic = build_networks(  # initialised on the CPU: the same weights anywhere
            config, self.spec, seeding.torch_generator(seed, Stream.MAPPO_INIT))
        self.actor, self.critic = actor.to(self.device), critic.to(self.device)
        groups = self.actor.rnn.weight_ih.shape[0]
        self.value_norm = ValueNorm(groups, config.value_norm_beta).to(self.device)
        params = [*self.actor.parameters(), *self.critic.parameters()]
        if config.optimizer == "adam":
            # the fused kernel: one pass over all parameters (3x faster on paper-hex19's
            # separate networks than the per-tensor loop, the same update within rounding)
            self.optimizer = torch.optim.Adam(params, lr=config.lr, eps=config.optim_eps,
                                              fused=True)
        else:
            self.optimizer = torch.optim.RMSprop(params, lr=config.lr, alpha=0.99,
                                                 eps=config.optim_eps)
        self.generator = seeding.torch_generator(seed, Stream.MAPPO_SAMPLE)
        self.mask = device_mask(env, self.mode).to(self.device)  # (G, M, D+1)
        rows = self.mask.shape[1]
        n_heads = len(self.spec.head_sizes)
        self.storage = RolloutStorage(groups, config.rollout_slots, rows, self.spec.obs_dim,
                                      (self.spec.n_subbands, n_heads), config.chunk_length,
                                      (self.actor.rnn.n_state, config.hidden_size), self.device)
        self.queue_mask = self.spec.queue_mask().to(self.device)
        self.obs = env.reset(seed=self.seed)
        self.actor_state = self.actor.initial_state(rows)
        self.critic_state = self.critic.initial_state(rows)
        self.starts = torch.ones(groups, rows, dtype=torch.bool, device=self.device)
        self.slots, self.updates, self.elapsed = 0, 0, 0.0
        self.history: list[dict] = []

    # ------------------------------------------------------------------ helpers
    def _observe(self, obs) -> torch.Tensor:
        """X_k of every agent, scaled, in the group layout ``(G, M, F)``."""
        X = scale_observation(torch.from_numpy(obs.X).to(self.device), self.queue_mask,
                              self.config.queue_scale, self.config.queue_log)
        return to_groups(X, self.mode)

    def _log_probs(self, logits: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        logits = logits.unflatten(-1, (self.spec.n_subbands, sum(self.spec.head_sizes)))
        return head_log_probs(logits, mask, self.spec.head_sizes)

    def policy(self, deterministic: bool = False) -> MAPPOPolicy:
        """The current actor as a policy (sharing its weights; ``.copy()`` for a snapshot)."""
        return MAPPOPolicy(self.actor, self.spec, self.mode, self.config.queue_scale,
                           self.config.queue_log, deterministic=deterministic)

    # ------------------------------------------------------------------ rollout
    @torch.no_grad()
    def collect(self) -> tuple[torch.Tensor, dict]:
        """Run ``rollout_slots`` slots in every copy, filling the storage.  Truncated
        episodes are bootstrapped with V of their last observation and restarted with
        ``env.reset_copies``.  Returns the critic's output on the next observation (for
        the bootstrap after the last slot) and rollout statistics."""
        c, st, env = self.config, self.storage, self.env
        n_agents = self.spec.n_agents
        reward_sum = queue_sum = 0.0
        agent_reward = np.zeros(n_agents)
        episodes = 0
        for t in range(c.rollout_slots):
            x = self._observe(self.obs)
            keep = (~self.starts)[None, :, :, None].float()  # new episodes start from zero
            self.actor_state, self.critic_state = self.actor_state * keep, self.critic_state * keep
            logits, actor_state = self.actor.step(x, self.actor_state)
            value, critic_state = self.critic.step(x, self.critic_state)
            log_probs = self._log_probs(logits, self.mask[:, :, None])
            # a sample of π (Gumbel-max on every head): (G, M, H, heads)
            actions = greedy_actions(tuple(gumbel_perturb(lp, self.generator) for lp in log_probs))
            env_actions = from_groups(actions, self.mode, n_agents)
            step = env.step((env_actions[..., 0] if len(self.spec.head_sizes) == 1
                             else env_actions).cpu().numpy())
            truncated = torch.from_numpy(step.truncated)
            cut = to_groups(truncated[:, None].expand(-1, n_agents), self.mode).to(self.device)
            rewards = to_groups(torch.from_numpy(step.rewards).float(), self.mode).to(self.device)
            st.insert(t, obs=x, actions=actions, log_probs=action_log_prob(log_probs, actions),
                      values=value[..., 0], rewards=rewards * c.reward_scale, starts=self.starts,
                      cut=cut, actor_state=self.actor_state, critic_state=self.critic_state)
            self.actor_state, self.critic_state = actor_state, critic_state
            self.obs = step.obs
            if truncated.any():
                final, _ = self.critic.step(self._observe(step.obs), critic_state)
                st.final_values[:, t] = final[..., 0]
                self.obs = env.reset_copies(step.truncated)
                episodes += int(truncated.sum())
            self.starts = cut
            reward_sum += float(step.rewards.mean())
            agent_reward += step.rewards.mean(axis=0)
            queue_sum += float(env.queue_packets().mean())
        keep = (~self.starts)[None, :, :, None].float()
        last, _ = self.critic.step(self._observe(self.obs), self.critic_state * keep)
        stats = {"mean_reward": reward_sum / c.rollout_slots,
                 "mean_queue": queue_sum / c.rollout_slots, "episodes": episodes,
                 "agent_reward": np.round(agent_reward / c.rollout_slots, 5).tolist()}
        return last[..., 0], stats

    @torch.no_grad()
    def advantages(self, last_value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Truncated GAE (Z-19) on the stored rollout, in return units: ``(G, T, M)``
        advantages and value targets."""
        c, st = self.config, self.storage
        denorm = self.value_norm.denormalize if c.value_norm else (lambda v: v)
        values = denorm(st.values)
        next_values = torch.cat([values[:, 1:], denorm(last_value)[:, None]], dim=1)
        next_values = torch.where(st.cut, denorm(st.final_values), next_values)
        adv, ret = gae(st.rewards.transpose(0, 1), values.transpose(0, 1),
                       next_values.transpose(0, 1), st.cut.transpose(0, 1), c.gamma, c.gae_lambda)
        return adv.transpose(0, 1), ret.transpose(0, 1)

    # ------------------------------------------------------------------ update
    def update(self, advantages: torch.Tensor, returns: torch.Tensor) -> dict:
        """``update_epochs`` passes of clipped PPO over the stored chunks.  Each network's
        loss is its own mean (per agent in separate mode, over all agents in shared mode);
        the group losses are summed, so each agent's weights get only its own gradient."""
        c = self.config
        if c.value_norm:
            self.value_norm.update(returns)
            targets = self.value_norm.normalize(returns)
        else:
            targets = returns
        if c.normalize_advantages:
            flat = advantages.flatten(1)
            shape = (-1, 1, 1)
            advantages = (advantages - flat.mean(1).view(shape)) / (flat.std(1).view(shape) + 1e-8)
        actor_params, critic_params = list(self.actor.parameters()), list(self.critic.parameters())
        totals = dict.fromkeys(("policy_loss", "value_loss", "entropy", "approx_kl",
                                "clip_fraction"), 0.0)
        n = 0
        n, stop = 0, False
        for _ in range(c.update_epochs):
            for mb in self.storage.minibatches(c.num_minibatches, self.generator,
                                               advantages=advantages, targets=targets):
                logits = self.actor(mb["obs"], mb["actor_state"], mb["starts"])
                log_probs = self._log_probs(logits, self.mask[:, mb["row"]][:, None, :, None])
                new_log_prob = action_log_prob(log_probs, mb["actions"])
                kl = approx_kl(new_log_prob.detach(), mb["log_probs"], dims=(1, 2))  # per group
                if c.target_kl is not None and float(kl.max()) > 1.5 * c.target_kl:
                    stop = True  # the policy moved far enough from the one that collected
                    break
                entropy = action_entropy(log_probs)
                values = self.critic(mb["obs"], mb["critic_state"], mb["starts"])[..., 0]
                surrogate = clipped_surrogate(new_log_prob, mb["log_probs"], mb["advantages"], c.clip)
                value_loss = clipped_value_loss(values, mb["values"], mb["targets"], c.value_clip)

                def per_group(x: torch.Tensor) -> torch.Tensor:
                    return x.flatten(1).mean(1)

                loss = (-per_group(surrogate) - c.entropy_coef * per_group(entropy)
                        + c.value_coef * per_group(value_loss)).sum()
                self.optimizer.zero_grad()
                loss.backward()
                clip_grad_norm_per_group(actor_params, c.max_grad_norm)
                clip_grad_norm_per_group(critic_params, c.max_grad_norm)
                self.optimizer.step()
                with torch.no_grad():
                    totals["policy_loss"] -= float(surrogate.mean())
                    totals["value_loss"] += float(value_loss.mean())
                    totals["entropy"] += float(entropy.mean())
                    totals["approx_kl"] += float(kl.mean())
                    totals["clip_fraction"] += float(clip_fraction(new_log_prob, mb["log_probs"],
                                                                   c.clip))
                n += 1
            if stop:
                break
        return {k: v / max(n, 1) for k, v in totals.items()} | {"minibatch_steps": n}

    def iteration(self, progress: float = 0.0) -> dict:
        """Collect one rollout, update, and return the learning-curve record.  ``progress``
        (the share of the training budget already spent) sets the learning rate when
        ``config.anneal_lr`` is on: it falls linearly from ``lr`` to 0 over the budget."""
        start = time.perf_counter()
        if self.config.anneal_lr:
            for group in self.optimizer.param_groups:
                group["lr"] = self.config.lr * max(1.0 - progress, 0.0)
        last_value, stats = self.collect()
        advantages, returns = self.advantages(last_value)
        value_norm = self.value_norm if self.config.value_norm else None
        stats["explained_variance"] = _explained_variance(self.storage.values, returns, value_norm)
        stats |= self.update(advantages, returns)
        self.slots += self.config.n_envs * self.config.rollout_slots
        self.updates += 1
        self.elapsed += time.perf_counter() - start
        record = {"update": self.updates, "slots": self.slots} | stats | {"time_s": self.elapsed}
        self.history.append(record)
        return record

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """Everything needed to continue training exactly (tensors and plain values only,
        so it loads with ``torch.load(..., weights_only=True)``)."""
        return {
            "format": FORMAT, "config": asdict(self.config), "run": self.run,
            "spec": self.spec.to_dict(),
            "actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
            "value_norm": self.value_norm.state_dict(), "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(), "env": env_snapshot(self.env),
            "rollout": {"actor_state": self.actor_state, "critic_state": self.critic_state,
                        "starts": self.starts},
            "slots": self.slots, "updates": self.updates, "elapsed": self.elapsed,
            "history": self.history,
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from a checkpoint.  Raises ``ValueError`` naming what differs if it was
        written for another scenario, run or configuration (only ``checkpoint_interval``
        may change)."""
        AgentSpec.from_dict(state["spec"]).check(self.spec, "separate")
        diffs = [f"{k}: checkpoint {state['run'].get(k)!r} vs {v!r}" for k, v in self.run.items()
                 if state["run"].get(k) != v]
        if diffs:
            raise ValueError(f"the checkpoint belongs to another run: {'; '.join(diffs)}")
        config = asdict(self.config)
        diffs = [f"{k}: checkpoint {state['config'].get(k)!r} vs {v!r}" for k, v in config.items()
                 if state["config"].get(k) != v and k not in _NOT_MATCHED]
        if diffs:
            raise ValueError(f"the checkpoint was trained with another MAPPOConfig: "
                             f"{'; '.join(diffs)}")
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.value_norm.load_state_dict(state["value_norm"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        env_restore(self.env, state["env"])
        self.obs = self.env.observe()
        rollout = state["rollout"]
        self.actor_state = rollout["actor_state"].to(self.device)
        self.critic_state = rollout["critic_state"].to(self.device)
        self.starts = rollout["starts"].to(self.device)
        self.slots, self.updates = state["slots"], state["updates"]
        self.elapsed, self.history = state["elapsed"], list(state["history"])

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint atomically (temp file, then rename)."""
        return atomic_write_torch(path, self.state_dict())


def load_checkpoint(path: str | Path, formats: tuple[str, ...] = (FORMAT,)) -> dict:
    """Read a checkpoint safely (``weights_only=True``: tensors and plain values only).
    ``formats``: the kinds of file accepted (a training checkpoint by default; add
    ``"rrmbook-mappo-policy/1"`` to accept a policy file, see :func:`export_policy`)."""
    path = Path(path)
    state = read_torch(path, "rrmbook MAPPO checkpoint or policy file")
    if not isinstance(state, dict) or state.get("format") not in formats:
        raise ValueError(f"{path} is not a rrmbook MAPPO checkpoint (format "
                         f"{' or '.join(map(repr, formats))})")
    return state


def export_policy(checkpoint: str | Path | dict, path: str | Path, half: bool = False) -> Path:
    """Write the small *policy file* of a training checkpoint (or of another policy file):
    the actor's weights, its configuration, the run (scenario, load, seed) and the learning
    curve, without the critic, the optimiser state or the environments.  ``half`` stores the
    weights in float16 (half the size; :func:`load_policy` turns them back into float32, so
    the policy acts as the rounded weights dictate).  Policy files are what ships in
    ``rrmbook/data/policies``."""
    state = checkpoint if isinstance(checkpoint, dict) else \
        load_checkpoint(checkpoint, formats=(FORMAT, POLICY_FORMAT))
    keep = ("config", "run", "spec", "actor", "slots", "updates", "elapsed", "history")
    policy = {"format": POLICY_FORMAT} | {k: state[k] for k in keep}
    policy["actor"] = {k: (v.half() if half and v.is_floating_point() else v).clone()
                       for k, v in state["actor"].items()}  # no storage shared with the rest
    return atomic_write_torch(path, policy)


def load_policy(path: str | Path, deterministic: bool = False) -> MAPPOPolicy:
    """The trained actor of a checkpoint or a policy file as a policy for
    :func:`rrmbook.evaluate`."""
    state = load_checkpoint(path, formats=(FORMAT, POLICY_FORMAT))
    config = MAPPOConfig(**state["config"])
    spec = AgentSpec.from_dict(state["spec"])
    actor, _ = build_networks(config, spec, torch.Generator().manual_seed(0))
    actor.load_state_dict(state["actor"])
    return MAPPOPolicy(actor, spec, config.mode, config.queue_scale, config.queue_log,
                       deterministic=deterministic)


def _explained_variance(values: torch.Tensor, returns: torch.Tensor,
                        value_norm: ValueNorm | None) -> float:
    """1 − Var(returns − V) / Var(returns) over the rollout (1: the critic explains the
    returns perfectly; 0: no better than a constant)."""
    predicted = value_norm.denormalize(values) if value_norm is not None else values
    var = float(returns.var())
    return float("nan") if var == 0 else 1.0 - float((returns - predicted).var()) / var


def _plain(load):
    """A load preset or rate as a plain (checkpoint- and JSON-friendly) value."""
    if isinstance(load, str):
        return load
    arr = np.asarray(load, dtype=float)
    return float(arr) if arr.ndim == 0 else arr.tolist()


def run_test_evaluation(policy: MAPPOPolicy, config: MAPPOConfig, scenario: str, load,
                    env_kwargs: dict | None = None) -> dict:
    """One test evaluation of a policy during training (see ``MAPPOConfig.test_interval``):
    ``{"test_mean_queue", "test_reward", "test_mean_delay"}`` of the deterministic policy on
    ``test_copies`` copies of the training scenario (its named layout, not a layout draw)
    for ``test_slots`` slots with the seed :data:`TEST_SEED`."""
    from ..evaluate import evaluate

    kwargs = {k: v for k, v in (env_kwargs or {}).items() if k != "layout_draws"}
    env = make_env(scenario, load=load, batch=config.test_copies, seed=TEST_SEED, **kwargs)
    test = policy.copy()
    test.deterministic = True
    results = evaluate(env, test, slots=config.test_slots, seed=TEST_SEED)
    queues = np.asarray(results.queue_trace)  # (slots, devices), mean over the copies
    reward = float(env.rewards(queues * env.packet_size).mean()) if hasattr(env, "rewards") \
        else float("nan")
    return {"test_mean_queue": round(float(queues.mean()), 5), "test_reward": round(reward, 5),
            "test_mean_delay": round(float(results.mean_delay), 5)}


@trainer
def train(config: MAPPOConfig | None = None, scenario: str = "paper-cg8",
          load: str | float = "heavy", seed: int = 0, budget_slots: int = 100_000, *,
          checkpoint_dir: str | Path | None = None, resume: bool | str | Path = False,
          progress: bool | None = None, log_csv: str | Path | None = None,
          callback: Callable[[MAPPOPolicy, dict], bool | None] | None = None,
          env_kwargs: dict | None = None, overwrite: bool = False,
          tensorboard_dir: str | Path | None = None) -> tuple[MAPPOPolicy, list[dict]]:
    """Train recurrent MAPPO on a named scenario and return ``(policy, history)``.

    Parameters
    ----------
    config : hyperparameters (default: the laptop preset).
    scenario, load, env_kwargs : the training environment, as for :func:`rrmbook.make_env`
        (``config.n_envs`` copies).
    seed : seeds the networks' initialisation, the action sampling and the traffic.
    budget_slots : train until this many *copy-slots* have been simulated (one copy of the
        environment advancing one slot counts one; whole updates of ``n_envs ×
        rollout_slots`` copy-slots).
    checkpoint_dir : write ``last.pt`` there every ``config.checkpoint_interval`` updates
        and at the end (atomically).
    resume : ``True`` continues from ``checkpoint_dir/last.pt``; a path continues from that
        file.  With the same arguments the continuation is identical to an uninterrupted
        run (the learning-rate schedule spans ``budget_slots``).
    progress : show a tqdm bar (default: where somebody watches, a terminal or a Jupyter
        kernel; see :mod:`rrmbook.runtime`).
    threads : torch threads while training (default 1, the fastest for these small networks
        on a laptop; the caller's setting is restored afterwards; ``None`` leaves it alone).
    log_csv : write the learning curve there (columns :data:`LOG_FIELDS`), one row per
        update; a resumed run rewrites it from the checkpoint's history first.
    tensorboard_dir : write TensorBoard scalars there (needs the optional ``tensorboard``
        package: ``pip install tensorboard``), one per numeric field of each record, at
        step ``slots``.
    callback : called after every update with the current policy (sharing the live
        weights) and the record; returning ``True`` stops training.
    overwrite : a fresh run (``resume`` false) refuses, before any work, a ``checkpoint_dir``
        that already holds a checkpoint or a ``log_csv`` that already holds a curve, so an
        earlier run is never replaced by accident (a ``tensorboard_dir`` holding event
        files too); ``overwrite=True`` replaces them.

    ``history`` holds one record per update: copy-slots so far, mean individual reward and
    mean queue (packets per device) over the rollout, episodes truncated, the losses, the
    policy entropy (nats per agent and slot), approximate KL, clip fraction and the
    cumulative training time in seconds.
    """
    config = MAPPOConfig() if config is None else config
    if not isinstance(config, MAPPOConfig):
        raise TypeError(f"config must be a MAPPOConfig, got {type(config).__name__}")
    budget_slots = checks.positive_int("budget_slots", budget_slots)
    if resume is True and checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir (or pass the checkpoint's path)")
    checkpoint = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    log = TrainingLog(log_csv, tensorboard_dir, step="slots", fields=LOG_FIELDS)
    if not resume and not overwrite:
        refuse_to_replace(checkpoint)
    log.check(bool(resume), overwrite)   # before any work: an earlier run's logs, and a
    if checkpoint_dir is not None:       # folder that is a file, read-only or on a full disk
        writable_dir(checkpoint_dir, "checkpoint_dir")
    log.check_folders()
    env_kwargs = dict(env_kwargs or {})
    env = make_env(scenario, load=load, batch=config.n_envs, seed=seed, **env_kwargs)
    run = {"scenario": scenario, "load": _plain(load), "env_kwargs": env_kwargs, "seed": int(seed)}
    learner = MAPPO(config, env, seed, run)
    if checkpoint is not None:
        remove_stale_temp_files(checkpoint)
    if resume:
        learner.load_state_dict(load_checkpoint(checkpoint if resume is True else resume))
    log.start(learner.history, resume=bool(resume))
    try:
        _train_loop(learner, config, scenario, load, env_kwargs, budget_slots, checkpoint,
                    log, progress, callback)
    finally:
        log.close()
    policy = learner.policy().copy()
    policy.actor.cpu()  # a trained policy acts on the CPU, like every other policy
    return policy, learner.history


def _train_loop(learner: MAPPO, config: MAPPOConfig, scenario: str, load, env_kwargs: dict,
                budget_slots: int, checkpoint: Path | None, log: TrainingLog,
                progress: bool | None, callback) -> None:
    with tqdm(total=budget_slots, initial=min(learner.slots, budget_slots),
              disable=not show_progress(progress),
              unit="slot", desc=f"MAPPO-{config.mode}") as bar:
        while learner.slots < budget_slots:
            record = learner.iteration(progress=learner.slots / budget_slots)
            if config.test_interval is not None and (
                    learner.updates % config.test_interval == 0 or learner.slots >= budget_slots):
                record |= run_test_evaluation(learner.policy(), config, scenario, load, env_kwargs)
            log.add(record, learner.history)
            bar.update(min(record["slots"], budget_slots) - bar.n)
            bar.set_postfix(queue=f"{record['mean_queue']:.2f}", refresh=False)
            stop = bool(callback(learner.policy(), record)) if callback is not None else False
            done = stop or learner.slots >= budget_slots
            if checkpoint is not None and (done or learner.updates % config.checkpoint_interval == 0):
                learner.save(checkpoint)
            if stop:
                break
