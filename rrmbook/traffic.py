"""Traffic: Poisson arrivals and FIFO queues with exact per-packet delay accounting.

Queues evolve by (Z-4) and (Z-5) of Zhang & Guo:

    zeta(t) = q(t-1) + Y(t)            queue after the slot's arrivals
    q(t)    = max(0, zeta(t) - m(t))   m(t) = service granted in slot t

The environments only carry queue *lengths*; per-packet delays are recovered exactly from
the per-slot arrival and departure counts, because a FIFO queue serves packets in arrival
order: packet i (0-based, in arrival order) arrived in the slot where the cumulative
arrivals first exceed i and left in the slot where the cumulative departures first exceed
i.  :class:`PacketLedger` records those counts and :func:`fifo_delays` turns them into
delays without a Python loop over packets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "poisson_arrivals",
    "queue_step",
    "fifo_delays",
    "DelayRecord",
    "PacketLedger",
]


def poisson_arrivals(rng: np.random.Generator, rates: np.ndarray, batch: int) -> np.ndarray:
    """Independent Poisson arrivals Y_n(t) ~ Poisson(lambda_n) for ``batch`` copies.

    ``rates`` has shape ``(N,)``; the result has shape ``(batch, N)`` (int64).
    """
    return rng.poisson(np.broadcast_to(rates, (batch, len(rates))))


def queue_step(q_prev: np.ndarray, arrivals: np.ndarray, service: np.ndarray):
    """One slot of the queue recursion (Z-4), (Z-5).

    Returns ``(zeta, q, served)``: the queue after arrivals, the queue at the end of the
    slot and the packets actually served, ``served = min(service, zeta)`` (service offered
    to an empty queue is wasted).  Packets are conserved exactly: ``q = q_prev + arrivals -
    served``.
    """
    zeta = q_prev + arrivals
    served = np.minimum(service, zeta)
    return zeta, zeta - served, served


@dataclass
class DelayRecord:
    """Delays of the packets completed in a run, plus the packets still waiting at its end."""

    delays: np.ndarray  # completed packets' delays (float64), in slots
    device: np.ndarray  # device index of each completed packet
    copy: np.ndarray  # batch copy of each completed packet
    unfinished_age: np.ndarray  # age in slots, at the end of the run, of every queued packet


def fifo_delays(
    arrivals: np.ndarray,
    departures: np.ndarray,
    packet_size: float = 1.0,
    within_slot: bool = False,
    capacity: np.ndarray | None = None,
) -> DelayRecord:
    """Per-packet delays of FIFO queues from per-slot counts.

    Parameters
    ----------
    arrivals : ``(T, B, N)`` packets arriving at the start of each slot.
    departures : ``(T, B, N)`` units (packets, or bits when ``packet_size`` is in bits)
        delivered during each slot.
    packet_size : units per packet.
    within_slot : if false a packet served in slot t completes at the end of the slot
        (conflict graph: the smallest delay is exactly 1 slot).  If true, units flow at a
        constant rate within the slot and a packet completes when its last unit is
        delivered (cellular model: delays can be fractions of a slot).
    capacity : ``(T, B, N)`` units the link *could* deliver in each slot (its rate times the
        slot).  With ``within_slot`` a packet's last unit leaves at (units before it) /
        capacity into the slot, so a queue that empties early finishes early.  Defaults to
        ``departures`` (the link is busy for the whole slot).

    Delay = completion time - arrival time, with arrival at the start of the arrival slot
    (SPEC section 0).  Queued packets are reported separately, never as delivered.
    """
    arrivals = np.asarray(arrivals)
    departures = np.asarray(departures, dtype=np.float64)
    if arrivals.shape != departures.shape or arrivals.ndim != 3:
        raise ValueError(
            f"arrivals and departures must both be (T, B, N); got {arrivals.shape} and "
            f"{departures.shape}"
        )
    T, B, N = arrivals.shape
    if T == 0:
        raise ValueError("arrivals and departures cover no slot (T = 0)")
    if packet_size <= 0:
        raise ValueError(f"packet_size must be > 0, got {packet_size}")
    a = arrivals.reshape(T, B * N).T  # (BN, T)
    d = departures.reshape(T, B * N).T
    cum_a = np.cumsum(a, axis=1)
    cum_d = np.cumsum(d, axis=1)
    if np.any(d < 0) or np.any(cum_d > cum_a * packet_size + 1e-6 * packet_size):
        raise ValueError("departures must be >= 0 and never exceed the units that have arrived "
                         "(FIFO queues cannot serve packets before they arrive)")
    if capacity is None:
        c = d
    else:
        capacity = np.asarray(capacity, dtype=np.float64)
        if capacity.shape != arrivals.shape:
            raise ValueError(f"capacity must have shape {arrivals.shape}, got {capacity.shape}")
        if np.any(capacity < departures - 1e-9):
            raise ValueError("capacity must be >= departures in every slot")
        c = capacity.reshape(T, B * N).T
    n_arrived = cum_a[:, -1].astype(np.int64)
    # delivered packets: whole packets only (a relative tolerance absorbs float bit counts)
    tol = 1e-6
    n_done = np.floor(cum_d[:, -1] / packet_size + tol).astype(np.int64)
    n_done = np.minimum(n_done, n_arrived)
    total = int(n_arrived.sum())
    stream = np.repeat(np.arange(B * N), n_arrived)
    starts = np.concatenate([[0], np.cumsum(n_arrived)[:-1]])
    idx = np.arange(total) - np.repeat(starts, n_arrived)  # packet index within its queue
    # arrival slot: first t with cum_a[t] > idx
    arr_slot = _rowwise_searchsorted(cum_a, stream, idx + 0.5)
    done = idx < n_done[stream]
    # completion: first t with cum_d[t] >= (idx + 1) * size
    end_units = (idx[done] + 1) * packet_size
    dep_slot = _rowwise_searchsorted(cum_d, stream[done], end_units - tol * packet_size)
    if within_slot:
        before = np.where(dep_slot > 0, cum_d[stream[done], np.maximum(dep_slot - 1, 0)], 0.0)
        rate = c[stream[done], dep_slot]
        completion = dep_slot + np.clip((end_units - before) / rate, 0.0, 1.0)
    else:
        completion = dep_slot + 1.0
    delays = completion - arr_slot[done]
    age = T - arr_slot[~done]
    return DelayRecord(
        delays=delays.astype(np.float64),
        device=(stream[done] % N),
        copy=(stream[done] // N),
        unfinished_age=age.astype(np.float64),
    )


def _rowwise_searchsorted(cum: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each (row, value): first column t with ``cum[row, t] >= value`` (vectorised by
    offsetting every row into one sorted array)."""
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64)
    T = cum.shape[1]
    span = float(cum[:, -1].max()) + 1.0 if cum.size else 1.0
    offset = np.arange(cum.shape[0])[:, None] * span
    flat = (cum + offset).ravel()
    pos = np.searchsorted(flat, values + rows * span, side="left")
    return pos - rows * T


