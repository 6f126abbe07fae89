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
  ``--load`` (training seed ``--seed``, default 0) and every ``--eval-every`` updates evaluate the current policy, sampling
  and greedy, with ``rrmbook.evaluate(env, policy, slots=5000, seed=0)``; print the learning
  curve, the training time (evaluations excluded) until the mean delay first reaches the
  ``--reference`` baseline (evaluated the same way) with fewer than 1 % of the packets left
  unfinished, and the best delay reached.  "Reaching" means below it on a conflict graph and
  within 10 % of it in a multi-cell network.  The two targets of issue 4:

      bench_mappo.py --quality shared                      # paper-cg8, heavy, vs GMS
      bench_mappo.py --quality shared --scenario paper-random19 --load 25 --reference fp \
          --quality-slots 800000 --eval-every 20

* Profile (``--profile``): where one training iteration's time goes, phase by phase
  (environment step, observation assembly, actor and critic forward in the rollout, action
  sampling, storage, GAE, and in the PPO epochs the actor and critic forward, the losses, the
  backward pass and the optimiser step with gradient clipping; the rest is Python overhead),
  for paper-cg8 and paper-hex19 in both modes, next to an estimate of the compute limit: the
  multiply-adds one copy-slot needs (rollout forward of both networks, then per epoch their
  forward and backward) and this core's measured dense float32 rate on matrices of these
  sizes.

* LSTM (``--lstm``): forward and backward of the update's recurrent layer over one
  minibatch of stored 64-slot chunks, through the grouped LSTM and through PyTorch's kernel,
  on the shapes of paper-cg8 and paper-hex19 in both modes (median of 5).

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
from rrmbook.marl import mappo as mappo_module  # noqa: E402
from rrmbook.marl.lstm import grouped_lstm  # noqa: E402
from rrmbook.marl.mappo import MAPPO  # noqa: E402
from rrmbook.marl.networks import GroupedRNN  # noqa: E402

TARGET_SLOTS = {"paper-cg8": 20_000, "paper-hex19": 2_000}
#: the paper-like configuration (Table II: 1 copy, 2,048-slot rollouts, 15 epochs, shared)
TARGET_PAPER_LIKE = {"paper-cg8": 2_000, "paper-hex19": 400}
#: the authors' code on this machine, copy-slots/s (issue 11): laptop preset shared /
#: separate, and their own configuration (shared)
AUTHORS = {("paper-cg8", "shared"): 347, ("paper-cg8", "separate"): 135,
           ("paper-hex19", "shared"): 85, ("paper-hex19", "separate"): 21}
AUTHORS_PAPER_LIKE = {"paper-cg8": 347, "paper-hex19": 85}
TARGET_MS = 0.3
#: how close to the reference baseline counts as reaching it: below it on a conflict graph
#: (GMS), within 10 % of it in a multi-cell network (FP)
QUALITY_MARGIN = {"conflict": 0.0, "cellular": 0.10}


