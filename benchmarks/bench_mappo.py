"""Speed of recurrent MAPPO: training throughput and decision time.  Prints markdown tables;
not a test.

    .venv/bin/python benchmarks/bench_mappo.py [--updates 6] [--slots 2000]
    .venv/bin/python benchmarks/bench_mappo.py --quality shared [--scenario S --load L --reference B]

* Training throughput: copy-slots per second of :func:`rrmbook.marl.train` with the laptop
  preset (32 copies × 64-slot rollouts per update, 4 epochs of 4 minibatches), rollouts and
  updates included, on paper-cg8 and paper-hex19 at heavy load, both modes.  One copy of the
  environment advancing one slot counts one copy-slot (all its agents act in it).
* Decision time: wall time of ``MAPPOPolicy.act`` per slot at B = 1 (all agents of the
  network decide: 4 on paper-cg8, 19 on paper-hex19), untrained shared and separate actors,
  sampled and greedy; median of 3 runs.  Table IV of Zhang & Guo reports 1.3–1.6 ms for
  the 19-cell network on a 4-core laptop.
* Time to quality (``--quality MODE``): train the laptop preset on ``--scenario`` at
  ``--load`` (seed 0) and every ``--eval-every`` updates evaluate the current policy, sampling
  and greedy, with ``rrmbook.evaluate(env, policy, slots=5000, seed=0)``; print the learning
  curve, the training time (evaluations excluded) until the mean delay first reaches the
  ``--reference`` baseline (evaluated the same way) with fewer than 1 % of the packets left
  unfinished, and the best delay reached.  "Reaching" means below it on a conflict graph and
  within 10 % of it in a multi-cell network.  The two targets of issue 4:

      bench_mappo.py --quality shared                      # paper-cg8, heavy, vs GMS
      bench_mappo.py --quality shared --scenario paper-random19 --load 25 --reference fp \
          --quality-slots 800000 --eval-every 20

One process, one thread (torch and BLAS pinned to one thread before anything is imported).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import rrmbook  # noqa: E402
from rrmbook.marl import MAPPOConfig, train  # noqa: E402
from rrmbook.marl.mappo import MAPPO  # noqa: E402

TARGET_SLOTS = {"paper-cg8": 2000, "paper-hex19": 500}
TARGET_MS = 0.3
#: how close to the reference baseline counts as reaching it: below it on a conflict graph
#: (GMS), within 10 % of it in a multi-cell network (FP)
QUALITY_MARGIN = {"conflict": 0.0, "cellular": 0.10}


def throughput(scenario: str, mode: str, updates: int) -> float:
    """Copy-slots per second over ``updates`` training iterations (after one warm-up)."""
    cfg = MAPPOConfig.laptop(mode=mode)
    per_update = cfg.n_envs * cfg.rollout_slots
    train(cfg, scenario, "heavy", seed=0, budget_slots=per_update)  # warm-up (allocations)
    start = time.perf_counter()
    train(cfg, scenario, "heavy", seed=0, budget_slots=updates * per_update)
    return updates * per_update / (time.perf_counter() - start)


def decision_ms(scenario: str, mode: str, deterministic: bool, slots: int) -> float:
    """Median over 3 runs of the mean ``act`` time per slot (ms), B = 1."""
    config = MAPPOConfig.laptop(mode=mode)
    untrained = MAPPO(config, rrmbook.make_env(scenario, load="heavy", batch=config.n_envs))
    policy = untrained.policy(deterministic)
    env = rrmbook.make_env(scenario, load="heavy", batch=1, seed=0)
    runs = []
    for repeat in range(3):
        obs = env.reset(seed=repeat)
        policy.reset(env, np.random.default_rng(repeat))
        spent = 0.0
        for _ in range(slots):
            t0 = time.perf_counter()
            actions = policy.act(obs)
            spent += time.perf_counter() - t0
            obs = env.step(actions).obs
        runs.append(1e3 * spent / slots)
    return statistics.median(runs)


def time_to_quality(mode: str, scenario: str, load: str | float, reference: str,
                    budget_slots: int, eval_every: int, csv: str | None) -> None:
    """Learning curve of the laptop preset on ``scenario`` at ``load`` (seed 0), evaluated on
    5,000 slots with the policy sampling its actions and with it taking the most likely
    ones, against the baseline ``reference`` evaluated the same way."""
    env = rrmbook.make_env(scenario, load=load, batch=1, seed=0)
    ref = rrmbook.evaluate(env, rrmbook.baselines.get(reference, family=env.family),
                           slots=5000, seed=0)
    target = ref.mean_delay * (1.0 + QUALITY_MARGIN[env.family])
    unit = ref.delay_unit
    print(f"{scenario} at load {load}: {reference} mean delay {ref.mean_delay:.3f} {unit}; "
          f"target below {target:.3f} {unit}\n")
    print("| updates | copy-slots | training time (s) | training mean queue | mean delay, sampled "
          "(unfinished) | mean delay, greedy (unfinished) |")
    print("|---|---|---|---|---|---|")
    reached: dict[str, dict] = {}
    best: dict[str, tuple[float, int]] = {}

    def evaluate(policy, record) -> None:
        if record["update"] % eval_every:
            return
        cells = []
        for label, deterministic in (("sampled", False), ("greedy", True)):
            snapshot = policy.copy()
            snapshot.deterministic = deterministic
            res = rrmbook.evaluate(env, snapshot, slots=5000, seed=0)
            cells.append(f"{res.mean_delay:.3f} ({res.unfinished})")
            stable = res.unfinished < 0.01 * res.arrived  # no device left starving
            if label not in reached and res.mean_delay < target and stable:
                reached[label] = record
            if stable and res.mean_delay < best.get(label, (float("inf"), 0))[0]:
                best[label] = (res.mean_delay, record["slots"])
        print(f"| {record['update']} | {record['slots']:,} | {record['time_s']:.0f} | "
              f"{record['mean_queue']:.2f} | {cells[0]} | {cells[1]} |", flush=True)

    train(MAPPOConfig.laptop(mode=mode), scenario, load, seed=0, budget_slots=budget_slots,
          callback=evaluate, log_csv=csv)
    print()
    for label in ("sampled", "greedy"):
        if label in reached:
            print(f"{mode}, {label}: mean delay below {target:.3f} {unit} after "
                  f"{reached[label]['slots']:,} copy-slots, {reached[label]['time_s']:.0f} s of training")
        else:
            print(f"{mode}, {label}: never below {target:.3f} {unit} within {budget_slots:,} copy-slots")
        if label in best:
            print(f"{mode}, {label}: best {best[label][0]:.3f} {unit} after {best[label][1]:,} "
                  f"copy-slots ({reference}: {ref.mean_delay:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=6, help="timed training iterations")
    parser.add_argument("--slots", type=int, default=2000, help="slots per decision-time run")
    parser.add_argument("--quality", choices=["shared", "separate"],
                        help="measure time to quality for this mode instead of speed")
    parser.add_argument("--scenario", default="paper-cg8", help="scenario of the quality run")
    parser.add_argument("--load", default="heavy", help="load of the quality run (preset or number)")
    parser.add_argument("--reference", default="gms", help="baseline the quality run must reach")
    parser.add_argument("--quality-slots", type=int, default=2_000_000,
                        help="training budget (copy-slots) of the time-to-quality run")
    parser.add_argument("--eval-every", type=int, default=10, help="updates between evaluations")
    parser.add_argument("--csv", help="write the learning curve of the quality run here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.quality:
        load = args.load if args.load in ("light", "medium", "heavy") else float(args.load)
        time_to_quality(args.quality, args.scenario, load, args.reference, args.quality_slots,
                        args.eval_every, args.csv)
        return
    print(f"Machine: {platform.processor() or platform.machine()}, Python "
          f"{platform.python_version()}, torch {torch.__version__}, 1 thread\n")
    print("| scenario (heavy) | mode | training copy-slots/s | target |")
    print("|---|---|---|---|")
    for scenario, target in TARGET_SLOTS.items():
        for mode in ("shared", "separate"):
            rate = throughput(scenario, mode, args.updates)
            print(f"| {scenario} | {mode} | {rate:,.0f} | ≥ {target:,} |", flush=True)
    print("\n| scenario | agents | mode | sampled (ms/slot) | greedy (ms/slot) | target |")
    print("|---|---|---|---|---|---|")
    for scenario in TARGET_SLOTS:
        agents = rrmbook.make_env(scenario).n_agents
        for mode in ("shared", "separate"):
            sampled = decision_ms(scenario, mode, False, args.slots)
            greedy = decision_ms(scenario, mode, True, args.slots)
            target = f"≤ {TARGET_MS}" if (scenario, mode) == ("paper-hex19", "shared") else "–"
            print(f"| {scenario} | {agents} | {mode} | {sampled:.3f} | {greedy:.3f} | {target} |",
                  flush=True)


if __name__ == "__main__":
    main()
