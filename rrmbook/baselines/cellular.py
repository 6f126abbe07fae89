"""Multi-cell baselines (Zhang & Guo Sec. IV-A; SPEC section 4): LLQ, full power, random,
Fair-ITLinQ, FP and WMMSE.

The maths lives in pure, batched functions over *link* arrays: a link l is a transmitter
(an AP) and a receiver (one of its devices), and ``gain_links[..., m, l]`` is the power gain
from link m's transmitter to link l's receiver (so the diagonal holds the direct gains).
Any leading axes (batch copies, subbands) are allowed and every subband is solved
independently.  The policies wrap them for :class:`~rrmbook.envs.CellularEnv`.  Chapter 4
explains every one.

================  ===============  ============  ========================================
policy            information      coordination  what it does on every subband
================  ===============  ============  ========================================
``llq``           neighbourhood    none          serve the longest queue of C(k) at P_max,
                                                 if it is the AP's own device
``full_power``    local            none          serve the AP's longest queue at P_max
``random``        local            none          random device (or silence), random level
``fair_itlinq``   global (CSI)     central       full-power candidates, switched on in random
                                                 order if their INRs pass the ITLinQ tests
``fp``            global           central       Shen & Yu's fractional programming, powers
                                                 in [0, P_max], weights = queues
``wmmse``         global           central       Shi et al.'s scalar WMMSE, same problem
================  ===============  ============  ========================================

Modelling notes (SPEC section 4 decides what the papers leave open):

- queues are read in packets (ζ / L); LLQ, full power and the Fair-ITLinQ candidates read
  them from the agents' observations X_k, so the information they use is really local;
- FP and WMMSE are genie-aided: current-slot gains and all queues from the global state;
  they maximise the *uncapped* weighted sum of log2(1 + SINR), whereas the environment
  caps the SINR at 30 dB;
- for this scalar problem FP (Lagrangian dual + quadratic transform, closed form) and
  WMMSE generate identical iterates, so with the same start and stopping rule they return
  the same powers: the paper's different execution times come from implementations, not
  from the algorithms;
- every policy stays silent where it has nothing to send (empty queues): transmitting for
  nothing only adds interference;
- ``fp_all_links`` and ``wmmse_all_links`` are FP and WMMSE as in the authors' public code
  (Zhang & Guo's; the paper does not print it): ``per_ap_exclusive=False``, so every link
  may transmit on every subband at up to its own P_max, several devices of one AP at once
  (:func:`all_links`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from ..envs.cellular_env import LinkPowers
from ..policy import Policy

__all__ = [
    "longest_queue",
    "link_gains",
    "select_devices",
    "link_sinr",
    "weighted_sum_rate",
    "itlinq_thresholds",
    "itlinq_schedule",
    "fp_powers",
    "wmmse_powers",
    "wmmse_update",
    "CellularLLQ",
    "FullPower",
    "CellularRandom",
    "FairITLinQ",
    "FP",
    "WMMSE",
    "all_links",
]


# ----------------------------------------------------------------------------- pure maths
def longest_queue(queues: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Index and length of the longest queue along the last axis, ties broken uniformly at
    random.  ``queues`` is ``(..., S)``; returns ``(index (...), longest (...))``."""
    queues = np.asarray(queues)
    longest = queues.max(axis=-1)
    tied = queues == longest[..., None]
    index = np.where(tied, rng.random(queues.shape), -1.0).argmax(axis=-1)
    return index, longest


def link_gains(gain: np.ndarray, tx: np.ndarray | None, rx: np.ndarray) -> np.ndarray:
    """Gains between links: ``out[..., m, l] = gain[..., tx[m], rx[l]]``.

    ``gain`` is ``(..., K, N)`` (AP to device, as in :mod:`rrmbook.channel`); ``tx`` and
    ``rx`` are ``(..., L)`` transmitter (AP) and receiver (device) indices of L links;
    ``tx=None`` means link m's transmitter is AP m (one link per AP, L = K).  Returns
    ``(..., L, L)``.
    """
    gain = np.asarray(gain, dtype=float)
    rx = np.asarray(rx)
    if tx is not None:
        tx = np.asarray(tx)
        idx = np.broadcast_to(tx[..., :, None], np.broadcast_shapes(tx.shape[:-1], gain.shape[:-2])
                              + tx.shape[-1:] + (1,))
        gain = np.take_along_axis(np.broadcast_to(gain, idx.shape[:-2] + gain.shape[-2:]), idx,
                                  axis=-2)
    L = gain.shape[-2]
    if rx.shape[-1] != L:
        raise ValueError(f"rx must index one receiver per link ({L}), got shape {rx.shape}")
    lead = np.broadcast_shapes(gain.shape[:-2], rx.shape[:-1])
    gain = np.broadcast_to(gain, lead + gain.shape[-2:])
    return np.take_along_axis(gain, np.broadcast_to(rx[..., None, :], lead + (1, L)), axis=-1)


