"""Named, documented scenario presets and :func:`make_env`.

========================  =====================================================================
name                      what it is
========================  =====================================================================
``paper-cg8``             Zhang & Guo's Fig. 2: 8 devices, 4 agents, H = 3 subbands.  Loads
                          light / medium / heavy = 0.3 / 0.4 / 0.5 packets per device per slot.
``random-cg``             a random directed conflict graph (``n_agents``, ``devices_per_agent``,
                          ``density``, ``graph_seed``); loads 0.2 / 0.3 / 0.4 are illustrative.
``paper-hex19``           19 hexagonal cells (2 rings), 3 devices per cell, H = 3; loads
                          light / medium / heavy = 15 / 20 / 25 packets/s per device.
``paper-random19``        19 jittered APs, 57 devices associated to the nearest AP (2-5 per AP);
                          loads 20 / 25 / 30 packets/s.
``cellular``              any hexagonal network: ``rings``, ``devices_per_cell``,
                          ``layout_seed``; loads as ``paper-hex19``.
``pf-4x20``               Eldeeb & Alves: 4 APs, 20 mobile UEs in 100 m x 100 m, top-3 PF
                          action sets, 200-step episodes; full buffers (no load).
========================  =====================================================================

A numeric ``load`` is in the scenario's ``load_unit``: packets per slot per device for
conflict graphs, packets per second per device for cellular networks (as on the papers'
axes).  Cellular layouts are drawn from ``layout_seed`` (default 0: one fixed deployment, as
in the paper's figures); ``seed`` drives traffic and fading.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import checks
from .conflict import paper_cg8, random_conflict_graph
from .envs import (
    CellularConfig,
    CellularEnv,
    ConflictGraphConfig,
    ConflictGraphEnv,
    PFConfig,
    PFEnv,
)
from .envs.drops import LayoutDraws
from .envs.pettingzoo_env import RRMParallelEnv, RRMVectorEnv
from .topology import hex_layout, random_layout

__all__ = ["Scenario", "SCENARIOS", "get_scenario", "make_config", "make_env", "resolve_load",
           "cellular", "make_parallel_env", "make_vector_env", "LAYOUT_SEED_SCENARIOS",
           "register_scenario", "like_policy"]


@dataclass(frozen=True)
class Scenario:
    """A named preset: how to build its config and which traffic loads it knows."""

    name: str
    description: str
    family: str
    loads: dict[str, float]
    build: Callable[..., object]
    test_slots: int = 5000
    load_unit: str = "packets/slot"
    defaults: dict = field(default_factory=dict)


def _paper_cg8(rate, graph=None, **overrides) -> ConflictGraphConfig:
    params = {"n_subbands": 3, "episode_slots": 2000, "max_queue": 50} | overrides
    graph = paper_cg8() if graph is None else graph   # graph=G: the paper's settings on G
    return ConflictGraphConfig(graph=graph, arrival_rate=rate, name="paper-cg8", **params)


def _random_cg(rate, n_agents: int = 6, devices_per_agent: int = 2, density: float = 0.25,
               graph_seed: int = 0, **overrides) -> ConflictGraphConfig:
    graph = random_conflict_graph(n_agents, devices_per_agent, density, seed=graph_seed)
    params = {"n_subbands": 3, "episode_slots": 2000, "max_queue": 50} | overrides
    return ConflictGraphConfig(graph=graph, arrival_rate=rate, name="random-cg", **params)


def _cellular_config(layout, rate_per_s, name, overrides) -> CellularConfig:
    slot_s = overrides.get("slot_s", CellularConfig.__dataclass_fields__["slot_s"].default)
    params = {"n_subbands": 3, "episode_slots": 2000, "max_queue": 50.0} | overrides
    rate = np.asarray(rate_per_s, dtype=float) * slot_s
    return CellularConfig(layout=layout, arrival_rate=rate if rate.ndim else float(rate),
                          name=name, **params)


def _paper_hex19(rate, layout_seed: int = 0, **overrides) -> CellularConfig:
    return _cellular_config(hex_layout(2, 3, seed=layout_seed), rate, "paper-hex19", overrides)


def _paper_random19(rate, layout_seed: int = 0, **overrides) -> CellularConfig:
    return _cellular_config(random_layout(seed=layout_seed), rate, "paper-random19", overrides)


def _cellular(rate, rings: int = 2, devices_per_cell: int = 3, layout_seed: int = 0,
              **overrides) -> CellularConfig:
    layout = hex_layout(rings, devices_per_cell, seed=layout_seed)
    return _cellular_config(layout, rate, f"cellular-r{rings}-d{devices_per_cell}", overrides)


def _pf_4x20(rate, **overrides) -> PFConfig:
    return PFConfig(**({"name": "pf-4x20"} | overrides))


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario("paper-cg8", "Zhang & Guo Fig. 2: 8 devices, 4 agents, 3 subbands",
                 "conflict", {"light": 0.3, "medium": 0.4, "heavy": 0.5}, _paper_cg8),
        Scenario("random-cg", "random directed conflict graph (networkx), 3 subbands",
                 "conflict", {"light": 0.2, "medium": 0.3, "heavy": 0.4}, _random_cg),
        Scenario("paper-hex19", "Zhang & Guo Fig. 6a: 19 hexagonal cells, 3 devices each",
                 "cellular", {"light": 15.0, "medium": 20.0, "heavy": 25.0}, _paper_hex19,
                 load_unit="packets/s"),
        Scenario("paper-random19", "Zhang & Guo Fig. 6b: 19 jittered APs, 57 random devices",
                 "cellular", {"light": 20.0, "medium": 25.0, "heavy": 30.0}, _paper_random19,
                 load_unit="packets/s"),
        Scenario("cellular", "hexagonal network of any size (rings, devices_per_cell)",
                 "cellular", {"light": 15.0, "medium": 20.0, "heavy": 25.0}, _cellular,
                 load_unit="packets/s"),
        Scenario("pf-4x20", "Eldeeb & Alves: 4 APs, 20 mobile UEs, proportional-fair "
                 "scheduling (full buffers)", "pf", {}, _pf_4x20, test_slots=5000,
                 load_unit="none (full buffers)"),
    ]
}


_BUILTIN = frozenset(SCENARIOS)


#: files that register scenarios of your own, separated by os.pathsep: every process that
#: looks up a name it does not know runs them once (``rrmbook --register FILE`` sets it, so
#: the sweep runner's worker processes know your scenarios too)
REGISTER_ENV = "RRMBOOK_REGISTER"
_REGISTERED_FILES: set[str] = set()


def register_from_env() -> list[str]:
    """Run the registration files named by ``$RRMBOOK_REGISTER`` not yet run here."""
    import os
    import runpy

    done = []
    for path in filter(None, os.environ.get(REGISTER_ENV, "").split(os.pathsep)):
        if path not in _REGISTERED_FILES:
            _REGISTERED_FILES.add(path)
            runpy.run_path(path, run_name="__rrmbook_register__")
            done.append(path)
    return done


def get_scenario(name: str) -> Scenario:
    if isinstance(name, str) and name not in SCENARIOS:
        register_from_env()
    if not isinstance(name, str) or name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose one of {sorted(SCENARIOS)}, or "
                         "register your own with rrmbook.register_scenario(name, build)")
    return SCENARIOS[name]


_FAMILIES = {ConflictGraphConfig: "conflict", CellularConfig: "cellular", PFConfig: "pf"}


def register_scenario(name: str, build, *, loads: dict[str, float] | None = None,
                      description: str = "", overwrite: bool = False) -> Scenario:
    """Make your own network a named scenario, so that every entry point that takes a
    scenario name builds it: :func:`make_env`, :func:`make_parallel_env`,
    :func:`rrmbook.make_vector_env`, :func:`rrmbook.marl.train` (checkpoints record the name
    and a resumed run must find it registered again), :func:`rrmbook.offline.train_sac` /
    ``train_dqn``, the sweep runner, and the command line (``rrmbook --register FILE``).

    ``build`` is either a config (:class:`~rrmbook.envs.ConflictGraphConfig`,
    :class:`~rrmbook.envs.CellularConfig` or :class:`~rrmbook.envs.PFConfig`), used as it is
    with ``load`` (when given) replacing its ``arrival_rate``, in the config's own unit,
    packets per slot per device; or a function ``build(rate, **overrides)`` returning such a
    config, called with the rate resolved from ``load`` (``None`` for the PF model).
    ``loads`` names preset loads (e.g. ``{"light": 0.2, "heavy": 0.4}``). The config is built
    once here, so a broken ``build`` fails now; its ``name`` becomes ``name``.

    >>> import networkx as nx
    >>> g = nx.DiGraph([(0, 1), (1, 2)])
    >>> nx.set_node_attributes(g, {0: 0, 1: 0, 2: 1}, "agent")
    >>> _ = register_scenario("my-line", ConflictGraphConfig(graph=g, arrival_rate=0.2),
    ...                       overwrite=True)
    >>> make_env("my-line", load=0.3).n_devices
    3
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if name in SCENARIOS and not overwrite:
        raise ValueError(f"scenario {name!r} already exists; pass overwrite=True to replace "
                         "it (the book's own scenarios cannot be replaced)")
    if name in _BUILTIN:
        raise ValueError(f"{name!r} is one of the book's scenarios and cannot be replaced")
    loads = {str(k): float(v) for k, v in (loads or {}).items()}
    if isinstance(build, tuple(_FAMILIES)):
        config = build

        def builder(rate, **overrides):
            fields = overrides if rate is None else {"arrival_rate": rate} | overrides
            return dataclasses.replace(config, **fields)
    elif callable(build):
        builder = build
    else:
        raise TypeError(f"build must be a config or a function returning one, got "
                        f"{type(build).__name__}")
    probe = builder(next(iter(loads.values()), None))   # a broken build fails now
    family = next((f for cls, f in _FAMILIES.items() if isinstance(probe, cls)), None)
    if family is None:
        raise TypeError(f"build must return a ConflictGraphConfig, CellularConfig or PFConfig, "
                        f"got {type(probe).__name__}")

    def named(rate, **overrides):
        return dataclasses.replace(builder(rate, **overrides), name=name)

    scenario = Scenario(name, description or f"registered scenario ({family})", family, loads,
                        named, load_unit="none (full buffers)" if family == "pf"
                        else "packets/slot")
    SCENARIOS[name] = scenario
    return scenario


