"""The method registry of the sweeps: one name, one kind, one function per method.

A method is either an *evaluation* (a baseline or a shipped policy, run through
:func:`rrmbook.evaluate` with the cell's seed) or a *training* (a learner trained with the
cell's seed, then evaluated on every evaluation seed of the spec).  Each one is a
:class:`Method`: its ``run(cell) -> dict`` does the cell's work in a worker process and
returns ``{"metrics": {...}, "evaluations": [...], ...}``; its ``defaults`` are the
parameters a spec may set (``params``), and ``check`` validates them before any work.

=========================  ========  =====================================================
name                       kind      what a cell does
=========================  ========  =====================================================
every baseline             evaluate  ``rrmbook.baselines.get(name, **kwargs)`` (``rrmbook
                                     policies``); params: ``kwargs``
every shipped policy       evaluate  ``zoo.get_policy(name)`` / ``zoo.get_learner(name)``
                                     (``cg8-heavy-shared``, ``pf-sac``, ...)
``mappo_shared``,          train     recurrent MAPPO (:func:`rrmbook.marl.train`); params:
``mappo_separate``                   ``preset`` (laptop/paper), ``budget_slots``,
                                     ``config`` (field overrides), ``deterministic``
``mappo_shared_draws``,    train     the same, trained with layout randomisation (every
``mappo_separate_draws``             copy on its own drop, a new one per episode:
                                     :class:`~rrmbook.envs.LayoutDraws`; the spec's env
                                     needs ``max_neighbours`` and ``truncate_neighbours``),
                                     evaluated on the cell's drop
``online_sac``,            train     online centralised SAC / DQN on ``pf-4x20``; params:
``online_dqn``                       ``budget_steps``, ``config``, ``eval_every``
``cql_centralised``,       train     CQL (on SAC unless ``base: dqn``) on a dataset made by
``cql_independent``,                 :func:`~rrmbook.experiments.offline_marl.make_dataset`;
``cql_ctde``,                        params: ``steps``, ``dataset``, ``dataset_size``,
``cql_dqn_centralised``              ``data_seed`` (a number, or ``per_seed``: 100 + seed),
                                     ``config``; the spec's ``env`` applies to the data
                                     collection as well as to the evaluations
``cql_ctde_subset``        train     CTDE-CQL (Fig. 7b) on ``dataset_size`` transitions of
                                     whole episodes drawn (``Dataset.episode_subset``, the
                                     training seed) from one collected pool of
                                     ``pool_size`` (cached in the store's ``datasets/``);
                                     params: ``preset`` (laptop, or paper: Table III),
                                     ``steps``, ``dataset``, ``pool_size``,
                                     ``dataset_size``, ``data_seed``, ``config``
``trained_cql``            train     no training: the offline learner that another sweep's
                                     CQL cell trained with the cell's seed, read from that
                                     store's ``artifacts/``; params: ``store``, ``label``,
                                     ``act_by`` ("actor", or "critic": greedy in Q_i as
                                     (E-25) prescribes)
``trained_mappo``          train     no training: the MAPPO policy that another sweep's
                                     cell trained with the cell's seed, read from that
                                     store's ``artifacts/`` and evaluated here (another
                                     load, layout or network); params: ``store``,
                                     ``label``, ``train_load``, ``scenario``, ``drop``,
                                     ``deterministic``
=========================  ========  =====================================================

A new method is one line: ``register_method("name", run, kind=..., families=...)``.
Training cells checkpoint into ``cell.work_dir`` and resume from it after an interruption;
the trained policy or learner is written to ``cell.artifact`` and read back from there, so a
cell whose training finished is never trained again.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ... import baselines, checks
from ...evaluate import evaluate
from ...io import CHECKPOINT_NAME
from ...scenarios import get_scenario, make_env
from .. import zoo
from ..offline_marl import CQL_STEPS, DATA_SEED, DATASET_KINDS, DATASET_SIZE, make_dataset
from .keys import cell_key

__all__ = ["EVALUATE", "TRAIN", "Method", "METHODS", "register_method", "get_method",
           "evaluate_cell", "numeric_metrics", "mappo_config", "trained_artifact",
           "pool_dataset", "learning_curve", "CURVE_FIELDS"]

EVALUATE = "evaluate"
TRAIN = "train"
_FAMILIES = ("conflict", "cellular", "pf")
_BOOKKEEPING = ("slots", "batch", "seed")  # summary fields that are settings, not metrics


@dataclass(frozen=True)
class Method:
    """One method of the registry (see the module docstring)."""

    name: str
    run: Callable
    kind: str = EVALUATE
    families: tuple[str, ...] = _FAMILIES
    defaults: dict = field(default_factory=dict)
    check: Callable[[dict], None] | None = None
    doc: str = ""


#: name -> :class:`Method`; filled below, extended with :func:`register_method`
METHODS: dict[str, Method] = {}


def register_method(name: str, run: Callable, kind: str = EVALUATE,
                    families: tuple[str, ...] | list[str] = _FAMILIES,
                    defaults: dict | None = None, check: Callable[[dict], None] | None = None,
                    doc: str = "", replace: bool = False) -> Method:
    """Add a method to :data:`METHODS`.  ``run(cell) -> {"metrics": {...}, ...}`` runs in
    a worker process, so it must be importable there (a module-level function of an
    importable module)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"method name must be a non-empty string, got {name!r}")
    if name in METHODS and not replace:
        raise ValueError(f"method {name!r} is already registered (replace=True overrides it)")
    checks.one_of("kind", kind, (EVALUATE, TRAIN))
    for f in families:
        checks.one_of("families", f, _FAMILIES)
    method = Method(name, run, kind, tuple(families), dict(defaults or {}), check, doc)
    METHODS[name] = method
    return method


