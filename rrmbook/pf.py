"""Proportional-fair (PF) scheduling with mobility (Eldeeb & Alves, Sec. II): the pure
functions behind :class:`rrmbook.envs.PFEnv` and the metrics of chapter 9.

Every function works on arrays with any leading batch axes and has no hidden state, so the
chapters can show them and the exercises can ask for them.

==========================  ==========================================================
function                    paper equation
==========================  ==========================================================
:func:`indoor_path_loss_db` (E-4) 3GPP indoor path loss plus penetration loss
:func:`rsrp_association`    (E-5) each UE joins the AP with the largest RSRP
:func:`sinr`                (E-7) SINR when a given set of APs transmits
:func:`spectral_efficiency` (E-6) C = log2(1 + SINR)
:func:`pf_update`           (E-13) EMA rate C~ and weight w = 1 / C~
:func:`pf_ratio`            (E-14) PF_j = w_j C_j
:func:`team_reward`         (E-16) r = sum_j w_j^lambda C_j
:func:`utility_gain`        (ablation) one step's increase of sum_j log C~_j
:func:`top_n`               the N UEs of each AP with the largest PF ratio (the action set)
:func:`sum_rate`            (E-9) sum of per-UE average rates
:func:`p5_rate`             (E-10) 5th percentile of per-UE average rates
:func:`score`               (E-11) mu1 * sum + mu2 * p5
==========================  ==========================================================
"""

from __future__ import annotations

import numpy as np

__all__ = ["indoor_path_loss_db", "rsrp_association", "sinr", "spectral_efficiency",
           "pf_update", "pf_ratio", "team_reward", "utility_gain", "top_n", "sum_rate",
           "p5_rate", "score", "sample_points", "bounce"]


def indoor_path_loss_db(distance_m, penetration_db: float = 10.0) -> np.ndarray:
    """(E-4): 15.3 + 37.6 log10(d) + PL_o in dB, d in metres (PL_o = 10 dB by default)."""
    d = np.asarray(distance_m, dtype=float)
    if np.any(d <= 0):
        raise ValueError("distance_m must be > 0 (the minimum AP-UE distance keeps it so)")
    return 15.3 + 37.6 * np.log10(d) + penetration_db


def rsrp_association(large_scale_db: np.ndarray) -> np.ndarray:
    """(E-5): index of the AP with the largest reference-signal received power for every UE.
    ``large_scale_db`` (..., I, J) is path loss plus shadowing in dB (a *loss*: the AP with
    the smallest loss has the largest RSRP, the transmit powers being equal)."""
    return np.argmin(np.asarray(large_scale_db), axis=-2)


def sinr(gain: np.ndarray, serving: np.ndarray, active: np.ndarray, power_w: float,
         noise_w: float) -> np.ndarray:
    """(E-7): SINR of every UE j from its serving AP, with interference from every *other*
    AP that transmits.

    ``gain`` (..., I, J) linear channel power gains |h_ij|^2, ``serving`` (..., J) the AP
    of each UE, ``active`` (..., I) bool: which APs transmit (all True gives the
    full-interference SINR that UEs report before scheduling).  The serving AP's signal
    counts whether or not it is active (the value is the SINR the UE *would* get)."""
    gain = np.asarray(gain, dtype=float)
    serving = np.asarray(serving)
    signal = np.take_along_axis(gain, serving[..., None, :], axis=-2)[..., 0, :]
    on = np.broadcast_to(np.asarray(active, dtype=float), gain.shape[:-1])   # (..., I)
    total = (gain * on[..., None]).sum(axis=-2)
    interference = total - signal * np.take_along_axis(on, serving, axis=-1)
    return signal * power_w / (interference * power_w + noise_w)


def spectral_efficiency(sinr_linear) -> np.ndarray:
    """(E-6): log2(1 + SINR) in bit/s/Hz."""
    return np.log2(1.0 + np.asarray(sinr_linear, dtype=float))


