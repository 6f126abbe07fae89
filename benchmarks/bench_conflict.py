"""Speed of the conflict-graph model on paper-cg8: env slots per second at B = 1 and
B = 256, and each baseline's decision time per slot (B = 1).  Prints a table; not a test.

    .venv/bin/python benchmarks/bench_conflict.py [--slots 3000]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

import rrmbook


def env_rate(batch: int, slots: int) -> float:
    env = rrmbook.make_env("paper-cg8", load="heavy", batch=batch, seed=0)
    rng = np.random.default_rng(0)
    acts = rng.integers(0, env.n_actions, size=(64, batch, env.n_agents, env.n_subbands))
    env.reset(seed=0)
    start = time.perf_counter()
    for t in range(slots):
        env.step(acts[t % 64])
    return batch * slots / (time.perf_counter() - start)


def decision_time(name: str, slots: int) -> float:
    """Median-free average wall time of ``policy.act`` per slot, B = 1 (ms)."""
    env = rrmbook.make_env("paper-cg8", load="heavy", batch=1, seed=0)
    pol = rrmbook.baselines.get(name)
    obs = env.reset(seed=0)
    pol.reset(env, np.random.default_rng(0))
    spent = 0.0
    for _ in range(slots):
        state = env.state() if pol.information == "global" else None
        t0 = time.perf_counter()
        a = pol.act(obs, state)
        spent += time.perf_counter() - t0
        obs = env.step(a).obs
    return 1e3 * spent / slots


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--slots", type=int, default=3000)
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"numpy {np.__version__}")
    print("\n| quantity | value |\n|---|---|")
    for b in (1, 256):
        slots = args.slots if b == 1 else max(200, args.slots // 10)
        print(f"| env copy-slots/s, B = {b} | {env_rate(b, slots):,.0f} |")
    print("\n| baseline | decision time per slot (ms, B = 1) |\n|---|---|")
    for name in rrmbook.baselines.available():
        print(f"| {name} | {decision_time(name, args.slots):.3f} |")


if __name__ == "__main__":
    main()