def get_method(name: str) -> Method:
    if not isinstance(name, str) or name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of {sorted(METHODS)}")
    return METHODS[name]


# ------------------------------------------------------------------------ evaluation
def numeric_metrics(summary: dict) -> dict:
    """The numbers of a ``Results.summary()`` that are measurements (not settings)."""
    return {k: v for k, v in summary.items() if k not in _BOOKKEEPING
            and isinstance(v, int | float) and not isinstance(v, bool)}


def evaluate_cell(cell, policy) -> dict:
    """Evaluate ``policy`` on the cell's scenario, once per evaluation seed; the cell's
    metrics are the means over those seeds (one seed: its values)."""
    evaluations = []
    for seed in cell.eval_seeds:
        env = make_env(cell.scenario, load=cell.load, batch=cell.batch, seed=seed, **cell.env)
        evaluations.append(evaluate(env, policy, slots=cell.slots, seed=seed).summary())
    per_seed = [numeric_metrics(s) for s in evaluations]
    metrics = {k: sum(float(m[k]) for m in per_seed) / len(per_seed) for k in per_seed[0]}
    return {"metrics": metrics, "evaluations": evaluations}


def _run_baseline(cell) -> dict:
    family = get_scenario(cell.scenario).family
    return evaluate_cell(cell, baselines.get(cell.method_name, family=family,
                                             **cell.params["kwargs"]))


def _check_baseline(name: str) -> Callable[[dict], None]:
    def check(params: dict) -> None:
        kwargs = params["kwargs"]
        if not isinstance(kwargs, dict):
            raise ValueError(f"kwargs must be a mapping, got {kwargs!r}")
        for family, names in baselines.FAMILIES.items():
            if name in names:
                try:
                    baselines.get(name, family=family, **kwargs)
                except TypeError as err:
                    raise ValueError(f"kwargs of {name!r}: {err}") from None
    return check


def _run_shipped(cell) -> dict:
    entry = zoo.SHIPPED[cell.method_name]
    if isinstance(entry, zoo.ShippedPolicy):
        policy = zoo.get_policy(cell.method_name, deterministic=cell.params["deterministic"],
                                train_missing=False)
    else:
        policy = zoo.get_learner(cell.method_name).policy()
    return evaluate_cell(cell, policy)


