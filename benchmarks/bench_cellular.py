"""Speed of the multi-cell model on paper-hex19 (N = 57 devices, K = 19 APs, H = 3 subbands):
env copy-slots per second at B = 1 and B = 64, and each cellular baseline's decision time
per slot (B = 1) next to Table IV of Zhang & Guo.  Prints markdown tables; not a test.

    .venv/bin/python benchmarks/bench_cellular.py [--slots 2000] [--repeats 3]

One process, one thread (BLAS/OpenMP and torch pinned to one thread before anything is
imported), so the numbers compare with a single core of the paper's 4-core laptop.
Decision times are the median over ``--repeats`` runs of the mean time per slot.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import rrmbook  # noqa: E402

#: Table IV of Zhang & Guo (4-core 2.8 GHz i7-1165G7), ms per decision, and our targets
PAPER_MS = {"fp": 58.131, "wmmse": 926.882, "fair_itlinq": 5.223, "llq": 0.166}
TARGET_MS = {"fp": 5.0, "wmmse": 10.0, "fair_itlinq": 1.0, "llq": 0.05}
NAMES = ["fp", "wmmse", "fair_itlinq", "llq", "full_power", "random"]


def env_rate(batch: int, slots: int, layout_draws: bool = False) -> float:
    """Copy-slots per second of ``env.step`` (observation included) with a fixed valid
    action: every AP serves its first device on every subband at P_max.  ``layout_draws``:
    the training env with one layout drop per copy (``LayoutDraws``, 5 neighbours)."""
    draws = {"layout_draws": True, "max_neighbours": 5, "truncate_neighbours": True} \
        if layout_draws else {}
    env = rrmbook.make_env("paper-hex19", load="heavy", batch=batch, seed=0, **draws)
    action = np.zeros((batch, env.n_agents, env.n_subbands, 2), dtype=np.int64)
    action[..., 0] = 1
    action[..., 1] = len(env.levels) - 1
    env.reset(seed=0)
    start = time.perf_counter()
    for _ in range(slots):
        env.step(action)
    return batch * slots / (time.perf_counter() - start)


#: issue 11: the 19-cell env at B = 1 (authors' code: 611 copy-slots/s on this machine), and
#: a 5,000-slot evaluation of a shipped paper-hex19 policy
AUTHORS_ENV_RATE = 611
TARGET_ENV_RATE = 10_000
TARGET_EVALUATE_S = 1.0


def evaluate_seconds(name: str, slots: int = 5000) -> float:
    """Wall time of ``rrmbook.evaluate`` of the shipped policy ``name`` (sampling, B = 1)
    for ``slots`` slots at the load it was trained on, delay bookkeeping included."""
    from rrmbook.experiments import zoo

    entry = zoo.SHIPPED[name]
    policy = zoo.get_policy(name)
    env = rrmbook.make_env(entry.scenario, load=entry.load, batch=1, seed=0)
    rrmbook.evaluate(env, policy, slots=100, seed=0)  # warm-up
    start = time.perf_counter()
    rrmbook.evaluate(env, policy, slots=slots, seed=0)
    return time.perf_counter() - start


def decision_time(name: str, slots: int) -> tuple[float, float]:
    """Mean wall time of ``policy.act`` per slot at B = 1 (ms), the policy driving the env
    at heavy load; also the mean number of FP/WMMSE iterations (nan for the others)."""
    env = rrmbook.make_env("paper-hex19", load="heavy", batch=1, seed=0)
    pol = rrmbook.baselines.get(name, family="cellular")
    obs = env.reset(seed=0)
    pol.reset(env, np.random.default_rng(0))
    spent, iterations = 0.0, []
    for _ in range(slots):
        state = env.state() if pol.information == "global" else None
        t0 = time.perf_counter()
        a = pol.act(obs, state)
        spent += time.perf_counter() - t0
        if hasattr(pol, "history"):
            iterations.append(len(pol.history) - 1)
        obs = env.step(a).obs
    return 1e3 * spent / slots, float(np.mean(iterations)) if iterations else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--slots", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"numpy {np.__version__}, torch {torch.__version__}; one process, one thread")
    print("\n| quantity (paper-hex19, heavy) | value | authors' code | target |\n|---|---|---|---|")
    for b in (1, 64):
        slots = args.slots if b == 1 else max(100, args.slots // 10)
        rate = np.median([env_rate(b, slots) for _ in range(args.repeats)])
        theirs = f"{AUTHORS_ENV_RATE} ({rate / AUTHORS_ENV_RATE:.1f}x)" if b == 1 else "–"
        target = f"≥ {TARGET_ENV_RATE:,}" if b == 1 else "–"
        print(f"| env copy-slots/s, B = {b} | {rate:,.0f} | {theirs} | {target} |")
    for b in (32,):
        slots = max(100, args.slots // 10)
        batched = np.median([env_rate(b, slots) for _ in range(args.repeats)])
        draws = np.median([env_rate(b, slots, layout_draws=True) for _ in range(args.repeats)])
        print(f"| env copy-slots/s, B = {b} (MAPPO's n_envs) | {batched:,.0f} | – | – |")
        print(f"| LayoutDraws copy-slots/s, B = {b}, a drop per copy | {draws:,.0f} "
              f"({draws / batched:.2f}x batched) | – | – |")
    for name in ("hex19-heavy-shared", "hex19-heavy-separate"):
        seconds = np.median([evaluate_seconds(name) for _ in range(args.repeats)])
        print(f"| evaluate, 5,000 slots, shipped {name} | {seconds:.2f} s | – "
              f"| ≤ {TARGET_EVALUATE_S:g} s |")
    print("\n| baseline | decision time per slot (ms, B = 1) | iterations (mean) | target (ms) "
          "| paper Table IV (ms) |\n|---|---|---|---|---|")
    for name in NAMES:
        runs = [decision_time(name, args.slots) for _ in range(args.repeats)]
        ms = float(np.median([r[0] for r in runs]))
        it = runs[0][1]
        its = f"{it:.1f}" if np.isfinite(it) else "–"
        target = f"≤ {TARGET_MS[name]:g}" if name in TARGET_MS else "–"
        paper = f"{PAPER_MS[name]:g}" if name in PAPER_MS else "–"
        print(f"| {name} | {ms:.3f} | {its} | {target} | {paper} |")


if __name__ == "__main__":
    main()
