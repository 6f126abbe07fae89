"""Statistics used by :class:`rrmbook.evaluate.Results` and the chapters (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ecdf", "percentile", "fraction_within", "confidence_interval", "ema"]


def ecdf(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empirical CDF: sorted distinct values x and F(x) = P(value <= x)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return np.zeros(0), np.zeros(0)
    x, counts = np.unique(values, return_counts=True)
    return x, np.cumsum(counts) / values.size


def percentile(values: np.ndarray, p: float) -> float:
    """The p-th percentile (0..100) of ``values`` (linear interpolation); NaN if empty."""
    if not 0 <= p <= 100:
        raise ValueError(f"percentile p must be in [0, 100], got {p}")
    values = np.asarray(values, dtype=float)
    return float(np.percentile(values, p)) if values.size else float("nan")


def fraction_within(values: np.ndarray, bound: float) -> float:
    """Share of values <= ``bound`` (e.g. packets delivered within one slot)."""
    values = np.asarray(values, dtype=float)
    return float(np.mean(values <= bound + 1e-12)) if values.size else float("nan")


def confidence_interval(samples: np.ndarray, z: float = 1.96) -> tuple[float, float]:
    """Normal-approximation interval for the mean of independent samples (e.g. per-copy
    means of a batched run)."""
    samples = np.asarray(samples, dtype=float)
    if samples.size < 2:
        m = float(samples.mean()) if samples.size else float("nan")
        return m, m
    half = z * samples.std(ddof=1) / np.sqrt(samples.size)
    return float(samples.mean() - half), float(samples.mean() + half)


def ema(values: Sequence[float], weight: float = 0.9) -> np.ndarray:
    """Exponential moving average ``m_t = weight·m_{t-1} + (1 − weight)·x_t`` (m_0 = x_0),
    the smoothing of learning curves in plots and in their analysis."""
    x = np.asarray(values, dtype=float)
    out = np.empty_like(x)
    acc = x[0] if x.size else 0.0
    for i, v in enumerate(x):
        acc = weight * acc + (1.0 - weight) * v if i else v
        out[i] = acc
    return out
