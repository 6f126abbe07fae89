"""Traffic: Poisson arrivals, the queue recursion (Z-4), (Z-5) and FIFO per-packet delays
(SPEC section 0: delay = completion - arrival, arrival at the start of the slot)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rrmbook.traffic import PacketLedger, fifo_delays, poisson_arrivals, queue_step


def _tbn(seq):
    """A single queue's per-slot counts as a (T, 1, 1) array."""
    return np.asarray(seq, dtype=float).reshape(-1, 1, 1)


# ----------------------------------------------------------------- arrivals
def test_poisson_arrivals_shape_and_mean():
    rng = np.random.default_rng(0)
    rates = np.array([0.0, 0.5, 2.0])
    y = poisson_arrivals(rng, rates, batch=20_000)
    assert y.shape == (20_000, 3)
    assert np.issubdtype(y.dtype, np.integer)
    assert (y[:, 0] == 0).all()
    np.testing.assert_allclose(y.mean(axis=0), rates, atol=0.05)
    np.testing.assert_allclose(y.var(axis=0), rates, atol=0.1)


def test_poisson_arrivals_deterministic_per_seed():
    r = np.array([0.3, 0.4])
    a = poisson_arrivals(np.random.default_rng(5), r, 7)
    b = poisson_arrivals(np.random.default_rng(5), r, 7)
    c = poisson_arrivals(np.random.default_rng(6), r, 7)
    np.testing.assert_array_equal(a, b)
    assert a.shape == c.shape == (7, 2)


# ----------------------------------------------------------------- queue recursion
def test_queue_step_hand_case():
    q_prev = np.array([0, 2, 5, 0])
    arrivals = np.array([1, 0, 2, 0])
    service = np.array([2, 1, 0, 3])
    zeta, q, served = queue_step(q_prev, arrivals, service)
    np.testing.assert_array_equal(zeta, [1, 2, 7, 0])  # (Z-5)
    np.testing.assert_array_equal(served, [1, 1, 0, 0])  # service to an empty queue is wasted
    np.testing.assert_array_equal(q, [0, 1, 7, 0])  # (Z-4)


def test_queue_step_packet_arriving_this_slot_can_be_served():
    # zeta includes the slot's arrivals, so an arrival to an empty queue is served at once
    zeta, q, served = queue_step(np.array([0]), np.array([1]), np.array([1]))
    assert (zeta, q, served) == (1, 0, 1)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6))
def test_queue_step_conserves_and_never_goes_negative(seed, n):
    rng = np.random.default_rng(seed)
    q_prev = rng.integers(0, 5, (3, n))
    arrivals = rng.integers(0, 4, (3, n))
    service = rng.integers(0, 6, (3, n))
    zeta, q, served = queue_step(q_prev, arrivals, service)
    assert (q >= 0).all()
    np.testing.assert_array_equal(q, q_prev + arrivals - served)
    np.testing.assert_array_equal(served, np.minimum(service, q_prev + arrivals))


# ----------------------------------------------------------------- FIFO delays, whole slots
def test_served_in_arrival_slot_has_delay_one():
    rec = fifo_delays(_tbn([1]), _tbn([1]))
    np.testing.assert_array_equal(rec.delays, [1.0])
    assert rec.unfinished_age.size == 0


def test_fifo_order_integer_slots():
    # slot 0: packets A, B arrive; slot 1: C arrives; one packet served in slots 0, 2, 3.
    # FIFO: A leaves in slot 0 (delay 1), B in slot 2 (delay 3), C in slot 3 (delay 3).
    rec = fifo_delays(_tbn([2, 1, 0, 0]), _tbn([1, 0, 1, 1]))
    np.testing.assert_array_equal(rec.delays, [1.0, 3.0, 3.0])
    assert rec.unfinished_age.size == 0


def test_two_served_in_one_slot():
    # two packets from different slots leave in the same slot 2: delays 3 and 2
    rec = fifo_delays(_tbn([1, 1, 0]), _tbn([0, 0, 2]))
    np.testing.assert_array_equal(rec.delays, [3.0, 2.0])


