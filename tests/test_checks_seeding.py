"""The one validation vocabulary (rrmbook.checks) and the one list of random streams
(rrmbook.seeding)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rrmbook import checks, seeding
from rrmbook.seeding import Stream


# ------------------------------------------------------------------------------- checks
@pytest.mark.parametrize("value, expected", [(1, 1), (7, 7), (np.int64(3), 3), (2.0, 2)])
def test_positive_int_accepts(value, expected):
    out = checks.positive_int("batch", value)
    assert out == expected and type(out) is int


@pytest.mark.parametrize("value", [0, -1, 1.5, True, np.bool_(True), "3", None, math.nan,
                                   math.inf])
def test_positive_int_rejects_naming_the_field(value):
    with pytest.raises(ValueError, match=r"^batch must be a positive integer, got "):
        checks.positive_int("batch", value)


def test_non_negative_int():
    assert checks.non_negative_int("seed", 0) == 0
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -1"):
        checks.non_negative_int("seed", -1)
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got 1.7"):
        checks.non_negative_int("seed", 1.7)


def test_real_numbers():
    assert checks.positive("lr", 1e-3) == 1e-3 and checks.non_negative("alpha", 0) == 0.0
    assert checks.finite("x", -2) == -2.0
    for fn, bad, allowed in [(checks.positive, 0.0, "> 0"), (checks.non_negative, -1e-9, ">= 0"),
                             (checks.positive, math.nan, "> 0"), (checks.finite, math.inf, ","),
                             (checks.positive, True, "> 0"), (checks.positive, "1", "> 0")]:
        with pytest.raises(ValueError, match=f"field must be a finite number ?{allowed}"):
            fn("field", bad)


def test_in_range_ends():
    assert checks.in_range("gamma", 0.0, 0.0, 1.0, high_open=True) == 0.0
    with pytest.raises(ValueError, match=r"gamma must be a number in \[0.0, 1.0\), got 1.0"):
        checks.in_range("gamma", 1.0, 0.0, 1.0, high_open=True)
    with pytest.raises(ValueError, match=r"polyak must be a number in \(0, 1\], got 0"):
        checks.in_range("polyak", 0, 0, 1, low_open=True)
    assert checks.in_range("polyak", 1, 0, 1, low_open=True) == 1.0


def test_one_of_boolean_instance_of():
    assert checks.one_of("mode", "shared", ("shared", "separate")) == "shared"
    with pytest.raises(ValueError, match="mode must be one of 'shared', 'separate'; got 'x'"):
        checks.one_of("mode", "x", ("shared", "separate"))
    assert checks.boolean("flag", np.bool_(False)) is False
    with pytest.raises(TypeError, match="flag must be True or False, got 1"):
        checks.boolean("flag", 1)
    with pytest.raises(TypeError, match="config must be a int or float, got str"):
        checks.instance_of("config", "a", (int, float))


@given(st.integers(min_value=-10**6, max_value=10**6))
def test_positive_int_agrees_with_its_definition(n):
    if n >= 1:
        assert checks.positive_int("n", n) == n
    else:
        with pytest.raises(ValueError):
            checks.positive_int("n", n)


# ------------------------------------------------------------------------------ seeding
def test_stream_numbers_are_fixed():
    # the shipped results were made with these numbers: never renumber a stream
    assert {s.name: int(s) for s in Stream} == {
        "TRAFFIC": 0, "POLICY": 1, "FADING": 2, "LAYOUT_DRAWS": 3, "MAPPO_INIT": 10, "MAPPO_SAMPLE": 11,
        "PF_LAYOUT": 20, "PF_FADING": 21, "OFFLINE_SAMPLE": 30, "OFFLINE_ACT": 31,
        "OFFLINE_INIT": 32, "CQL_BATCH": 40, "DATASET_SUBSET": 41}


def test_rng_is_numpys_generator_of_seed_and_stream():
    a = seeding.rng(5, Stream.TRAFFIC).random(4)
    np.testing.assert_array_equal(a, np.random.default_rng([5, 0]).random(4))
    assert not np.array_equal(a, seeding.rng(5, Stream.POLICY).random(4))
    assert not np.array_equal(a, seeding.rng(6, Stream.TRAFFIC).random(4))


def test_mix_is_63_bits_of_the_seed_sequence():
    state = np.random.SeedSequence([3, 11]).generate_state(1, dtype=np.uint64)[0]
    assert seeding.mix(3, Stream.MAPPO_SAMPLE) == int(state) & ((1 << 63) - 1)
    assert 0 <= seeding.mix(2**40, 40) < 2**63


def test_torch_generator_repeats():
    a = torch.rand(3, generator=seeding.torch_generator(1, Stream.FADING))
    b = torch.rand(3, generator=seeding.torch_generator(1, Stream.FADING))
    c = torch.rand(3, generator=seeding.torch_generator(1, Stream.MAPPO_INIT))
    assert torch.equal(a, b) and not torch.equal(a, c)
