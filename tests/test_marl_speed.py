"""The optimised training path against straightforward references: the grouped LSTM with its
hand-written backward against autograd through the step-by-step cell (the cell MAPPO acts
with), and a whole MAPPO update through either recurrent path."""

from __future__ import annotations

import pytest
import torch

import rrmbook
from rrmbook.marl import MAPPOConfig, networks
from rrmbook.marl import mappo as mappo_module
from rrmbook.marl.lstm import grouped_lstm
from rrmbook.marl.mappo import MAPPO
from rrmbook.marl.networks import GroupedRNN, uses_grouped_lstm


def _reference(rnn: GroupedRNN, x, state, starts):
    """Autograd through :meth:`GroupedRNN.step`, one slot at a time, zeroing the state of
    rows where an episode starts (as MAPPO does while acting)."""
    outputs = []
    for t in range(x.shape[1]):
        state = state * (~starts[:, t]).to(x.dtype)[None, :, :, None]
        out, state = rnn.step(x[:, t], state)
        outputs.append(out)
    return torch.stack(outputs, dim=1)


@pytest.mark.parametrize("groups, steps, rows, features", [(1, 9, 5, 4), (3, 7, 4, 6),
                                                           (2, 1, 3, 2)])
def test_grouped_lstm_matches_the_step_by_step_cell(groups, steps, rows, features):
    gen = torch.Generator().manual_seed(groups)
    rnn = GroupedRNN(groups, features, 6, "lstm", gen).double()
    with torch.no_grad():  # non-zero biases, so their gradients are checked too
        rnn.bias_ih.normal_(generator=gen)
        rnn.bias_hh.normal_(generator=gen)
    x = torch.randn(groups, steps, rows, features, dtype=torch.float64, generator=gen,
                    requires_grad=True)
    state = (0.5 * torch.randn(2, groups, rows, 6, dtype=torch.float64,
                               generator=gen)).requires_grad_()
    starts = torch.rand(groups, steps, rows, generator=gen) < 0.3
    starts[0, 0, 0] = True  # a row that starts at the first step
    weights = torch.randn(groups, steps, rows, 6, dtype=torch.float64, generator=gen)

    def grads(fn):
        for p in [*rnn.parameters(), x, state]:
            p.grad = None
        out = fn()
        (out * weights).sum().backward()
        return out.detach(), [p.grad.clone() for p in [*rnn.parameters(), x, state]]

    ref_out, ref_grads = grads(lambda: _reference(rnn, x, state, starts))
    out, new_grads = grads(lambda: grouped_lstm(x, state, starts, rnn.weight_ih,
                                                rnn.weight_hh, rnn.bias_ih, rnn.bias_hh))
    torch.testing.assert_close(out, ref_out, rtol=1e-12, atol=1e-12)
    names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "x", "state"]
    for name, a, b in zip(names, new_grads, ref_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12, msg=name)


