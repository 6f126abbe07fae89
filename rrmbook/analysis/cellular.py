"""What a multi-cell scheduler decides, and how a learning curve settles (chapter 7).

:func:`rrmbook.analysis.record_decisions` runs :func:`rrmbook.evaluate` with a recorder
around the policy; on a multi-cell env its log is a :class:`CellularLog`: which device each
access point serves on each subband and at which power, against the queues it saw, for a
learned policy and a baseline alike.  The functions here read such logs; they also
summarise learning curves and place the cells of a hexagonal network on their rings.

==========================  ==================================================================
name                        what it gives
==========================  ==================================================================
``CellularLog``             queues ``(T, B, N)`` and link powers ``(T, B, H, N)`` of a run
``power_level_shares``      share of AP-subband decisions that are silent / at each level
``power_vs_queue``          mean power (dBm) of the served links, by the served device's queue
``service_choices``         how often an AP serves its longest queue, an empty device, ...
``settling_slots``          where a smoothed learning curve enters its final band for good
``halfway_slots``           where it has recovered half of the way from its worst to its end
``hex_rings``               the ring (0 = centre) of every cell of a hexagonal layout
==========================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..metrics import ema

__all__ = ["CellularLog", "capture", "level_index", "power_level_shares", "power_vs_queue",
           "service_choices", "settling_slots", "plateau_slots", "halfway_slots", "hex_rings"]


@dataclass
class CellularLog:
    """The decisions of one multi-cell run.

    ``queues[t, b, n]``: packets device n of copy b held when the slot-t decision was taken
    (after that slot's arrivals, the ζ the schedulers see); ``link_power[t, b, h, n]``: the
    power (watts) the decision put on the link to device n on subband h; ``serving``: the AP
    of each device; ``levels``: the discrete power levels (watts) of the environment.
    """

    queues: np.ndarray
    link_power: np.ndarray
    serving: np.ndarray
    levels: np.ndarray

    @classmethod
    def from_records(cls, env, records: Sequence[dict]) -> CellularLog:
        """The log of a run from the per-decision records of :func:`capture`."""
        return cls(queues=np.stack([r["queues"] for r in records]),
                   link_power=np.stack([r["link_power"] for r in records]),
                   serving=np.asarray(env.serving), levels=np.asarray(env.levels))

    @property
    def n_agents(self) -> int:
        return int(self.serving.max()) + 1

    def _per_ap(self) -> np.ndarray:
        """``(T, B, H, K, N)`` link powers with the links of other APs set to 0."""
        own = self.serving[None, :] == np.arange(self.n_agents)[:, None]  # (K, N)
        return np.where(own, self.link_power[..., None, :], 0.0)

    def ap_power(self) -> np.ndarray:
        """``(T, B, H, K)``: the power each AP transmits on each subband (0 when silent;
        the largest of its links if a relaxed baseline serves several devices at once)."""
        return self._per_ap().max(axis=-1)

    def served_device(self) -> np.ndarray:
        """``(T, B, H, K)``: the device each AP serves on each subband (its link with the
        largest power), ``-1`` when the AP is silent there."""
        per_ap = self._per_ap()
        best = per_ap.argmax(axis=-1)
        return np.where(per_ap.max(axis=-1) > 0, best, -1)


def capture(env, obs, actions) -> dict[str, np.ndarray]:
    """What one multi-cell decision leaves in the log: the queues the network held (the ζ
    the schedulers see) and the link powers the decision puts on every link."""
    return {"queues": env.zeta / env.packet_size, "link_power": env.link_power(actions)}


def level_index(power: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """0 for silent, i + 1 for the level nearest (in dB) to ``power``.  A power more than
    half a level step (in dB) below the lowest level counts as silent, so the continuous
    powers of FP and WMMSE, which often fade to almost nothing, read as "off"."""
    log_levels = np.log(levels)
    half_step = (log_levels[1] - log_levels[0]) / 2 if len(levels) > 1 else np.log(2.0)
    p = np.asarray(power, dtype=float)
    on = p > 0
    logp = np.log(np.where(on, p, 1.0))
    nearest = np.abs(logp[..., None] - log_levels).argmin(axis=-1) + 1
    return np.where(on & (logp >= log_levels[0] - half_step), nearest, 0)


def power_level_shares(log: CellularLog, agents: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """``(1 + |P|,)``: the share of all (slot, copy, subband, AP) decisions that are silent
    (entry 0) or transmit at each power level (entries 1..|P|, lowest first), each power
    rounded to the nearest level in dB (see :func:`level_index`).  ``agents`` (indices or
    a boolean mask over the APs) restricts the count to those APs."""
    index = level_index(log.ap_power(), log.levels)
    if agents is not None:
        chosen = np.asarray(agents)
        chosen = np.flatnonzero(chosen) if chosen.dtype == bool else chosen.astype(np.int64)
        index = index[..., chosen]
    if index.size == 0:
        raise ValueError("no decisions to count: the log or the selection of agents is empty")
    return np.bincount(index.ravel(), minlength=len(log.levels) + 1) / index.size


def power_vs_queue(log: CellularLog, bins: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Mean transmit power (dBm) of the links in use, grouped by the queue (packets) of the
    device served: bin i holds queues in ``[bins[i], bins[i+1])``.  Returns the means
    (NaN for an empty bin) and the number of links in each bin.  Powers that count as
    silent (see :func:`power_level_shares`) are left out."""
    p = log.link_power
    active = level_index(p, log.levels) > 0
    q = np.broadcast_to(log.queues[:, :, None, :], p.shape)[active]
    dbm = 10 * np.log10(p[active] * 1000.0)
    which = np.digitize(q, np.asarray(bins, dtype=float)) - 1
    n_bins = len(bins) - 1
    inside = (which >= 0) & (which < n_bins)
    counts = np.bincount(which[inside], minlength=n_bins)
    sums = np.bincount(which[inside], weights=dbm[inside], minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return means, counts


def service_choices(log: CellularLog) -> dict[str, float]:
    """How an AP uses its subbands, as shares:

    * ``longest_queue``: of the subbands an AP transmits on, those serving one of its
      devices with the longest queue (ties count);
    * ``empty_device``: of the same, those serving a device with an empty queue (pure
      interference for the neighbours);
    * ``silent_with_packets``: of the (slot, AP) pairs in which an AP's devices hold
      packets, those in which it stays silent on every subband;
    * ``on_while_empty``: of the pairs in which all its devices are empty, those in which
      it still transmits on some subband;
    * ``devices_per_slot``: the mean number of different devices an AP serves in a slot
      in which it transmits on at least two subbands.
    """
    K = log.n_agents
    served = log.served_device()                              # (T, B, H, K)
    on = level_index(log.ap_power(), log.levels) > 0         # (T, B, H, K)
    q = log.queues                                            # (T, B, N)
    own_max = np.full(q.shape[:2] + (K,), -np.inf)
    np.maximum.at(own_max.transpose(2, 0, 1), log.serving, q.transpose(2, 0, 1))
    own_total = np.zeros(q.shape[:2] + (K,))
    np.add.at(own_total.transpose(2, 0, 1), log.serving, q.transpose(2, 0, 1))
    q_served = np.take_along_axis(q[:, :, None, :], np.maximum(served, 0), axis=-1)
    longest = on & (q_served >= own_max[:, :, None, :] - 1e-9)
    empty = on & (q_served <= 0)
    any_on = on.any(axis=2)                                   # (T, B, K)
    busy = own_total > 0
    multi = on.sum(axis=2) >= 2
    distinct = np.zeros(multi.shape)
    for k in range(K):  # at most H devices per AP and slot: count the distinct ones
        dev = np.where(on[..., k], served[..., k], -1)        # (T, B, H)
        s = np.sort(dev, axis=-1)
        distinct[..., k] = ((s[..., 1:] != s[..., :-1]) & (s[..., 1:] >= 0)).sum(-1) + (s[..., 0] >= 0)
    n_on = max(int(on.sum()), 1)
    return {
        "longest_queue": float(longest.sum() / n_on),
        "empty_device": float(empty.sum() / n_on),
        "silent_with_packets": float((~any_on & busy).sum() / max(int(busy.sum()), 1)),
        "on_while_empty": float((any_on & ~busy).sum() / max(int((~busy).sum()), 1)),
        "devices_per_slot": float(distinct[multi].mean()) if multi.any() else float("nan"),
    }


def settling_slots(slots: Sequence[float], rewards: Sequence[float], tolerance: float = 0.1,
                   smooth: float = 0.9) -> float:
    """The first x-value (copy-slots) from which the smoothed learning curve
    (:func:`rrmbook.metrics.ema` with weight ``smooth``) stays within ``tolerance`` ×
    |final value| of its final value until the end.  A crude but reproducible "it has
    converged here".  Note that a learning rate annealed to zero flattens the end of a
    curve by design."""
    x = np.asarray(slots, dtype=float)
    m = ema(np.asarray(rewards, dtype=float), smooth)
    if m.size == 0:
        raise ValueError("empty learning curve")
    inside = np.abs(m - m[-1]) <= tolerance * abs(m[-1])
    outside = np.flatnonzero(~inside)
    return float(x[0] if outside.size == 0 else x[min(outside[-1] + 1, x.size - 1)])


def plateau_slots(slots: Sequence[float], values: Sequence[float], tolerance: float = 0.1,
                  tail: int = 5) -> float:
    """Where a curve of test evaluations settles: the plateau is the mean of its last
    ``tail`` points, and the answer is the first x-value from which every point lies within
    ``tolerance`` × |plateau| of it.  Unlike :func:`settling_slots` nothing is smoothed, so
    the answer does not lag behind sparse points (a test every 40k slots)."""
    x = np.asarray(slots, dtype=float)
    y = np.asarray(values, dtype=float)
    if y.size == 0 or x.shape != y.shape:
        raise ValueError(f"slots and values must be non-empty and of one length, got "
                         f"{x.shape} and {y.shape}")
    plateau = y[-min(int(tail), y.size):].mean()
    outside = np.flatnonzero(np.abs(y - plateau) > tolerance * abs(plateau))
    return float(x[0] if outside.size == 0 else x[min(outside[-1] + 1, x.size - 1)])


def halfway_slots(slots: Sequence[float], rewards: np.ndarray, smooth: float = 0.9) -> np.ndarray:
    """For each column of ``rewards`` ``(updates, agents)`` (or a single curve): the first
    x-value after the smoothed curve's minimum at which it has recovered at least half of
    the way from that minimum to its final value.  Learning curves of queueing rewards dip
    first (queues fill from empty while the policy is still random), so the minimum, not
    the first value, is the fair starting point."""
    x = np.asarray(slots, dtype=float)
    r = np.asarray(rewards, dtype=float)
    single = r.ndim == 1
    r = r[:, None] if single else r
    out = np.empty(r.shape[1])
    for k in range(r.shape[1]):
        m = ema(r[:, k], smooth)
        low = int(m.argmin())
        target = (m[low] + m[-1]) / 2
        out[k] = x[low + int(np.argmax(m[low:] >= target))]
    return out[0] if single else out


def hex_rings(layout) -> np.ndarray:
    """``(K,)`` the ring of every cell of a hexagonal layout: 0 for the centre cell, 1 for
    the six around it, and so on (hexagonal distance from the centre, from the AP
    positions; inter-site distance √3 × cell radius)."""
    if getattr(layout, "kind", None) != "hexagonal":
        raise ValueError(f"hex_rings needs a hexagonal layout, got kind {layout.kind!r}")
    isd = np.sqrt(3.0) * layout.cell_radius
    ap_xy = np.asarray(layout.ap_xy, dtype=float)
    xy = ap_xy - ap_xy.mean(axis=0)  # a full hexagonal grid is centred on its middle cell
    r = xy[:, 1] / (isd * np.sqrt(3.0) / 2)
    q = xy[:, 0] / isd - r / 2
    axial = np.stack([q, r, -(q + r)], axis=1)
    return np.rint(np.abs(axial).max(axis=1)).astype(np.int64)
