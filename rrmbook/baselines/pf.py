"""Baselines of the PF scheduling model (Eldeeb & Alves, Sec. V-A; SPEC section 4).

Every one is a :class:`~rrmbook.policy.Policy` run through :func:`rrmbook.evaluate` like a
learned agent.  Actions are top-N indices (0..N-1, N = silent) except for TDM, which serves
UEs outside the top-N list and so gives UE indices (``serves_ues = True``).
"""

from __future__ import annotations

import numpy as np

from .. import checks
from ..envs.base import require_family
from ..policy import Policy

__all__ = ["RandomWalk", "RandomUE", "Greedy", "TDM", "PFTop1", "PFThreshold", "ITLinQ", "itlinq_pf_schedule"]


class _PFPolicy(Policy):
    serves_ues = False

    def reset(self, env, rng: np.random.Generator) -> None:
        require_family(env, "pf", f"the PF-scheduling baseline {self.name!r}")
        super().reset(env, rng)
        self.n_aps, self.top_n, self.silent = env.n_agents, env.top_n, env.silent


class RandomWalk(_PFPolicy):
    """Every AP serves one of its top-N UEs uniformly at random (never silent)."""

    name = "random_walk"
    information = "local"

    def act(self, obs, state=None):
        have = (obs.top >= 0).sum(-1)                                   # (B, I)
        pick = np.floor(self.rng.random(have.shape) * np.maximum(have, 1)).astype(np.int64)
        return np.where(have > 0, pick, self.silent)


class RandomUE(_PFPolicy):
    """Every AP serves one of *all* its associated UEs uniformly at random (never silent):
    random walk without the top-N filter.  The top-N list is ranked by PF ratio (E-14), so
    :class:`RandomWalk` is a randomised PF scheduler; this reading is the ablation that
    tells what the filter is worth (chapter 9's calibration study)."""

    name = "random_ue"
    information = "local"
    serves_ues = True

    def act(self, obs, state=None):
        mine = obs.serving[:, None, :] == np.arange(self.n_aps)[:, None]   # (B, I, J)
        draw = np.where(mine, self.rng.random(mine.shape), -1.0)
        return np.where(mine.any(-1), draw.argmax(-1), -1)


class Greedy(_PFPolicy):
    """Every AP serves the UE with the highest reported SINR among its top N."""

    name = "greedy"
    information = "local"

    def act(self, obs, state=None):
        n = self.top_n
        sinr_db = np.where(obs.top >= 0, obs.X[..., 0::2][..., :n], -np.inf)
        best = sinr_db.argmax(-1)
        return np.where(np.isfinite(sinr_db.max(-1)), best, self.silent)


class PFTop1(_PFPolicy):
    """The classic per-cell proportional-fair scheduler: every AP serves the UE with the
    largest PF ratio w_j C_j (E-14) among its own UEs, the first of its top-N list, and is
    never silent (silent only when it has no UE).  What a cellular engineer writes by hand,
    and the local rule a decentralised learner must beat."""

    name = "pf_top1"
    information = "local"

    def act(self, obs, state=None):
        return np.where(obs.top[..., 0] >= 0, 0, self.silent)


class PFThreshold(_PFPolicy):
    """A local rule that coordinates by silence without talking: every AP serves its top-PF
    UE (as :class:`PFTop1`) only if that UE's PF ratio w_j C_j (E-14), computed from the
    reported SINR, exceeds ``theta``, and is silent otherwise.  An AP whose UEs were just
    served has low weights and steps aside; one whose UEs waited (or suffered interference)
    has high weights and transmits, so the APs take turns through the PF weights alone.
    ``theta = 0`` is :class:`PFTop1`.  The default 3.0 is the best of a search over
    thresholds (chapter 9; sweep ``pf-local-rules``)."""

    name = "pf_threshold"
    information = "local"

    def __init__(self, theta: float = 3.0) -> None:
        self.theta = checks.non_negative("theta", theta)

    def act(self, obs, state=None):
        sinr_db, w = obs.X[..., 0], obs.X[..., 1]                      # the top-1 UE's
        ratio = w * np.log2(1.0 + 10.0 ** (sinr_db / 10.0))
        return np.where((obs.top[..., 0] >= 0) & (ratio > self.theta), 0, self.silent)