def select_devices(weights: np.ndarray, direct_gain: np.ndarray,
                   agent_devices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per AP (and subband), the device with the largest weight x SNR at P_max (SPEC section 4:
    FP and WMMSE first pick one device per AP, then optimise powers).

    ``weights`` and ``direct_gain`` are ``(..., N)`` (SNR is proportional to the direct
    gain); ``agent_devices`` is ``(K, D)``, padded with -1.  Returns ``(device (..., K),
    has (..., K))``; ``has`` is false where no device of the AP has a positive score.
    """
    score = np.asarray(weights, dtype=float) * np.asarray(direct_gain, dtype=float)
    padded = np.concatenate([score, np.zeros(score.shape[:-1] + (1,))], axis=-1)
    per_ap = padded[..., np.where(agent_devices >= 0, agent_devices, score.shape[-1])]  # (..., K, D)
    pick = per_ap.argmax(axis=-1)
    has = np.take_along_axis(per_ap, pick[..., None], axis=-1)[..., 0] > 0
    return agent_devices[np.arange(len(agent_devices)), pick], has


def link_sinr(gain_links: np.ndarray, power: np.ndarray, noise: float) -> np.ndarray:
    """SINR of every link (Z-12) treating interference as noise: ``(..., L)``."""
    g = np.asarray(gain_links, dtype=float)
    p = np.asarray(power, dtype=float)
    direct = np.diagonal(g, axis1=-2, axis2=-1)
    received = (p[..., None, :] @ g)[..., 0, :]
    signal = direct * p
    return signal / (np.maximum(received - signal, 0.0) + noise)


def weighted_sum_rate(gain_links: np.ndarray, weights: np.ndarray, power: np.ndarray,
                      noise: float) -> np.ndarray:
    """Σ_l w_l log2(1 + SINR_l) over the last axis: the objective FP and WMMSE maximise."""
    sinr = link_sinr(gain_links, power, noise)
    return (np.asarray(weights, dtype=float) * np.log2(1.0 + sinr)).sum(axis=-1)


def itlinq_thresholds(snr: np.ndarray, m: float = 10.0, eta: float = 0.7, m_high: float = 0.1,
                      eta_high: float = 0.5, snr_threshold: float | None = 1200.0) -> np.ndarray:
    """The largest INR a link with this SNR accepts: M SNR^η, or, when its SNR exceeds
    ``snr_threshold`` (Fair-ITLinQ's high-SNR rule), the much stricter M̄ SNR^η̄.
    ``snr_threshold=None`` keeps the single threshold of plain ITLinQ."""
    snr = np.asarray(snr, dtype=float)
    low = m * snr ** eta
    if snr_threshold is None:
        return low
    return np.where(snr > snr_threshold, m_high * snr ** eta_high, low)


def itlinq_schedule(gain_links: np.ndarray, order: np.ndarray, p_max: float, noise: float,
                    m: float = 10.0, eta: float = 0.7, m_high: float = 0.1,
                    eta_high: float = 0.5, snr_threshold: float | None = 1200.0,
                    candidates: np.ndarray | None = None) -> np.ndarray:
    """Fair-ITLinQ link activation (N. Naderializadeh & A. S. Avestimehr, "ITLinQ: a new
    approach for spectrum sharing in device-to-device communication systems", IEEE JSAC
    32(6), 2014: distributed ITLinQ and its fair variant).

    Links are visited in ``order`` (``(..., L)``, a permutation per instance); the first
    candidate is always on; a later link j joins when, against every link i already on,
    both interference directions pass (all links at P_max, σ² the noise):

        incoming  INR_{i->j} <= M SNR_j^η
        outgoing  INR_{j->i} <= M SNR_j^η,  or M̄ SNR_j^η̄ if SNR_j > snr_threshold

    with INR_{i->j} = g(tx_i, rx_j) P_max / σ² and SNR_j = g(tx_j, rx_j) P_max / σ².  The
    high-SNR rule (the "fair" part) sits on the transmitter-side test: a strong link, which
    tolerates interference easily, must also be careful about the interference it causes,
    which leaves room for weak links.  Because a link that fails against an active link can
    never join later, the activation is a greedy pass over the order: switch on the next
    unblocked candidate, block every link that fails against it.  The loop runs over the L
    positions, vectorised over all leading axes.  ``candidates`` (``(..., L)`` bool, default
    all) marks the links with data to send.  Returns the ``(..., L)`` bool activation.
    """
    inr = np.asarray(gain_links, dtype=float) * (p_max / noise)
    L = inr.shape[-1]
    order = np.asarray(order)
    if inr.shape[-2] != L or order.shape[-1] != L:
        raise ValueError(f"gain_links must be (..., L, L) and order (..., L); got {inr.shape} "
                         f"and {order.shape}")
    snr = np.diagonal(inr, axis1=-2, axis2=-1)
    incoming = itlinq_thresholds(snr, m, eta, snr_threshold=None)[..., None, :]
    outgoing = itlinq_thresholds(snr, m, eta, m_high, eta_high, snr_threshold)[..., None, :]
    # fails[..., i, j]: link j may not join while link i is on
    fails = (inr > incoming) | (np.swapaxes(inr, -1, -2) > outgoing)
    lead = np.broadcast_shapes(fails.shape[:-2], order.shape[:-1])
    order = np.broadcast_to(order, lead + (L,))
    fails = np.broadcast_to(fails, lead + (L, L))
    fails = np.take_along_axis(fails, order[..., :, None], axis=-2)
    fails = np.take_along_axis(fails, order[..., None, :], axis=-1)  # in visiting order
    cand = np.ones(lead + (L,), dtype=bool) if candidates is None else \
        np.take_along_axis(np.broadcast_to(candidates, lead + (L,)), order, axis=-1)
    blocked = ~cand
    on_sorted = np.zeros(lead + (L,), dtype=bool)
    for t in range(L):
        on_t = ~blocked[..., t]
        on_sorted[..., t] = on_t
        blocked = blocked | (on_t[..., None] & fails[..., t, :])
    on = np.empty_like(on_sorted)
    np.put_along_axis(on, order, on_sorted, axis=-1)
    return on


def _check_problem(gain_links, weights, p_max, noise, max_iter, tol):
    g = np.asarray(gain_links, dtype=float)
    if g.ndim < 2 or g.shape[-1] != g.shape[-2]:
        raise ValueError(f"gain_links must be (..., L, L), got shape {g.shape}")
    w = np.asarray(weights, dtype=float)
    try:
        lead = np.broadcast_shapes(g.shape[:-2], w.shape[:-1])
    except ValueError:
        raise ValueError(f"weights {w.shape} must broadcast to gain_links {g.shape[:-1]}") from None
    if w.shape[-1] != g.shape[-1]:
        raise ValueError(f"weights must have one entry per link ({g.shape[-1]}), got {w.shape}")
    if np.any(g < 0) or np.any(w < 0) or not (p_max > 0 and noise > 0):
        raise ValueError("gains and weights must be >= 0, p_max and noise > 0")
    if int(max_iter) != max_iter or max_iter < 0 or tol < 0:
        raise ValueError(f"max_iter must be an integer >= 0 and tol >= 0; got {max_iter}, {tol}")
    snr = np.broadcast_to(g, lead + g.shape[-2:]) * (p_max / noise)
    return snr, np.broadcast_to(w, lead + w.shape[-1:])


def _ascend(snr_links, w, update, max_iter, tol, start=1.0):
    """Shared driver of FP and WMMSE in normalised units (x = p / P_max in [0, 1], gains as
    SNR at P_max, noise 1).  Starts at full power; per instance, stops after ``max_iter``
    updates or once the weighted sum rate improves by less than ``tol`` (relative); a
    stopped instance keeps its powers while the others go on.  ``start``: the first powers
    (default full power).  Returns (x, history)."""
    direct = np.diagonal(snr_links, axis1=-2, axis2=-1)
    x = np.broadcast_to(np.asarray(start, dtype=float), w.shape).copy()
    running = np.ones(w.shape[:-1], dtype=bool)
    history: list[np.ndarray] = []
    for it in range(int(max_iter) + 1):
        received = (x[..., None, :] @ snr_links)[..., 0, :] + 1.0  # signal + interference + noise
        signal = direct * x
        one_plus_sinr = 1.0 + signal / np.maximum(received - signal, 1.0)
        objective = (w * np.log2(one_plus_sinr)).sum(axis=-1)
        if it:  # instances stopped earlier kept their powers: record the same value
            previous = history[-1]
            if not running.all():
                objective = np.where(running, objective, previous)
            running = running & (objective - previous > tol * np.abs(previous))
        history.append(objective)
        if it == max_iter or not running.any():
            break
        x_new = update(snr_links, w, x, direct, signal, received, one_plus_sinr)
        x = x_new if running.all() else np.where(running[..., None], x_new, x)
    return x, history


def _ratio(num, den):
    """num / den, 0 where den = 0 (a link nobody listens to, or with nothing to send)."""
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _fp_update(snr_links, w, x, direct, signal, received, one_plus_sinr):
    # Lagrangian dual transform: gamma = SINR; quadratic transform: y = sqrt(A) / B with
    # A = w (1 + gamma) |h_ll|^2 p_l and B the total received power; then the concave
    # surrogate 2 y sqrt(A(p)) - y^2 B(p) is maximised link by link in closed form.
    a = w * one_plus_sinr
    y = np.sqrt(a * signal) / received
    b = (snr_links @ (y * y)[..., None])[..., 0]  # b_l = Σ_m g(tx_l, rx_m) y_m^2
    r = _ratio(y, b)
    return np.minimum(1.0, a * direct * r * r)


def wmmse_update(snr_links, w, x, direct, signal, received, one_plus_sinr):
    """One WMMSE iteration, scalar case (Q. Shi, M. Razaviyayn, Z.-Q. Luo & C. He, IEEE TSP
    59(9), 2011; see :func:`wmmse_powers`), in normalised units: powers x = p / P_max in
    [0, 1], gains as SNR at P_max, noise 1.

    ``snr_links[..., m, l]``: gain from link m's transmitter to link l's receiver; ``w``: the
    weights; ``x``: the current powers; ``direct`` = g_ll, ``signal`` = g_ll x_l,
    ``received`` = Σ_m g_ml x_m + 1 and ``one_plus_sinr`` = 1 + SINR_l, all computed from
    ``x``.  Updates the receiver u_l = h_ll v_l / received_l, the MSE weight
    W_l = 1 / e_l = 1 + SINR_l and the transmitter
    v_l = min(1, w_l W_l u_l h_ll / Σ_m w_m W_m u_m² g_lm) (amplitudes v = sqrt(x),
    h = sqrt(g)); returns the new powers v_l²."""
    h = np.sqrt(direct)
    u = h * np.sqrt(x) / received
    c = w * one_plus_sinr
    den = (snr_links @ (c * u * u)[..., None])[..., 0]
    v = np.minimum(1.0, _ratio(c * u * h, den))
    return v * v


def fp_powers(gain_links: np.ndarray, weights: np.ndarray, p_max: float, noise: float,
              max_iter: int = 100, tol: float = 1e-3, return_history: bool = False):
    """Weighted-sum-rate power control by fractional programming (K. Shen & W. Yu,
    "Fractional programming for communication systems, Part I: power control and
    beamforming" and "Part II: uplink scheduling via matching", IEEE TSP 66(10), 2018; the
    FPLinQ iteration of Shen & Yu, ISIT 2017; reference [2] of Zhang & Guo).

    Maximises Σ_l w_l log2(1 + SINR_l) over powers p_l in [0, p_max], ``gain_links[..., m, l]``
    being the gain from link m's transmitter to link l's receiver.  Each iteration applies
    the Lagrangian dual transform (γ_l = SINR_l), the quadratic transform
    (y_l = sqrt(w_l (1+γ_l) g_ll p_l) / (Σ_m g_ml p_m + σ²)) and the closed-form power update
    p_l = min(p_max, w_l (1+γ_l) g_ll y_l² / (Σ_m g_lm y_m²)²).  Every step maximises one
    block of a surrogate that equals the objective at its optimum, so the weighted sum rate
    never decreases.  Starts at full power; stops after ``max_iter`` iterations or when the
    objective improves by less than ``tol`` (relative), independently per instance.

    Returns the powers ``(..., L)`` in watts and, with ``return_history``, the objective
    before each iteration and at the end, ``(T + 1, ...)`` (constant once an instance stops).
    """
    snr_links, w = _check_problem(gain_links, weights, p_max, noise, max_iter, tol)
    x, history = _ascend(snr_links, w, _fp_update, max_iter, tol)
    return (x * p_max, np.stack(history)) if return_history else x * p_max


def wmmse_powers(gain_links: np.ndarray, weights: np.ndarray, p_max: float, noise: float,
                 max_iter: int = 100, tol: float = 1e-3, return_history: bool = False):
    """Weighted-sum-rate power control by WMMSE, scalar (single-antenna) case (Q. Shi,
    M. Razaviyayn, Z.-Q. Luo & C. He, "An iteratively weighted MMSE approach to distributed
    sum-utility maximization for a MIMO interfering broadcast channel", IEEE TSP 59(9),
    2011; reference [1] of Zhang & Guo).

    Same problem, arguments, stopping rule and return values as :func:`fp_powers`.  With
    amplitudes v_l = sqrt(p_l) and h_ml = sqrt(g_ml), each iteration updates the MMSE
    receivers u_l = h_ll v_l / (Σ_m g_ml v_m² + σ²), the MSE weights W_l = 1 / e_l = 1 + SINR_l
    and the transmitters v_l = min(sqrt(p_max), w_l W_l u_l h_ll / Σ_m w_m W_m u_m² g_lm):
    block-coordinate descent of the weighted MSE, whose minimum over (u, W) is a constant
    minus the weighted sum rate (in nats), so the objective never decreases.

    In this scalar problem the iterates are exactly those of :func:`fp_powers`: with
    u_l = sqrt(g_ll p_l) / B_l one has w_m W_m u_m² = y_m², so the denominators agree and
    v_l² equals FP's power update (Shen & Yu, Part II, relate WMMSE to FP).  Two derivations,
    one algorithm: the tests check that both give the same powers.
    """
    snr_links, w = _check_problem(gain_links, weights, p_max, noise, max_iter, tol)
    x, history = _ascend(snr_links, w, wmmse_update, max_iter, tol)
    return (x * p_max, np.stack(history)) if return_history else x * p_max


def wmmse_sum_power_update(snr_links, w, x, direct, signal, received, one_plus_sinr, *,
                           groups: np.ndarray, newton: int = 30):
    """One WMMSE iteration of Shi et al. for the interfering broadcast channel (IEEE TSP
    59(9), 2011, Sec. III, the transmit update with a multiplier per base station), scalar
    case, in the normalised units of :func:`wmmse_update`.

    The receivers u_l and MSE weights W_l are those of :func:`wmmse_update`; the transmit
    amplitudes of the links of one transmitter k share its power,
    Σ_{l of k} v_l² <= 1 (P_max in these units), instead of each being capped at 1:
    v_l = w_l W_l u_l h_ll / (Σ_m w_m W_m u_m² g_lm + μ_k), with μ_k = 0 when that already
    fits the budget and otherwise the μ_k > 0 at which it is met exactly.  The total power
    f(μ) = Σ_l a_l² / (d_l + μ)² is convex and decreasing in μ, so Newton's method on
    f(μ) = 1 started at μ = 0 climbs to the root without overshooting it.  ``groups``:
    ``(L,)`` the transmitter of each link.  With one link per transmitter this is
    :func:`wmmse_update`."""
    h = np.sqrt(direct)
    u = h * np.sqrt(x) / received
    c = w * one_plus_sinr
    num = c * u * h
    den = (snr_links @ (c * u * u)[..., None])[..., 0]
    onehot = np.eye(int(groups.max()) + 1)[groups]  # (L, K)
    mu = np.zeros(num.shape[:-1] + (onehot.shape[1],))
    for _ in range(newton):
        d = den + mu @ onehot.T
        v = _ratio(num, d)
        excess = (v * v) @ onehot - 1.0
        if not (excess > 1e-12).any():
            break
        slope = (2.0 * _ratio(v * v, d)) @ onehot  # -f'(μ)
        mu = np.where(excess > 0, mu + _ratio(excess, slope), mu)
    v = _ratio(num, den + mu @ onehot.T)
    return v * v


def wmmse_sum_power_powers(gain_links: np.ndarray, weights: np.ndarray, p_max: float,
                           noise: float, groups, max_iter: int = 100, tol: float = 1e-3,
                           return_history: bool = False):
    """Weighted-sum-rate power control by WMMSE with a *total* power budget per transmitter
    (Shi et al.'s interfering broadcast channel; :func:`wmmse_sum_power_update`): the links
    that share a transmitter (``groups[l]``, ``(L,)``) share its ``p_max``.  Arguments,
    stopping rule and return values as :func:`fp_powers`.  With one link per transmitter it
    gives the powers of :func:`wmmse_powers`; with several, a different (smaller) feasible
    set than :func:`wmmse_powers`, where every link may use the whole ``p_max``."""
    snr_links, w = _check_problem(gain_links, weights, p_max, noise, max_iter, tol)
    groups = np.asarray(groups)
    if groups.shape != (w.shape[-1],) or groups.dtype.kind not in "iu" or groups.min() < 0:
        raise ValueError(f"groups must hold one transmitter index >= 0 per link "
                         f"({w.shape[-1]}), got {groups!r}")
    update = functools.partial(wmmse_sum_power_update, groups=groups)
    # a feasible start: full power shared equally among each transmitter's links
    share = 1.0 / np.bincount(groups)[groups]
    x, history = _ascend(snr_links, w, update, max_iter, tol, start=share)
    return (x * p_max, np.stack(history)) if return_history else x * p_max


# ----------------------------------------------------------------------------- policies
class _CellularPolicy(Policy):
    """Shared plumbing: checks the env family, keeps its static structure."""

    def reset(self, env, rng):
        if getattr(env, "family", None) != "cellular":
            raise TypeError(f"{self.name} schedules multi-cell (cellular) environments; got {env!r}")
        super().reset(env, rng)
        self.env = env
        self.top_level = len(env.levels) - 1
        self.ap = np.arange(env.n_agents)

    def _queues(self, obs) -> np.ndarray:
        """ζ in packets of every device slot of every agent's X_k: ``(B, K, S)``; the first
        ``max_devices`` slots are the agent's own devices, padding reads 0."""
        X = obs.X
        return X.reshape(X.shape[0], X.shape[1], -1, self.env.device_features)[..., 0]

    def _serve_everywhere(self, choice: np.ndarray) -> np.ndarray:
        """Joint action ``(B, K, H, 2)``: device ``choice`` (``(B, K)``, 0 = silent) on every
        subband at P_max."""
        out = np.empty(choice.shape + (self.env.n_subbands, 2), dtype=np.int64)
        out[..., 0] = choice[..., None]
        out[..., 1] = np.where(choice > 0, self.top_level, 0)[..., None]
        return out


class CellularLLQ(_CellularPolicy):
    """Local longest queue (greedy) of Zhang & Guo Sec. IV-A: every AP serves, on all
    subbands at P_max, the device with the longest queue in its neighbourhood C(k) if that
    device is its own (ties broken uniformly at random); otherwise it stays silent.  Every
    queue it reads comes from its own X_k."""

    name = "llq"
    information = "neighbourhood"
    coordination = "none"

    def act(self, obs, state=None):
        q = self._queues(obs)
        pick, longest = longest_queue(q, self.rng)
        own = (pick < self.env.max_devices) & (longest > 0)
        return self._serve_everywhere(np.where(own, pick + 1, 0))


class FullPower(_CellularPolicy):
    """Sanity baseline: every AP serves its own longest-queue device on every subband at
    P_max (silent only when all its queues are empty), ignoring interference."""

    name = "full_power"
    information = "local"
    coordination = "none"

    def act(self, obs, state=None):
        q = self._queues(obs)[..., : self.env.max_devices]
        pick, longest = longest_queue(q, self.rng)
        return self._serve_everywhere(np.where(longest > 0, pick + 1, 0))


class CellularRandom(_CellularPolicy):
    """Sanity baseline: per AP and subband, silence or one of its devices uniformly at
    random, at a power level drawn uniformly from the |P| levels."""

    name = "random"
    information = "local"
    coordination = "none"

    def reset(self, env, rng):
        super().reset(env, rng)
        self.n_choices = 1 + (env.agent_devices >= 0).sum(axis=1)  # (K,)

    def act(self, obs, state=None):
        shape = (obs.X.shape[0], self.env.n_agents, self.env.n_subbands)
        out = np.empty(shape + (2,), dtype=np.int64)
        out[..., 0] = self.rng.random(shape) * self.n_choices[:, None]
        out[..., 1] = self.rng.integers(0, len(self.env.levels), shape)
        return out


class FairITLinQ(_CellularPolicy):
    """Fair-ITLinQ (see :func:`itlinq_schedule`) with one candidate link per AP.

    Candidate: the AP's own longest-queue device (read from X_k, ties at random), the same
    device full power would serve, so the comparison isolates what ITLinQ's interference
    tests add.  On each subband the candidates are visited in an independent random order
    and the active ones transmit at P_max; gains are the current slot's (global CSI).

    Thresholds: INR <= ``m`` SNR^``eta`` in both directions; for links whose SNR exceeds
    ``snr_threshold``, the outgoing test uses the stricter ``m_high`` SNR^``eta_high``.  The
    paper prints none of the constants: m = 10, eta = 0.7, m_high = 0.1, eta_high = 0.5 and
    SNR_th = 1200 are the hexagonal-network values of the authors' public code
    (``benchmark.py``).  ``snr_threshold="auto"`` applies the high-SNR rule on hexagonal
    layouts, as that code does, and only the single threshold elsewhere (our choice: their
    code uses other constants for random layouts); a number or ``None`` forces it on or off.
    """

    name = "fair_itlinq"
    information = "global"
    coordination = "central"

    def __init__(self, m: float = 10.0, eta: float = 0.7, m_high: float = 0.1,
                 eta_high: float = 0.5, snr_threshold: float | str | None = "auto") -> None:
        for field, value in {"m": m, "m_high": m_high}.items():
            if not value > 0:
                raise ValueError(f"{field} must be > 0, got {value}")
        for field, value in {"eta": eta, "eta_high": eta_high}.items():
            if not value >= 0:
                raise ValueError(f"{field} must be >= 0, got {value}")
        if not (snr_threshold is None or snr_threshold == "auto"
                or (isinstance(snr_threshold, int | float) and snr_threshold >= 0)):
            raise ValueError(f"snr_threshold must be 'auto', None or a number >= 0, got "
                             f"{snr_threshold!r}")
        self.m, self.eta, self.m_high, self.eta_high = float(m), float(eta), float(m_high), float(eta_high)
        self.snr_threshold = snr_threshold

    def reset(self, env, rng):
        super().reset(env, rng)
        if self.snr_threshold == "auto":
            self.snr_threshold_used = 1200.0 if env.layout.kind == "hexagonal" else None
        else:
            self.snr_threshold_used = self.snr_threshold

    def act(self, obs, state):
        env = self.env
        q = self._queues(obs)[..., : env.max_devices]
        pick, longest = longest_queue(q, self.rng)  # (B, K)
        device = env.agent_devices[self.ap, pick]
        gains = link_gains(state.gain, None, device[:, None, :])  # (B, H, K, K)
        order = self.rng.random(gains.shape[:-1]).argsort(axis=-1)
        on = itlinq_schedule(gains, order, env.p_max, env.noise_w, self.m, self.eta, self.m_high,
                             self.eta_high, self.snr_threshold_used, candidates=(longest > 0)[:, None, :])
        out = np.zeros(on.shape + (2,), dtype=np.int64)
        out[..., 0] = np.where(on, pick[:, None, :] + 1, 0)
        out[..., 1] = np.where(on, self.top_level, 0)
        return out.transpose(0, 2, 1, 3)


class _PowerControl(_CellularPolicy):
    """Genie-aided weighted-sum-rate power control on every subband (FP, WMMSE).

    Weights are the queues ζ in packets (state), gains the current slot's.  With
    ``per_ap_exclusive`` (default) each AP first picks, per subband, the device with the
    largest weight x SNR at P_max, and only those K links are optimised: at most one device
    per AP and subband.  ``per_ap_exclusive=False`` is the paper's relaxation: all N links
    on every subband, an AP's own links interfering with each other.  The objective history
    of the last decision is kept in ``history`` (``(T + 1, B, H)``).
    """

    information = "global"
    coordination = "central"
    solver = staticmethod(fp_powers)

    def __init__(self, per_ap_exclusive: bool = True, max_iter: int = 100, tol: float = 1e-3) -> None:
        if not isinstance(per_ap_exclusive, bool | np.bool_):
            raise TypeError(f"per_ap_exclusive must be True or False, got {per_ap_exclusive!r}")
        if int(max_iter) != max_iter or max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer, got {max_iter}")
        if not tol >= 0:
            raise ValueError(f"tol must be >= 0, got {tol}")
        self.per_ap_exclusive, self.max_iter, self.tol = bool(per_ap_exclusive), int(max_iter), float(tol)

    def reset(self, env, rng):
        super().reset(env, rng)
        self.all_devices = np.arange(env.n_devices)

    def act(self, obs, state):
        env = self.env
        gain = np.asarray(state.gain, dtype=float)  # (B, H, K, N)
        w = state.zeta / env.packet_size  # (B, N) packets
        if self.per_ap_exclusive:
            direct = gain[:, :, env.serving, self.all_devices]  # (B, H, N)
            device, has = select_devices(w[:, None, :], direct, env.agent_devices)  # (B, H, K)
            links = link_gains(gain, None, device)
            weights = np.where(has, w[np.arange(len(w))[:, None, None], device], 0.0)
        else:
            links = gain[:, :, env.serving, :]  # (B, H, N, N): [m, l] = g(AP of m -> l)
            weights = w[:, None, :]
        power, self.history = self.solver(links, weights, env.p_max, env.noise_w, self.max_iter,
                                          self.tol, return_history=True)
        if self.per_ap_exclusive:
            out = np.zeros(gain.shape[:2] + (env.n_devices,))
            np.put_along_axis(out, device, power, axis=-1)
            power = out
        return LinkPowers(power=power)


class FP(_PowerControl):
    """Genie-aided FP (:func:`fp_powers`), per subband, weights = queue lengths."""

    name = "fp"
    solver = staticmethod(fp_powers)


class WMMSE(_PowerControl):
    """Genie-aided scalar WMMSE (:func:`wmmse_powers`), per subband, weights = queue lengths."""

    name = "wmmse"
    solver = staticmethod(wmmse_powers)


class WMMSESumPower(_PowerControl):
    """Genie-aided WMMSE in the interfering-broadcast-channel form of Shi et al.
    (:func:`wmmse_sum_power_powers`), per subband, weights = queue lengths: like
    ``wmmse_all_links`` every device of an AP may be served on every subband, but the AP's
    links on a subband share one P_max (the power budget of a transmitter in Shi et al.),
    instead of each link having its own P_max as in the authors' public code."""

    name = "wmmse_sum_power"

    def __init__(self, max_iter: int = 100, tol: float = 1e-3) -> None:
        super().__init__(per_ap_exclusive=False, max_iter=max_iter, tol=tol)

    def solver(self, links, weights, p_max, noise, max_iter, tol, return_history=False):
        return wmmse_sum_power_powers(links, weights, p_max, noise, self.env.serving,
                                      max_iter, tol, return_history)


def all_links(cls: type[_PowerControl], name: str) -> Callable[..., _PowerControl]:
    """Constructor of ``cls`` (:class:`FP` or :class:`WMMSE`) with ``per_ap_exclusive=False``,
    whose policies are called ``name``: the variant of the authors' public code.

    There every link (AP, device) may transmit on every subband at up to its own P_max,
    with no one-device-per-AP-per-subband rule, so an AP's own links interfere with each
    other and its total power can reach (devices) x P_max per subband.  SPEC section 4's
    ``fp`` / ``wmmse`` first pick one device per AP and subband.  Other keyword arguments
    (``max_iter``, ``tol``) go to ``cls``.
    """
    if not (isinstance(cls, type) and issubclass(cls, _PowerControl)):
        raise TypeError(f"cls must be a power-control policy class (FP, WMMSE), got {cls!r}")

    def make(**kwargs) -> _PowerControl:
        if "per_ap_exclusive" in kwargs:
            raise TypeError(f"{name} fixes per_ap_exclusive=False; use {cls.name!r} to choose it")
        policy = cls(per_ap_exclusive=False, **kwargs)
        policy.name = name
        return policy

    make.__name__ = make.__qualname__ = name
    make.__doc__ = (f"{cls.__name__}(per_ap_exclusive=False, **kwargs), named {name!r}: the "
                    "variant of the authors' public code (see rrmbook.baselines.cellular.all_links).")
    return make
