"""DQN for the PF scheduling model (the learning-based benchmark of Eldeeb & Alves, Figs.
4-5): double DQN with a target network and epsilon-greedy exploration, centralised over
the joint actions, independent per AP, or CTDE through Q_tot = sum_i Q_i (VDN); with
``cql_alpha > 0`` it becomes CQL on DQN ("C-MARL-CQL (DQN)" of Fig. 5)."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .. import seeding
from ..seeding import Stream
from .checkpoints import check_fields
from .features import joint_index, split_joint
from .losses import cql_penalty, dqn_targets, sac_critic_loss
from .networks import HeadMLP, head_inputs, head_shapes
from .online import train_online
from .policy import LearnedPolicy

__all__ = ["DQNConfig", "DQNLearner", "train_dqn"]


@dataclass
class DQNConfig:
    """Hyperparameters of DQN.  The laptop defaults mirror :class:`SACConfig`'s (128-unit
    layers, gamma 0.9, reward scale 0.1, Adam 3e-4); ``paper()`` uses the paper's network
    and critic settings (2 x 256, lr 1e-4, gamma 0.99, replay 1e5).

    Exploration: epsilon falls linearly from ``eps_start`` to ``eps_end`` over the first
    ``eps_decay_steps`` transitions the learner chooses.  ``target_interval``: gradient
    steps between copies of the online network into the target network.  Offline training
    (:func:`~rrmbook.offline.train_cql` with a ``DQNConfig``) ignores the fields of online
    collection (``buffer_size``, ``n_envs``, ``warmup_steps``, ``updates_per_step`` and
    the ``eps_*`` fields).

    Attributes
    ----------
    variant : str
        ``"centralised"`` (the default: one Q network over the (N+1)^I joint actions),
        ``"independent"`` (one per AP, its own observation) or ``"ctde"`` (one per AP,
        trained through Q_tot = sum_i Q_i, VDN).
    hidden : int
        Units of each hidden layer of the Q network.  Default 128 (``paper()``: 256).
    layers : int
        Hidden layers (ReLU) of the Q network.  Default 2.
    lr : float
        Adam learning rate.  Default 3e-4 (``paper()``: 1e-4).
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
    eps_start : float
        Exploration epsilon at the first transition, in [``eps_end``, 1].  Default 1.
    eps_end : float
        Exploration epsilon after ``eps_decay_steps`` transitions, in [0, ``eps_start``].
        Default 0.05.
    eps_decay_steps : int
        Transitions over which epsilon falls linearly from ``eps_start`` to ``eps_end``,
        counted over all copies from the first one the learner chooses (after
        ``warmup_steps``).  Default 20_000.
    target_interval : int
        Gradient steps between copies of the online network into the target network.
        Default 500.
    reward_scale : float
        Rewards are multiplied by this before learning.  Default 0.1.
    cql_alpha : float
        Weight alpha of the conservative penalty; 0 (the default) is plain DQN, > 0 gives
        CQL on DQN ("C-MARL-CQL (DQN)" of Fig. 5).
    max_grad_norm : float
        Gradients of the Q network are clipped to this norm.  Default 10.
    checkpoint_interval : int
        Gradient steps between checkpoints (when a checkpoint directory is given).
        Default 2_000.
    """

    variant: str = "centralised"
    hidden: int = 128
    layers: int = 2
    lr: float = 3e-4
    gamma: float = 0.9
    batch_size: int = 256
    buffer_size: int = 100_000
    n_envs: int = 16
    warmup_steps: int = 2_000
    updates_per_step: int = 1
    eps_start: float = 1.0
    eps_end: float = 0.05
    eps_decay_steps: int = 20_000
    target_interval: int = 500
    reward_scale: float = 0.1
    cql_alpha: float = 0.0
    max_grad_norm: float = 10.0
    checkpoint_interval: int = 2_000

    def __post_init__(self) -> None:
        check_fields(self, ("hidden", "layers", "batch_size", "buffer_size", "n_envs",
                            "updates_per_step", "target_interval", "checkpoint_interval",
                            "eps_decay_steps"),
                     ("lr", "reward_scale", "max_grad_norm"), ("cql_alpha", "warmup_steps"))
        if not 0 <= self.eps_end <= self.eps_start <= 1:
            raise ValueError(f"need 0 <= eps_end <= eps_start <= 1, got {self.eps_end}, "
                             f"{self.eps_start}")

    @classmethod
    def paper(cls, **overrides) -> DQNConfig:
        """The paper's network and critic settings (2 x 256, lr 1e-4, gamma 0.99)."""
        return cls(**(dict(hidden=256, lr=1e-4, gamma=0.99) | overrides))

    @classmethod
    def laptop(cls, **overrides) -> DQNConfig:
        """The defaults: learns in minutes on a laptop CPU (see the class docstring)."""
        return cls(**overrides)


