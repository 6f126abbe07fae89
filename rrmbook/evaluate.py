"""One evaluation path for every policy: baselines, learned agents and students' functions.

``evaluate(env, policy, slots, seed)`` resets the environment's traffic with ``seed``, gives
the policy its own random stream derived from the same seed, runs ``slots`` slots and
returns a :class:`Results`.  A policy whose ``information`` is ``"global"`` receives the
global state; every other policy sees only the agents' observations.  Evaluation runs
ignore truncation: queues are allowed to grow, so instability shows up as large delays and
many unfinished packets instead of being hidden.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import metrics
from .policy import Policy, as_policy

__all__ = ["Results", "evaluate", "compare"]

_POLICY_STREAM = 1


@dataclass
class Results:
    """What a run produced.  Delays are in ``delay_unit`` (slots for the conflict graph,
    milliseconds for the multi-cell network).

    ``delays`` holds the delay of every *completed* packet, pooled over the batch copies;
    packets still queued at the end are counted in ``unfinished`` with their ages in
    ``unfinished_age`` (never counted as delivered).  ``queue_trace[t, n]`` is device n's
    queue (packets) at the end of slot t, averaged over copies.
    """

    scenario: str
    policy: str
    information: str
    slots: int
    batch: int
    seed: int
    delays: np.ndarray
    copy_of_delay: np.ndarray
    unfinished_age: np.ndarray
    arrived: int
    delivered: int
    queue_trace: np.ndarray
    delay_unit: str = "slots"
    slot_duration: float = 1.0  # one slot, in delay_unit
    extra: dict = field(default_factory=dict)

    # ---------------------------------------------------------------- summaries
    @property
    def mean_delay(self) -> float:
        """Average delay of the delivered packets."""
        return float(self.delays.mean()) if self.delays.size else float("nan")

    @property
    def max_delay(self) -> float:
        return float(self.delays.max()) if self.delays.size else float("nan")

    @property
    def unfinished(self) -> int:
        return int(self.unfinished_age.size)

    @property
    def throughput(self) -> float:
        """Delivered packets per slot per copy."""
        return self.delivered / (self.slots * self.batch)

    def delay_percentile(self, p: float) -> float:
        return metrics.percentile(self.delays, p)

    def fraction_within(self, bound: float) -> float:
        """Share of delivered packets with delay <= ``bound``."""
        return metrics.fraction_within(self.delays, bound)

    def cdf(self) -> tuple[np.ndarray, np.ndarray]:
        return metrics.ecdf(self.delays)

    def per_copy_mean_delay(self) -> np.ndarray:
        sums = np.bincount(self.copy_of_delay, weights=self.delays, minlength=self.batch)
        counts = np.bincount(self.copy_of_delay, minlength=self.batch)
        return sums / np.maximum(counts, 1)

    def summary(self) -> dict:
        return {
            "scenario": self.scenario,
            "policy": self.policy,
            "information": self.information,
            "slots": self.slots,
            "batch": self.batch,
            "seed": self.seed,
            "mean_delay": round(self.mean_delay, 4),
            "p95_delay": round(self.delay_percentile(95), 4),
            "max_delay": round(self.max_delay, 4),
            "within_1_slot": round(self.fraction_within(self.slot_duration), 4),
            "throughput": round(self.throughput, 4),
            "arrived": self.arrived,
            "delivered": self.delivered,
            "unfinished": self.unfinished,
            "delay_unit": self.delay_unit,
        }

    def __repr__(self) -> str:
        s = self.summary()
        return (f"Results({s['policy']} on {s['scenario']}: mean delay {s['mean_delay']} "
                f"{self.delay_unit}, p95 {s['p95_delay']}, delivered {s['delivered']}/"
                f"{s['arrived']}, unfinished {s['unfinished']})")

    # ---------------------------------------------------------------- files
    def save(self, path: str | Path) -> Path:
        """Write an ``.npz`` (arrays) with the scalar fields as JSON, atomically."""
        from .io import atomic_write_npz

        meta = {k: v for k, v in asdict(self).items() if not isinstance(v, np.ndarray)}
        arrays = {k: v for k, v in asdict(self).items() if isinstance(v, np.ndarray)}
        return atomic_write_npz(path, meta=json.dumps(meta), **arrays)

    @classmethod
    def load(cls, path: str | Path) -> Results:
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            arrays = {k: f[k] for k in f.files if k != "meta"}
        return cls(**meta, **arrays)


def evaluate(env, policy: Policy | object, slots: int = 5000, seed: int = 0,
             progress: bool = False) -> Results:
    """Run ``policy`` on ``env`` for ``slots`` slots and collect delays and queues.

    Every method evaluated with the same ``seed`` on the same scenario sees the same
    arrivals.  ``policy`` may be a :class:`~rrmbook.policy.Policy` or a plain function
    ``f(obs) -> actions`` (wrapped as a local policy).
    """
    if int(slots) != slots or slots < 1:
        raise ValueError(f"slots must be a positive integer, got {slots}")
    policy = as_policy(policy)
    obs = env.reset(seed=seed)
    policy.reset(env, np.random.default_rng([int(seed), _POLICY_STREAM]))
    ledger = env.start_recording()
    trace = np.zeros((slots, env.n_devices), dtype=np.float32)
    give_state = policy.information == "global"
    try:
        for t in tqdm(range(slots), disable=not progress, desc=policy.name, leave=False):
            actions = policy.act(obs, env.state() if give_state else None)
            step = env.step(actions)
            obs = step.obs
            trace[t] = env.queue_packets().mean(axis=0)
    finally:
        env.ledger = None
    record = ledger.delays(packet_size=env.packet_size, within_slot=env.within_slot)
    arrived = int(ledger.arrivals.sum())
    delivered = int(record.delays.size)
    return Results(
        scenario=env.config.name, policy=policy.name, information=policy.information,
        slots=int(slots), batch=env.batch, seed=int(seed),
        delays=record.delays * env.delay_scale, copy_of_delay=record.copy.astype(np.int64),
        unfinished_age=record.unfinished_age * env.delay_scale, arrived=arrived,
        delivered=delivered, queue_trace=trace, delay_unit=env.delay_unit,
        slot_duration=env.delay_scale,
    )


def compare(env, policies: dict[str, object] | list, slots: int = 5000, seed: int = 0,
            progress: bool = False) -> dict[str, Results]:
    """Evaluate several policies on the same env with the same seed (same arrivals)."""
    from . import baselines

    if isinstance(policies, list | tuple):
        policies = {p if isinstance(p, str) else p.name: p for p in policies}
    out = {}
    for label, pol in policies.items():
        pol = baselines.get(pol) if isinstance(pol, str) else pol
        out[label] = evaluate(env, pol, slots=slots, seed=seed, progress=progress)
    return out
