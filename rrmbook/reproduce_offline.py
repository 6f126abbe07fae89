"""Deprecated: moved to rrmbook.experiments.offline_marl and rrmbook.experiments.zoo.  This module re-exports the old names for one release
and warns on import; import from the new place instead."""

import warnings

from .experiments.offline_marl import (
    CQL_STEPS,
    DATASET_KINDS,
    DATASET_SIZE,
    PF_BASELINES,
    SIZES,
    cql_run,
    make_dataset,
    pf_fig4_data,
    pf_fig5_data,
    pf_fig6_data,
    pf_fig7_data,
    rate_summary,
)
from .experiments.zoo import PF_SCENARIO as SCENARIO
from .experiments.zoo import SHIPPED, OnlineRun, get_learner, learner_path, learning_curve
from .offline.checkpoints import export_learner

warnings.warn("rrmbook.reproduce_offline is deprecated; use rrmbook.experiments.offline_marl and rrmbook.experiments.zoo instead", DeprecationWarning,
              stacklevel=2)

__all__ = ['SCENARIO', 'PF_BASELINES', 'OnlineRun', 'SHIPPED', 'learner_path', 'get_learner', 'export_learner', 'learning_curve', 'make_dataset', 'DATASET_KINDS', 'DATASET_SIZE', 'CQL_STEPS', 'SIZES', 'cql_run', 'rate_summary', 'pf_fig4_data', 'pf_fig5_data', 'pf_fig6_data', 'pf_fig7_data']
