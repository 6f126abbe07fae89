"""Rollout storage for recurrent MAPPO: one rollout of T slots, cut into chunks of L slots.

Everything is stored in the group layout of :mod:`rrmbook.marl.networks`:
``(G, T, M, ...)`` (group, slot, row).  A recurrent network cannot start a sequence in the
middle of a trajectory without its memory, so at the first slot of every chunk the storage
keeps the recurrent states the actor and critic had *then* (the "stored state" recipe of
recurrent PPO).  Training replays each chunk from its stored state; rows whose episode
starts inside a chunk are reset there (``starts``), exactly as during the rollout.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

__all__ = ["RolloutStorage"]


class RolloutStorage:
    """Buffers for ``slots`` slots of ``rows`` rows in each of ``groups`` groups.

    Fields (all ``(G, T, M)`` unless stated): ``obs (G, T, M, F)``, ``actions (G, T, M, H,
    heads)``, ``log_probs`` (of the taken actions, at collection time), ``values`` (critic
    output at collection time), ``rewards`` (scaled), ``starts`` (an episode starts at this
    slot), ``cut`` (the episode was truncated after this slot), ``final_values`` (critic
    output on the last observation of a truncated episode; meaningful where ``cut``),
    ``actor_state``/``critic_state`` ``(C, S, G, M, hidden)`` at each chunk's first slot.
    """

    def __init__(self, groups: int, slots: int, rows: int, obs_dim: int, action_shape: tuple[int, ...],
                 chunk_length: int, state_shape: tuple[int, int],
                 device: torch.device | str = "cpu") -> None:
        if slots % chunk_length:
            raise ValueError(f"slots ({slots}) must be a multiple of chunk_length ({chunk_length})")
        self.groups, self.slots, self.rows, self.chunk_length = groups, slots, rows, chunk_length
        self.n_chunks = slots // chunk_length
        shape = (groups, slots, rows)
        on = {"device": device}
        self.obs = torch.zeros(*shape, obs_dim, **on)
        self.actions = torch.zeros(*shape, *action_shape, dtype=torch.int64, **on)
        self.log_probs = torch.zeros(shape, **on)
        self.values = torch.zeros(shape, **on)
        self.rewards = torch.zeros(shape, **on)
        self.starts = torch.zeros(shape, dtype=torch.bool, **on)
        self.cut = torch.zeros(shape, dtype=torch.bool, **on)
        self.final_values = torch.zeros(shape, **on)
        n_state, hidden = state_shape
        self.actor_state = torch.zeros(self.n_chunks, n_state, groups, rows, hidden, **on)
        self.critic_state = torch.zeros(self.n_chunks, n_state, groups, rows, hidden, **on)

    def insert(self, t: int, *, obs, actions, log_probs, values, rewards, starts, cut,
               actor_state, critic_state) -> None:
        """Record slot ``t`` (each argument ``(G, M, ...)``; the recurrent states are the
        ones *before* this slot's step, kept only at a chunk's first slot)."""
        if t % self.chunk_length == 0:
            self.actor_state[t // self.chunk_length] = actor_state
            self.critic_state[t // self.chunk_length] = critic_state
        self.obs[:, t] = obs
        self.actions[:, t] = actions
        self.log_probs[:, t] = log_probs
        self.values[:, t] = values
        self.rewards[:, t] = rewards
        self.starts[:, t] = starts
        self.cut[:, t] = cut

    def _sequences(self, x: torch.Tensor) -> torch.Tensor:
        """``(G, T, M, ...)`` -> ``(G, L, C·M, ...)``: chunk c of row m becomes sequence c·M + m."""
        G, _, M = x.shape[:3]
        rest = x.shape[3:]
        x = x.reshape(G, self.n_chunks, self.chunk_length, M, *rest).transpose(1, 2)
        return x.reshape(G, self.chunk_length, self.n_chunks * M, *rest)

    @staticmethod
    def _chunk_states(state: torch.Tensor) -> torch.Tensor:
        """``(C, S, G, M, hidden)`` -> ``(S, G, C·M, hidden)`` (same sequence order)."""
        C, S, G, M, hidden = state.shape
        return state.permute(1, 2, 0, 3, 4).reshape(S, G, C * M, hidden)

    def minibatches(self, n_minibatches: int, generator: torch.Generator,
                    **extra: torch.Tensor) -> Iterator[dict[str, torch.Tensor]]:
        """Shuffle the chunk sequences and yield ``n_minibatches`` minibatches.

        Each minibatch is a dict of ``(G, L, n, ...)`` tensors (``obs``, ``actions``,
        ``log_probs``, ``values``, ``starts`` and every ``extra`` ``(G, T, M)`` tensor, such
        as advantages and returns), the stored states ``actor_state``/``critic_state``
        ``(S, G, n, hidden)``, and ``row`` ``(n,)``: the row m each sequence came from."""
        data = {name: self._sequences(getattr(self, name))
                for name in ("obs", "actions", "log_probs", "values", "starts")}
        data |= {name: self._sequences(x) for name, x in extra.items()}
        states = {"actor_state": self._chunk_states(self.actor_state),
                  "critic_state": self._chunk_states(self.critic_state)}
        n_sequences = self.n_chunks * self.rows
        # the order is drawn on the generator's device (the CPU): the same on any device
        order = torch.randperm(n_sequences, generator=generator).to(self.obs.device)
        for idx in torch.tensor_split(order, n_minibatches):
            batch = {name: x[:, :, idx] for name, x in data.items()}
            batch |= {name: x[:, :, idx] for name, x in states.items()}
            batch["row"] = idx % self.rows
            yield batch
