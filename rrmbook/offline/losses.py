"""Loss pieces of discrete SAC, DQN and CQL as pure functions (Eldeeb & Alves Sec. III–IV).

One shape convention covers the three ways of splitting the team into learners:
``q``, ``logits`` (n, H, A) and ``actions`` (n, H) hold H *heads*: H = 1 head over the
(N+1)^I joint actions for the centralised learner (E-19, E-26), H = I heads over each
AP's N+1 actions for independent learners (E-21, E-27) and for CTDE by value
decomposition (E-23, E-24, E-28).  The team reward ``reward`` (n,) is shared by all heads.
"""

from __future__ import annotations

import torch

__all__ = ["soft_state_value", "sac_targets", "sac_critic_loss", "sac_actor_loss",
           "temperature_loss", "cql_penalty", "dqn_targets", "joint_q_table",
           "vdn_logsumexp"]


def soft_state_value(q: torch.Tensor, logits: torch.Tensor, tau: torch.Tensor | float) -> torch.Tensor:
    """Soft value of discrete SAC per head: V(s) = sum_a pi(a|s) (Q(s,a) - tau log pi(a|s)),
    the inner expectation of (E-17).  ``q``, ``logits`` (n, H, A) -> (n, H)."""
    logp = torch.log_softmax(logits, dim=-1)
    return (logp.exp() * (q - tau * logp)).sum(-1)


def sac_targets(reward: torch.Tensor, next_q: torch.Tensor, next_logits: torch.Tensor,
                tau: torch.Tensor | float, gamma: float, decomposed: bool,
                done: torch.Tensor | None = None) -> torch.Tensor:
    """Critic targets y of (E-19)/(E-21) (``decomposed=False``: one target per head,
    (n, H)) or of (E-24) (``decomposed=True``: one team target for the sum of the heads,
    (n,)): r + gamma * V(s') with V the soft value of the target critic under the current
    policy.  ``done`` (n,) marks true terminal states (none in the PF model: episodes end
    by truncation and are bootstrapped)."""
    v = soft_state_value(next_q, next_logits, tau)                       # (n, H)
    if done is not None:
        v = v * (1.0 - done.float())[:, None]
    return reward + gamma * v.sum(-1) if decomposed else reward[:, None] + gamma * v


def _taken(q: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    return q.gather(-1, actions.long()[..., None])[..., 0]               # (n, H)


def sac_critic_loss(q: torch.Tensor, actions: torch.Tensor, targets: torch.Tensor,
                    decomposed: bool) -> torch.Tensor:
    """The policy evaluation loss 1/2 E[(y - Q(s, a))^2] (the 1/2 of (E-26)-(E-28)): per head
    and summed over heads, or, ``decomposed``, for Q_tot = sum_i Q_i(o_i, a_i) (E-23)."""
    taken = _taken(q, actions)
    if decomposed:
        return 0.5 * ((taken.sum(-1) - targets) ** 2).mean()
    return 0.5 * ((taken - targets) ** 2).mean(0).sum()


def sac_actor_loss(q: torch.Tensor, logits: torch.Tensor, tau: torch.Tensor | float) -> torch.Tensor:
    """Policy improvement (E-18), (E-20), (E-22) in its discrete form: minimise
    E_s sum_a pi(a|s) (tau log pi(a|s) - Q(s, a)), summed over heads (``q`` is held fixed)."""
    logp = torch.log_softmax(logits, dim=-1)
    return (logp.exp() * (tau * logp - q.detach())).sum(-1).mean(0).sum()


def temperature_loss(log_tau: torch.Tensor, logits: torch.Tensor, target_entropy: float) -> torch.Tensor:
    """Automatic entropy tuning of discrete SAC: raises tau when the policy's entropy falls
    below ``target_entropy`` (per head), lowers it above."""
    logp = torch.log_softmax(logits.detach(), dim=-1)
    entropy = -(logp.exp() * logp).sum(-1)                               # (n, H)
    return (log_tau.exp() * (entropy - target_entropy)).mean()


def cql_penalty(q: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """The conservative term of (E-26)-(E-28): E[logsumexp_a Q(s, .) - Q(s, a_data)], summed
    over heads.  For the centralised learner it is the joint penalty (E-26); for
    independent learners each agent's (E-27); for CTDE it equals the penalty of
    Q_tot = sum_i Q_i over all joint actions (E-28), because the logsumexp of a sum of
    functions of separate variables is the sum of their logsumexps (:func:`vdn_logsumexp`).
    Always >= 0."""
    return (torch.logsumexp(q, dim=-1) - _taken(q, actions)).mean(0).sum()


def dqn_targets(reward: torch.Tensor, next_q_online: torch.Tensor, next_q_target: torch.Tensor,
                gamma: float, decomposed: bool) -> torch.Tensor:
    """Double-DQN targets: r + gamma Q_target(s', argmax_a Q_online(s', a)) per head (n, H),
    or for the sum of the heads when ``decomposed`` (VDN), (n,)."""
    best = next_q_online.argmax(-1, keepdim=True)
    v = next_q_target.gather(-1, best)[..., 0]                           # (n, H)
    return reward + gamma * v.sum(-1) if decomposed else reward[:, None] + gamma * v


def joint_q_table(q_agents: torch.Tensor) -> torch.Tensor:
    """Q_tot of every joint action (E-23): ``q_agents`` (n, I, A) -> (n, A^I) with
    Q_tot(a_0, ..., a_{I-1}) = sum_i Q_i(a_i), agent 0 the fastest-changing digit (as in
    :func:`rrmbook.offline.features.joint_index`).  A^I entries: for teaching and tests."""
    n, n_agents, A = q_agents.shape
    table = torch.zeros(n, *([A] * n_agents))
    for i in range(n_agents):
        shape = [n] + [1] * n_agents
        shape[n_agents - i] = A            # agent 0 is the last (fastest) axis
        table = table + q_agents[:, i].reshape(shape)
    return table.reshape(n, -1)


def vdn_logsumexp(q_agents: torch.Tensor) -> torch.Tensor:
    """logsumexp over all joint actions of Q_tot = sum_i Q_i, computed the cheap way:
    sum_i logsumexp_a Q_i(a).  (n, I, A) -> (n,)."""
    return torch.logsumexp(q_agents, dim=-1).sum(-1)