def test_unfinished_packets_reported_with_ages_not_delivered():
    # arrivals: 2 at slot 0, 1 at slot 2, 1 at slot 4 (T = 5); only one packet ever served
    rec = fifo_delays(_tbn([2, 0, 1, 0, 1]), _tbn([0, 1, 0, 0, 0]))
    np.testing.assert_array_equal(rec.delays, [2.0])  # the first packet: slot 0 -> end of slot 1
    # waiting: one from slot 0 (age 5), one from slot 2 (age 3), one from slot 4 (age 1)
    np.testing.assert_array_equal(np.sort(rec.unfinished_age), [1.0, 3.0, 5.0])


def test_nothing_arrives():
    rec = fifo_delays(np.zeros((4, 2, 3)), np.zeros((4, 2, 3)))
    assert rec.delays.size == rec.unfinished_age.size == rec.device.size == rec.copy.size == 0


def test_device_and_copy_labels():
    # B = 2 copies, N = 3 devices; one packet each at distinct places
    arr = np.zeros((3, 2, 3))
    dep = np.zeros((3, 2, 3))
    arr[0, 0, 2] = 1
    dep[1, 0, 2] = 1  # copy 0, device 2: delay 2
    arr[1, 1, 0] = 2
    dep[1, 1, 0] = 1  # copy 1, device 0: delay 1, the second packet is left over
    dep[2, 1, 0] = 1  # ... and leaves in slot 2: delay 2
    arr[2, 1, 1] = 1  # copy 1, device 1: never served, age 1
    rec = fifo_delays(arr, dep)
    got = sorted(zip(rec.copy.tolist(), rec.device.tolist(), rec.delays.tolist(), strict=True))
    assert got == [(0, 2, 2.0), (1, 0, 1.0), (1, 0, 2.0)]
    np.testing.assert_array_equal(rec.unfinished_age, [1.0])


def test_fifo_delays_shape_error():
    with pytest.raises(ValueError, match=r"\(T, B, N\)"):
        fifo_delays(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"\(T, B, N\)"):
        fifo_delays(np.zeros((3, 1, 2)), np.zeros((3, 1, 3)))


# ----------------------------------------------------------------- FIFO delays, fractional
def test_within_slot_one_unit_per_slot():
    # 2 packets of size 1 at slot 0, 1.0 unit per slot: completions at 1.0 and 2.0
    rec = fifo_delays(_tbn([2, 0]), _tbn([1.0, 1.0]), packet_size=1.0, within_slot=True)
    np.testing.assert_allclose(rec.delays, [1.0, 2.0])


def test_within_slot_half_unit_per_slot():
    # 0.5 units per slot: packet 1 completes at the end of slot 1 (t = 2.0), packet 2 at 4.0
    rec = fifo_delays(_tbn([2, 0, 0, 0]), _tbn([0.5] * 4), packet_size=1.0, within_slot=True)
    np.testing.assert_allclose(rec.delays, [2.0, 4.0])
    assert rec.unfinished_age.size == 0


def test_within_slot_several_packets_in_one_slot():
    # 4 packets of size 1 at slot 0, 4 units delivered in slot 0 at a constant rate:
    # completions at 0.25, 0.5, 0.75 and 1.0 (in FIFO order)
    rec = fifo_delays(_tbn([4]), _tbn([4.0]), packet_size=1.0, within_slot=True)
    np.testing.assert_allclose(rec.delays, [0.25, 0.5, 0.75, 1.0])


def test_within_slot_packet_size_in_bits():
    # packets of 3 units; 2 units per slot: packet 1 ends at 1.5, packet 2 at 3.0
    rec = fifo_delays(_tbn([2, 0, 0]), _tbn([2.0, 2.0, 2.0]), packet_size=3.0, within_slot=True)
    np.testing.assert_allclose(rec.delays, [1.5, 3.0])


def test_within_slot_partial_packet_is_unfinished():
    # 1.5 of 2 units delivered: not delivered, age 2 at the end of the 2-slot run
    rec = fifo_delays(_tbn([1, 0]), _tbn([1.0, 0.5]), packet_size=2.0, within_slot=True)
    assert rec.delays.size == 0
    np.testing.assert_array_equal(rec.unfinished_age, [2.0])


def test_within_slot_later_arrival_completes_mid_slot():
    # A arrives at slot 0, B at slot 1; 0.5 unit flows in slot 0 and 1.5 units in slot 1.
    # A's last 0.5 unit ends at 1 + 0.5/1.5 = 4/3 (delay 4/3); B's unit ends at 1 + 1.5/1.5
    # = 2.0 (delay 1.0).
    rec = fifo_delays(_tbn([1, 1]), _tbn([0.5, 1.5]), packet_size=1.0, within_slot=True)
    np.testing.assert_allclose(rec.delays, [4 / 3, 1.0])