def _check_deterministic(params: dict) -> None:
    if params["deterministic"] is not None:
        checks.boolean("deterministic", params["deterministic"])


# -------------------------------------------------------------------------- training
def _paths(cell) -> tuple[Path, Path, bool]:
    """The cell's checkpoint folder, its artifact file, and whether to resume."""
    if cell.work_dir is None or cell.artifact is None:
        raise ValueError(f"training cell {cell.key!r} needs work_dir and artifact (the "
                         "sweep driver sets them inside its store)")
    work, artifact = Path(cell.work_dir), Path(cell.artifact)
    return work, artifact, (work / CHECKPOINT_NAME).is_file()


def _config(cls, preset: Callable | None, overrides: dict, **base):
    start = preset(**base) if preset is not None else cls(**base)
    try:
        return dataclasses.replace(start, **overrides)
    except TypeError as err:
        raise ValueError(f"config: {err}") from None


def mappo_config(params: dict):
    """The :class:`~rrmbook.marl.MAPPOConfig` of a MAPPO method's params (preset, mode,
    field overrides)."""
    from ...marl import MAPPOConfig

    preset = checks.one_of("preset", params["preset"], ("laptop", "paper"))
    return _config(MAPPOConfig, getattr(MAPPOConfig, preset), params["config"],
                   mode=params["mode"])


def _check_mappo(params: dict) -> None:
    checks.positive_int("budget_slots", params["budget_slots"])
    checks.boolean("deterministic", params["deterministic"])
    mappo_config(params)


def _run_mappo(cell, train_env: dict | None = None) -> dict:
    """Train (unless the cell's policy file exists) on the cell's environment with
    ``train_env`` overrides, then evaluate on the cell's own environment."""
    from ...marl import export_policy, load_policy, train

    params = cell.params
    work, artifact, resume = _paths(cell)
    info = {"budget_slots": params["budget_slots"], "resumed": resume}
    if not artifact.is_file():
        env = {k: v for k, v in cell.env.items() if not (train_env and k == "layout_seed")}
        _, history = train(mappo_config(params), cell.scenario, cell.load, seed=cell.seed,
                           budget_slots=params["budget_slots"], checkpoint_dir=work,
                           resume=resume, env_kwargs=env | dict(train_env or {}),
                           progress=False)
        export_policy(work / CHECKPOINT_NAME, artifact)
        info |= {"train_s": round(history[-1]["time_s"], 2) if history else 0.0,
                 "updates": len(history)}
        shutil.rmtree(work, ignore_errors=True)
    policy = load_policy(artifact, deterministic=params["deterministic"])
    policy.name = cell.method
    out = evaluate_cell(cell, policy) | {"train": info, "artifact": str(artifact)}
    if mappo_config(params).test_interval is not None:
        out["curve"] = learning_curve(artifact)
    return out


#: the columns of a learning curve kept in a sweep record
CURVE_FIELDS = ("update", "slots", "time_s", "mean_reward", "mean_queue", "test_mean_queue",
                "test_reward", "test_mean_delay")


def learning_curve(artifact: str | Path) -> dict:
    """The learning curve stored in a MAPPO policy file, column by column
    (:data:`CURVE_FIELDS`; ``None`` where an update had no test evaluation)."""
    from ...marl.mappo import POLICY_FORMAT, load_checkpoint

    history = load_checkpoint(artifact, formats=(POLICY_FORMAT,))["history"]
    return {f: [r.get(f) for r in history] for f in CURVE_FIELDS}


