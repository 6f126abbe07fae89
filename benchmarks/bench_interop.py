"""Interop adapters (issue 18, item 5): the batched vector adapter against looping the
single-copy PettingZoo adapter, and both against the batched env.  Prints a markdown table;
not a test.

    .venv/bin/python benchmarks/bench_interop.py [--batch 64] [--slots 500] [--repeats 5]

Every row steps ``batch`` copies of one scenario for ``--slots`` slots with random actions
drawn up front (so the policy costs nothing), one thread, and reports copy-slots per second
(median of ``--repeats``):

- "batched env": ``env.step`` on the B-copy env, the speed no adapter can beat;
- "RRMVectorEnv": the same B copies through :class:`rrmbook.envs.pettingzoo_env.RRMVectorEnv`
  (per-agent dicts with a batch axis, truncation reasons, same-step autoreset);
- "B x RRMParallelEnv": B single-copy ``ParallelEnv`` s stepped one after the other, which is
  how a PettingZoo user runs B copies without the vector adapter.

The runners take turns within each repeat (the median of each is reported), so a change in
the load of a shared machine affects all of them alike.  At heavy load random actions let
queues pass ``max_queue``: the adapters then restart those copies (``reset_copies``, or
``reset`` of the single copy), which is part of their work; the bare batched env is stepped
on without restarts (same array sizes, so the same cost per slot).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import rrmbook  # noqa: E402
from rrmbook.envs.pettingzoo_env import RRMParallelEnv, RRMVectorEnv  # noqa: E402


def _actions(env, slots: int, batch: int, flat: bool, seed: int = 0) -> np.ndarray:
    """Random valid joint actions ``(slots, B, K, *A)`` in the env's (or the flat) space."""
    vec = RRMVectorEnv(env, flat_actions=flat)
    space = vec.single_action_space("agent_0")
    space.seed(seed)
    n = slots * batch * env.n_agents
    a = np.stack([space.sample() for _ in range(n)])
    return a.reshape((slots, batch, env.n_agents) + a.shape[1:])


def rate_env(scenario: str, load, batch: int, slots: int) -> float:
    env = rrmbook.make_env(scenario, load=load, batch=batch, seed=0)
    acts = _actions(env, slots, batch, flat=False)
    env.reset(seed=0)
    start = time.perf_counter()
    for t in range(slots):
        env.step(acts[t])
    return slots * batch / (time.perf_counter() - start)


def rate_vector(scenario: str, load, batch: int, slots: int, flat: bool) -> float:
    vec = rrmbook.make_vector_env(scenario, load=load, batch=batch, seed=0, flat_actions=flat)
    acts = _actions(vec.env, slots, batch, flat=flat)
    agents = vec.possible_agents
    dicts = [{a: acts[t][:, k] for k, a in enumerate(agents)} for t in range(slots)]
    vec.reset(seed=0)
    start = time.perf_counter()
    for t in range(slots):
        vec.step(dicts[t])
    return slots * batch / (time.perf_counter() - start)


def rate_loop(scenario: str, load, batch: int, slots: int, flat: bool) -> float:
    pars = [RRMParallelEnv(rrmbook.make_env(scenario, load=load, batch=1, seed=b),
                           flat_actions=flat) for b in range(batch)]
    acts = _actions(pars[0].env, slots, batch, flat=flat)
    agents = pars[0].possible_agents
    dicts = [[{a: acts[t, b, k] for k, a in enumerate(agents)} for b in range(batch)]
             for t in range(slots)]
    for b, par in enumerate(pars):
        par.reset(seed=b)
    start = time.perf_counter()
    for t in range(slots):
        for b, par in enumerate(pars):
            if par.step(dicts[t][b])[3]["agent_0"]:  # truncated: a PettingZoo user resets
                par.reset()
    return slots * batch / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--slots", type=int, default=500)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--scenarios", default="paper-cg8,paper-hex19,pf-4x20")
    args = p.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, numpy {np.__version__}; B = {args.batch}, "
          f"{args.slots} slots, median of {args.repeats}\n")
    print("| scenario | runner | copy-slots/s | / batched env | vector / loop |")
    print("|---|---|---|---|---|")
    loads = {"paper-cg8": "heavy", "paper-hex19": "heavy", "pf-4x20": None}
    for scenario in args.scenarios.split(","):
        run = (scenario, loads.get(scenario), args.batch, args.slots)
        # the runners take turns within each repeat, so a change in the machine's load
        # (other jobs) hits all of them alike
        runners = {"env": functools.partial(rate_env, *run)}
        for flat in (False, True):
            runners[("vector", flat)] = functools.partial(rate_vector, *run, flat)
            runners[("loop", flat)] = functools.partial(rate_loop, *run, flat)
        rates = {k: [] for k in runners}
        for _ in range(args.repeats):
            for k, fn in runners.items():
                rates[k].append(fn())
        med = {k: statistics.median(v) for k, v in rates.items()}
        base = med["env"]
        print(f"| {scenario} | batched env | {base:,.0f} | 1.00 | |")
        for flat in (False, True):
            tag = " (flat actions)" if flat else ""
            vec, loop = med[("vector", flat)], med[("loop", flat)]
            print(f"| {scenario} | RRMVectorEnv{tag} | {vec:,.0f} | {vec / base:.2f} | "
                  f"{vec / loop:.1f}x |")
            print(f"| {scenario} | {args.batch} x RRMParallelEnv{tag} | {loop:,.0f} | "
                  f"{loop / base:.3f} | |")

if __name__ == "__main__":
    main()
