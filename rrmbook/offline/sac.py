"""Discrete soft actor-critic for the PF scheduling model, centralised, independent or
CTDE (Eldeeb & Alves Sec. III-B/C), with an optional conservative (CQL) penalty that turns
it into the offline learners of Sec. IV (see :mod:`rrmbook.offline.cql`).

Per head (one for the centralised learner, one per AP otherwise; see
:mod:`rrmbook.offline.losses`) an actor gives pi(a | input) and twin critics give Q(input, .)
for every action at once.  One update:

1. critic targets r + gamma V(s') from the target critics (minimum of the twins) and the
   current actor (E-17, E-19, E-21; E-24 for CTDE, where the heads' values add up);
2. critic loss 1/2 (y - Q)^2 (+ alpha times the CQL penalty of (E-26)-(E-28));
3. actor loss sum_a pi (tau log pi - Q) (E-18, E-20, E-22);
4. temperature tau tuned towards a target entropy; target critics follow by Polyak
   averaging.

:func:`train_sac` runs it online on ``pf-4x20``; checkpoints are atomic and resumable.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch

from .. import seeding
from ..seeding import Stream
from .checkpoints import check_fields
from .features import joint_index, split_joint
from .losses import (
    cql_penalty,
    joint_q_table,
    sac_actor_loss,
    sac_critic_loss,
    sac_targets,
    temperature_loss,
)
from .networks import HeadMLP, head_inputs, head_shapes
from .online import train_online
from .policy import LearnedPolicy

__all__ = ["SACConfig", "SACLearner", "train_sac"]


@dataclass
class SACConfig:
    """Hyperparameters of discrete SAC (and of CQL on top of it).

    ``paper()`` is Table III of Eldeeb & Alves (2 x 256 ReLU layers, Adam, actor lr 1e-5,
    critic lr 1e-4, gamma 0.99, replay 1e5, alpha 1 for CQL).  ``laptop()`` (the default)
    learns in minutes on 2 cores: a larger actor learning rate (3e-4: with 1e-5 the actor
    needs hundreds of thousands of updates to follow its critic), 128-unit layers, and
    gamma 0.9 (the PF reward is mostly immediate: what an action changes later is only the
    PF weights, whose memory is about 1 / eta = 10 steps; gamma 0.99 mostly adds variance).

    Fields that only online training reads (:func:`train_sac`: ``buffer_size``,
    ``n_envs``, ``warmup_steps``, ``updates_per_step``) are ignored by offline training
    (:func:`~rrmbook.offline.train_cql`), which samples its batches from a dataset.

    Attributes
    ----------
    variant : str
        ``"centralised"`` (the default: one network over the (N+1)^I joint actions, input
        all observations), ``"independent"`` (one per AP, its own observation and reward)
        or ``"ctde"`` (one per AP, trained through Q_tot = sum_i Q_i).
    critic_input : str
        What the per-agent critics of ``"independent"`` and ``"ctde"`` read: ``"own"``
        (the default: the AP's observation, Q_i(o_i, a_i) as in (E-23)) or ``"state"``
        (all observations, Q_i(s, a_i): centralised training with decentralised actors).
        ``"joint"`` (CTDE only) replaces the sum Q_tot = sum_i Q_i by one critic Q(s, a)
        over the joint actions, as the centralised learner's, and trains the per-AP
        actors against it under their *product* policy pi(a | s) = prod_i pi_i(a_i | o_i):
        the critic can value "serve only if the others are silent", and the actors learn
        what each AP should do when the others act on their own observations too (the
        centralised critic of Lowe et al.'s MADDPG, for discrete actions with the
        expectation over the joint actions computed exactly).  The actors always read only
        their own observation.
    hidden : int
        Units of each hidden layer of the actor and critic MLPs.  Default 128
        (``paper()``: 256).
    layers : int
        Hidden layers (ReLU) of each MLP.  Default 2.
    actor_lr : float
        Adam learning rate of the actor.  Default 3e-4 (``paper()``: 1e-5).
    critic_lr : float
        Adam learning rate of the twin critics.  Default 3e-4 (``paper()``: 1e-4).
    temperature_lr : float
        Adam learning rate of the log-temperature (when ``auto_temperature``).  Default
        1e-3.
    gamma : float
        Discount factor (the paper's beta), per step.  Default 0.9 (``paper()``: 0.99).
    batch_size : int
        Transitions per gradient step.  Default 256.
    buffer_size : int
        Replay memory of online training, in transitions.  Default 100_000.
    n_envs : int
        Environment copies stepped together when collecting online; one collection step
        adds ``n_envs`` transitions.  Default 16.
    warmup_steps : int
        Transitions collected with a uniform random policy before learning starts
        (online).  Default 2_000.
    updates_per_step : int
        Gradient steps per collected batch of ``n_envs`` transitions (online).  Default 1.
    polyak : float
        Fraction, in (0, 1], by which the target critics move towards the critics after
        each gradient step.  Default 0.01.
    init_temperature : float
        Initial entropy weight tau (> 0).  Default 1.
    auto_temperature : bool
        Tune tau towards the target entropy ``target_entropy_ratio * log(actions per
        head)``; ``False`` keeps ``init_temperature``.  Default True.
    target_entropy_ratio : float
        The target entropy as a fraction, in [0, 1], of the maximum log(actions per head).
        Default 0.5.
    reward_scale : float
        Rewards are multiplied by this before learning (so Q values are of order 1-10).
        Default 0.1.
    cql_alpha : float
        Weight alpha of the conservative penalty of (E-26)-(E-28); 0 (the default) is plain
        SAC, :class:`~rrmbook.offline.CQLConfig` uses 1.
    max_grad_norm : float
        Gradients of each network are clipped to this norm.  Default 10.
    checkpoint_interval : int
        Gradient steps between checkpoints (when a checkpoint directory is given).
        Default 2_000.
    """

    variant: str = "centralised"
    critic_input: str = "own"
    hidden: int = 128
    layers: int = 2
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    temperature_lr: float = 1e-3
    gamma: float = 0.9
    batch_size: int = 256
    buffer_size: int = 100_000
    n_envs: int = 16
    warmup_steps: int = 2_000
    updates_per_step: int = 1
    polyak: float = 0.01
    init_temperature: float = 1.0
    auto_temperature: bool = True
    target_entropy_ratio: float = 0.5
    reward_scale: float = 0.1
    cql_alpha: float = 0.0
    max_grad_norm: float = 10.0
    checkpoint_interval: int = 2_000

    def __post_init__(self) -> None:
        check_fields(self, ("hidden", "layers", "batch_size", "buffer_size", "n_envs",
                            "updates_per_step", "checkpoint_interval"),
                     ("actor_lr", "critic_lr", "temperature_lr", "init_temperature",
                      "reward_scale", "max_grad_norm"), ("cql_alpha", "warmup_steps"))
        if self.critic_input not in ("own", "state", "joint"):
            raise ValueError(f"critic_input must be 'own', 'state' or 'joint', got "
                             f"{self.critic_input!r}")
        if self.critic_input == "joint" and self.variant != "ctde":
            raise ValueError(f"critic_input='joint' needs variant='ctde', got "
                             f"{self.variant!r}")
        if not 0 < self.polyak <= 1:
            raise ValueError(f"polyak must be in (0, 1], got {self.polyak!r}")
        if not 0 <= self.target_entropy_ratio <= 1:
            raise ValueError(f"target_entropy_ratio must be in [0, 1], got "
                             f"{self.target_entropy_ratio!r}")

    @classmethod
    def paper(cls, **overrides) -> SACConfig:
        """Table III of Eldeeb & Alves."""
        params = dict(hidden=256, layers=2, actor_lr=1e-5, critic_lr=1e-4, gamma=0.99,
                      buffer_size=100_000)
        return cls(**(params | overrides))

    @classmethod
    def laptop(cls, **overrides) -> SACConfig:
        """The defaults: learns in minutes on a laptop CPU (see the class docstring)."""
        return cls(**overrides)

    @classmethod
    def fields(cls) -> list[str]:
        return [f.name for f in fields(cls)]


class SACLearner:
    """Networks, optimisers and the update of discrete SAC (with the CQL penalty when
    ``config.cql_alpha > 0``) for ``n_agents`` APs with ``obs_dim`` observations and
    ``n_actions`` actions each."""

    kind = "sac"

    def __init__(self, config: SACConfig, n_agents: int, obs_dim: int, n_actions: int,
                 seed: int = 0) -> None:
        self.config = config
        self.n_agents, self.obs_dim, self.n_actions = n_agents, obs_dim, n_actions
        self.heads, inputs, self.head_actions = head_shapes(n_agents, obs_dim, n_actions,
                                                            config.variant)
        self._state_critic = config.critic_input == "state"
        self._joint = config.critic_input == "joint"
        critic_shape = head_shapes(n_agents, obs_dim, n_actions,
                                   "centralised" if self._joint else config.variant,
                                   self._state_critic)
        g = seeding.torch_generator(seed, Stream.OFFLINE_INIT)
        make = lambda shape, gain: HeadMLP(shape[0], shape[1], shape[2],  # noqa: E731
                                           config.hidden, config.layers, g, out_gain=gain)
        self.actor = make((self.heads, inputs, self.head_actions), 0.01)
        self.critics = torch.nn.ModuleList([make(critic_shape, 1.0), make(critic_shape, 1.0)])
        self.targets = copy.deepcopy(self.critics).requires_grad_(False)
        self.log_tau = torch.tensor(math.log(config.init_temperature), requires_grad=True)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=config.actor_lr)
        self.critic_opt = torch.optim.Adam(self.critics.parameters(), lr=config.critic_lr)
        self.tau_opt = torch.optim.Adam([self.log_tau], lr=config.temperature_lr)
        self.target_entropy = config.target_entropy_ratio * math.log(self.head_actions)
        self.updates = 0
        self.name = f"{'cql' if config.cql_alpha > 0 else 'sac'}-{config.variant}" \
            + ("-joint" if self._joint else "")

    # ---------------------------------------------------------------- forward
    def _heads(self, net, X, state: bool = False) -> torch.Tensor:
        """(n, H, A) outputs of a network for observations (n, I, 2N)."""
        return net(head_inputs(X, self.config.variant, state)).transpose(0, 1)

    def _critic(self, net, X) -> torch.Tensor:
        """(n, H, A) critic outputs: one head over the joint actions for a joint critic."""
        if self._joint:
            return net(head_inputs(X, "centralised")).transpose(0, 1)
        return self._heads(net, X, self._state_critic)

    def _policy_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """The actor's logits in the critic's action space: for a joint critic the log of
        the product policy over all joint actions, (n, 1, A^I)."""
        if self._joint:
            return joint_q_table(torch.log_softmax(logits, -1))[:, None]
        return logits

    def _head_actions(self, actions) -> torch.Tensor:
        a = torch.as_tensor(actions).long()
        return joint_index(a, self.n_actions)[:, None] \
            if self.config.variant == "centralised" or self._joint else a

    @torch.no_grad()
    def act(self, X, explore: bool = False, generator: torch.Generator | None = None) -> np.ndarray:
        """Actions (n, I) for observations (n, I, 2N): sampled from pi, or its most likely."""
        logits = self._heads(self.actor, X)
        if explore:
            u = torch.rand(logits.shape, generator=generator).clamp_(1e-9, 1 - 1e-9)
            logits = logits - torch.log(-torch.log(u))  # Gumbel-max sampling
        a = logits.argmax(-1)
        if self.config.variant == "centralised":
            a = split_joint(a[:, 0], self.n_agents, self.n_actions)
        return a.numpy()

    @torch.no_grad()
    def act_by_critic(self, X) -> np.ndarray:
        """Actions (n, I) greedy in the critics (the minimum of the twins) instead of the
        actor: every AP's argmax of its own Q_i(o_i, .) for independent and CTDE learners,
        as (E-25) prescribes, or the best joint action for the centralised learner.  A
        critic that reads the whole state (``critic_input`` "state" or "joint") cannot act
        for one AP alone, so it is refused."""
        if self._state_critic or self._joint:
            raise ValueError(f"acting by the critic needs per-AP critics on the AP's own "
                             f"observation; this learner's critic_input is "
                             f"{self.config.critic_input!r}")
        q = torch.minimum(*(self._critic(c, X) for c in self.critics))
        a = q.argmax(-1)
        if self.config.variant == "centralised":
            a = split_joint(a[:, 0], self.n_agents, self.n_actions)
        return a.numpy()

    @property
    def tau(self) -> torch.Tensor:
        return self.log_tau.exp()

    # ---------------------------------------------------------------- update
    def update(self, batch: dict[str, np.ndarray]) -> dict:
        """One gradient step on a batch of transitions (dataset field names)."""
        c = self.config
        obs, nxt = batch["observations"], batch["next_observations"]
        actions = self._head_actions(batch["actions"])
        reward = torch.as_tensor(batch["rewards"], dtype=torch.float32) * c.reward_scale
        done = torch.as_tensor(batch["terminations"])
        decomposed = c.variant == "ctde" and not self._joint
        tau = self.tau.detach()
        with torch.no_grad():
            next_logits = self._policy_logits(self._heads(self.actor, nxt))
            next_q = torch.minimum(*(self._critic(t, nxt) for t in self.targets))
            y = sac_targets(reward, next_q, next_logits, tau, c.gamma, decomposed, done)
        qs = [self._critic(q, obs) for q in self.critics]
        critic = sum(sac_critic_loss(q, actions, y, decomposed) for q in qs)
        penalty = sum(cql_penalty(q, actions) for q in qs) / len(qs)
        loss = critic + c.cql_alpha * len(qs) * penalty
        self.critic_opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.critics.parameters(), c.max_grad_norm)
        self.critic_opt.step()

        logits = self._heads(self.actor, obs)
        q_min = torch.minimum(*qs).detach()
        actor = sac_actor_loss(q_min, self._policy_logits(logits), tau)
        self.actor_opt.zero_grad()
        actor.backward()
        torch.nn.utils.clip_grad_norm_(self.actor.parameters(), c.max_grad_norm)
        self.actor_opt.step()

        if c.auto_temperature:
            t_loss = temperature_loss(self.log_tau, logits, self.target_entropy)
            self.tau_opt.zero_grad()
            t_loss.backward()
            self.tau_opt.step()
        with torch.no_grad():
            for t, q in zip(self.targets.parameters(), self.critics.parameters(), strict=True):
                t.lerp_(q, c.polyak)
        self.updates += 1
        logp = torch.log_softmax(logits.detach(), -1)
        return {"critic_loss": float(critic.detach()), "cql_penalty": float(penalty.detach()),
                "actor_loss": float(actor.detach()), "temperature": float(self.tau.detach()),
                "entropy": float(-(logp.exp() * logp).sum(-1).mean()),
                "q_mean": float(q_min.gather(-1, actions[..., None]).mean())}

    # ---------------------------------------------------------------- files
    def state_dict(self) -> dict:
        return {"kind": self.kind, "config": asdict(self.config),
                "shape": [self.n_agents, self.obs_dim, self.n_actions],
                "actor": self.actor.state_dict(), "critics": self.critics.state_dict(),
                "targets": self.targets.state_dict(), "log_tau": self.log_tau.detach().clone(),
                "actor_opt": self.actor_opt.state_dict(), "critic_opt": self.critic_opt.state_dict(),
                "tau_opt": self.tau_opt.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critics.load_state_dict(state["critics"])
        self.targets.load_state_dict(state["targets"])
        with torch.no_grad():
            self.log_tau.copy_(state["log_tau"])
        if "actor_opt" in state:  # learner files ship without optimiser state
            self.actor_opt.load_state_dict(state["actor_opt"])
        if "critic_opt" in state:  # learner files ship without optimiser state
            self.critic_opt.load_state_dict(state["critic_opt"])
        if "tau_opt" in state:  # learner files ship without optimiser state
            self.tau_opt.load_state_dict(state["tau_opt"])
        self.updates = int(state["updates"])

    def policy(self, deterministic: bool = True, act_by: str = "actor") -> LearnedPolicy:
        return LearnedPolicy(self, deterministic=deterministic, act_by=act_by)


def train_sac(config: SACConfig | None = None, scenario: str = "pf-4x20", seed: int = 0,
              budget_steps: int = 50_000, **kwargs):
    """Train discrete SAC online; returns ``(policy, history)``.  ``budget_steps`` counts
    transitions (one copy advancing one step); keyword arguments as
    :func:`rrmbook.offline.online.train_online` (checkpoint_dir, resume, progress,
    eval_every, callback, env_kwargs, overwrite, and the logs ``log_csv`` and
    ``tensorboard_dir``)."""
    config = SACConfig() if config is None else config
    if not isinstance(config, SACConfig):
        raise TypeError(f"config must be a SACConfig, got {type(config).__name__}")
    return train_online(SACLearner, config, scenario, seed, budget_steps, **kwargs)