def resolve_load(scenario: Scenario, load: str | float | Sequence[float]) -> float | np.ndarray:
    """Turn a load preset name, a number or a per-device sequence into arrival rates."""
    if isinstance(load, str):
        if load not in scenario.loads:
            raise ValueError(f"unknown load {load!r} for scenario {scenario.name!r}; choose one of "
                             f"{list(scenario.loads)} or give a rate in {scenario.load_unit}")
        return scenario.loads[load]
    if isinstance(load, bool | np.bool_) or (isinstance(load, Sequence) and any(
            isinstance(x, bool | np.bool_) for x in load)):
        raise ValueError(f"load must be a preset name, a rate >= 0 or one rate >= 0 per device "
                         f"({scenario.load_unit}), got {load!r} (a boolean is not a rate)")
    try:
        arr = np.asarray(load, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"load must be a preset name, a rate >= 0 or one rate >= 0 per device "
                         f"({scenario.load_unit}), got {load!r}") from None
    if arr.ndim > 1 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"load must be a preset name, a rate >= 0 or one rate >= 0 per device "
                         f"({scenario.load_unit}), got {load!r}")
    return float(arr) if arr.ndim == 0 else arr


def make_config(scenario: str, load: str | float | Sequence[float] | None = None, **overrides):
    """The config of a named scenario at a given load (None: ``"medium"``; the PF model has
    full buffers and takes no load); ``overrides`` change any field."""
    sc = get_scenario(scenario)
    if sc.family == "pf":
        if load is not None:
            raise ValueError(f"scenario {scenario!r} has full buffers: load does not apply "
                             f"(leave it out), got {load!r}")
        rate = None
    elif load is None and "medium" not in sc.loads:
        rate = None          # a registered scenario without a "medium" preset: its own rate
    else:
        rate = resolve_load(sc, "medium" if load is None else load)
    try:
        return sc.build(rate, **overrides)
    except TypeError as err:  # an override the builder does not know
        raise ValueError(f"bad override for scenario {scenario!r}: {err}") from None


