"""Radio channel: path loss, fading, SINR and spectral efficiency (Zhang & Guo Sec. II-C).

Pure, vectorised functions over NumPy arrays; any leading axes (batch copies, subbands) are
allowed.  Chapter 4 derives each one.  Conventions:

- powers in watts inside the maths (``dbm_to_watt`` converts), gains are linear power gains;
- ``gain[..., k, n]`` is the gain from access point (transmitter) k to device (receiver) n;
- ``link_power[..., n]`` is the power the serving AP puts on the link to device n (0 when
  the device is not scheduled), ``serving[n]`` is that AP.
"""

from __future__ import annotations

import numpy as np
from scipy.special import j0

__all__ = [
    "dbm_to_watt",
    "watt_to_dbm",
    "db_to_linear",
    "linear_to_db",
    "lte_path_loss_db",
    "path_gain",
    "doppler_correlation",
    "rayleigh",
    "gauss_markov_step",
    "power_levels",
    "downlink_sinr",
    "spectral_efficiency",
]


def dbm_to_watt(p_dbm):
    """dBm to watts: 0 dBm = 1 mW."""
    return 10.0 ** ((np.asarray(p_dbm, dtype=float) - 30.0) / 10.0)


def watt_to_dbm(p_w):
    return 10.0 * np.log10(np.asarray(p_w, dtype=float)) + 30.0


def db_to_linear(x_db):
    return 10.0 ** (np.asarray(x_db, dtype=float) / 10.0)


def linear_to_db(x):
    return 10.0 * np.log10(np.asarray(x, dtype=float))


def lte_path_loss_db(distance_m):
    """LTE macro-cell path loss 128.1 + 37.6 log10(d / 1 km) in dB (Table I of Zhang & Guo).

    ``distance_m`` in metres, must be positive.
    """
    d = np.asarray(distance_m, dtype=float)
    if np.any(d <= 0):
        raise ValueError("distance_m must be > 0 metres (a device cannot sit on its AP)")
    return 128.1 + 37.6 * np.log10(d / 1000.0)


def path_gain(distance_m):
    """Large-scale power gain alpha = 10^(-PL/10) of the LTE path-loss model (Z-11)."""
    return db_to_linear(-lte_path_loss_db(distance_m))


def doppler_correlation(doppler_hz: float = 10.0, slot_s: float = 0.02) -> float:
    """Jakes' lag-one correlation rho = J0(2 pi f_d T) of the Gauss-Markov fading (Z-11).

    With f_d = 10 Hz and T = 20 ms this is about 0.6425.
    """
    if doppler_hz < 0 or slot_s <= 0:
        raise ValueError(f"doppler_hz must be >= 0 and slot_s > 0, got {doppler_hz}, {slot_s}")
    return float(j0(2.0 * np.pi * doppler_hz * slot_s))


def rayleigh(rng, shape) -> np.ndarray:
    """Circularly symmetric complex Gaussian CN(0, 1) samples (E|beta|^2 = 1), complex64.

    ``rng`` is a NumPy ``Generator`` or a ``torch.Generator``; the environments use the
    latter because ``torch.randn`` draws Gaussians about three times faster on a CPU, and
    the fading innovations dominate the cost of a multi-cell slot.
    """
    shape = tuple(np.atleast_1d(shape).tolist()) if not isinstance(shape, tuple) else shape
    if isinstance(rng, np.random.Generator):
        pairs = rng.standard_normal(shape + (2,), dtype=np.float32)
    else:
        import torch

        pairs = torch.randn(shape + (2,), generator=rng, dtype=torch.float32).numpy()
    return pairs.view(np.complex64)[..., 0] * np.float32(np.sqrt(0.5))


def gauss_markov_step(beta: np.ndarray, rho: float, rng) -> np.ndarray:
    """One step of the first-order complex Gauss-Markov process of (Z-11):
    beta(t) = rho beta(t-1) + sqrt(1 - rho^2) e(t), e ~ CN(0, 1).  Stationary: E|beta|^2 = 1."""
    innovation = rayleigh(rng, beta.shape)
    innovation *= np.float32(np.sqrt(1.0 - rho * rho))
    innovation += np.float32(rho) * beta
    return innovation


def power_levels(p_min_dbm: float = 0.0, p_max_dbm: float = 23.0, n_levels: int = 6) -> np.ndarray:
    """The |P| log-spaced transmit powers of (Z-14), in watts, from P_min to P_max."""
    if n_levels < 1:
        raise ValueError(f"n_levels must be >= 1, got {n_levels}")
    if p_min_dbm > p_max_dbm:
        raise ValueError(f"p_min_dbm ({p_min_dbm}) must not exceed p_max_dbm ({p_max_dbm})")
    if n_levels == 1:
        return dbm_to_watt(np.array([p_max_dbm]))
    return dbm_to_watt(np.linspace(p_min_dbm, p_max_dbm, n_levels))


def downlink_sinr(gain: np.ndarray, link_power: np.ndarray, serving: np.ndarray,
                  noise_w: float) -> tuple[np.ndarray, np.ndarray]:
    """SINR of every downlink (Z-12), and the interference-plus-noise it sees.

    Parameters
    ----------
    gain : ``(..., K, N)`` gains from every AP to every device.
    link_power : ``(..., N)`` power on the link to each device (0 if not scheduled).  An AP's
        total power is the sum over its links, so several links of one AP may be active
        (the relaxation FP and WMMSE use) or at most one (the paper's per-AP rule).
    serving : ``(N,)`` serving AP of each device.
    noise_w : noise power sigma^2 in watts.

    Returns ``(sinr, interference_plus_noise)``, both ``(..., N)``: every transmitted power
    except the device's own link's counts as interference, including the serving AP's power
    on its other links.
    """
    gain = np.asarray(gain, dtype=float)
    link_power = np.asarray(link_power, dtype=float)
    serving = np.asarray(serving)
    K, N = gain.shape[-2:]
    if link_power.shape[-1] != N or serving.shape != (N,):
        raise ValueError(f"link_power (..., {N}) and serving ({N},) must match gain (..., {K}, {N}); "
                         f"got {link_power.shape} and {serving.shape}")
    devices = np.arange(N)
    onehot = np.zeros((N, K))
    onehot[devices, serving] = 1.0
    ap_power = link_power @ onehot  # (..., K): total power of each AP
    received = (ap_power[..., None, :] @ gain)[..., 0, :]  # sum_k P_k g_kn
    signal = gain[..., serving, devices] * link_power  # own AP's gain on the own link
    interference_plus_noise = np.maximum(received - signal, 0.0) + noise_w
    return signal / interference_plus_noise, interference_plus_noise


def spectral_efficiency(sinr: np.ndarray, cap_db: float | None = 30.0) -> np.ndarray:
    """log2(1 + SINR) in bit/s/Hz (Z-12), with the SINR capped at ``cap_db`` (30 dB: the
    usual link-adaptation limit, so at most log2(1001) ~ 9.97 bit/s/Hz)."""
    s = np.asarray(sinr, dtype=float)
    if cap_db is not None:
        s = np.minimum(s, db_to_linear(cap_db))
    return np.log2(1.0 + s)