def test_grouped_lstm_passes_gradcheck():
    gen = torch.Generator().manual_seed(0)
    rnn = GroupedRNN(2, 3, 4, "lstm", gen).double()
    x = torch.randn(2, 4, 3, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    state = torch.randn(2, 2, 3, 4, dtype=torch.float64, generator=gen, requires_grad=True)
    starts = torch.zeros(2, 4, 3, dtype=torch.bool)
    starts[1, 2, 0] = True
    torch.autograd.gradcheck(
        lambda x, s, wi, wh, bi, bh: grouped_lstm(x, s, starts, wi, wh, bi, bh),
        (x, state, rnn.weight_ih, rnn.weight_hh, rnn.bias_ih, rnn.bias_hh))


def test_which_path_runs():
    assert uses_grouped_lstm("lstm", torch.zeros(1, 64, 152, 234))      # paper-hex19
    assert not uses_grouped_lstm("lstm", torch.zeros(1, 64, 32, 6))     # paper-cg8
    assert not uses_grouped_lstm("gru", torch.zeros(1, 64, 152, 234))


@pytest.mark.parametrize("mode", ["shared", "separate"])
def test_an_update_is_the_same_through_either_recurrent_path(mode, monkeypatch):
    """One MAPPO iteration (rollout, GAE, PPO epochs) gives the same learning record and
    the same weights whether the stored sequences run through the grouped LSTM or through
    PyTorch's kernel."""
    def run(threshold: int):
        monkeypatch.setattr(networks, "GROUPED_LSTM_MIN_WORK", threshold)
        config = MAPPOConfig.laptop(mode=mode, n_envs=2, rollout_slots=16, chunk_length=8,
                                    num_minibatches=2, update_epochs=2)
        env = rrmbook.make_env("paper-cg8", load="heavy", batch=2, seed=0, episode_slots=12)
        learner = MAPPO(config, env, seed=3)
        record = learner.iteration()
        return record, [p.detach().clone() for p in learner.actor.parameters()]

    fast, fast_weights = run(0)                 # every sequence through the grouped LSTM
    slow, slow_weights = run(10**9)             # every sequence through torch.lstm
    for key in ("mean_reward", "policy_loss", "value_loss", "entropy", "approx_kl"):
        assert fast[key] == pytest.approx(slow[key], rel=1e-4, abs=1e-6), key
    for a, b in zip(fast_weights, slow_weights, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("groups", [1, 3])
def test_fused_cell_step_matches_the_written_out_equations(cell, groups):
    """With one group the acting step is PyTorch's fused cell; it computes the equations of
    :meth:`GroupedRNN.step_equations` (checked with a non-zero state)."""
    generator = torch.Generator().manual_seed(1)
    rnn = GroupedRNN(groups, 7, 5, cell, generator)
    with torch.no_grad():
        rnn.bias_ih.normal_(generator=generator)
        rnn.bias_hh.normal_(generator=generator)
    x = torch.randn(groups, 4, 7, generator=generator)
    state = torch.randn(rnn.n_state, groups, 4, 5, generator=generator)
    out, new_state = rnn.step(x, state)
    ref_out, ref_state = rnn.step_equations(x, state)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(new_state, ref_state, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["shared", "separate"])
@pytest.mark.parametrize("scenario", ["paper-cg8", "paper-random19"])
def test_rollout_log_probs_and_values_match_a_replay_of_the_stored_chunks(scenario, mode):
    """What the rollout stores (acting one slot at a time, fused cells, states zeroed where
    episodes start) equals a straightforward replay of every stored chunk through the
    networks' sequence forward from the chunk's stored state: the log-probabilities of the
    taken actions and the critic's values.  Short episodes put episode starts inside chunks."""
    config = MAPPOConfig.laptop(mode=mode, n_envs=2, rollout_slots=16, chunk_length=8,
                                num_minibatches=1, update_epochs=1)
    env = rrmbook.make_env(scenario, load="heavy", batch=2, seed=0, episode_slots=6)
    learner = MAPPO(config, env, seed=5)
    learner.collect()
    st = learner.storage
    assert bool(st.starts[:, 1:].any())  # episode starts inside the rollout
    batch = next(st.minibatches(1, torch.Generator().manual_seed(0)))
    with torch.no_grad():
        logits = learner.actor(batch["obs"], batch["actor_state"], batch["starts"])
        values = learner.critic(batch["obs"], batch["critic_state"], batch["starts"])[..., 0]
        log_probs = learner._log_probs(logits, learner.mask[:, batch["row"]][:, None, :, None])
    replayed = mappo_module.action_log_prob(log_probs, batch["actions"])
    torch.testing.assert_close(replayed, batch["log_probs"], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(values, batch["values"], rtol=1e-4, atol=1e-4)


def test_device_option_on_the_cpu():
    """``device="cpu"`` is the default and ``"auto"`` falls back to it without a GPU (the
    same learning record, bit for bit); an unknown device or CUDA on a machine without it is
    an error naming the field, before any work starts."""
    def record(device):
        config = MAPPOConfig.laptop(n_envs=2, rollout_slots=8, chunk_length=8,
                                    num_minibatches=1, update_epochs=1, device=device)
        learner = MAPPO(config, rrmbook.make_env("paper-cg8", load="heavy", batch=2), seed=2)
        return learner.iteration(), learner.device

    cpu, device = record("cpu")
    assert device.type == "cpu"
    if not torch.cuda.is_available():
        auto, device = record("auto")
        assert device.type == "cpu" and auto | {"time_s": 0} == cpu | {"time_s": 0}
        with pytest.raises(ValueError, match="MAPPOConfig.device"):
            record("cuda")
    with pytest.raises(ValueError, match="MAPPOConfig.device"):
        MAPPOConfig.laptop(device="quantum")
