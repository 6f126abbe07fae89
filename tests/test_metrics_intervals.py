"""The one mean-and-interval implementation (rrmbook.metrics.mean_ci, Student-t over
seeds) against hand-computed values, and the separation test the chapters assert with."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rrmbook import metrics
from rrmbook.metrics import Interval, compare_intervals, mean_ci, separated, t_quantile


@pytest.mark.parametrize(("p", "df", "value"), [
    (0.975, 1, 12.706), (0.975, 2, 4.303), (0.975, 4, 2.776), (0.975, 9, 2.262),
    (0.975, 29, 2.045), (0.95, 2, 2.920), (0.995, 4, 4.604)])
def test_t_quantiles_match_the_tables(p, df, value):
    assert t_quantile(p, df) == pytest.approx(value, abs=5e-4)


def test_t_quantile_tends_to_the_normal_one():
    assert t_quantile(0.975, 10_000) == pytest.approx(1.960, abs=1e-3)
    with pytest.raises(ValueError, match="df"):
        t_quantile(0.975, 0)
    with pytest.raises(ValueError, match="p must"):
        t_quantile(1.0, 3)


def test_mean_ci_by_hand():
    # 3 seeds: mean 2, s = 1, half width 4.3027 / sqrt(3) = 2.4841
    n, mean, low, high = mean_ci([1.0, 2.0, 3.0])
    assert (n, mean) == (3, 2.0)
    assert (low, high) == pytest.approx((2 - 2.4841, 2 + 2.4841), abs=1e-4)
    # 5 seeds: mean 4, s = sqrt(2), half width 2.776 * sqrt(2) / sqrt(5) = 1.7560
    ci = mean_ci([2, 4, 4, 4, 6])
    assert ci.mean == 4.0 and ci.half_width == pytest.approx(1.7560, abs=1e-3)
    # 10 seeds 0..9: mean 4.5, s = 3.0277, half width 2.262 * 3.0277 / sqrt(10) = 2.1658
    ci = mean_ci(np.arange(10))
    assert ci.n == 10 and ci.mean == 4.5
    assert (ci.low, ci.high) == pytest.approx((4.5 - 2.1658, 4.5 + 2.1658), abs=1e-3)
    # a 90 % interval is narrower: t_{0.95, 2} = 2.920
    assert mean_ci([1, 2, 3], level=0.90).half_width == pytest.approx(2.920 / math.sqrt(3),
                                                                      abs=1e-3)


def test_mean_ci_edge_cases():
    assert mean_ci([5.0, 5.0, 5.0]) == (3, 5.0, 5.0, 5.0)
    one = mean_ci([7.0])
    assert one.n == 1 and one.mean == 7.0 and math.isnan(one.low) and math.isnan(one.high)
    none = mean_ci([])
    assert none.n == 0 and math.isnan(none.mean)
    assert math.isnan(mean_ci([1.0, float("nan"), 2.0]).mean)
    with pytest.raises(ValueError, match="level"):
        mean_ci([1, 2], level=95)
    assert mean_ci([1.0, 3.0]).as_dict() == pytest.approx(
        {"n": 2, "mean": 2.0, "low": 2.0 - 12.7062, "high": 2.0 + 12.7062}, abs=1e-3)
    assert isinstance(mean_ci([1, 2]).low, float)
    assert mean_ci([1, 2, 3]).contains(2.5) and not mean_ci([1, 2, 3]).contains(10)


def test_separated_and_compare():
    a, b = Interval(3, 1.0, 0.5, 1.5), Interval(3, 2.0, 1.6, 2.4)
    assert separated(a, b) and compare_intervals(a, b) == "<"
    assert compare_intervals(b, a) == ">"
    c = {"mean": 1.4, "low": 1.2, "high": 1.7}
    assert not separated(a, c) and compare_intervals(a, c) == "overlap"
    assert compare_intervals((0.0, 1.0), (1.0, 2.0)) == "overlap"  # touching is not separated
    assert not separated(mean_ci([1.0]), mean_ci([5.0]))          # undefined: no claim
    assert separated(mean_ci([1.0, 1.1, 0.9]), mean_ci([3.0, 3.1, 2.9]))


def test_the_interval_of_batch_copies_is_the_same_student_t_interval():
    low, high = metrics.confidence_interval(np.array([1.0, 2.0, 3.0]))
    assert (low, high) == pytest.approx((2 - 4.303 / math.sqrt(3), 2 + 4.303 / math.sqrt(3)),
                                        abs=1e-3)
    assert metrics.confidence_interval([5.0]) == (5.0, 5.0)


def test_paired_ci_cancels_the_shared_spread():
    from rrmbook.metrics import paired_ci

    a, b = [1.0, 2.0, 3.0], [0.9, 1.8, 2.9]          # differences 0.1, 0.2, 0.1
    n, mean, low, high = paired_ci(a, b)
    half = t_quantile(0.975, 2) * np.std([0.1, 0.2, 0.1], ddof=1) / np.sqrt(3)
    assert n == 3 and mean == pytest.approx(0.4 / 3)
    assert (low, high) == pytest.approx((0.4 / 3 - half, 0.4 / 3 + half))
    assert compare_intervals(mean_ci(a), mean_ci(b)) == "overlap"   # unpaired: no verdict
    assert paired_ci([2.0, 2.1, 2.2], 1.5).low > 0                        # b one number
    with pytest.raises(ValueError, match="as many values"):
        paired_ci([1, 2, 3], [1, 2])
