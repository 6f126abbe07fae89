"""How much traffic a network can carry: a measured capacity search.

Zhang & Guo's Table V calls a test run *good* when no agent's backlog keeps growing and
*unstable* when the backlogs grow without bound.  Light, medium and heavy load only mean
something relative to the largest load a scheduler still carries, so this module measures
that load:

- :func:`queue_growth` and :func:`stability_label`: how much each agent's backlog grew over
  a run, and Table V's words for it (good / mixed / unstable);
- :func:`is_stable`: whether one run kept every queue stable, by the project's rule
  (:func:`queue_growth` below :data:`UNSTABLE_PACKETS` for every agent, i.e. Table V's label
  ``"good"``);
- :func:`capacity`: a bisection over the load between a stable and an unstable end, where a
  load counts as stable only if it is stable on every seed; it returns a
  :class:`CapacityResult` that records every probe.

The load is in the scenario's unit: packets per device per slot on a conflict graph
(``paper-cg8``), packets/s per device on a multi-cell network (``paper-hex19``,
``paper-random19``, ``cellular``).

>>> import networkx as nx, numpy as np
>>> from rrmbook.envs import ConflictGraphConfig, ConflictGraphEnv
>>> g = nx.DiGraph(); g.add_node(0, agent=0)          # one device, one agent
>>> def make(load, seed):
...     cfg = ConflictGraphConfig(g, arrival_rate=load, n_subbands=1, max_queue=None)
...     return ConflictGraphEnv(cfg, batch=8, seed=seed)
>>> always = lambda obs: np.ones((obs.X.shape[0], 1, 1), dtype=np.int64)
>>> res = capacity(make, always, 0.5, 2.0, slots=1000, tol=0.1)
>>> 0.85 <= res.capacity < res.unstable <= 1.15    # one packet per slot: capacity 1
True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import baselines, checks
from ..evaluate import evaluate
from ..policy import Policy, as_policy
from ..scenarios import get_scenario, make_config, make_env

__all__ = ["is_stable", "capacity", "CapacityResult", "CapacityProbe", "queue_growth",
           "stability_label", "UNSTABLE_PACKETS"]

#: the model families whose queues a load drives (the PF model has full buffers)
_QUEUE_FAMILIES = ("conflict", "cellular")


#: an agent counts as unstable when its cell's backlog grew by more than this many packets
#: between the second and the last quarter of a test run (Table V's rule)
UNSTABLE_PACKETS = 20.0


def queue_growth(queue_trace: np.ndarray, owner: np.ndarray, n_agents: int) -> np.ndarray:
    """Per agent, how much its devices' total backlog grew over a run: the mean over the
    last quarter of the slots minus the mean over the second quarter (``queue_trace``
    ``(T, N)`` in packets or bits, ``owner`` ``(N,)`` the serving agent of each device).  A
    stable queue gives about 0; a queue that grows without bound gives a large positive
    number."""
    q = np.asarray(queue_trace, dtype=float)
    per_agent = np.zeros((q.shape[0], n_agents))
    np.add.at(per_agent.T, np.asarray(owner), q.T)
    T = q.shape[0]
    return per_agent[3 * T // 4:].mean(0) - per_agent[T // 4: T // 2].mean(0)


def stability_label(growth: np.ndarray, threshold: float) -> str:
    """Table V's words for a test run: ``"good"`` if no agent's backlog keeps growing
    (growth below ``threshold``), ``"unstable"`` if at least half of the agents' do, and
    ``"mixed"`` in between."""
    unstable = int((np.asarray(growth) > threshold).sum())
    if unstable == 0:
        return "good"
    return "unstable" if 2 * unstable >= len(growth) else "mixed"


def _threshold(threshold: float | None) -> float:
    return UNSTABLE_PACKETS if threshold is None else checks.positive("threshold", threshold)


def is_stable(queue_trace: np.ndarray, owner: np.ndarray, n_agents: int,
              threshold: float | None = None) -> bool:
    """Whether a run kept every queue stable: no agent's backlog (its devices' queues
    summed, :func:`queue_growth`) grew by more than
    ``threshold`` packets between the second and the last quarter of the run.  This is
    Table V's label ``"good"`` (:func:`stability_label`);
    ``threshold`` None means :data:`UNSTABLE_PACKETS` (20).

    >>> trace = np.array([[0.0, 1.0]] * 50 + [[0.0, 30.0]] * 50)   # device 1 piles up
    >>> is_stable(trace, np.array([0, 1]), 2), is_stable(trace[:, :1], np.array([0]), 1)
    (False, True)
    """
    growth = queue_growth(queue_trace, owner, n_agents)
    return stability_label(growth, _threshold(threshold)) == "good"


@dataclass(frozen=True)
class CapacityProbe:
    """One load tried by the search: the seeds run (in order; the probe stops at the first
    unstable seed, since one is enough to call the load unstable), whether each was stable,
    and each seed's largest backlog growth over the agents (packets)."""

    load: float
    seeds: tuple[int, ...]
    stable_per_seed: tuple[bool, ...]
    growth_per_seed: tuple[float, ...]

    @property
    def stable(self) -> bool:
        """Stable on every seed run (a probe that stopped early is unstable)."""
        return all(self.stable_per_seed)

    def as_dict(self) -> dict:
        return {"load": self.load, "stable": self.stable, "seeds": list(self.seeds),
                "stable_per_seed": list(self.stable_per_seed),
                "growth_per_seed": [round(g, 3) for g in self.growth_per_seed]}