def trained_artifact(cell) -> Path:
    """The policy file that the training cell named by a ``trained_mappo`` cell's params
    wrote: the same seed, in ``params["store"]``, on ``params["scenario"]`` (default: the
    cell's), at ``params["train_load"]`` and ``params["drop"]`` (``"same"``, the default:
    the cell's drop; ``None``: a training sweep without a drop axis; or a layout seed)."""
    p = cell.params
    scenario = p["scenario"] or cell.scenario
    drop = cell.drop if p["drop"] == "same" else p["drop"]
    key = cell_key(scenario, p["train_load"], drop, p["label"], cell.seed)
    return Path(p["store"]) / "artifacts" / f"{key}.pt"


def _check_store_and_label(params: dict) -> None:
    for name in ("store", "label"):
        if not isinstance(params[name], str) or not params[name]:
            raise ValueError(f"{name} must be a non-empty string (the training sweep's "
                             f"{'store folder' if name == 'store' else 'method label'}), "
                             f"got {params[name]!r}")


def _check_trained(params: dict) -> None:
    _check_store_and_label(params)
    load = params["train_load"]
    if isinstance(load, bool) or not isinstance(load, int | float | str):
        raise ValueError(f"train_load must be the load the policy was trained at (a rate "
                         f"or a preset name), got {load!r}")
    if params["scenario"] is not None:
        get_scenario(params["scenario"])
    if params["drop"] not in (None, "same"):
        checks.non_negative_int("drop", params["drop"])
    checks.boolean("deterministic", params["deterministic"])


def _run_trained(cell) -> dict:
    from ...marl import load_policy

    artifact = trained_artifact(cell)
    if not artifact.is_file():
        raise FileNotFoundError(
            f"no trained policy {artifact}: run the sweep that trains it first (its store "
            f"is {cell.params['store']!r}, its method label {cell.params['label']!r})")
    policy = load_policy(artifact, deterministic=cell.params["deterministic"])
    policy.name = cell.method
    return evaluate_cell(cell, policy) | {"artifact": str(artifact)}


def _check_trained_cql(params: dict) -> None:
    _check_store_and_label(params)
    checks.one_of("act_by", params["act_by"], ("actor", "critic"))


def _run_trained_cql(cell) -> dict:
    from ...offline import load_learner

    key = cell_key(cell.scenario, cell.load, cell.drop, cell.params["label"], cell.seed)
    artifact = Path(cell.params["store"]) / "artifacts" / f"{key}.pt"
    if not artifact.is_file():
        raise FileNotFoundError(
            f"no trained learner {artifact}: run the sweep that trains it first (its store "
            f"is {cell.params['store']!r}, its method label {cell.params['label']!r})")
    policy = load_learner(artifact).policy(act_by=cell.params["act_by"])
    policy.name = cell.method
    return evaluate_cell(cell, policy) | {"artifact": str(artifact)}


def _run_mappo_draws(cell) -> dict:
    return _run_mappo(cell, train_env={"layout_draws": True})


def _online_config(params: dict, kind: str):
    from ...offline import DQNConfig, SACConfig

    return _config(SACConfig if kind == "sac" else DQNConfig, None, params["config"])


def _check_online(kind: str) -> Callable[[dict], None]:
    def check(params: dict) -> None:
        checks.positive_int("budget_steps", params["budget_steps"])
        if params["eval_every"] is not None:
            checks.positive_int("eval_every", params["eval_every"])
        _online_config(params, kind)
    return check


def _run_online(cell, kind: str) -> dict:
    from ...offline import train_dqn, train_sac

    params = cell.params

    def train(work: Path, resume: bool) -> list[dict]:
        trainer = train_sac if kind == "sac" else train_dqn
        return trainer(_online_config(params, kind), cell.scenario, cell.seed,
                       params["budget_steps"], checkpoint_dir=work, resume=resume,
                       eval_every=params["eval_every"], env_kwargs=cell.env,
                       progress=False)[1]

    return _train_once_then_evaluate(cell, {"budget_steps": params["budget_steps"]}, train)


def _run_online_sac(cell) -> dict:
    return _run_online(cell, "sac")


def _run_online_dqn(cell) -> dict:
    return _run_online(cell, "dqn")


_CQL_VARIANTS = ("centralised", "independent", "ctde")