class TDM(_PFPolicy):
    """Time-division multiplexing: every AP serves its associated UEs in turn (round robin
    by UE index), one per step, whatever their channel."""

    name = "tdm"
    information = "local"
    serves_ues = True

    def act(self, obs, state=None):
        serving, slot = obs.serving, obs.slot                           # (B, J), (B,)
        mine = serving[:, None, :] == np.arange(self.n_aps)[:, None]   # (B, I, J)
        count = mine.sum(-1)                                            # (B, I)
        rank = np.cumsum(mine, axis=-1) - 1                             # rank among own UEs
        turn = slot[:, None] % np.maximum(count, 1)
        hit = mine & (rank == turn[..., None])
        return np.where(count > 0, hit.argmax(-1), -1)


def itlinq_pf_schedule(gain: np.ndarray, top: np.ndarray, ratio_top1: np.ndarray,
                       power_w: float, noise_w: float, m: float = 10 ** 2.5,
                       eta: float = 0.5) -> np.ndarray:
    """ITLinQ for PF scheduling: APs in decreasing order of their best PF ratio; each tries
    its top-N UEs in PF order and serves the first one whose link tolerates the links
    already on, in both directions::

        INR(active AP -> candidate UE)   <= m SNR_candidate^eta
        INR(this AP -> active link's UE) <= m SNR_active^eta

    and stays silent if none does.  ``gain`` (B, I, J), ``top`` (B, I, N) UE indices (-1:
    none), ``ratio_top1`` (B, I) the PF ratio of each AP's first UE (-inf if it has none).
    Returns the top-N action of every AP (B, I), N for silence."""
    B, n_aps, n = top.shape
    snr = gain * power_w / noise_w                                      # (B, I, J): SNR/INR
    order = np.argsort(-ratio_top1, axis=-1, kind="stable")
    actions = np.full((B, n_aps), n, dtype=np.int64)
    active_ue = np.full((B, n_aps), -1, dtype=np.int64)                 # UE served by AP
    rows = np.arange(B)
    for pos in range(n_aps):
        ap = order[:, pos]
        decided = np.zeros(B, dtype=bool)
        for k in range(n):
            ue = top[rows, ap, k]
            ok = (ue >= 0) & ~decided
            u = np.maximum(ue, 0)
            own_snr = snr[rows, ap, u]
            on = active_ue >= 0                                         # (B, I)
            incoming = snr[rows[:, None], np.arange(n_aps)[None, :], u[:, None]]  # (B, I)
            other_ue = np.maximum(active_ue, 0)
            other_snr = snr[rows[:, None], np.arange(n_aps)[None, :], other_ue]   # own link
            outgoing = snr[rows[:, None], ap[:, None], other_ue]        # this AP at their UE
            fine = ((incoming <= m * own_snr[:, None] ** eta)
                    & (outgoing <= m * other_snr ** eta)) | ~on
            ok &= fine.all(-1)
            actions[rows[ok], ap[ok]] = k
            active_ue[rows[ok], ap[ok]] = ue[ok]
            decided |= ok
    return actions


class ITLinQ(_PFPolicy):
    """Information-theoretic link scheduling (NaderiAlizadeh & Avestimehr) for PF
    scheduling, thresholds M = 10^2.5, eta = 0.5 (SPEC section 4); genie-aided: it reads
    the cross-link gains of the current step from the global state."""

    name = "itlinq"
    information = "global"
    coordination = "central"

    def __init__(self, m: float = 10 ** 2.5, eta: float = 0.5) -> None:
        if not m > 0:
            raise ValueError(f"m must be > 0, got {m!r}")
        if not 0 <= eta <= 1:
            raise ValueError(f"eta must be in [0, 1], got {eta!r}")
        self.m, self.eta = float(m), float(eta)

    def act(self, obs, state=None):
        if state is None:
            raise ValueError("itlinq needs the global state (information='global')")
        rate = np.log2(1.0 + state.sinr)                                # (B, J)
        top1 = obs.top[..., 0]
        ratio = np.where(top1 >= 0, np.take_along_axis(state.weight * rate, np.maximum(top1, 0),
                                                       -1), -np.inf)
        return itlinq_pf_schedule(state.gain, obs.top, ratio, state.power_w, state.noise_w,
                                  self.m, self.eta)