def like_policy(policy) -> dict:
    """The overrides that give a multi-cell network the observation padding ``policy`` was
    trained with: ``max_devices`` (devices per cell), ``max_neighbours`` and
    ``truncate_neighbours=True`` (a wider neighbourhood shows its most strongly coupled
    neighbours). ``policy`` is a trained MAPPO policy or the path of its checkpoint or policy
    file. Conflict-graph and PF policies need no padding: their envs are checked as they are."""
    spec = getattr(policy, "spec", None)
    if spec is not None:
        spec = {k: getattr(spec, k) for k in ("family", "head_sizes", "obs_dim", "queue_stride")}
    else:                  # a file: its spec, read without building the networks
        from .io import read_torch

        state = read_torch(policy, "rrmbook MAPPO checkpoint or policy file")
        spec = state.get("spec") if isinstance(state, dict) else None
        if not isinstance(spec, dict):
            raise ValueError(f"{policy} is not a rrmbook MAPPO checkpoint or policy file")
    if spec["family"] != "cellular":
        return {}
    max_devices = int(spec["head_sizes"][0]) - 1
    per_block = max_devices * int(spec["queue_stride"])
    return {"max_devices": max_devices, "max_neighbours": int(spec["obs_dim"]) // per_block - 1,
            "truncate_neighbours": True}


