"""The ``rrmbook`` command.

    rrmbook evaluate --scenario paper-cg8 --load heavy --policy gms --slots 5000
    rrmbook train mappo --scenario paper-cg8 --load heavy --mode shared --budget laptop
    rrmbook train mappo --config my.yaml --set lr=3e-4 --set target_kl=null --tensorboard tb/
    rrmbook evaluate --checkpoint runs/mappo/last.pt --slots 5000
    rrmbook compare  --scenario paper-cg8 --load light --policies gms llq qcsma
    rrmbook reproduce fig8 [--slots 5000] [--out results/]
    rrmbook sweep SPEC.yaml --store DIR [--backend local|ray] [--workers N] [--address A]
    rrmbook sweep status DIR | rrmbook sweep report DIR [--json]
    rrmbook scenarios | rrmbook policies
    rrmbook --register my_network.py train mappo --scenario my-network   # your own scenario
    rrmbook exercises build
    rrmbook grade SUBMISSIONS_DIR --out grading-output
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .io import refuse_to_replace, writable_dir

__all__ = ["main", "build_parser"]


def _load_arg(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def _scenario_load(scenario: str, load: str | None):
    """The load to build ``scenario`` with: None for the PF model (full buffers; a given
    ``--load`` is refused rather than ignored), else the given preset or rate (``medium``
    when none is given)."""
    from .scenarios import get_scenario

    if get_scenario(scenario).family == "pf":
        if load is not None:
            raise ValueError(f"scenario {scenario!r} has full buffers: --load does not apply "
                             f"(leave it out), got {load!r}")
        return None
    return _load_arg(load or "medium")


def _policy_file(name: str) -> Path:
    """``--checkpoint``: a training checkpoint or policy file, or the name of a shipped
    policy (``rrmbook policies`` lists them)."""
    path = Path(name)
    if path.suffix == ".pt" or path.exists() or "/" in name:
        return path
    from .experiments import zoo

    return zoo.policy_path(name)


def _table(rows: list[dict], columns: list[str]) -> str:
    widths = {c: max(len(c), *(len(f"{r[c]}") for r in rows)) for c in columns}
    line = "  ".join(c.ljust(widths[c]) for c in columns)
    sep = "  ".join("-" * widths[c] for c in columns)
    body = ["  ".join(f"{r[c]}".ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join([line, sep, *body])


_RATE_COLUMNS = ["policy", "information", "sum_rate", "p5_rate", "score", "silent"]
_SUMMARY_COLUMNS = ["policy", "information", "mean_delay", "p95_delay", "max_delay", "within_1_slot",
                    "delivered", "unfinished"]


def cmd_evaluate(args) -> int:
    import rrmbook

    if args.checkpoint:
        from .marl import load_checkpoint, load_policy
        from .marl.mappo import FORMAT, POLICY_FORMAT

        path = _policy_file(args.checkpoint)
        run = load_checkpoint(path, formats=(FORMAT, POLICY_FORMAT))["run"]
        scenario = args.scenario or run["scenario"]
        load = _load_arg(args.load) if args.load else run["load"]
        env = rrmbook.make_env(scenario, load=load, batch=args.batch, seed=args.seed,
                               **run.get("env_kwargs", {}))
        policy = load_policy(path)
        args.scenario, args.load, args.policy = scenario, load, f"MAPPO ({args.checkpoint})"
    else:
        args.scenario = args.scenario or "paper-cg8"
        args.load = _scenario_load(args.scenario, args.load)
        env = rrmbook.make_env(args.scenario, load=args.load, batch=args.batch, seed=args.seed)
        policy = rrmbook.baselines.get(args.policy)
    res = rrmbook.evaluate(env, policy, slots=args.slots, seed=args.seed, progress=args.progress)
    s = res.summary()
    if args.json:
        print(json.dumps(s, indent=2))
    elif isinstance(res, rrmbook.RateResults):
        print(f"{args.policy} on {args.scenario}, {args.slots} steps x {args.batch} "
              f"cop{'y' if args.batch == 1 else 'ies'} ({s['episodes']} episodes), seed {args.seed}")
        print(f"  sum rate        {s['sum_rate']:.3f} bit/s/Hz")
        print(f"  5th percentile  {s['p5_rate']:.3f} bit/s/Hz")
        print(f"  score           {s['score']:.3f}")
        print(f"  silent APs      {100 * s['silent']:.1f} %")
    else:
        print(f"{args.policy} on {args.scenario} (load {args.load}), {args.slots} slots x "
              f"{args.batch} cop{'y' if args.batch == 1 else 'ies'}, seed {args.seed}")
        print(f"  mean delay      {s['mean_delay']:.3f} {res.delay_unit}")
        print(f"  95th percentile {s['p95_delay']:.3f} {res.delay_unit}")
        print(f"  max delay       {s['max_delay']:.3f} {res.delay_unit}")
        print(f"  within 1 slot   {100 * s['within_1_slot']:.1f} %")
        print(f"  delivered       {s['delivered']} of {s['arrived']} packets "
              f"({s['unfinished']} still queued)")
    return 0


#: --budget presets of `rrmbook train mappo`: (config preset, copy-slots). ``laptop`` is the
#: README's budget: on paper-cg8 at heavy load, shared MAPPO's greedy policy first beat our GMS
#: (2.17 slots) after 0.51-0.78M copy-slots in 3 training seeds (benchmarks/RESULTS.md, "Time to
#: quality"), so 1M leaves a margin; about 4 minutes on 2 cores. ``full`` is the paper's Table II
#: configuration for the same number of copy-slots.
TRAIN_BUDGETS = {"laptop": ("laptop", 1_000_000), "full": ("paper", 1_000_000)}


#: the file a run folder of `rrmbook train` keeps its configuration in (`--config` reads it)
RUN_CONFIG = "config.yaml"


def train_config(budget: str, config_file: str | None = None, mode: str | None = None,
                 overrides: list[str] | tuple[str, ...] = ()):
    """``(MAPPOConfig, copy-slots)`` of ``rrmbook train mappo``: the ``--budget`` preset's
    config, or the ``--config`` file's, then ``--mode``, then every ``--set FIELD=VALUE``.
    Raises ``ValueError`` (an unknown field named, with the list of fields) before any
    work."""
    from .io import config_from_dict, config_to_dict, load_config, parse_overrides
    from .marl import MAPPOConfig

    if budget in TRAIN_BUDGETS:
        preset, slots = TRAIN_BUDGETS[budget]
    else:
        try:
            preset, slots = "laptop", int(budget)
        except ValueError:
            raise ValueError(f"budget must be one of {sorted(TRAIN_BUDGETS)} or a number of "
                             f"copy-slots, got {budget!r}") from None
    changes = ({"mode": mode} if mode is not None else {}) | parse_overrides(overrides)
    try:
        if config_file is not None:
            config = load_config(MAPPOConfig, config_file, **changes)
        else:
            base = config_to_dict(getattr(MAPPOConfig, preset)())
            config = config_from_dict(MAPPOConfig, base, what="--set: MAPPOConfig", **changes)
    except TypeError as err:  # a value of the wrong kind that the config did not catch
        raise ValueError(f"MAPPOConfig: {err}") from None
    return config, slots


def cmd_train(args) -> int:
    from .io import save_config
    from .marl import train

    def folder(mode: str) -> Path:
        return Path(args.out or f"runs/mappo-{args.scenario}-{args.load}-{mode}-s{args.seed}")

    config_file = args.config
    if config_file is None and args.resume:   # resume with the config the run started with
        saved = folder(args.mode or "shared") / RUN_CONFIG
        config_file = saved if saved.is_file() else None
    config, slots = train_config(args.budget, config_file, args.mode, args.set)
    out = folder(config.mode)
    writable_dir(out, "--out")   # a file, a read-only mount or a full disk: refused now
    if not args.resume and not args.overwrite:   # before config.yaml replaces anything
        refuse_to_replace(out / "last.pt", out / "learning_curve.csv")
    command = (f"rrmbook train mappo --scenario {args.scenario} --load {args.load} "
               f"--seed {args.seed} --budget {args.budget} --config {out / RUN_CONFIG}")
    save_config(config, out / RUN_CONFIG,
                comment=f"MAPPOConfig of this run; to run it again:\n{command}")
    policy, history = train(config, args.scenario, _load_arg(args.load), seed=args.seed,
                            budget_slots=slots, checkpoint_dir=out, resume=args.resume,
                            progress=not args.quiet, log_csv=out / "learning_curve.csv",
                            tensorboard_dir=args.tensorboard, overwrite=args.overwrite,
                            threads=args.threads)
    last = history[-1] if history else {}
    print(f"trained {config.mode} MAPPO on {args.scenario} (load {args.load}) for "
          f"{last.get('slots', 0)} copy-slots in {last.get('time_s', 0.0):.0f} s")
    print(f"checkpoint: {out / 'last.pt'}   learning curve: {out / 'learning_curve.csv'}   "
          f"config: {out / RUN_CONFIG}")
    print(f"evaluate:   rrmbook evaluate --checkpoint {out / 'last.pt'} --slots 5000")
    return 0


def cmd_compare(args) -> int:
    import rrmbook

    load = _scenario_load(args.scenario, args.load)
    env = rrmbook.make_env(args.scenario, load=load, batch=args.batch, seed=args.seed)
    for name in args.policies:  # validate all names before any work starts
        rrmbook.baselines.get(name)
    results = rrmbook.compare(env, list(args.policies), slots=args.slots, seed=args.seed)
    columns = _RATE_COLUMNS if env.family == "pf" else _SUMMARY_COLUMNS
    print(_table([r.summary() for r in results.values()], columns))
    return 0


def cmd_reproduce(args) -> int:
    from .experiments import FIGURES, reproduce
    from .experiments.studies import STUDIES, run_study

    if args.figure not in FIGURES and args.figure not in STUDIES:
        raise ValueError(f"unknown figure or study {args.figure!r}; choose one of "
                         f"{sorted(FIGURES)} or a study {sorted(STUDIES)}")
    out = writable_dir(args.out, "--out")   # a file, a read-only mount or a full disk: now
    if args.figure in STUDIES:
        path = run_study(args.figure, out_dir=out, workers=args.workers, progress=not args.quiet)
        print(f"wrote {path}")
        return 0
    path = reproduce(args.figure, out_dir=out, slots=args.slots, seed=args.seed,
                     batch=args.batch, policies=args.policies, retrain=args.retrain)
    print(f"wrote {path}")
    return 0


_SWEEP_USAGE = ("usage: rrmbook sweep SPEC --store DIR [--backend local|ray] [--workers N] "
                "[--address A] [--retry-failed] | rrmbook sweep status DIR | "
                "rrmbook sweep report DIR [--json] [--out FILE]")


def cmd_sweep(args) -> int:
    from .experiments import sweeps

    words = list(args.words)
    if words and words[0] == "run":  # `rrmbook sweep run SPEC` is the same as `sweep SPEC`
        words = words[1:]
    if len(words) == 2 and words[0] in ("status", "report"):
        action, folder = words
        if action == "status":
            s = sweeps.status(folder)
            if args.json:
                print(json.dumps(s, indent=2))
                return 0
            print(f"{s['name']} in {s['store']}: {s['done']} done, {s['failed']} failed, "
                  f"{s['pending']} pending of {s['total']} cells")
            for key in s["failed_cells"]:
                print(f"  failed: {key}")
            return 0
        if args.out:
            data = sweeps.export(folder, args.out, pool_drops=args.pool_drops)
            print(f"wrote {args.out} ({data['compute']['cells']} cells, "
                  f"{data['compute']['cpu_seconds']:.0f} CPU-seconds)")
            return 0
        rep = sweeps.report(folder, pool_drops=args.pool_drops)
        print(json.dumps(rep.to_dict(), indent=2) if args.json else rep.format())
        return 0
    if len(words) != 1:
        raise ValueError(_SWEEP_USAGE)
    if args.store is None:
        raise ValueError(f"--store DIR is needed to run a sweep; {_SWEEP_USAGE}")
    try:
        rep = sweeps.sweep(words[0], store=args.store, backend=args.backend,
                           workers=args.workers, address=args.address,
                           retry_failed=args.retry_failed, progress=not args.quiet,
                           num_cpus=args.num_cpus)
    except ImportError as err:  # the ray backend without Ray
        print(f"rrmbook: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nrrmbook: sweep interrupted; the finished cells are in {args.store}: run the "
              "same command again to continue", file=sys.stderr)
        return 130
    print(json.dumps(rep.to_dict(), indent=2) if args.json else rep.format())
    return 0


def cmd_scenarios(args) -> int:
    from .scenarios import SCENARIOS

    rows = [{"name": s.name, "family": s.family,
             "loads": ", ".join(f"{k}={v}" for k, v in s.loads.items()),
             "description": s.description} for s in SCENARIOS.values()]
    print(_table(rows, ["name", "family", "loads", "description"]))
    return 0


def cmd_policies(args) -> int:
    from . import baselines

    rows = []
    for family in baselines.FAMILIES:
        for name in baselines.available(family):
            p = baselines.get(name, family=family)
            rows.append({"family": family, "name": name, "information": p.information,
                         "coordination": p.coordination, "conflict_free": p.conflict_free})
    print(_table(rows, ["family", "name", "information", "coordination", "conflict_free"]))
    from .experiments.zoo import SHIPPED, ShippedPolicy

    shipped = [{"name": n, "scenario": e.scenario, "load": e.load, "mode": e.mode}
               for n, e in SHIPPED.items() if isinstance(e, ShippedPolicy)]
    print("\nshipped MAPPO policies (rrmbook evaluate --checkpoint NAME):")
    print(_table(shipped, ["name", "scenario", "load", "mode"]))
    return 0


def cmd_exercises(args) -> int:
    from .teaching import build_exercises, stale_exercises

    if args.action == "check":
        stale = stale_exercises(args.solutions, args.out)
        for name in stale:
            print(f"out of date: {name}")
        print("exercises are in sync with solutions" if not stale else
              "run `rrmbook exercises build` to regenerate")
        return 1 if stale else 0
    written = build_exercises(args.solutions, args.out, grading_dir=args.grading_dir)
    for p in written:
        print(f"wrote {p}")
    return 0


def cmd_grade(args) -> int:
    from .teaching import grade_submissions
    from .teaching.grade import UNSAFE_WARNING
    from .teaching.sandbox import SandboxUnavailable

    if args.unsafe_no_sandbox:
        print(UNSAFE_WARNING, file=sys.stderr)
        if args.workers > 1:
            print("error: --workers needs the sandbox (drop --unsafe-no-sandbox)", file=sys.stderr)
            return 2
    try:
        csv_path = grade_submissions(
            args.submissions, args.out, solutions_dir=args.solutions,
            assignment=args.assignment, timeout_per_cell=args.timeout,
            isolation="kernel" if args.unsafe_no_sandbox else "sandbox",
            show_hidden=args.show_hidden, workers=args.workers, progress=True,
            overwrite=args.overwrite)
    except (SandboxUnavailable, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"grades: {csv_path}")
    print(f"feedback: {csv_path.parent / 'feedback'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="rrmbook", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"rrmbook {__version__}")
    p.add_argument("--register", action="append", default=[], metavar="FILE",
                   help="a Python file that registers scenarios of your own "
                        "(rrmbook.register_scenario), run before the command; repeatable")
    sub = p.add_subparsers(dest="command", required=True)

    def sim_args(sp):
        sp.add_argument("--scenario", default="paper-cg8", help="named scenario (see `rrmbook scenarios`)")
        sp.add_argument("--load", default=None,
                        help="load preset (light/medium/heavy), or a rate per device: packets per "
                             "slot on conflict graphs, packets per second in cellular networks "
                             "(default medium; the PF model has full buffers and takes none)")
        sp.add_argument("--slots", type=int, default=5000, help="slots to simulate")
        sp.add_argument("--batch", type=int, default=1, help="independent copies simulated at once")
        sp.add_argument("--seed", type=int, default=0)

    sp = sub.add_parser("evaluate", help="run one policy and print its delay summary")
    sim_args(sp)
    sp.set_defaults(scenario=None, load=None)
    sp.add_argument("--policy", default="gms", help="baseline name (see `rrmbook policies`)")
    sp.add_argument("--checkpoint", default=None,
                    help="evaluate a trained MAPPO checkpoint, policy file or shipped policy "
                         "name (e.g. cg8-heavy-shared) instead; scenario and load default to "
                         "the ones it was trained on")
    sp.add_argument("--json", action="store_true", help="print the summary as JSON")
    sp.add_argument("--progress", action="store_true", help="show a progress bar")
    sp.set_defaults(func=cmd_evaluate)

    sp = sub.add_parser("train", help="train a learner (recurrent MAPPO)")
    sp.add_argument("algorithm", choices=["mappo"])
    sp.add_argument("--scenario", default="paper-cg8")
    sp.add_argument("--load", default="heavy")
    sp.add_argument("--mode", choices=["shared", "separate"], default=None,
                    help="shared (default) or separate networks: MAPPOConfig.mode")
    sp.add_argument("--config", default=None, metavar="FILE",
                    help="a MAPPOConfig file (.yaml/.yml, .toml or .json; a run folder's "
                         "config.yaml) instead of the --budget preset's config")
    sp.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="change one MAPPOConfig field (VALUE read as YAML: 3e-4, null, "
                         "true, gru); repeatable; applied after --config and --mode")
    sp.add_argument("--tensorboard", default=None, metavar="DIR",
                    help="also write TensorBoard scalars to DIR (pip install tensorboard)")
    sp.add_argument("--budget", default="laptop",
                    help="laptop (the fast preset, 1M copy-slots: about 4 minutes on 2 cores; "
                         "shared MAPPO beat GMS on paper-cg8 heavy after 0.5-0.8M in 3 seeds), "
                         "full (Table II preset, 1M), or a number of copy-slots")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--out", default=None,
                    help="run folder (checkpoint, learning curve and config.yaml)")
    sp.add_argument("--resume", action="store_true",
                    help="continue from the run folder's checkpoint (with the folder's "
                         "config.yaml unless --config is given)")
    sp.add_argument("--overwrite", action="store_true",
                    help="start afresh in a run folder that holds an earlier run (which is "
                         "refused otherwise)")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1: the networks are small, and more threads "
                         "than free cores slow training down many times over)")
    sp.set_defaults(func=cmd_train)

    sp = sub.add_parser("compare", help="run several policies on the same arrivals")
    sim_args(sp)
    sp.add_argument("--policies", nargs="+", default=["gms", "gms_multichannel", "llq", "qcsma", "max_weight"])
    sp.set_defaults(func=cmd_compare)

    sp = sub.add_parser("reproduce", help="regenerate a paper figure's data and plot")
    sp.add_argument("figure", help="figure id (fig7 ... fig13, table4, table5, scaling, "
                    "pf-fig4 ... pf-fig7) or study (paper-code, table5-capacity, "
                    "table5-ablations, curves, scaling-draws: runs its sweeps, resuming)")
    sp.add_argument("--slots", type=int, default=5000)
    sp.add_argument("--batch", type=int, default=1)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--out", default="results",
                    help="output folder (rrmbook/data to refresh the results the book ships)")
    sp.add_argument("--policies", default=None,
                    help="folder whose policies/ holds the MAPPO policy files (default: --out; "
                         "a policy missing there is taken from the package, else trained)")
    sp.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1: the networks are small, and more threads "
                         "than free cores slow training down many times over)")
    sp.add_argument("--retrain", action="store_true",
                    help="train the MAPPO policies the figure uses again (minutes each)")
    sp.add_argument("--workers", type=int, default=None,
                    help="a study's sweeps: worker processes (default: the free cores)")
    sp.add_argument("--quiet", action="store_true", help="a study's sweeps: no progress bars")
    sp.set_defaults(func=cmd_reproduce)

    sp = sub.add_parser(
        "sweep", help="run a multi-seed sweep (scenario x load x method x seed) into a "
                      "resumable store; `sweep status DIR`, `sweep report DIR`",
        description="rrmbook sweep SPEC --store DIR runs the grid of a YAML/TOML/JSON spec "
                    "(continuing where an interrupted run stopped); rrmbook sweep status DIR "
                    "counts done, failed and pending cells; rrmbook sweep report DIR prints "
                    "the aggregated table (n, mean, 95 % confidence interval over seeds).")
    sp.add_argument("words", nargs="+", metavar="ARG", help="SPEC, or status DIR, or report DIR")
    sp.add_argument("--store", default=None, help="the result folder (created if missing)")
    sp.add_argument("--backend", default="local", help="local (process pool) or ray")
    sp.add_argument("--workers", type=int, default=None,
                    help="worker processes, or CPUs of a local Ray (default: free cores)")
    sp.add_argument("--address", default=None,
                    help="ray: 'auto' or HOST:PORT of an existing cluster (default: start a "
                         "local Ray)")
    sp.add_argument("--num-cpus", type=int, default=1, help="ray: CPUs per cell (task)")
    sp.add_argument("--retry-failed", action="store_true", help="run failed cells again")
    sp.add_argument("--json", action="store_true", help="print the table (or status) as JSON")
    sp.add_argument("--pool-drops", action="store_true",
                    help="report: pool the layout drops of a configuration into one row")
    sp.add_argument("--out", default=None,
                    help="report: write the aggregated table with the spec, the seeds and "
                         "the compute used to this JSON file (what rrmbook/data/sweeps ships)")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.set_defaults(func=cmd_sweep)

    sub.add_parser("scenarios", help="list named scenarios").set_defaults(func=cmd_scenarios)
    sub.add_parser("policies", help="list baseline policies").set_defaults(func=cmd_policies)

    sp = sub.add_parser("exercises", help="generate exercises/ from solutions/ (or check sync)")
    sp.add_argument("action", choices=["build", "check"])
    sp.add_argument("--grading-dir", default=None,
                    help="also write the autograder (with hidden tests) here")
    sp.add_argument("--solutions", default="solutions")
    sp.add_argument("--out", default="exercises")
    sp.set_defaults(func=cmd_exercises)

    sp = sub.add_parser("grade", help="grade a folder of submitted notebooks")
    sp.add_argument("submissions", help="folder of submitted .ipynb files")
    sp.add_argument("--out", default="grading-output",
                    help="grades.csv and feedback/ go to OUT/<assignment>/")
    sp.add_argument("--solutions", default="solutions", help="instructor sources")
    sp.add_argument("--assignment", default=None,
                    help="solution notebook name without .ipynb (needed when solutions/ has several)")
    sp.add_argument("--timeout", type=float, default=60.0,
                    help="seconds of CPU time allowed per cell and per call of a student's function")
    sp.add_argument("--overwrite", action="store_true",
                    help="replace an earlier grading of the same assignment in OUT")
    sp.add_argument("--unsafe-no-sandbox", action="store_true",
                    help="run student code as you, unsandboxed (where bubblewrap is missing): "
                         "only for work you trust")
    sp.add_argument("--show-hidden", action="store_true",
                    help="name hidden tests and their failures in the students' feedback")
    sp.add_argument("--workers", type=int, default=1,
                    help="submissions graded at once (each in its own sandbox)")
    sp.set_defaults(func=cmd_grade)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    threads = getattr(args, "threads", None)
    if threads is not None:
        if threads < 1:
            print(f"rrmbook: error: --threads must be >= 1, got {threads}", file=sys.stderr)
            return 2
        import torch

        torch.set_num_threads(threads)
    try:
        if args.register:   # your own scenarios, here and in every worker process
            import os

            from .scenarios import REGISTER_ENV, register_from_env

            for path in args.register:
                if not Path(path).is_file():
                    raise FileNotFoundError(f"--register {path}: no such file")
            paths = [str(Path(p).resolve()) for p in args.register]
            os.environ[REGISTER_ENV] = os.pathsep.join(
                [p for p in os.environ.get(REGISTER_ENV, "").split(os.pathsep) if p] + paths)
            register_from_env()
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError, FileExistsError) as err:
        print(f"rrmbook: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
