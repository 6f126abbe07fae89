"""Deprecated: moved to rrmbook.experiments.  This module re-exports the old names for one release
and warns on import; import from the new place instead."""

import warnings

from .experiments.common import MARL_POLICIES
from .experiments.conflict_graph import CG_BASELINES, fig7_data, fig8_data
from .experiments.learning import (
    SCALING_BASELINES,
    SCALING_LOAD,
    SCALING_RINGS,
    TABLE5_LOADS,
    TABLE5_POLICIES,
    UNSTABLE_PACKETS,
    fig12_data,
    fig13_data,
    scaling_data,
    table5_data,
)
from .experiments.multicell import (
    CELL_BASELINES,
    CELL_LOADS,
    FIG11_LOAD,
    PAPER_TABLE_IV_MS,
    TimedPolicy,
    decision_times,
    delay_quantiles,
    fig9_data,
    fig10_data,
    fig11_data,
    table4_data,
)
from .experiments.registry import DATA_COMMAND, FIGURES, load_result, reproduce

warnings.warn("rrmbook.reproduce is deprecated; use rrmbook.experiments instead", DeprecationWarning,
              stacklevel=2)

__all__ = ['FIGURES', 'DATA_COMMAND', 'load_result', 'reproduce', 'CG_BASELINES', 'CELL_BASELINES', 'CELL_LOADS', 'FIG11_LOAD', 'PAPER_TABLE_IV_MS', 'MARL_POLICIES', 'fig7_data', 'fig8_data', 'fig9_data', 'fig10_data', 'fig11_data', 'table4_data', 'fig12_data', 'fig13_data', 'table5_data', 'scaling_data', 'delay_quantiles', 'TimedPolicy', 'decision_times', 'TABLE5_POLICIES', 'TABLE5_LOADS', 'UNSTABLE_PACKETS', 'SCALING_RINGS', 'SCALING_LOAD', 'SCALING_BASELINES']
