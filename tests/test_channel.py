"""Radio channel maths of the multi-cell model (Zhang & Guo Sec. II-C, SPEC section 2):
path loss, unit conversions, power levels (Z-14), SINR (Z-12), spectral efficiency with its
30 dB cap, Rayleigh and Gauss-Markov fading (Z-11)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import j0

from rrmbook.channel import (
    db_to_linear,
    dbm_to_watt,
    doppler_correlation,
    downlink_sinr,
    gauss_markov_step,
    linear_to_db,
    lte_path_loss_db,
    path_gain,
    power_levels,
    rayleigh,
    spectral_efficiency,
    watt_to_dbm,
)

LOG2 = np.log10(2.0)


# ----------------------------------------------------------------- path loss and units
def test_lte_path_loss_hand_values():
    assert lte_path_loss_db(1000.0) == pytest.approx(128.1)
    assert lte_path_loss_db(500.0) == pytest.approx(128.1 - 37.6 * LOG2)  # 116.78 dB
    assert lte_path_loss_db(500.0) == pytest.approx(116.7813, abs=1e-4)
    assert lte_path_loss_db(2000.0) == pytest.approx(128.1 + 37.6 * LOG2)
    assert lte_path_loss_db(100.0) == pytest.approx(128.1 - 37.6)  # one decade closer
    d = np.array([[35.0, 250.0], [1000.0, 866.0]])
    pl = lte_path_loss_db(d)
    assert pl.shape == (2, 2)
    np.testing.assert_allclose(pl, 128.1 + 37.6 * np.log10(d / 1000.0))


def test_path_gain_is_minus_path_loss_in_linear():
    assert path_gain(1000.0) == pytest.approx(10 ** -12.81, rel=1e-12)
    assert path_gain(100.0) == pytest.approx(10 ** -9.05, rel=1e-12)
    # 37.6 dB per decade: halving the distance multiplies the gain by 2^3.76
    assert path_gain(250.0) / path_gain(500.0) == pytest.approx(2 ** 3.76, rel=1e-12)


@pytest.mark.parametrize("bad", [0.0, -5.0, [10.0, 0.0]])
def test_path_loss_rejects_non_positive_distance(bad):
    with pytest.raises(ValueError, match="distance_m"):
        lte_path_loss_db(bad)
    with pytest.raises(ValueError, match="distance_m"):
        path_gain(bad)


def test_dbm_watt_conversions():
    assert dbm_to_watt(0.0) == pytest.approx(1e-3)
    assert dbm_to_watt(30.0) == pytest.approx(1.0)
    assert dbm_to_watt(23.0) == pytest.approx(0.19952623, rel=1e-7)
    assert dbm_to_watt(-114.0) == pytest.approx(10 ** -14.4, rel=1e-12)
    assert watt_to_dbm(1e-3) == pytest.approx(0.0, abs=1e-12)
    assert watt_to_dbm(1.0) == pytest.approx(30.0)
    x = np.array([-114.0, -3.0, 0.0, 17.5, 23.0])
    np.testing.assert_allclose(watt_to_dbm(dbm_to_watt(x)), x, atol=1e-12)
    assert db_to_linear(30.0) == pytest.approx(1000.0)
    assert db_to_linear(-10.0) == pytest.approx(0.1)
    assert linear_to_db(1000.0) == pytest.approx(30.0)
    np.testing.assert_allclose(linear_to_db(db_to_linear(x)), x, atol=1e-12)


# ----------------------------------------------------------------- power levels (Z-14)
def test_power_levels_paper_defaults():
    p = power_levels(0.0, 23.0, 6)
    assert p.shape == (6,)
    assert p[0] == pytest.approx(1e-3)  # 0 dBm = 1 mW
    assert p[-1] == pytest.approx(0.1995262, rel=1e-6)  # 23 dBm = 199.5 mW
    np.testing.assert_allclose(np.diff(watt_to_dbm(p)), 4.6, atol=1e-12)  # equal dB steps
    # (Z-14): P_min (P_max / P_min)^(i / (|P| - 1))
    np.testing.assert_allclose(p, p[0] * (p[-1] / p[0]) ** (np.arange(6) / 5), rtol=1e-12)
    np.testing.assert_allclose(p[1:] / p[:-1], 10 ** 0.46, rtol=1e-12)
    np.testing.assert_allclose(power_levels(), p)  # the defaults are the paper's


def test_power_levels_edge_cases_and_errors():
    np.testing.assert_allclose(power_levels(0.0, 23.0, 1), [dbm_to_watt(23.0)])
    np.testing.assert_allclose(power_levels(10.0, 10.0, 3), [0.01] * 3)
    with pytest.raises(ValueError, match="n_levels"):
        power_levels(0.0, 23.0, 0)
    with pytest.raises(ValueError, match="p_min_dbm"):
        power_levels(24.0, 23.0, 6)


# ----------------------------------------------------------------- SINR (Z-12)
# Two APs, three devices; AP 0 serves devices 0 and 1, AP 1 serves device 2.
# gain[k, n] = gain from AP k to device n.
GAIN = np.array([[4.0, 1.0, 0.5],
                 [0.25, 2.0, 3.0]])
SERVING = np.array([0, 0, 1])
NOISE = 0.5


def test_downlink_sinr_hand_case():
    # AP 0 serves device 0 at 2 W (device 1 silent), AP 1 serves device 2 at 3 W
    power = np.array([2.0, 0.0, 3.0])
    sinr, ipn = downlink_sinr(GAIN, power, SERVING, NOISE)
    # device 0: signal 4*2 = 8, interference from AP 1: 0.25*3 = 0.75, + noise 0.5
    # device 1 (silent; its own AP is busy serving device 0): AP 0's 2 W is interference:
    #   1*2 + 2*3 + 0.5 = 8.5, SINR 0
    # device 2: signal 3*3 = 9, interference from AP 0: 0.5*2 = 1, + noise 0.5
    np.testing.assert_allclose(ipn, [1.25, 8.5, 1.5])
    np.testing.assert_allclose(sinr, [8 / 1.25, 0.0, 9 / 1.5])
    assert sinr.shape == ipn.shape == (3,)


def test_downlink_sinr_own_ap_other_link_is_interference():
    # the relaxation FP/WMMSE use: AP 0 puts 2 W on device 0 and 1 W on device 1
    power = np.array([2.0, 1.0, 3.0])
    sinr, ipn = downlink_sinr(GAIN, power, SERVING, NOISE)
    # device 0: signal 8; interference 4*1 (own AP, other link) + 0.25*3 + 0.5 = 5.25
    # device 1: signal 1*1 = 1; interference 1*2 (own AP, other link) + 2*3 + 0.5 = 8.5
    # device 2: signal 9; interference 0.5*(2 + 1) + 0.5 = 2
    np.testing.assert_allclose(ipn, [5.25, 8.5, 2.0])
    np.testing.assert_allclose(sinr, [8 / 5.25, 1 / 8.5, 9 / 2.0])


def test_downlink_sinr_all_silent_is_noise_only():
    sinr, ipn = downlink_sinr(GAIN, np.zeros(3), SERVING, NOISE)
    np.testing.assert_array_equal(sinr, 0.0)
    np.testing.assert_allclose(ipn, NOISE)


def test_downlink_sinr_leading_axes_match_slices():
    rng = np.random.default_rng(4)
    B, H, K, N = 2, 3, 4, 7
    serving = np.array([0, 0, 1, 2, 2, 3, 3])
    gain = rng.exponential(size=(B, H, K, N)) * 1e-10
    power = rng.uniform(0, 0.2, (B, H, N)) * (rng.random((B, H, N)) < 0.6)
    sinr, ipn = downlink_sinr(gain, power, serving, 1e-13)
    assert sinr.shape == ipn.shape == (B, H, N)
    for b in range(B):
        for h in range(H):
            s1, i1 = downlink_sinr(gain[b, h], power[b, h], serving, 1e-13)
            np.testing.assert_allclose(sinr[b, h], s1, rtol=1e-12)
            np.testing.assert_allclose(ipn[b, h], i1, rtol=1e-12)
            # brute force (Z-12): every other transmitted power is interference
            for n in range(N):
                other = sum(gain[b, h, serving[m], n] * power[b, h, m] for m in range(N) if m != n)
                assert i1[n] == pytest.approx(other + 1e-13, rel=1e-10)
                assert s1[n] == pytest.approx(gain[b, h, serving[n], n] * power[b, h, n]
                                              / (other + 1e-13), rel=1e-10)


def test_downlink_sinr_shape_errors():
    with pytest.raises(ValueError, match="link_power"):
        downlink_sinr(GAIN, np.ones(4), SERVING, NOISE)
    with pytest.raises(ValueError, match="serving"):
        downlink_sinr(GAIN, np.ones(3), np.array([0, 1]), NOISE)


# ----------------------------------------------------------------- spectral efficiency
def test_spectral_efficiency_cap():
    cap = np.log2(1001.0)
    assert spectral_efficiency(1000.0) == pytest.approx(cap)  # exactly at 30 dB
    assert spectral_efficiency(1e6) == pytest.approx(cap)  # above: capped
    assert spectral_efficiency(np.inf) == pytest.approx(cap)
    assert spectral_efficiency(10.0) == pytest.approx(np.log2(11.0))  # below: log2(1 + x)
    assert spectral_efficiency(999.0) == pytest.approx(np.log2(1000.0))
    assert spectral_efficiency(0.0) == 0.0
    assert spectral_efficiency(1e6, cap_db=None) == pytest.approx(np.log2(1e6 + 1))
    assert spectral_efficiency(1e6, cap_db=20.0) == pytest.approx(np.log2(101.0))
    x = np.array([[0.0, 1.0, 3.0], [999.0, 1000.0, 5e3]])
    np.testing.assert_allclose(spectral_efficiency(x), np.log2(1 + np.minimum(x, 1000.0)))


# ----------------------------------------------------------------- fading (Z-11)
def test_doppler_correlation_paper_value():
    rho = doppler_correlation()
    assert rho == pytest.approx(float(j0(2 * np.pi * 10 * 0.02)), rel=1e-12)
    assert rho == pytest.approx(0.6425, abs=5e-4)
    assert doppler_correlation(0.0, 0.02) == pytest.approx(1.0)  # static channel
    assert doppler_correlation(5.0, 0.02) > rho  # slower fading, more correlation
    with pytest.raises(ValueError, match="doppler_hz"):
        doppler_correlation(-1.0)
    with pytest.raises(ValueError, match="slot_s"):
        doppler_correlation(10.0, 0.0)


def _generators(seed):
    return [np.random.default_rng(seed), torch.Generator().manual_seed(seed)]


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_rayleigh_is_unit_power_circular_gaussian(kind):
    n = 100_000
    rng = _generators(1)[kind == "torch"]
    beta = rayleigh(rng, (n,))
    assert beta.shape == (n,) and beta.dtype == np.complex64
    power = np.abs(beta.astype(np.complex128)) ** 2
    # |beta|^2 ~ Exp(1): mean 1, standard deviation 1 -> +-3 sigma of the sample mean
    assert abs(power.mean() - 1.0) < 3 / np.sqrt(n)
    assert power.var() == pytest.approx(1.0, abs=0.05)
    # real and imaginary parts: zero mean, variance 1/2 each, uncorrelated (circular)
    assert abs(beta.real.mean()) < 3 * np.sqrt(0.5 / n)
    assert abs(beta.imag.mean()) < 3 * np.sqrt(0.5 / n)
    assert np.var(beta.real) == pytest.approx(0.5, abs=0.02)
    assert np.var(beta.imag) == pytest.approx(0.5, abs=0.02)
    assert abs(np.mean(beta.astype(np.complex128) ** 2)) < 4 * np.sqrt(2 / n)  # E[beta^2] = 0


def test_rayleigh_shapes_and_seeding():
    for rng_a, rng_b in zip(_generators(7), _generators(7), strict=True):
        a = rayleigh(rng_a, (2, 3, 4))
        b = rayleigh(rng_b, (2, 3, 4))
        assert a.shape == (2, 3, 4)
        np.testing.assert_array_equal(a, b)  # same seed, same draws
        assert not np.array_equal(rayleigh(rng_a, (2, 3, 4)), a)  # the stream moves on
    assert rayleigh(np.random.default_rng(0), 5).shape == (5,)  # an int shape works too
    assert not np.array_equal(rayleigh(np.random.default_rng(0), 8),
                              rayleigh(np.random.default_rng(1), 8))


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_gauss_markov_stationary_power_and_lag_one_correlation(kind):
    rho = doppler_correlation()
    chains, steps = 50_000, 25
    rng = _generators(3)[kind == "torch"]
    beta = rayleigh(rng, (chains,))
    for _ in range(steps):
        prev, beta = beta, gauss_markov_step(beta, rho, rng)
    assert beta.dtype == np.complex64 and beta.shape == (chains,)
    b, p = beta.astype(np.complex128), prev.astype(np.complex128)
    # stationary: E|beta|^2 = 1 (sd of |beta|^2 is 1)
    assert abs(np.mean(np.abs(b) ** 2) - 1.0) < 4 / np.sqrt(chains)
    # lag one: E[beta_t conj(beta_{t-1})] = rho (real), the imaginary part is 0.
    # Var of the real part per sample = rho^2 + (1 - rho^2) / 2.
    corr = np.mean(b * np.conj(p))
    sd = np.sqrt((rho**2 + (1 - rho**2) / 2) / chains)
    assert abs(corr.real - rho) < 4 * sd
    assert abs(corr.imag) < 4 * sd
    # power correlation at lag one: corr(|beta_t|^2, |beta_{t-1}|^2) = rho^2 for Rayleigh
    assert np.corrcoef(np.abs(b) ** 2, np.abs(p) ** 2)[0, 1] == pytest.approx(rho**2, abs=0.03)


def test_gauss_markov_transient_from_zero():
    # from beta = 0 the power after t steps is 1 - rho^(2t) (hand-derived)
    rho, chains = 0.6, 100_000
    rng = np.random.default_rng(11)
    beta = np.zeros(chains, dtype=np.complex64)
    for t in range(1, 4):
        beta = gauss_markov_step(beta, rho, rng)
        assert np.mean(np.abs(beta) ** 2) == pytest.approx(1 - rho ** (2 * t),
                                                           abs=4 * (1 - rho ** (2 * t)) / np.sqrt(chains))


def test_gauss_markov_extremes_and_seeding():
    beta = rayleigh(np.random.default_rng(0), (4, 5))
    np.testing.assert_allclose(gauss_markov_step(beta, 1.0, np.random.default_rng(1)), beta,
                               rtol=1e-6)  # rho = 1: frozen channel
    fresh = gauss_markov_step(beta, 0.0, np.random.default_rng(1))
    np.testing.assert_allclose(fresh, rayleigh(np.random.default_rng(1), (4, 5)), rtol=1e-6)
    for g1, g2 in zip(_generators(5), _generators(5), strict=True):
        a = gauss_markov_step(beta, 0.64, g1)
        b = gauss_markov_step(beta, 0.64, g2)
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(beta, rayleigh(np.random.default_rng(0), (4, 5)))  # input untouched