def make_env(scenario: str, load: str | float | Sequence[float] | None = None, batch: int = 1,
             seed: int = 0, layout_draws: bool = False, like=None,
             **overrides) -> ConflictGraphEnv | CellularEnv | PFEnv | LayoutDraws:
    """Build a batched environment for a named scenario.

    ``layout_draws=True`` (multi-cell scenarios with a ``layout_seed``) gives a training
    environment in which every copy runs its own layout drop and draws a new one whenever
    its episode ends (:class:`~rrmbook.envs.drops.LayoutDraws`); it needs a fixed
    ``max_neighbours`` with ``truncate_neighbours=True``.

    ``like=policy`` (a trained MAPPO policy or its file) gives a multi-cell network the
    observation padding the policy was trained with (:func:`like_policy`), so a policy
    trained on ``paper-hex19`` runs on a 37- or 61-cell network; explicit overrides win.

    >>> env = make_env("paper-cg8", load="heavy", batch=4, seed=0)
    >>> env.n_devices, env.n_agents, env.batch
    (8, 4, 4)
    """
    seed = checks.non_negative_int("seed", seed)
    batch = checks.positive_int("batch", batch)
    if like is not None:
        overrides = like_policy(like) | overrides
    if layout_draws is not False:
        return _layout_draws(scenario, load, batch, seed, layout_draws, overrides)
    if isinstance(scenario, tuple(_FAMILIES)):        # a config object, used as it is
        if load is not None or overrides:
            raise ValueError("a config object is used as it is: change its fields instead of "
                             "passing load or overrides (or register it as a scenario)")
        config = scenario
    else:
        config = make_config(scenario, load, **overrides)
    if isinstance(config, PFConfig):
        return PFEnv(config, batch=batch, seed=seed)
    if isinstance(config, CellularConfig):
        return CellularEnv(config, batch=batch, seed=seed)
    return ConflictGraphEnv(config, batch=batch, seed=seed)


#: the scenarios whose layout is a random drop named by ``layout_seed``
LAYOUT_SEED_SCENARIOS = ("paper-hex19", "paper-random19", "cellular")


def _layout_draws(scenario, load, batch, seed, layout_draws, overrides) -> LayoutDraws:
    checks.boolean("layout_draws", layout_draws)
    if scenario not in LAYOUT_SEED_SCENARIOS:
        raise ValueError(f"layout_draws needs a scenario with layout drops "
                         f"{list(LAYOUT_SEED_SCENARIOS)}, got {scenario!r}")
    if "layout_seed" in overrides:
        raise ValueError("layout_draws draws the layout seeds itself; do not also give "
                         "layout_seed")
    if overrides.get("max_neighbours") is None or overrides.get("truncate_neighbours") is not True:
        raise ValueError("layout_draws needs a fixed max_neighbours and truncate_neighbours=True"
                         " (every drop must give the agents inputs of the same size), e.g. "
                         "max_neighbours=5, truncate_neighbours=True")
    make_config(scenario, load, **overrides)  # bad overrides fail here, before any drop

    def at_drop(layout_seed: int):
        return make_config(scenario, load, layout_seed=layout_seed, **overrides)

    return LayoutDraws(at_drop, batch=batch, seed=seed)


def cellular(rings: int = 2, devices_per_cell: int = 3, seed: int = 0,
             load: str | float = "medium", batch: int = 1, layout_seed: int = 0, like=None,
             **overrides) -> CellularEnv:
    """A hexagonal multi-cell network of any size (``rings`` = 2 gives 19 cells).

    >>> env = cellular(rings=1, devices_per_cell=2, load=20.0)
    >>> env.n_agents, env.n_devices
    (7, 14)
    """
    return make_env("cellular", load=load, batch=batch, seed=seed, rings=rings, like=like,
                    devices_per_cell=devices_per_cell, layout_seed=layout_seed, **overrides)


def make_parallel_env(scenario: str = "paper-cg8", load=None, seed: int = 0,
                      flat_actions: bool | str = False, **overrides) -> RRMParallelEnv:
    """A PettingZoo ``ParallelEnv`` for a named scenario or a config (one copy; ``load`` None
    means "medium", or nothing for the PF model); ``flat_actions`` as for
    :class:`~rrmbook.envs.pettingzoo_env.RRMParallelEnv`."""
    return RRMParallelEnv(make_env(scenario, load=load, batch=1, seed=seed, **overrides),
                          flat_actions=flat_actions)


def make_vector_env(scenario: str = "paper-cg8", load=None, batch: int = 64, seed: int = 0,
                    flat_actions: bool | str = False, **overrides) -> RRMVectorEnv:
    """An :class:`~rrmbook.envs.pettingzoo_env.RRMVectorEnv` over ``batch`` copies of a named
    scenario or a config (the arguments of :func:`make_env`, plus ``flat_actions``)."""
    return RRMVectorEnv(make_env(scenario, load=load, batch=batch, seed=seed, **overrides),
                        flat_actions=flat_actions)
