"""One evaluation path for every policy: baselines, learned agents and students' functions.

``evaluate(env, policy, slots, seed)`` resets the environment's traffic with ``seed``, gives
the policy its own random stream derived from the same seed, runs ``slots`` slots and
returns a :class:`Results` (for the PF scheduling model, whose figures are rates rather
than delays, a :class:`RateResults`).  A policy whose ``information`` is ``"global"`` receives the
global state; every other policy sees only the agents' observations.  Evaluation runs
ignore truncation: queues are allowed to grow, so instability shows up as large delays and
many unfinished packets instead of being hidden.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import baselines, checks, metrics, pf, seeding
from .io import atomic_write_npz
from .policy import Policy, as_policy
from .seeding import Stream

__all__ = ["RunInfo", "Results", "RateResults", "evaluate", "compare", "policy_rng"]


def policy_rng(seed: int) -> np.random.Generator:
    """The policy's own random stream in a run seeded with ``seed`` (independent of the
    environment's traffic and fading streams)."""
    return seeding.rng(seed, Stream.POLICY)


@dataclass
class RunInfo:
    """What every run records about itself: the scenario, the policy and the information
    it used, and the run's length, number of copies and seed."""

    scenario: str
    policy: str
    information: str
    slots: int
    batch: int
    seed: int