class PacketLedger:
    """Records per-slot arrivals and departures of a batched run (``(B, N)`` per slot)."""

    def __init__(self) -> None:
        self._arrivals: list[np.ndarray] = []
        self._departures: list[np.ndarray] = []
        self._capacity: list[np.ndarray] = []

    def record(self, arrivals: np.ndarray, departures: np.ndarray,
               capacity: np.ndarray | None = None) -> None:
        """Record one slot: packets arrived, units delivered and (optionally) units the
        links could have delivered."""
        self._arrivals.append(np.asarray(arrivals, dtype=np.int64).copy())  # no overflow at any load
        self._departures.append(np.asarray(departures).copy())
        if capacity is not None:
            self._capacity.append(np.asarray(capacity, dtype=np.float64).copy())

    def __len__(self) -> int:
        return len(self._arrivals)

    @property
    def arrivals(self) -> np.ndarray:
        return np.stack(self._arrivals)

    @property
    def departures(self) -> np.ndarray:
        return np.stack(self._departures)

    def delays(self, packet_size: float = 1.0, within_slot: bool = False) -> DelayRecord:
        if not self._arrivals:
            raise ValueError("the ledger is empty: run at least one slot first")
        if self._capacity and len(self._capacity) != len(self._arrivals):
            raise ValueError("capacity was recorded for some slots only")
        capacity = np.stack(self._capacity) if self._capacity else None
        return fifo_delays(self.arrivals, self.departures, packet_size, within_slot, capacity)