@dataclass(frozen=True)
class CapacityResult:
    """What :func:`capacity` found: the largest load measured stable (``capacity``) and the
    smallest load measured unstable (``unstable``), less than ``tol`` apart, every probe in
    the order it ran, and the settings of the search."""

    scenario: str
    policy: str
    capacity: float
    unstable: float
    probes: tuple[CapacityProbe, ...]
    low: float
    high: float
    tol: float
    slots: int
    seeds: tuple[int, ...]
    batch: int
    threshold: float
    load_unit: str
    overrides: dict = field(default_factory=dict)
    elapsed_s: float = field(default=0.0, compare=False)

    def as_dict(self) -> dict:
        """Everything as JSON-ready builtins."""
        return {"scenario": self.scenario, "policy": self.policy, "capacity": self.capacity,
                "unstable": self.unstable, "load_unit": self.load_unit, "low": self.low,
                "high": self.high, "tol": self.tol, "slots": self.slots,
                "seeds": list(self.seeds), "batch": self.batch, "threshold": self.threshold,
                "overrides": {k: _jsonable(v) for k, v in self.overrides.items()},
                "probes": [p.as_dict() for p in self.probes],
                "elapsed_s": round(self.elapsed_s, 2)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return repr(value)


def _seeds(seeds: Any) -> tuple[int, ...]:
    if isinstance(seeds, str | bytes) or not isinstance(seeds, Iterable):
        raise ValueError(f"seeds must be a non-empty sequence of distinct non-negative "
                         f"integers, got {seeds!r}")
    out = tuple(checks.non_negative_int("seeds", s) for s in seeds)
    if not out:
        raise ValueError("seeds must be a non-empty sequence of distinct non-negative "
                         "integers, got an empty one")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must be distinct (each seed is an independent arrival and "
                         f"fading stream), got {list(out)}")
    return out


def _policy_for(policy: Any, family: str | None) -> Callable[[str], Policy]:
    """Check ``policy`` now; return a function giving the policy for an env's family."""
    if isinstance(policy, str):
        if family is not None:
            baselines.get(policy, family=family)  # raises ValueError naming the policy
        elif policy not in baselines.available():
            raise ValueError(f"unknown policy {policy!r}; choose one of "
                             f"{baselines.available()}")
        return lambda fam: baselines.get(policy, family=fam)
    obj = as_policy(policy)  # TypeError for anything that is not a policy or a function
    return lambda fam: obj


def _check_env(env: Any) -> Any:
    family = getattr(env, "family", None)
    if family not in _QUEUE_FAMILIES:
        raise ValueError(f"scenario must build a queueing env (family one of "
                         f"{list(_QUEUE_FAMILIES)}), got {env!r}")
    return env


def capacity(scenario: str | Callable[[float, int], Any], policy: str | Policy | Callable,
             low: float, high: float, *, slots: int = 5000,
             seeds: Iterable[int] = (0, 1, 2), tol: float | None = None, batch: int = 1,
             threshold: float | None = None, **env_overrides) -> CapacityResult:
    """The largest load at which ``policy`` keeps every queue of ``scenario`` stable, found
    by bisection between ``low`` (must be stable) and ``high`` (must be unstable).

    What is measured: at each load tried, one run of ``slots`` slots per seed (the seed
    drives the arrivals and the fading, so the seeds are independent traffic draws); a run
    is stable when no agent's backlog grew by more than ``threshold`` packets between the
    second and the last quarter of the run (:func:`is_stable`; Table V's rule: a network is
    carried when no agent's queue keeps growing; the growth is the project's
    :func:`queue_growth`).  A load counts as stable only if it
    is stable on *every* seed; an unstable seed ends the probe.  The search keeps the
    largest stable and the smallest unstable load and halves the gap until it is below
    ``tol``.

    A finite run cannot tell a slowly growing queue from a stable one: a backlog drifting
    up by ``d`` packets per slot grows by about ``d * slots / 2`` between the two quarters,
    so drifts below ``2 * threshold / slots`` pass as stable, and near the boundary the
    random-walk spread of the queues (which grows like the square root of the run length)
    adds to it.  Choose ``slots`` long enough for that to be small next to ``tol``; a
    ``batch`` of copies averages the queue trace and so narrows the spread.

    Parameters
    ----------
    scenario : a scenario name (:data:`rrmbook.SCENARIOS`, not the full-buffer PF model),
        built with :func:`rrmbook.make_env` at each load (``batch`` copies, ``seed``, and
        ``env_overrides``); or a factory ``make(load, seed) -> env`` that builds its own
        environment (its own copies: ``batch`` and ``env_overrides`` do not apply).
    policy : a baseline name (:func:`rrmbook.baselines.get` for the env's family) or a
        :class:`~rrmbook.policy.Policy` / plain function (reset by every run).
    low, high : the bracket, in the scenario's load unit; ``0 <= low < high``.
    slots : run length per seed (at least 4: the growth compares quarters).
    seeds : distinct non-negative seeds, one run each per load.
    tol : stop when the bracket is narrower than this (None: ``(high - low) / 32``).
    batch : copies per run of a named scenario (their queues are averaged in the trace).
    threshold : packets of growth that make an agent unstable (None:
        :data:`UNSTABLE_PACKETS`).

    Every argument is checked before any simulation (``ValueError`` naming the field);
    a bracket whose ``low`` is unstable or whose ``high`` is stable raises ``ValueError``
    naming that end once it has been measured.
    """
    # ------------------------------------------------------------ checks, before any run
    low = checks.non_negative("low", low)
    high = checks.positive("high", high)
    if not low < high:
        raise ValueError(f"high must be greater than low, got low={low}, high={high}")
    slots = checks.positive_int("slots", slots)
    if slots < 4:
        raise ValueError(f"slots must be at least 4 (the growth compares the second and the "
                         f"last quarter of a run), got {slots}")
    seeds = _seeds(seeds)
    tol = (high - low) / 32 if tol is None else checks.positive("tol", tol)
    batch = checks.positive_int("batch", batch)
    threshold = _threshold(threshold)
    if isinstance(scenario, str):
        sc = get_scenario(scenario)  # ValueError naming the unknown scenario
        if sc.family not in _QUEUE_FAMILIES:
            raise ValueError(f"scenario {scenario!r} has full buffers: there is no load to "
                             f"search; choose a queueing scenario")
        make_config(scenario, load=low, **env_overrides)  # ValueError for a bad override
        name, family, load_unit = scenario, sc.family, sc.load_unit

        def build(load: float, seed: int):
            return make_env(scenario, load=load, batch=batch, seed=seed, **env_overrides)
    elif callable(scenario):
        if batch != 1:
            raise ValueError(f"batch does not apply to an env factory (it builds its own "
                             f"copies), got batch={batch}")
        if env_overrides:
            raise ValueError(f"env overrides {sorted(env_overrides)} do not apply to an env "
                             f"factory (build them into it)")
        name = getattr(scenario, "__name__", repr(scenario))
        family, load_unit, build = None, "as the factory's arrival rate", scenario
    else:
        raise ValueError(f"scenario must be a scenario name or a factory make(load, seed), "
                         f"got {scenario!r}")
    policy_for = _policy_for(policy, family)

    # ------------------------------------------------------------ the search
    start = time.perf_counter()
    probes: list[CapacityProbe] = []
    policy_name = policy if isinstance(policy, str) else as_policy(policy).name

    def probe(load: float) -> CapacityProbe:
        ran, stable, growth = [], [], []
        for seed in seeds:
            env = _check_env(build(load, seed))
            pol = policy_for(env.family)
            res = evaluate(env, pol, slots=slots, seed=seed)
            g = queue_growth(res.queue_trace, env.owner, env.n_agents)
            ran.append(seed)
            growth.append(float(np.max(g)))
            stable.append(stability_label(g, threshold) == "good")
            if not stable[-1]:
                break
        p = CapacityProbe(float(load), tuple(ran), tuple(stable), tuple(growth))
        probes.append(p)
        return p

    if not probe(low).stable:
        raise ValueError(f"low must be a stable load, but low={low} is unstable "
                         f"(backlog growth {max(probes[-1].growth_per_seed):.1f} > "
                         f"{threshold:g} packets): lower it")
    if probe(high).stable:
        raise ValueError(f"high must be an unstable load, but high={high} is stable "
                         f"(backlog growth at most {max(probes[-1].growth_per_seed):.1f} "
                         f"packets): raise it")
    good, bad = low, high
    while bad - good >= tol:
        mid = (good + bad) / 2
        if mid in (good, bad):  # no float left between them
            break
        if probe(mid).stable:
            good = mid
        else:
            bad = mid
    return CapacityResult(scenario=name, policy=policy_name, capacity=good, unstable=bad,
                          probes=tuple(probes), low=low, high=high, tol=tol, slots=slots,
                          seeds=seeds, batch=batch, threshold=threshold, load_unit=load_unit,
                          overrides=dict(env_overrides),
                          elapsed_s=time.perf_counter() - start)