def throughput(scenario: str, mode: str, updates: int, preset: str = "laptop") -> float:
    """Copy-slots per second over ``updates`` training iterations (after one warm-up) of the
    ``preset`` configuration (``"laptop"`` or ``"paper"``, the paper-like one)."""
    cfg = getattr(MAPPOConfig, preset)(mode=mode)
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
                    budget_slots: int, eval_every: int, csv: str | None, seed: int = 0) -> None:
    """Learning curve of the laptop preset on ``scenario`` at ``load`` (training seed
    ``seed``), evaluated on
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

    train(MAPPOConfig.laptop(mode=mode), scenario, load, seed=seed, budget_slots=budget_slots,
          callback=evaluate, log_csv=csv, overwrite=True)  # a re-measurement replaces the last
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


# ------------------------------------------------------------------------------- profile
class PhaseTimer:
    """Wall time per named phase, collected by wrapping callables (``wrap``) for the
    duration of a ``with`` block; nested phases are subtracted from their parents, so the
    phases add up to the time spent inside any of them."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self._stack: list[list[float]] = []
        self._patches: list[tuple[object, str, object]] = []

    def wrap(self, owner, name: str, phase: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            self._stack.append([0.0])
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.perf_counter() - start
                inner = self._stack.pop()[0]
                self.totals[phase] = self.totals.get(phase, 0.0) + spent - inner
                if self._stack:
                    self._stack[-1][0] += spent

        self._patches.append((owner, name, original))
        setattr(owner, name, timed)

    def restore(self) -> None:
        for owner, name, original in reversed(self._patches):
            setattr(owner, name, original)
        self._patches.clear()


def _net_macs(net, rows_in: int) -> int:
    """Multiply-adds of one forward step of a RecurrentNet for one row."""
    rnn = net.rnn
    gates, hidden = rnn.weight_ih.shape[1], rnn.hidden
    macs = rows_in * gates + hidden * gates
    macs += sum(m.weight.shape[1] * m.weight.shape[2] for m in net.mlp if hasattr(m, "weight"))
    return macs + net.out.weight.shape[1] * net.out.weight.shape[2]


def compute_limit(learner: MAPPO) -> dict:
    """Multiply-adds per copy-slot of one training iteration, and the copy-slots per second
    a core could reach at its measured dense float32 rate on matrices of these sizes."""
    cfg, spec = learner.config, learner.spec
    forward = sum(_net_macs(n, spec.obs_dim) for n in (learner.actor, learner.critic))
    first_layer = 2 * spec.obs_dim * learner.actor.rnn.weight_ih.shape[1]  # no input gradient
    per_row = forward + cfg.update_epochs * (3 * forward - first_layer)
    per_copy_slot = per_row * spec.n_agents
    rows = cfg.n_envs * spec.n_agents // max(cfg.num_minibatches, 1) * cfg.chunk_length
    gates = learner.actor.rnn.weight_ih.shape[1]
    rates = []
    for m, k, n in [(rows, spec.obs_dim, gates), (rows // cfg.chunk_length, cfg.hidden_size, gates),
                    (rows, cfg.hidden_size, cfg.hidden_size)]:
        a, b = torch.randn(m, k), torch.randn(k, n)
        for _ in range(2):
            a @ b
        start, repeats = time.perf_counter(), 20
        for _ in range(repeats):
            a @ b
        rates.append(m * k * n * repeats / (time.perf_counter() - start))
    rate = max(rates)
    return {"macs_per_copy_slot": per_copy_slot, "gemm_macs_per_s": rate,
            "limit_copy_slots_per_s": rate / per_copy_slot}


def profile(scenario: str, mode: str, iterations: int) -> tuple[dict, float, dict]:
    """Phase times (seconds per iteration) of the laptop preset, the measured copy-slots/s
    and the compute limit."""
    cfg = MAPPOConfig.laptop(mode=mode)
    env = rrmbook.make_env(scenario, load="heavy", batch=cfg.n_envs, seed=0)
    learner = MAPPO(cfg, env, seed=0)
    learner.iteration()  # warm-up
    timer = PhaseTimer()
    timer.wrap(env, "step", "rollout: env step")
    timer.wrap(env, "reset_copies", "rollout: env step")
    timer.wrap(learner, "_observe", "rollout: observation assembly")
    timer.wrap(learner.actor, "step", "rollout: actor and critic forward")
    timer.wrap(learner.critic, "step", "rollout: actor and critic forward")
    timer.wrap(mappo_module, "gumbel_perturb", "rollout: sampling")
    timer.wrap(mappo_module, "greedy_actions", "rollout: sampling")
    timer.wrap(learner.storage, "insert", "rollout: storage")
    timer.wrap(learner, "advantages", "GAE")
    timer.wrap(learner.actor, "forward", "update: actor and critic forward")
    timer.wrap(learner.critic, "forward", "update: actor and critic forward")
    timer.wrap(torch.Tensor, "backward", "update: backward")
    timer.wrap(mappo_module, "clip_grad_norm_per_group", "update: optimiser step")
    timer.wrap(learner.optimizer, "step", "update: optimiser step")
    timer.wrap(learner.optimizer, "zero_grad", "update: optimiser step")
    for name in ("clipped_surrogate", "clipped_value_loss", "approx_kl", "action_entropy",
                 "action_log_prob", "clip_fraction"):
        timer.wrap(mappo_module, name, "update: losses")
    timer.wrap(learner, "_log_probs", "update: losses")
    start = time.perf_counter()
    try:
        for _ in range(iterations):
            learner.iteration()
    finally:
        timer.restore()
    total = time.perf_counter() - start
    phases = {k: v / iterations for k, v in timer.totals.items()}
    phases["Python overhead and the rest"] = total / iterations - sum(phases.values())
    rate = iterations * cfg.n_envs * cfg.rollout_slots / total
    return phases, rate, compute_limit(learner)


def print_profiles(iterations: int) -> None:
    for scenario in TARGET_SLOTS:
        for mode in ("shared", "separate"):
            phases, rate, limit = profile(scenario, mode, iterations)
            cfg = MAPPOConfig.laptop(mode=mode)
            total = sum(phases.values())
            print(f"\n{scenario}, {mode} (laptop preset: {cfg.n_envs} copies x "
                  f"{cfg.rollout_slots} slots, {cfg.update_epochs} epochs x "
                  f"{cfg.num_minibatches} minibatches): {rate:,.0f} copy-slots/s, "
                  f"{total * 1e3:.0f} ms per iteration\n")
            print("| phase | ms per iteration | share |")
            print("|---|---|---|")
            for name, sec in sorted(phases.items(), key=lambda kv: -kv[1]):
                print(f"| {name} | {sec * 1e3:.1f} | {100 * sec / total:.1f} % |")
            print(f"\ncompute: {limit['macs_per_copy_slot'] / 1e6:.1f} M multiply-adds per "
                  f"copy-slot; dense float32 on this core {limit['gemm_macs_per_s'] / 1e9:.1f} "
                  f"G multiply-adds/s -> limit {limit['limit_copy_slots_per_s']:,.0f} "
                  f"copy-slots/s; measured {rate:,.0f} = "
                  f"{100 * rate / limit['limit_copy_slots_per_s']:.0f} % of the limit", flush=True)



def lstm_times(groups: int, rows: int, features: int, repeats: int = 5) -> tuple[float, float]:
    """Median ms of forward + backward over 64 steps: (grouped LSTM, PyTorch's kernel)."""
    rnn = GroupedRNN(groups, features, 64, "lstm", torch.Generator().manual_seed(0))
    x = torch.randn(groups, 64, rows, features)
    state = torch.zeros(2, groups, rows, 64)
    starts = torch.rand(groups, 64, rows) < 0.02
    paths = {
        "grouped": lambda: grouped_lstm(x, state, starts, rnn.weight_ih, rnn.weight_hh,
                                        rnn.bias_ih, rnn.bias_hh),
        "torch": lambda: torch.stack([rnn._sequences(g, x[g], state[:, g], starts[g])
                                      for g in range(groups)]),
    }
    out = []
    for run in paths.values():
        times = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            run().sum().backward()
            times.append(time.perf_counter() - start)
        out.append(1e3 * statistics.median(times[1:]))
    return out[0], out[1]


def print_lstm() -> None:
    print("| scenario, mode | groups x rows x features | grouped LSTM (ms) | torch.lstm (ms) |")
    print("|---|---|---|---|")
    for scenario in TARGET_SLOTS:
        env = rrmbook.make_env(scenario, load="heavy")
        cfg = MAPPOConfig.laptop()
        for mode in ("shared", "separate"):
            copies = cfg.n_envs // cfg.num_minibatches
            groups, rows = (1, copies * env.n_agents) if mode == "shared" else (env.n_agents, copies)
            fast, slow = lstm_times(groups, rows, env.obs_dim)
            print(f"| {scenario}, {mode} | {groups} x {rows} x {env.obs_dim} | {fast:.1f} | "
                  f"{slow:.1f} |", flush=True)


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
    parser.add_argument("--seed", type=int, default=0, help="training seed of the quality run")
    parser.add_argument("--profile", action="store_true",
                        help="print where one training iteration's time goes, per phase")
    parser.add_argument("--lstm", action="store_true",
                        help="time the update's LSTM through the grouped LSTM and torch.lstm")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.profile:
        print_profiles(max(args.updates // 2, 2))
        return
    if args.lstm:
        print_lstm()
        return
    if args.quality:
        load = args.load if args.load in ("light", "medium", "heavy") else float(args.load)
        time_to_quality(args.quality, args.scenario, load, args.reference, args.quality_slots,
                        args.eval_every, args.csv, args.seed)
        return
    print(f"Machine: {platform.processor() or platform.machine()}, Python "
          f"{platform.python_version()}, torch {torch.__version__}, 1 thread\n")
    print("| scenario (heavy) | configuration | mode | training copy-slots/s | authors' code | "
          "ratio | target |")
    print("|---|---|---|---|---|---|---|")
    for scenario, target in TARGET_SLOTS.items():
        for mode in ("shared", "separate"):
            rate = throughput(scenario, mode, args.updates)
            theirs = AUTHORS[scenario, mode]
            print(f"| {scenario} | laptop | {mode} | {rate:,.0f} | {theirs} | {rate / theirs:.1f}x "
                  f"| ≥ {target:,} |", flush=True)
    for scenario, target in TARGET_PAPER_LIKE.items():
        rate = throughput(scenario, "shared", max(args.updates // 3, 1), preset="paper")
        theirs = AUTHORS_PAPER_LIKE[scenario]
        print(f"| {scenario} | paper-like | shared | {rate:,.0f} | {theirs} | {rate / theirs:.1f}x "
              f"| ≥ {target:,} |", flush=True)
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
