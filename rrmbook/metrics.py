"""Statistics used by :class:`rrmbook.evaluate.Results`, the sweeps and the chapters (pure
functions).

The mean and confidence interval over seeds live here and nowhere else: :func:`mean_ci`
(Student-t) gives an :class:`Interval`, and :func:`separated` / :func:`compare_intervals`
say whether two intervals support a claim such as "A has a lower delay than B".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

__all__ = ["paired_ci", "ecdf", "percentile", "fraction_within", "confidence_interval", "ema",
           "Interval", "t_quantile", "mean_ci", "separated", "compare_intervals"]


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


def confidence_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """``(low, high)`` of the Student-t interval of :func:`mean_ci` for the mean of
    independent samples (e.g. the per-copy means of a batched run); a single sample gives
    ``(mean, mean)``.  The book's one interval: kept as a shorthand for the bounds."""
    samples = np.asarray(samples, dtype=float)
    if samples.size < 2:
        m = float(samples.mean()) if samples.size else float("nan")
        return m, m
    ci = mean_ci(samples, level)
    return ci.low, ci.high


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


# ------------------------------------------------------------------ intervals over seeds
class Interval(NamedTuple):
    """A mean over ``n`` independent runs (seeds) and its confidence interval
    ``[low, high]``; unpacks as ``n, mean, low, high``."""

    n: int
    mean: float
    low: float
    high: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def as_dict(self) -> dict:
        """``{"n", "mean", "low", "high"}`` (plain floats, JSON-ready)."""
        return {"n": int(self.n), "mean": float(self.mean), "low": float(self.low),
                "high": float(self.high)}

    def contains(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom
    (exact, from SciPy); e.g. ``t_quantile(0.975, 2)`` = 4.303."""
    if not 0 < p < 1:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if int(df) != df or df < 1:
        raise ValueError(f"df must be a positive integer, got {df}")
    from scipy.stats import t

    return float(t.ppf(p, int(df)))


def mean_ci(values: Sequence[float] | np.ndarray, level: float = 0.95) -> Interval:
    """Mean of ``values`` (one number per seed) and its two-sided ``level`` confidence
    interval, ``mean ± t_{(1+level)/2, n-1} · s / sqrt(n)`` with ``s`` the sample standard
    deviation.

    Why Student-t and not the bootstrap: a sweep has few seeds per configuration (3 to 10,
    because each is a training run or a full evaluation), and at such n the percentile
    bootstrap is unreliable: it can only resample the n values it has, so its interval is
    far too narrow (at n = 3 it never reaches beyond the smallest and largest value, and
    covers the true mean much less often than claimed).  The t interval is exact for
    normally distributed values and robust for the roughly symmetric per-seed averages a
    sweep produces, and it widens correctly as n shrinks (t_{0.975} is 4.303 at n = 3,
    2.262 at n = 10, 1.96 for large n).

    With one value the interval is undefined: ``low`` and ``high`` are NaN.  With no value
    everything but ``n`` is NaN.  A NaN among the values makes the result NaN (a failed
    measurement is never silently dropped).
    """
    level = float(level)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    x = np.asarray(values, dtype=float).ravel()
    n = int(x.size)
    if n == 0:
        return Interval(0, float("nan"), float("nan"), float("nan"))
    mean = float(x.mean())
    if n == 1:
        return Interval(1, mean, float("nan"), float("nan"))
    half = t_quantile((1 + level) / 2, n - 1) * float(x.std(ddof=1)) / float(np.sqrt(n))
    return Interval(n, mean, mean - half, mean + half)


def paired_ci(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
              level: float = 0.95) -> Interval:
    """Interval of the mean of the differences ``a[k] - b[k]`` (:func:`mean_ci` of them): the
    comparison of two methods measured on the *same* seeds (two deterministic rules on the
    same evaluation drops), where most of the seed-to-seed spread is shared and cancels.
    ``b`` may be one number (a method measured once on the evaluation set that every value
    of ``a`` was measured on).  "A beats B" when the interval lies above 0."""
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if b.size not in (1, a.size):
        raise ValueError(f"paired_ci needs as many values in b as in a (or one), got "
                         f"{b.size} and {a.size}")
    return mean_ci(a - b, level)


def _bounds(interval) -> tuple[float, float]:
    if isinstance(interval, Mapping):
        return float(interval["low"]), float(interval["high"])
    if isinstance(interval, Interval):
        return float(interval.low), float(interval.high)
    low, high = interval
    return float(low), float(high)


def compare_intervals(a, b) -> str:
    """``"<"`` if interval ``a`` lies entirely below ``b``, ``">"`` if entirely above,
    ``"overlap"`` otherwise (also when either is undefined, NaN).  Intervals are
    :class:`Interval` objects, ``(low, high)`` pairs or dicts with ``low`` and ``high``."""
    a_low, a_high = _bounds(a)
    b_low, b_high = _bounds(b)
    if a_high < b_low:
        return "<"
    if b_high < a_low:
        return ">"
    return "overlap"


def separated(a, b) -> bool:
    """Whether two confidence intervals do not overlap (the condition for the book to say
    "A is lower than B"); see :func:`compare_intervals`."""
    return compare_intervals(a, b) != "overlap"
