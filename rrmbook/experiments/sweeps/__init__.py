"""Multi-seed sweeps with confidence intervals, on a laptop or on a Ray cluster.

An experiment is a grid, scenario × load × (layout drop) × method × seed, written as a small
YAML, TOML or JSON spec or a dict::

    name: cg8-baselines
    scenarios: [paper-cg8]
    loads: [light, medium, heavy]
    methods: [gms, llq, qcsma]
    seeds: 10

:func:`sweep` runs it, cell by cell, on a backend (``local`` processes or ``ray`` tasks),
into a resumable store, and returns the aggregated table: per (scenario, load, drop,
method) every metric's n, mean and 95 % confidence interval over seeds.

- :mod:`~.spec`: the spec, its validation, the cells;
- :mod:`~.methods`: the method registry (baselines, shipped policies, MAPPO, SAC, DQN,
  CQL; :func:`register_method` adds one);
- :mod:`~.store`: the result folder, one atomic JSON record per cell;
- :mod:`~.backends`: local process pool and Ray;
- :mod:`~.runner`: the driver (:func:`sweep`); :mod:`~.report`: :func:`report`,
  :func:`status`.
"""

from .backends import BACKENDS, free_cores
from .methods import EVALUATE, METHODS, TRAIN, Method, get_method, register_method
from .report import Report, aggregate, export, report, status
from .runner import plan, sweep
from .spec import Cell, MethodEntry, SweepSpec, load_spec
from .store import Store

__all__ = ["sweep", "report", "status", "export", "plan", "Report", "aggregate", "SweepSpec",
           "MethodEntry", "Cell", "load_spec", "Store", "METHODS", "Method", "register_method",
           "get_method", "EVALUATE", "TRAIN", "BACKENDS", "free_cores"]