@dataclass
class Results(RunInfo):
    """What a run produced.  Delays are in ``delay_unit`` (slots for the conflict graph,
    milliseconds for the multi-cell network).

    ``delays`` holds the delay of every *completed* packet, pooled over the batch copies;
    packets still queued at the end are counted in ``unfinished`` with their ages in
    ``unfinished_age`` (never counted as delivered).  ``queue_trace[t, n]`` is device n's
    queue (packets) at the end of slot t, averaged over copies.
    """

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
        """Average delay of the delivered packets: ``nan`` exactly when ``delivered == 0``
        (:func:`evaluate` warns when a run delivers nothing)."""
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
        """Write the results to ``path`` as an ``.npz`` (arrays, and the scalar fields as
        JSON), atomically; ``.npz`` is appended when ``path`` lacks it.  Returns the path
        written, which :meth:`load` reads back into equal results."""
        path = _npz(path)
        meta = {k: v for k, v in asdict(self).items() if not isinstance(v, np.ndarray)}
        arrays = {k: v for k, v in asdict(self).items() if isinstance(v, np.ndarray)}
        return atomic_write_npz(path, meta=json.dumps(meta), **arrays)

    @classmethod
    def load(cls, path: str | Path) -> Results:
        """Read results written by :meth:`save` (``.npz`` may be left off ``path``)."""
        with np.load(_npz(path), allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            arrays = {k: f[k] for k in f.files if k != "meta"}
        return cls(**meta, **arrays)


def _npz(path: str | Path) -> Path:
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


@dataclass
class RateResults(RunInfo):
    """What a run of the PF scheduling model produced (Eldeeb & Alves, Sec. II).

    ``avg_rates`` (episodes x copies, J): every UE's average rate over each episode (E-8),
    bit/s/Hz; ``rewards`` (steps,) the team reward (E-16) per step, averaged over copies;
    ``silent`` the share of AP-steps spent silent.  The summaries follow (E-9) to (E-11)."""

    avg_rates: np.ndarray
    rewards: np.ndarray
    silent: float
    mu1: float
    mu2: float

    @property
    def sum_rate(self) -> float:
        """(E-9), averaged over episodes."""
        return float(pf.sum_rate(self.avg_rates).mean())

    @property
    def p5_rate(self) -> float:
        """(E-10), pooled over every UE of every episode."""
        return pf.p5_rate(self.avg_rates)

    @property
    def score(self) -> float:
        """(E-11): mu1 * sum rate + mu2 * 5th-percentile rate."""
        return pf.score(self.avg_rates, self.mu1, self.mu2)

    @property
    def mean_reward(self) -> float:
        return float(self.rewards.mean())

    def summary(self) -> dict:
        return {"scenario": self.scenario, "policy": self.policy,
                "information": self.information, "slots": self.slots, "batch": self.batch,
                "seed": self.seed, "episodes": int(self.avg_rates.shape[0]),
                "sum_rate": round(self.sum_rate, 4), "p5_rate": round(self.p5_rate, 4),
                "score": round(self.score, 4), "mean_reward": round(self.mean_reward, 4),
                "silent": round(self.silent, 4)}

    def __repr__(self) -> str:
        s = self.summary()
        return (f"RateResults({s['policy']} on {s['scenario']}: sum rate {s['sum_rate']}, "
                f"5th percentile {s['p5_rate']}, score {s['score']} over {s['episodes']} "
                f"episodes)")


def _evaluate_pf(env, policy: Policy, slots: int, seed: int, progress: bool) -> RateResults:
    T = env.config.episode_steps
    if slots % T:
        raise ValueError(f"slots must be a multiple of the episode length {T} for "
                         f"{env.config.name!r}, got {slots}")
    obs = env.reset(seed=seed)
    policy.reset(env, policy_rng(seed))
    give_state = policy.information == "global"
    serves_ues = getattr(policy, "serves_ues", False)
    rates, rewards, silent = [], np.zeros(slots), 0
    for t in tqdm(range(slots), disable=not progress, desc=policy.name, leave=False):
        actions = policy.act(obs, env.state() if give_state else None)
        step = env.step_ues(actions) if serves_ues else env.step(actions)
        obs = step.obs
        rewards[t] = step.reward.mean()
        silent += int((step.served < 0).sum())
        if step.episode_rates is not None:
            rates.append(step.episode_rates)
    return RateResults(scenario=env.config.name, policy=policy.name,
                       information=policy.information, slots=int(slots), batch=env.batch,
                       seed=int(seed), avg_rates=np.concatenate(rates), rewards=rewards,
                       silent=silent / (slots * env.batch * env.n_agents),
                       mu1=env.config.score_mu1, mu2=env.config.mu2)


def evaluate(env, policy: Policy | object, slots: int = 5000, seed: int = 0,
             progress: bool = False) -> Results | RateResults:
    """Run ``policy`` on ``env`` for ``slots`` slots and collect delays and queues (rates
    for the PF scheduling model, where ``slots`` must be whole episodes).

    Every method evaluated with the same ``seed`` on the same scenario sees the same
    arrivals (and channels).  ``policy`` may be a :class:`~rrmbook.policy.Policy` or a
    plain function ``f(obs) -> actions`` (wrapped as a local policy).
    """
    slots = checks.positive_int("slots", slots)
    policy = as_policy(policy)
    if env.family == "pf":
        return _evaluate_pf(env, policy, slots, seed, progress)
    rates = np.asarray(getattr(env.config, "rates", 0.0), dtype=float)
    packets = float(slots) * env.batch * float(rates.sum())   # expected arrivals of the run
    # the ledger keeps every packet's arrival and departure to compute its delay at the end
    checks.fits_in_memory(40.0 * packets, f"evaluating {slots} slots x {env.batch} copies at "
                          f"this load (about {packets:,.0f} packets)",
                          "lower slots, batch or the load")
    obs = env.reset(seed=seed)
    policy.reset(env, policy_rng(seed))
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
    if delivered == 0:
        warnings.warn(f"{policy.name} delivered no packet in {slots} slots on "
                      f"{env.config.name} ({arrived} arrived): its mean delay is nan; see "
                      "Results.unfinished and unfinished_age", RuntimeWarning, stacklevel=2)
    return Results(
        scenario=env.config.name, policy=policy.name, information=policy.information,
        slots=int(slots), batch=env.batch, seed=int(seed),
        delays=record.delays * env.delay_scale, copy_of_delay=record.copy.astype(np.int64),
        unfinished_age=record.unfinished_age * env.delay_scale, arrived=arrived,
        delivered=delivered, queue_trace=trace, delay_unit=env.delay_unit,
        slot_duration=env.delay_scale,
    )


def compare(env, policies: dict[str, object] | list, slots: int = 5000, seed: int = 0,
            progress: bool = False) -> dict[str, Results | RateResults]:
    """Evaluate several policies on the same env with the same seed (same arrivals)."""
    if isinstance(policies, list | tuple):
        policies = {p if isinstance(p, str) else p.name: p for p in policies}
    out = {}
    for label, pol in policies.items():
        pol = baselines.get(pol) if isinstance(pol, str) else pol
        out[label] = evaluate(env, pol, slots=slots, seed=seed, progress=progress)
    return out