def test_whole_slot_mode_ignores_within_slot_position():
    rec = fifo_delays(_tbn([2]), _tbn([2.0]), packet_size=1.0, within_slot=False)
    np.testing.assert_array_equal(rec.delays, [1.0, 1.0])


# ----------------------------------------------------------------- properties
def _reference_delays(arr, dep, size, within):
    """A per-packet loop over one FIFO queue per (copy, device): what fifo_delays computes."""
    T, B, N = arr.shape
    delays, unfinished = [], []
    for b in range(B):
        for n in range(N):
            queue = []  # [arrival slot, units still to send]
            for t in range(T):
                queue += [[t, size] for _ in range(int(arr[t, b, n]))]
                left = dep[t, b, n]
                used = 0.0
                while queue and left - used >= queue[0][1] - 1e-9:
                    used += queue[0][1]
                    a0 = queue.pop(0)[0]
                    done = t + used / dep[t, b, n] if within else t + 1
                    delays.append(done - a0)
                if queue and left - used > 0:
                    queue[0][1] -= left - used
            unfinished += [T - a for a, _ in queue]
    return np.array(delays), np.array(unfinished, dtype=float)


def _valid_departures(rng, arr, size, fractional):
    """Random departures that never exceed what is queued (units)."""
    T, B, N = arr.shape
    dep = np.zeros(arr.shape)
    backlog = np.zeros((B, N))
    for t in range(T):
        backlog += arr[t] * size
        d = rng.random((B, N)) * 2.5 * size if fractional else rng.integers(0, 3, (B, N)) * size
        d = np.minimum(d, backlog)
        dep[t] = d
        backlog -= d
    return dep


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    T=st.integers(1, 25),
    B=st.integers(1, 3),
    N=st.integers(1, 3),
    size=st.sampled_from([1.0, 3.0, 0.7, 5e5]),
    within=st.booleans(),
)
def test_fifo_delays_match_per_packet_reference(seed, T, B, N, size, within):
    rng = np.random.default_rng(seed)
    arr = rng.poisson(2.0 * rng.random(), (T, B, N))
    dep = _valid_departures(rng, arr, size, fractional=within)
    rec = fifo_delays(arr, dep, packet_size=size, within_slot=within)
    ref_d, ref_u = _reference_delays(arr, dep, size, within)
    assert rec.delays.shape == ref_d.shape
    np.testing.assert_allclose(rec.delays, ref_d, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.sort(rec.unfinished_age), np.sort(ref_u))
    # conservation: every arrived packet is either delivered or unfinished, never both
    assert rec.delays.size + rec.unfinished_age.size == int(arr.sum())
    if not within:
        assert (rec.delays >= 1).all()
    assert (rec.delays > 0).all()
    assert (rec.unfinished_age >= 1).all()


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), T=st.integers(1, 40), B=st.integers(1, 3),
       N=st.integers(1, 4))
def test_delivered_count_equals_total_departures(seed, T, B, N):
    rng = np.random.default_rng(seed)
    arr = rng.poisson(rng.random() * 1.5, (T, B, N))
    dep = _valid_departures(rng, arr, 1.0, fractional=False)
    rec = fifo_delays(arr, dep)
    assert rec.delays.size == int(dep.sum())
    assert rec.unfinished_age.size == int(arr.sum() - dep.sum())
    # per (copy, device) too
    per = np.zeros((B, N), dtype=int)
    np.add.at(per, (rec.copy, rec.device), 1)
    np.testing.assert_array_equal(per, dep.sum(axis=0))


# ----------------------------------------------------------------- ledger
def test_packet_ledger_records_and_computes_delays():
    led = PacketLedger()
    with pytest.raises(ValueError, match="empty"):
        led.delays()
    a0 = np.array([[2, 0]])
    led.record(a0, np.array([[1, 0]]))
    a0[0, 0] = 99  # the ledger keeps its own copy
    led.record(np.array([[0, 1]]), np.array([[1, 1]]))
    assert len(led) == 2
    assert led.arrivals.shape == led.departures.shape == (2, 1, 2)
    np.testing.assert_array_equal(led.arrivals[:, 0, 0], [2, 0])
    rec = led.delays()
    np.testing.assert_array_equal(np.sort(rec.delays), [1.0, 1.0, 2.0])
