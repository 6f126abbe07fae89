"""Deprecated: moved to rrmbook.analysis.  This module re-exports the old names for one release
and warns on import; import from the new place instead."""

import warnings

from .analysis import CellularLog as DecisionLog
from .analysis import (
    DecisionRecorder,
    halfway_slots,
    hex_rings,
    power_level_shares,
    power_vs_queue,
    record_decisions,
    service_choices,
    settling_slots,
)

warnings.warn("rrmbook.cellular_analysis is deprecated; use rrmbook.analysis instead", DeprecationWarning,
              stacklevel=2)

__all__ = ['DecisionLog', 'DecisionRecorder', 'record_decisions', 'power_level_shares', 'power_vs_queue', 'service_choices', 'settling_slots', 'halfway_slots', 'hex_rings']
