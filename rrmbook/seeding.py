"""The one list of random streams and the one seed mixer.

Every random draw in the library comes from a generator made here, from a user's seed and
one named :class:`Stream`, so two parts of a run never share random numbers by accident and
one seed in gives identical numbers out.  The stream numbers are part of the results: the
shipped policies and figures were made with them, so a number may be added but never
changed.

>>> from rrmbook.seeding import Stream, rng
>>> float(rng(0, Stream.TRAFFIC).random()) == float(rng(0, Stream.TRAFFIC).random())
True
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

__all__ = ["Stream", "mix", "rng", "torch_generator"]

_MASK63 = (1 << 63) - 1


class Stream(IntEnum):
    """The random streams, one number each (never reuse or renumber one)."""

    TRAFFIC = 0          #: packet arrivals (conflict-graph and multi-cell envs)
    POLICY = 1           #: a policy's own randomness during evaluation or data collection
    FADING = 2           #: small-scale fading of the multi-cell env (a torch generator)
    LAYOUT_DRAWS = 3     #: layout drops drawn while training on many layouts (LayoutDraws)
    MAPPO_INIT = 10      #: MAPPO network initialisation
    MAPPO_SAMPLE = 11    #: MAPPO action sampling and minibatch order
    PF_LAYOUT = 20       #: PF model: UE positions and mobility
    PF_FADING = 21       #: PF model: shadowing and Rayleigh fading
    OFFLINE_SAMPLE = 30  #: online SAC/DQN: replay sampling
    OFFLINE_ACT = 31     #: online SAC/DQN: exploration while acting
    OFFLINE_INIT = 32    #: SAC/DQN/CQL network initialisation
    CQL_BATCH = 40       #: offline CQL: minibatch sampling from the dataset
    DATASET_SUBSET = 41  #: which whole episodes a dataset subset keeps


def mix(seed: int, stream: int) -> int:
    """A 63-bit integer seed for one stream of one user seed (NumPy's SeedSequence over
    ``[seed, stream]``), e.g. for ``torch.Generator().manual_seed``."""
    state = np.random.SeedSequence([_seed(seed), int(stream)]).generate_state(1, dtype=np.uint64)
    return int(state[0]) & _MASK63


def rng(seed: int, stream: int) -> np.random.Generator:
    """A NumPy generator for one stream of one user seed."""
    return np.random.default_rng([_seed(seed), int(stream)])


def _seed(seed) -> int:
    """A user's seed: a non-negative integer (``1.7``, ``-1``, ``"abc"`` and ``True`` are
    refused with a message naming the field, instead of being truncated or failing in NumPy)."""
    from .checks import non_negative_int

    return non_negative_int("seed", seed)


def torch_generator(seed: int, stream: int):
    """A seeded ``torch.Generator`` for one stream of one user seed (torch is imported on
    first use, so the NumPy-only parts of the library do not pay for it)."""
    import torch

    return torch.Generator().manual_seed(mix(seed, stream))