def _cql_config(params: dict):
    from ...offline import CQLConfig, DQNConfig

    variant = checks.one_of("variant", params["variant"], _CQL_VARIANTS)
    if checks.one_of("base", params["base"], ("sac", "dqn")) == "sac":
        return _config(CQLConfig, None, params["config"], variant=variant)
    return _config(DQNConfig, None, {"cql_alpha": 1.0} | params["config"], variant=variant)


def _data_seed(params: dict, seed: int) -> int:
    if params["data_seed"] == "per_seed":
        return DATA_SEED + seed
    return checks.non_negative_int("data_seed", params["data_seed"])


def _check_cql(params: dict) -> None:
    checks.positive_int("steps", params["steps"])
    checks.positive_int("dataset_size", params["dataset_size"])
    checks.one_of("dataset", params["dataset"], DATASET_KINDS)
    _data_seed(params, 0)
    _cql_config(params)


def _run_cql(cell) -> dict:
    from ...offline import train_cql

    params = cell.params
    data_seed = _data_seed(params, cell.seed)

    def train(work: Path, resume: bool) -> list[dict]:
        data = make_dataset(params["dataset"], params["dataset_size"], seed=data_seed,
                            env=cell.env)
        return train_cql(data, _cql_config(params), seed=cell.seed,
                         gradient_steps=params["steps"], checkpoint_dir=work, resume=resume,
                         progress=False)[1]

    info = {"steps": params["steps"], "dataset": params["dataset"],
            "dataset_size": params["dataset_size"], "data_seed": data_seed}
    return _train_once_then_evaluate(cell, info, train)


def _subset_config(params: dict):
    from ...offline import CQLConfig

    preset = checks.one_of("preset", params["preset"], ("laptop", "paper"))
    return _config(CQLConfig, getattr(CQLConfig, preset), params["config"], variant="ctde")


def _check_cql_subset(params: dict) -> None:
    checks.positive_int("steps", params["steps"])
    pool = checks.positive_int("pool_size", params["pool_size"])
    size = checks.positive_int("dataset_size", params["dataset_size"])
    if size > pool:
        raise ValueError(f"dataset_size ({size}) must be at most pool_size ({pool})")
    checks.one_of("dataset", params["dataset"], DATASET_KINDS)
    _data_seed(params, 0)
    _subset_config(params)


def pool_dataset(store: Path, kind: str, size: int, seed: int):
    """The dataset pool of a store: collected once by :func:`make_dataset` and cached in
    ``<store>/datasets/`` (written atomically, so workers that race write the same file)."""
    from ...offline import load_dataset, save_dataset

    path = Path(store) / "datasets" / f"{kind.replace('+', '-')}-{size}-seed{seed}"
    try:
        return load_dataset(path)
    except (FileNotFoundError, ValueError):
        data = make_dataset(kind, size, seed=seed)
        save_dataset(data, path)
        return data


def _run_cql_subset(cell) -> dict:
    from ...offline import train_cql

    params = cell.params
    data_seed = _data_seed(params, cell.seed)
    store = Path(cell.work_dir).parent.parent if cell.work_dir is not None else None

    def train(work: Path, resume: bool) -> list[dict]:
        pool = pool_dataset(store, params["dataset"], params["pool_size"], data_seed)
        data = pool.episode_subset(params["dataset_size"], seed=cell.seed)
        return train_cql(data, _subset_config(params), seed=cell.seed,
                         gradient_steps=params["steps"], checkpoint_dir=work, resume=resume,
                         progress=False)[1]

    info = {"steps": params["steps"], "dataset": params["dataset"],
            "pool_size": params["pool_size"], "dataset_size": params["dataset_size"],
            "data_seed": data_seed, "preset": params["preset"]}
    return _train_once_then_evaluate(cell, info, train)


