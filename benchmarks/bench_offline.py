"""Offline MARL on pf-4x20 (Eldeeb & Alves): dataset collection speed on one core, and how
long CQL needs to beat the baselines when trained on a 50,000-transition dataset of the
shipped online SAC agent.  Prints markdown tables; not a test.

    .venv/bin/python benchmarks/bench_offline.py [--size 50000] [--budget-s 180] [--threads 2]

Collection runs in one process with one thread.  The time-to-quality runs train with
``--threads`` torch threads (the target allows 2 cores) and evaluate the greedy policy every
``--eval-every`` gradient steps on 1,000 steps (seed 1, 4 copies); training time excludes
the evaluations.  The targets: collection >= 10,000 transitions/s; CTDE-CQL score >= 1.15 x
the best baseline within 3 minutes.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

import rrmbook  # noqa: E402
from rrmbook.experiments import offline_marl as ro  # noqa: E402
from rrmbook.experiments.zoo import get_learner  # noqa: E402
from rrmbook.offline import CQLConfig, collect, train_cql  # noqa: E402


def collection_rate(policy, size: int, batch: int) -> float:
    env = rrmbook.make_env("pf-4x20", batch=batch, seed=0)
    start = time.perf_counter()
    collect(env, policy, size, seed=0)
    return size / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--size", type=int, default=50_000)
    p.add_argument("--budget-s", type=float, default=180.0)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--variants", default="ctde,centralised")
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, torch {torch.__version__}\n")

    print("## Dataset collection (one core)\n")
    print("| behaviour | copies | transitions/s | target |")
    print("|---|---|---|---|")
    sac = get_learner("pf-sac").policy(deterministic=False)
    for name, policy in [("random_walk", rrmbook.baselines.get("random_walk")),
                         ("greedy", rrmbook.baselines.get("greedy")),
                         ("itlinq", rrmbook.baselines.get("itlinq")),
                         ("online SAC (shipped)", sac)]:
        for batch in (16, 64):
            rate = collection_rate(policy, args.size, batch)
            print(f"| {name} | {batch} | {rate:,.0f} | >= 10,000 |")

    ev = rrmbook.make_env("pf-4x20", batch=4, seed=1)
    base = {n: rrmbook.evaluate(ev, rrmbook.baselines.get(n), slots=1000, seed=1).score
            for n in ro.PF_BASELINES}
    best_name = max(base, key=base.get)
    target = 1.15 * base[best_name]
    print(f"\n## Time to quality ({args.threads} torch threads, {args.size:,} SAC transitions)\n")
    print("baselines (score, 1,000 steps x 4 copies, seed 1): "
          + ", ".join(f"{n} {s:.3f}" for n, s in base.items())
          + f"; target 1.15 x {best_name} = {target:.3f}\n")
    data = ro.make_dataset("sac", args.size)
    online = rrmbook.evaluate(ev, get_learner("pf-sac").policy(), slots=1000, seed=1).score
    print(f"behaviour (online SAC, greedy): score {online:.3f}\n")
    torch.set_num_threads(args.threads)
    for variant in args.variants.split(","):
        print(f"### CQL-SAC, {variant}\n")
        print("| gradient steps | training time (s) | sum rate | 5th pct | score | >= target |")
        print("|---|---|---|---|---|---|")
        stop = {"hit": None}

        def report(policy, record, stop=stop):
            ok = record["score"] >= target
            if ok and stop["hit"] is None:
                stop["hit"] = record["time_s"]
            print(f"| {record['updates']} | {record['time_s']:.1f} | {record['sum_rate']:.2f} | "
                  f"{record['p5_rate']:.3f} | {record['score']:.3f} | {'yes' if ok else 'no'} |",
                  flush=True)
            return record["time_s"] >= args.budget_s

        train_cql(data, CQLConfig(variant=variant), seed=0, gradient_steps=10**9,
                  eval_every=args.eval_every, callback=report)
        hit = stop["hit"]
        print(f"\n{variant}: " + (f"target reached after {hit:.0f} s of training\n" if hit
                                   else f"target not reached within {args.budget_s:.0f} s\n"))


if __name__ == "__main__":
    main()