class DQNLearner:
    """Q networks, target networks and the double-DQN update (with the CQL penalty when
    ``config.cql_alpha > 0``)."""

    kind = "dqn"

    def __init__(self, config: DQNConfig, n_agents: int, obs_dim: int, n_actions: int,
                 seed: int = 0) -> None:
        self.config = config
        self.n_agents, self.obs_dim, self.n_actions = n_agents, obs_dim, n_actions
        self.heads, inputs, self.head_actions = head_shapes(n_agents, obs_dim, n_actions,
                                                            config.variant)
        g = seeding.torch_generator(seed, Stream.OFFLINE_INIT)
        self.q = HeadMLP(self.heads, inputs, self.head_actions, config.hidden, config.layers, g)
        self.target = copy.deepcopy(self.q).requires_grad_(False)
        self.opt = torch.optim.Adam(self.q.parameters(), lr=config.lr)
        self.updates, self.acted = 0, 0
        self.name = f"{'cql-dqn' if config.cql_alpha > 0 else 'dqn'}-{config.variant}"

    def _heads(self, net, X) -> torch.Tensor:
        return net(head_inputs(X, self.config.variant)).transpose(0, 1)

    def epsilon(self) -> float:
        c = self.config
        frac = min(self.acted / c.eps_decay_steps, 1.0)
        return c.eps_start + frac * (c.eps_end - c.eps_start)

    @torch.no_grad()
    def act(self, X, explore: bool = False, generator: torch.Generator | None = None) -> np.ndarray:
        """Greedy actions (n, I); with ``explore``, epsilon-greedy per head."""
        q = self._heads(self.q, X)
        a = q.argmax(-1)
        if explore:
            eps = self.epsilon()
            self.acted += int(q.shape[0])
            random = torch.randint(0, self.head_actions, a.shape, generator=generator)
            a = torch.where(torch.rand(a.shape, generator=generator) < eps, random, a)
        if self.config.variant == "centralised":
            a = split_joint(a[:, 0], self.n_agents, self.n_actions)
        return a.numpy()

    def update(self, batch: dict[str, np.ndarray]) -> dict:
        c = self.config
        obs, nxt = batch["observations"], batch["next_observations"]
        a = torch.as_tensor(batch["actions"]).long()
        actions = joint_index(a, self.n_actions)[:, None] if c.variant == "centralised" else a
        reward = torch.as_tensor(batch["rewards"], dtype=torch.float32) * c.reward_scale
        decomposed = c.variant == "ctde"
        with torch.no_grad():
            y = dqn_targets(reward, self._heads(self.q, nxt), self._heads(self.target, nxt),
                            c.gamma, decomposed)
        q = self._heads(self.q, obs)
        td = sac_critic_loss(q, actions, y, decomposed)
        penalty = cql_penalty(q, actions)
        loss = td + c.cql_alpha * penalty
        self.opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.q.parameters(), c.max_grad_norm)
        self.opt.step()
        self.updates += 1
        if self.updates % c.target_interval == 0:
            self.target.load_state_dict(self.q.state_dict())
        return {"td_loss": float(td.detach()), "cql_penalty": float(penalty.detach()),
                "epsilon": self.epsilon(),
                "q_mean": float(q.detach().gather(-1, actions[..., None]).mean())}

    def state_dict(self) -> dict:
        return {"kind": self.kind, "config": asdict(self.config),
                "shape": [self.n_agents, self.obs_dim, self.n_actions],
                "q": self.q.state_dict(), "target": self.target.state_dict(),
                "opt": self.opt.state_dict(), "updates": self.updates, "acted": self.acted}

    def load_state_dict(self, state: dict) -> None:
        self.q.load_state_dict(state["q"])
        self.target.load_state_dict(state["target"])
        if "opt" in state:  # learner files ship without optimiser state
            self.opt.load_state_dict(state["opt"])
        self.updates, self.acted = int(state["updates"]), int(state["acted"])

    def policy(self, deterministic: bool = True) -> LearnedPolicy:
        return LearnedPolicy(self, deterministic=deterministic)


def train_dqn(config: DQNConfig | None = None, scenario: str = "pf-4x20", seed: int = 0,
              budget_steps: int = 50_000, **kwargs):
    """Train DQN online; returns ``(policy, history)`` (arguments as
    :func:`rrmbook.offline.sac.train_sac`)."""
    config = DQNConfig() if config is None else config
    if not isinstance(config, DQNConfig):
        raise TypeError(f"config must be a DQNConfig, got {type(config).__name__}")
    return train_online(DQNLearner, config, scenario, seed, budget_steps, **kwargs)