def _train_once_then_evaluate(cell, info: dict, train) -> dict:
    """The tail of every offline-learner cell: unless the cell's learner file exists,
    ``train(work_dir, resume)`` (which returns the history) with checkpoints in the cell's
    work folder, export the learner and remove the checkpoints; then evaluate its policy on
    the cell's evaluation seeds."""
    from ...offline import load_learner
    from ...offline.checkpoints import export_learner

    work, artifact, resume = _paths(cell)
    info = info | {"resumed": resume}
    if not artifact.is_file():
        history = train(work, resume)
        export_learner(work / CHECKPOINT_NAME, artifact)
        info["train_s"] = round(history[-1]["time_s"], 2) if history else 0.0
        shutil.rmtree(work, ignore_errors=True)
    policy = load_learner(artifact).policy()
    policy.name = cell.method
    return evaluate_cell(cell, policy) | {"train": info, "artifact": str(artifact)}


# ------------------------------------------------------------------------ the registry
def _register_builtins() -> None:
    for name in baselines.available():
        families = tuple(f for f, names in baselines.FAMILIES.items() if name in names)
        register_method(name, _run_baseline, EVALUATE, families, {"kwargs": {}},
                        _check_baseline(name), f"baseline {name}")
    for name, entry in zoo.SHIPPED.items():
        scenario = entry.scenario if isinstance(entry, zoo.ShippedPolicy) else zoo.PF_SCENARIO
        register_method(name, _run_shipped, EVALUATE, (get_scenario(scenario).family,),
                        {"deterministic": None}, _check_deterministic, f"shipped {name}")
    for mode in ("shared", "separate"):
        mappo = {"mode": mode, "preset": "laptop", "budget_slots": 300_000, "config": {},
                 "deterministic": True}
        register_method(f"mappo_{mode}", _run_mappo, TRAIN, ("conflict", "cellular"), mappo,
                        _check_mappo, f"recurrent MAPPO, {mode} policy")
        register_method(f"mappo_{mode}_draws", _run_mappo_draws, TRAIN, ("cellular",), mappo,
                        _check_mappo, f"recurrent MAPPO, {mode} policy, trained with a new "
                        "layout drop per episode (LayoutDraws)")
    register_method("trained_mappo", _run_trained, TRAIN, ("conflict", "cellular"),
                    {"store": None, "label": "mappo_shared", "train_load": None,
                     "scenario": None, "drop": "same", "deterministic": True}, _check_trained,
                    "a MAPPO policy another sweep trained, evaluated elsewhere")
    register_method("cql_ctde_subset", _run_cql_subset, TRAIN, ("pf",),
                    {"preset": "laptop", "steps": CQL_STEPS, "dataset": "sac",
                     "pool_size": 320_000, "dataset_size": DATASET_SIZE,
                     "data_seed": "per_seed", "config": {}}, _check_cql_subset,
                    "CTDE-CQL on whole episodes drawn from a collected pool (Fig. 7b)")
    register_method("trained_cql", _run_trained_cql, TRAIN, ("pf",),
                    {"store": None, "label": "cql_ctde", "act_by": "actor"}, _check_trained_cql,
                    "an offline learner another sweep trained, evaluated here")
    for kind, run in (("sac", _run_online_sac), ("dqn", _run_online_dqn)):
        register_method(f"online_{kind}", run, TRAIN, ("pf",),
                        {"budget_steps": 100_000, "config": {}, "eval_every": None},
                        _check_online(kind), f"online centralised {kind.upper()}")
    cql = {"steps": CQL_STEPS, "dataset": "sac", "dataset_size": DATASET_SIZE,
           "data_seed": DATA_SEED, "config": {}}
    for variant in _CQL_VARIANTS:
        register_method(f"cql_{variant}", _run_cql, TRAIN, ("pf",),
                        cql | {"variant": variant, "base": "sac"}, _check_cql,
                        f"CQL on SAC, {variant}")
    register_method("cql_dqn_centralised", _run_cql, TRAIN, ("pf",),
                    cql | {"variant": "centralised", "base": "dqn"}, _check_cql,
                    "CQL on DQN, centralised")


_register_builtins()
