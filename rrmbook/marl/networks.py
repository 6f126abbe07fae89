"""Recurrent actor and critic networks for MAPPO, with per-agent weights batched as groups.

Zhang & Guo (Sec. III-A, Table II) give every agent a policy network and a value network,
each one recurrent layer (an LSTM) followed by an MLP with two hidden layers of 64 units.
Chapter 5 explains them.

**Groups.**  Every layer here holds ``G`` independent sets of weights, stacked along a leading
axis.  The *shared* mode is ``G = 1``: one network, and the batch axis holds every (copy,
agent) pair.  The *separate* mode is ``G = K``: agent k's rows only ever meet agent k's
weights, so the agents are trained independently, yet one call runs all of them.  Tensors
have the layout ``(G, L, M, features)``: group, time, rows (sequences) of that group.  The
MLP layers and one-slot recurrent steps (acting) use batched matrix products
(``torch.baddbmm``) over all groups at once.

**Recurrence.**  :class:`GroupedRNN` runs an LSTM (or GRU) over the time axis and zeroes
the recurrent state of a row where its episode starts (``starts``), so one call can run a
stored chunk of 64 slots that crosses an episode boundary.  Sequences (training) of an
LSTM with enough work per step go through :func:`rrmbook.marl.lstm.grouped_lstm`, which
runs every group at once as a few large matrix products with a hand-written backward;
small ones go through PyTorch's fused kernels (``torch.lstm``/``torch.gru``, time loop in
C++), one call per group (the only loop over agents, separate mode).

**Actions.**  Per subband the actor outputs factored categorical heads: on the conflict graph
one head over {silent, device 1..D}; in the multi-cell network a device head and a power head.
Padded (dummy) devices are masked out of the device head.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .lstm import grouped_lstm

__all__ = [
    "GroupedLinear",
    "GroupedRNN",
    "RecurrentNet",
    "uses_grouped_lstm",
    "GROUPED_LSTM_MIN_WORK",
    "ValueNorm",
    "masked_heads",
    "head_log_probs",
    "action_log_prob",
    "action_entropy",
    "gumbel_perturb",
    "greedy_actions",
]

#: logit given to masked (padded) devices: its probability underflows to exactly 0
MASKED_LOGIT = -1e9


def _orthogonal(shape: tuple[int, int, int], gain: float, generator: torch.Generator) -> torch.Tensor:
    """``G`` random orthogonal matrices of shape ``shape[1:]``, scaled by ``gain``."""
    weight = torch.empty(shape)
    for g in range(shape[0]):
        nn.init.orthogonal_(weight[g], gain=gain, generator=generator)
    return weight


class GroupedLinear(nn.Module):
    """``G`` independent linear layers: ``x (G, ..., in) -> (G, ..., out)``.

    Weights are orthogonal with the given ``gain``, biases zero (the usual PPO initialisation:
    gain √2 for hidden layers, 0.01 for the policy output, 1 for the value output)."""

    def __init__(self, groups: int, in_features: int, out_features: int, gain: float,
                 generator: torch.Generator) -> None:
        super().__init__()
        self.weight = nn.Parameter(_orthogonal((groups, in_features, out_features), gain, generator))
        self.bias = nn.Parameter(torch.zeros(groups, 1, out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        y = torch.baddbmm(self.bias, x.reshape(lead[0], -1, x.shape[-1]), self.weight)
        return y.reshape(*lead, -1)


#: rows x input features per group and step from which the grouped LSTM beats PyTorch's
#: kernel: on paper-hex19 (8-152 rows x 234 features) MAPPO trains about 1.4x faster with
#: it; on paper-cg8 (8-32 rows x 6 features) the per-step cost of its Python loop loses to
#: the C++ kernel (see ``benchmarks/RESULTS.md``)
GROUPED_LSTM_MIN_WORK = 1024


def uses_grouped_lstm(cell: str, x: torch.Tensor) -> bool:
    """Whether stored sequences ``x (G, L, M, in)`` run through the grouped LSTM."""
    return cell == "lstm" and x.shape[2] * x.shape[3] >= GROUPED_LSTM_MIN_WORK


class GroupedRNN(nn.Module):
    """One recurrent layer (``cell="lstm"`` or ``"gru"``) for ``G`` groups.

    Weights follow PyTorch's ``nn.LSTM``/``nn.GRU`` layout with a leading group axis.  The
    recurrent state is one tensor ``(S, G, M, hidden)``: ``S = 2`` for an LSTM (h, c),
    ``S = 1`` for a GRU."""

    def __init__(self, groups: int, in_features: int, hidden: int, cell: str,
                 generator: torch.Generator) -> None:
        super().__init__()
        if cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
        self.cell, self.hidden = cell, hidden
        gates = (4 if cell == "lstm" else 3) * hidden
        self.n_state = 2 if cell == "lstm" else 1
        self.weight_ih = nn.Parameter(_orthogonal((groups, gates, in_features), 1.0, generator))
        self.weight_hh = nn.Parameter(_orthogonal((groups, gates, hidden), 1.0, generator))
        self.bias_ih = nn.Parameter(torch.zeros(groups, gates))
        self.bias_hh = nn.Parameter(torch.zeros(groups, gates))

    def initial_state(self, rows: int) -> torch.Tensor:
        """Zero recurrent state for ``rows`` rows per group."""
        return torch.zeros(self.n_state, self.weight_ih.shape[0], rows, self.hidden,
                           device=self.weight_ih.device)

    def _sequences(self, g: int, x: torch.Tensor, state: torch.Tensor,
                   starts: torch.Tensor) -> torch.Tensor:
        """Group ``g``: ``x (L, M, in)``, ``state (S, M, hidden)``, ``starts (L, M)`` ->
        outputs ``(L, M, hidden)`` in one call of the fused kernel.

        Every episode start inside the chunk begins a new sequence: the part of a row after
        the start is moved to a row of its own (left-aligned, padded with zeros at the end,
        starting from a zero state), so no reset is needed inside the kernel."""
        L, M = starts.shape
        begins = starts.T.clone()  # (M, L): a sequence begins here
        begins[:, 0] = True
        flat = begins.flatten()  # positions in (row, time) order
        sequence = flat.cumsum(0) - 1  # sequence of every position
        first_step = torch.nonzero(flat).flatten() % L  # where each sequence begins
        offset = torch.arange(L, device=x.device).repeat(M) - first_step[sequence]  # time within its sequence
        packed = x.new_zeros(L, int(flat.sum()), x.shape[-1])
        packed[offset, sequence] = x.transpose(0, 1).reshape(M * L, -1)
        initial = state.new_zeros(state.shape[0], packed.shape[1], state.shape[-1])
        initial[:, sequence[::L]] = state * (~starts[0]).unsqueeze(-1).to(state.dtype)
        params = [self.weight_ih[g], self.weight_hh[g], self.bias_ih[g], self.bias_hh[g]]
        if self.cell == "lstm":
            out = torch.lstm(packed, (initial[0:1], initial[1:2]), params, True, 1, 0.0,
                             self.training, False, False)[0]
        else:
            out = torch.gru(packed, initial, params, True, 1, 0.0, self.training, False, False)[0]
        return out[offset, sequence].reshape(M, L, -1).transpose(0, 1)

    def forward(self, x: torch.Tensor, state: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
        """Run stored sequences: ``x (G, L, M, in)`` from ``state (S, G, M, hidden)``;
        ``starts (G, L, M)`` bool is true where a new episode begins (that row's memory is
        zeroed before the step).  Returns the outputs ``(G, L, M, hidden)``.

        An LSTM with enough work per step runs every group at once through
        :func:`rrmbook.marl.lstm.grouped_lstm` (large batched products, a hand-written
        backward; see :func:`uses_grouped_lstm`); otherwise each group runs through PyTorch's
        fused kernel (``torch.lstm`` / ``torch.gru``), one call per group."""
        if uses_grouped_lstm(self.cell, x):
            return grouped_lstm(x, state, starts, self.weight_ih, self.weight_hh, self.bias_ih,
                                self.bias_hh)
        return torch.stack([self._sequences(g, x[g], state[:, g], starts[g])
                            for g in range(x.shape[0])])

    def step(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One slot (acting) for all groups at once: ``x (G, M, in)`` -> output ``(G, M,
        hidden)`` and the new state.  The cell equations are those of ``nn.LSTM``/``nn.GRU``,
        written out with batched products so that no loop over groups is needed.  The caller
        zeroes the state of rows that start an episode.

        With one group (a shared network) the step is PyTorch's fused cell
        (``torch.lstm_cell`` / ``torch.gru_cell``): the same equations in one call."""
        if self.weight_ih.shape[0] == 1:
            weights = (self.weight_ih[0], self.weight_hh[0], self.bias_ih[0], self.bias_hh[0])
            if self.cell == "lstm":
                h, c = torch.lstm_cell(x[0], (state[0, 0], state[1, 0]), *weights)
                return h[None], torch.stack([h, c])[:, None]
            h = torch.gru_cell(x[0], state[0, 0], *weights)
            return h[None], h[None, None]
        return self.step_equations(x, state)

    def step_equations(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`step` written out: the gates of every group from two batched products,
        then the cell's element-wise equations (what runs with several groups)."""
        h = state[0]
        gx = torch.baddbmm(self.bias_ih.unsqueeze(1), x, self.weight_ih.transpose(1, 2))
        gh = torch.baddbmm(self.bias_hh.unsqueeze(1), h, self.weight_hh.transpose(1, 2))
        if self.cell == "lstm":
            i, f, g, o = (gx + gh).chunk(4, dim=-1)
            c = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            return h, torch.stack([h, c])
        x_r, x_z, x_n = gx.chunk(3, dim=-1)
        h_r, h_z, h_n = gh.chunk(3, dim=-1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        h = n + z * (h - n)
        return h, h.unsqueeze(0)


_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


class RecurrentNet(nn.Module):
    """Recurrent layer, then an MLP, then a linear output (Table II of Zhang & Guo).

    Used for both networks: the actor (``out_features`` = all head logits, ``out_gain``
    0.01, so the initial policy is close to uniform) and the critic (``out_features = 1``,
    ``out_gain`` 1).  Input is the agent's local aggregate X_k only: the critic never sees
    the global state (decentralised training, Sec. III-B)."""

    def __init__(self, groups: int, in_features: int, out_features: int, *, hidden: int = 64,
                 layers: int = 2, cell: str = "lstm", activation: str = "tanh",
                 out_gain: float = 1.0, generator: torch.Generator) -> None:
        super().__init__()
        self.rnn = GroupedRNN(groups, in_features, hidden, cell, generator)
        body: list[nn.Module] = []
        for _ in range(layers):
            body += [GroupedLinear(groups, hidden, hidden, math.sqrt(2), generator),
                     _ACTIVATIONS[activation]()]
        self.mlp = nn.Sequential(*body)
        self.out = GroupedLinear(groups, hidden, out_features, out_gain, generator)

    def initial_state(self, rows: int) -> torch.Tensor:
        return self.rnn.initial_state(rows)

    def forward(self, x: torch.Tensor, state: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
        """Sequences ``x (G, L, M, in)`` from the recurrent ``state`` at their start ->
        ``(G, L, M, out)`` (``starts`` as in :meth:`GroupedRNN.forward`)."""
        return self.out(self.mlp(self.rnn(x, state, starts)))

    def step(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One slot ``x (G, M, in)`` -> ``(G, M, out)`` and the new recurrent state."""
        features, state = self.rnn.step(x, state)
        for layer in self.mlp:  # direct calls: one slot is small, module dispatch is not
            features = layer.forward(features)
        return self.out.forward(features), state


class ValueNorm(nn.Module):
    """Running normaliser of value targets, one per group (MAPPO's ``ValueNorm``, no PopArt).

    Keeps exponentially weighted, debiased means of the targets and of their squares
    (``beta`` close to 1 averages over many updates).  The critic learns normalised targets;
    :meth:`denormalize` turns its output back into returns for GAE."""

    def __init__(self, groups: int, beta: float = 0.99999, eps: float = 1e-5) -> None:
        super().__init__()
        self.beta, self.eps = beta, eps
        self.register_buffer("running_mean", torch.zeros(groups, dtype=torch.float64))
        self.register_buffer("running_mean_sq", torch.zeros(groups, dtype=torch.float64))
        self.register_buffer("debias", torch.zeros(groups, dtype=torch.float64))

    def _stats(self, ndim: int) -> tuple[torch.Tensor, torch.Tensor]:
        debias = self.debias.clamp(min=self.eps)
        mean = self.running_mean / debias
        var = (self.running_mean_sq / debias - mean ** 2).clamp(min=1e-2)
        shape = (-1,) + (1,) * (ndim - 1)
        return mean.float().view(shape), var.sqrt().float().view(shape)

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Fold a batch of targets ``x (G, ...)`` into the running statistics."""
        flat = x.detach().reshape(x.shape[0], -1).double()
        self.running_mean.mul_(self.beta).add_((1 - self.beta) * flat.mean(1))
        self.running_mean_sq.mul_(self.beta).add_((1 - self.beta) * (flat ** 2).mean(1))
        self.debias.mul_(self.beta).add_(1 - self.beta)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats(x.ndim)
        return (x - mean) / std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats(x.ndim)
        return x * std + mean


# ---------------------------------------------------------------------- action distribution
def masked_heads(logits: torch.Tensor, device_mask: torch.Tensor,
                 head_sizes: tuple[int, ...]) -> tuple[torch.Tensor, ...]:
    """Split the actor output ``(..., H, sum(head_sizes))`` into per-subband heads.

    Head 0 chooses the device (0 = silent); ``device_mask (..., 1, D+1)`` is false for
    padded dummy devices, whose logits are set to :data:`MASKED_LOGIT` (probability 0).  A
    second head, if any, chooses the power level (multi-cell network)."""
    parts = logits.split(head_sizes, dim=-1)
    return (parts[0].masked_fill(~device_mask, MASKED_LOGIT), *parts[1:])


def head_log_probs(logits: torch.Tensor, device_mask: torch.Tensor,
                   head_sizes: tuple[int, ...]) -> tuple[torch.Tensor, ...]:
    """Log-probabilities of every head (see :func:`masked_heads`)."""
    return tuple(torch.log_softmax(h, dim=-1) for h in masked_heads(logits, device_mask, head_sizes))


def action_log_prob(log_probs: tuple[torch.Tensor, ...], actions: torch.Tensor) -> torch.Tensor:
    """log π(a | X) of a joint action ``actions (..., H, n_heads)``, summed over subbands.

    The power choice counts only where a device is served: a silent subband's power level
    has no effect, so it is not part of the action."""
    logp = log_probs[0].gather(-1, actions[..., :1]).squeeze(-1)
    if len(log_probs) == 2:
        served = (actions[..., 0] != 0).to(logp.dtype)
        logp = logp + served * log_probs[1].gather(-1, actions[..., 1:]).squeeze(-1)
    return logp.sum(-1)


def _entropy(logp: torch.Tensor) -> torch.Tensor:
    return -(logp.exp() * logp).sum(-1)


def action_entropy(log_probs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Entropy of the joint action, summed over subbands: H(device) + P(served)·H(power)
    (the exact entropy of the effective action, matching :func:`action_log_prob`)."""
    ent = _entropy(log_probs[0])
    if len(log_probs) == 2:
        ent = ent + (1 - log_probs[0][..., 0].exp()) * _entropy(log_probs[1])
    return ent.sum(-1)


def gumbel_perturb(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """``logits`` plus independent standard Gumbel noise: the argmax of every head of the
    result is a sample from that head's softmax (the Gumbel-max trick), reproducible with
    ``generator``.  Sampling an action is ``greedy_actions(masked_heads(gumbel_perturb(...)))``."""
    # drawn where the generator lives (the CPU), then moved: the same samples on any device
    u = torch.rand(logits.shape, generator=generator).clamp_(min=1e-20).to(logits.device)
    return logits - torch.log(-torch.log(u))


def greedy_actions(scores: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The most likely choice of every head (``scores``: logits or log-probabilities):
    ``(..., H, n_heads)`` int64."""
    return torch.stack([s.argmax(-1) for s in scores], dim=-1)
