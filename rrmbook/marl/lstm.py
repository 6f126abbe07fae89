"""A grouped LSTM over stored sequences with a hand-written backward pass.

Training MAPPO runs the actor's and the critic's LSTM over every stored 64-slot chunk, for
every group of weights (one group in shared mode, one per agent in separate mode), several
epochs per update.  Autograd through PyTorch's CPU LSTM computes the weight gradients one
time step at a time (64 small products per weight and chunk) and needs one kernel call per
group.  Here the work is arranged as a few large matrix products instead:

* forward: the input projection of all time steps at once (``X W_ihᵀ``, one batched product
  over groups), then the recurrence, one small batched product ``h W_hhᵀ`` per step;
* backward: the recurrence backwards, one batched product ``δ W_hh`` per step, then the
  weight gradients of all time steps at once (``δᵀ X`` and ``δᵀ H``).

The equations are those of ``torch.nn.LSTM`` (gates i, f, g, o in that order).  Episode
starts inside a chunk zero the state of their row before the step (``starts``), exactly as
:meth:`rrmbook.marl.networks.GroupedRNN.step` does while acting, so no re-packing of the
sequences is needed.  ``tests/test_marl_speed.py`` checks outputs and gradients against
autograd through the step-by-step cell.
"""

from __future__ import annotations

import torch

__all__ = ["grouped_lstm"]


def _forward_steps(gates_x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, keep: torch.Tensor,
                   w_hh_t: torch.Tensor, acts: torch.Tensor, cells: torch.Tensor,
                   h_prev: torch.Tensor, c_prev: torch.Tensor, out: torch.Tensor) -> None:
    """The recurrence, step by step.  Fills the time-major buffers ``acts`` (activated gates), ``cells``,
    ``h_prev``/``c_prev`` (the masked state each step started from) and ``out``."""
    n = w_hh_t.shape[2] // 4
    for t in range(gates_x.shape[1]):
        k = keep[:, t]
        h = torch.mul(h, k, out=h_prev[t])
        c = torch.mul(c, k, out=c_prev[t])
        a = torch.baddbmm(gates_x[:, t], h, w_hh_t, out=acts[t])
        a[..., :2 * n].sigmoid_()
        a[..., 2 * n:3 * n].tanh_()
        a[..., 3 * n:].sigmoid_()
        i, f, g, o = a[..., :n], a[..., n:2 * n], a[..., 2 * n:3 * n], a[..., 3 * n:]
        c = torch.addcmul(f * c, i, g, out=cells[t])
        h = torch.mul(o, torch.tanh(c), out=out[t])


def _backward_steps(grad_out: torch.Tensor, acts: torch.Tensor, cells: torch.Tensor,
                    c_prev: torch.Tensor, keep: torch.Tensor, weight_hh: torch.Tensor,
                    d_gates: torch.Tensor, dh: torch.Tensor,
                    dc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The recurrence backwards: fills ``d_gates`` (the gradient of the pre-activation
    gates of every step) and returns the gradients of the initial h and c."""
    n = weight_hh.shape[2]
    steps = acts.shape[0]
    for s in range(steps):
        t = steps - 1 - s
        a = acts[t]
        i, f, g, o = a[..., :n], a[..., n:2 * n], a[..., 2 * n:3 * n], a[..., 3 * n:]
        tc = torch.tanh(cells[t])
        dh = dh + grad_out[:, t]
        dc = torch.addcmul(dc, dh * o, 1 - tc * tc)
        d = d_gates[:, t]
        torch.mul(dc * g, i * (1 - i), out=d[..., :n])
        torch.mul(dc * c_prev[t], f * (1 - f), out=d[..., n:2 * n])
        torch.mul(dc * i, 1 - g * g, out=d[..., 2 * n:3 * n])
        torch.mul(dh * tc, o * (1 - o), out=d[..., 3 * n:])
        k = keep[:, t]
        dh = torch.bmm(d, weight_hh) * k
        dc = dc * f * k
    return dh, dc


class _GroupedLSTM(torch.autograd.Function):
    """Forward and backward of :func:`grouped_lstm`.  Per-step buffers are time-major
    ``(L, G, M, ...)`` so that every step reads and writes contiguous memory."""

    @staticmethod
    def forward(ctx, x, h0, c0, keep, weight_ih, weight_hh, bias_ih, bias_hh):
        G, L, M, _ = x.shape
        hidden = weight_hh.shape[-1]
        gates_x = torch.baddbmm((bias_ih + bias_hh).unsqueeze(1), x.reshape(G, L * M, -1),
                                weight_ih.transpose(1, 2)).view(G, L, M, 4 * hidden)
        acts = x.new_empty(L, G, M, 4 * hidden)
        cells, h_prev, c_prev, out = (x.new_empty(L, G, M, hidden) for _ in range(4))
        _forward_steps(gates_x, h0, c0, keep, weight_hh.transpose(1, 2), acts, cells, h_prev,
                       c_prev, out)
        ctx.save_for_backward(x, keep, weight_ih, weight_hh, acts, cells, h_prev, c_prev)
        return out.transpose(0, 1)

    @staticmethod
    def backward(ctx, grad_out):
        x, keep, weight_ih, weight_hh, acts, cells, h_prev, c_prev = ctx.saved_tensors
        G, L, M, _ = x.shape
        hidden = weight_hh.shape[-1]
        d_gates = x.new_empty(G, L, M, 4 * hidden)
        zeros = grad_out.new_zeros(G, M, hidden)
        dh, dc = _backward_steps(grad_out.contiguous(), acts, cells, c_prev, keep, weight_hh,
                                 d_gates, zeros, zeros.clone())
        flat = d_gates.view(G, L * M, 4 * hidden).transpose(1, 2)
        grad_w_ih = torch.bmm(flat, x.reshape(G, L * M, -1))
        grad_w_hh = torch.bmm(flat, h_prev.transpose(0, 1).reshape(G, L * M, hidden))
        grad_b = d_gates.sum(dim=(1, 2))
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.bmm(d_gates.view(G, L * M, -1), weight_ih).view_as(x)
        return grad_x, dh, dc, None, grad_w_ih, grad_w_hh, grad_b, grad_b


def grouped_lstm(x: torch.Tensor, state: torch.Tensor, starts: torch.Tensor,
                 weight_ih: torch.Tensor, weight_hh: torch.Tensor, bias_ih: torch.Tensor,
                 bias_hh: torch.Tensor) -> torch.Tensor:
    """Run ``G`` LSTMs over stored sequences.

    ``x (G, L, M, in)``; ``state (2, G, M, hidden)`` the (h, c) before the first step;
    ``starts (G, L, M)`` bool, true where a row begins a new episode (its state is zeroed
    before that step); weights in ``nn.LSTM``'s layout with a leading group axis.  Returns
    the hidden outputs ``(G, L, M, hidden)``; differentiable in the weights, the input and
    the initial state."""
    keep = (~starts).unsqueeze(-1).to(x.dtype)
    return _GroupedLSTM.apply(x, state[0], state[1], keep, weight_ih, weight_hh, bias_ih,
                              bias_hh)
