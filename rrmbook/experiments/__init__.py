"""The papers' experiments: every figure and table (data and plot together, one module per
paper section), the registry that reproduces them, and the registry of shipped trained
agents.

- :mod:`~rrmbook.experiments.registry`: :data:`FIGURES`, :func:`reproduce`,
  :func:`load_result` (``rrmbook reproduce NAME``);
- :mod:`~rrmbook.experiments.studies`: :data:`STUDIES`, :func:`run_study`,
  :func:`load_study` (``rrmbook reproduce STUDY``): chains of sweeps that settle the
  differences from Zhang & Guo, each with a summary of intervals and verdicts;
- :mod:`~rrmbook.experiments.zoo`: the one registry of shipped MAPPO policies and
  offline-MARL learners (path, get, train when missing, provenance);
- :mod:`~rrmbook.experiments.sweeps`: multi-seed sweeps with confidence intervals
  (:func:`sweep`, :func:`sweep_report`, :func:`sweep_status`; ``rrmbook sweep``), on a
  local process pool or a Ray cluster, into a resumable store;
- :mod:`~rrmbook.experiments.conflict_graph` (Figs. 7-8),
  :mod:`~rrmbook.experiments.multicell` (Figs. 9-11, Table IV),
  :mod:`~rrmbook.experiments.learning` (Figs. 12-13, Table V, scaling) and
  :mod:`~rrmbook.experiments.offline_marl` (Eldeeb & Alves' Figs. 4-7).

A new figure goes into the module of its paper section as a ``<name>_data`` function and a
``plot_<name>`` function, plus one line in :data:`FIGURES`.
"""

from . import studies, sweeps, zoo
from .registry import DATA_COMMAND, FIGURES, SWEEP_COMMAND, load_result, load_sweep, reproduce
from .studies import STUDIES, load_study, run_study
from .sweeps import SweepSpec, register_method, sweep
from .sweeps import report as sweep_report
from .sweeps import status as sweep_status
from .zoo import SHIPPED, get_learner, get_policy

__all__ = ["FIGURES", "DATA_COMMAND", "SWEEP_COMMAND", "load_result", "load_sweep",
           "reproduce", "zoo", "SHIPPED",
           "get_policy", "get_learner", "sweeps", "sweep", "sweep_report", "sweep_status",
           "SweepSpec", "register_method", "studies", "STUDIES", "run_study", "load_study"]