def pf_update(avg_rate: np.ndarray, rate: np.ndarray, eta: float = 0.1,
              floor: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    """(E-13): one step of the PF recursion.  Returns the new long-term rate
    C~(t) = eta C(t) + (1 - eta) C~(t-1) and the weight w(t) = 1 / max(C~(t), floor).

    ``floor`` (bit/s/Hz) bounds the weight of a UE that has not been served for a long
    time (1 / floor at most); the paper leaves w unbounded, which overflows when a UE is
    starved for hundreds of steps."""
    if not 0 < eta <= 1:
        raise ValueError(f"eta must be in (0, 1], got {eta}")
    new = eta * np.asarray(rate, dtype=float) + (1 - eta) * np.asarray(avg_rate, dtype=float)
    return new, 1.0 / np.maximum(new, floor)


def pf_ratio(weight: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """(E-14): PF_j = w_j C_j."""
    return np.asarray(weight, dtype=float) * np.asarray(rate, dtype=float)


def team_reward(weight: np.ndarray, rate: np.ndarray, lam: float = 0.8) -> np.ndarray:
    """(E-16): r = sum_j w_j^lambda C_j over the last axis (UEs).  lambda = 0 gives the sum
    rate; lambda = 1 gives the sum of PF ratios, the most fairness-minded reward."""
    if not 0 <= lam <= 1:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    return (np.asarray(weight, dtype=float) ** lam * np.asarray(rate, dtype=float)).sum(-1)


def utility_gain(avg_before: np.ndarray, avg_after: np.ndarray,
                 floor: float = 1e-2) -> np.ndarray:
    """One step's increase of the PF utility sum_j log max(C~_j, floor) of the moving-average
    rates (E-13), over the last axis (UEs).  Summed over an episode it telescopes to the
    utility's total change, the quantity a PF scheduler maximises; a reward for the
    ablation of chapter 9, not the paper's (E-16)."""
    before = np.log(np.maximum(np.asarray(avg_before, dtype=float), floor))
    after = np.log(np.maximum(np.asarray(avg_after, dtype=float), floor))
    return (after - before).sum(-1)


def top_n(ratio: np.ndarray, serving: np.ndarray, n_aps: int, n: int = 3) -> np.ndarray:
    """The N associated UEs of every AP with the largest PF ratio, best first.

    ``ratio`` (..., J), ``serving`` (..., J).  Returns (..., I, N) UE indices, -1 where an
    AP has fewer than N associated UEs.  Ties go to the smaller UE index."""
    ratio = np.asarray(ratio, dtype=float)
    serving = np.asarray(serving)
    mine = serving[..., None, :] == np.arange(n_aps)[:, None]           # (..., I, J)
    key = np.where(mine, ratio[..., None, :], -np.inf)
    order = np.argsort(-key, axis=-1, kind="stable")[..., :n]           # (..., I, N)
    valid = np.take_along_axis(mine, order, axis=-1)
    out = np.where(valid, order, -1)
    if out.shape[-1] < n:  # fewer UEs than N in the whole network
        pad = np.full(out.shape[:-1] + (n - out.shape[-1],), -1)
        out = np.concatenate([out, pad], axis=-1)
    return out


def sum_rate(avg_rates: np.ndarray) -> np.ndarray:
    """(E-9): sum over UEs (last axis) of the per-UE average rates C-bar_j (E-8)."""
    return np.asarray(avg_rates, dtype=float).sum(-1)


def p5_rate(avg_rates: np.ndarray) -> float:
    """(E-10): the 5th percentile of per-UE average rates, pooled over every UE of every
    episode given (any shape), with linear interpolation between order statistics."""
    values = np.asarray(avg_rates, dtype=float).ravel()
    if values.size == 0:
        raise ValueError("p5_rate needs at least one average rate")
    return float(np.percentile(values, 5))


def score(avg_rates: np.ndarray, mu1: float | None = None, mu2: float = 3.0) -> float:
    """(E-11): mu1 * C_sum + mu2 * C_5%, with C_sum the mean over episodes of the sum rate
    and C_5% the pooled 5th percentile.  ``avg_rates`` (episodes, J); ``mu1`` defaults to
    1 / J: our reading of the paper's Table III, which prints 1/M without defining M
    (mu2 = 3 is the table's)."""
    avg_rates = np.atleast_2d(np.asarray(avg_rates, dtype=float))
    mu1 = 1.0 / avg_rates.shape[-1] if mu1 is None else mu1
    return float(mu1 * sum_rate(avg_rates).mean() + mu2 * p5_rate(avg_rates))


def sample_points(rng: np.random.Generator, shape: tuple[int, ...], side: float,
                  far_from: np.ndarray | None = None, min_distance: float = 0.0,
                  pairwise: bool = False, max_tries: int = 10_000) -> np.ndarray:
    """Uniform points in the square [0, side]^2, shape ``shape + (2,)``, resampled until
    (E-1)/(E-2) hold: every point farther than ``min_distance`` from every point of
    ``far_from`` (..., M, 2), or, with ``pairwise``, from every other point of its group
    (the last axis of ``shape``)."""
    pts = rng.uniform(0.0, side, size=shape + (2,))
    for _ in range(max_tries):
        if pairwise:
            d = np.linalg.norm(pts[..., :, None, :] - pts[..., None, :, :], axis=-1)
            d = np.where(np.eye(shape[-1], dtype=bool), np.inf, d)
            bad = (d <= min_distance).any(-1)
        elif far_from is not None:
            d = np.linalg.norm(pts[..., :, None, :] - far_from[..., None, :, :], axis=-1)
            bad = (d <= min_distance).any(-1)
        else:
            return pts
        if pairwise:
            bad = np.broadcast_to(bad.any(-1, keepdims=True), bad.shape)  # redraw the group
        if not bad.any():
            return pts
        pts[bad] = rng.uniform(0.0, side, size=(int(bad.sum()), 2))
    raise ValueError(f"could not place points {min_distance} m apart in a {side} m square "
                     f"after {max_tries} tries; lower the minimum distance")


def bounce(position: np.ndarray, velocity: np.ndarray, side: float,
           dt: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Move points by ``velocity * dt`` inside [0, side]^2, reflecting off the borders
    (position mirrored, that velocity component reversed)."""
    pos = np.asarray(position, dtype=float) + np.asarray(velocity, dtype=float) * dt
    vel = np.array(velocity, dtype=float, copy=True)
    low, high = pos < 0, pos > side
    pos = np.where(low, -pos, np.where(high, 2 * side - pos, pos))
    vel = np.where(low | high, -vel, vel)
    return np.clip(pos, 0.0, side), vel
