"""What every batched queueing environment shares: episode resets of single copies and the
packet ledger.  Subclasses keep ``q``, ``arrivals``, ``slot_in_episode`` and ``batch`` and
define ``_refresh_zeta`` and ``observe``."""

from __future__ import annotations

import numpy as np

from ..traffic import PacketLedger

__all__ = ["BatchedQueueEnv"]


class BatchedQueueEnv:
    ledger: PacketLedger | None = None

    def start_recording(self) -> PacketLedger:
        """Record per-slot arrivals and departures from now on (for per-packet delays)."""
        self.ledger = PacketLedger()
        return self.ledger

    def reset_copies(self, mask: np.ndarray):
        """Start a new episode in the copies where ``mask`` is true: queues emptied, the
        arrivals already drawn for this slot discarded there, the episode clock restarted.

        Not allowed while a ledger records: discarded packets would break the accounting
        arrived = delivered + queued that per-packet delays rely on."""
        if self.ledger is not None:
            raise ValueError("reset_copies would discard queued packets while a ledger is "
                             "recording; evaluation runs never reset copies")
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.batch,):
            raise ValueError(f"mask must have shape (batch,) = ({self.batch},), got {mask.shape}")
        self.q[mask] = 0
        self.arrivals[mask] = 0
        self.slot_in_episode[mask] = 0
        self._refresh_zeta()
        return self.observe()
