"""Looking inside runs: what a policy decided, and how a learning curve settled.

- :mod:`~rrmbook.analysis.decisions`: :func:`record_decisions` (an evaluation that also
  logs every decision) and the :class:`DecisionRecorder` behind it;
- :mod:`~rrmbook.analysis.conflict`: reading a conflict-graph log (chapter 6);
- :mod:`~rrmbook.analysis.cellular`: reading a multi-cell log, learning-curve summaries and
  ring positions (chapter 7);
- :mod:`~rrmbook.analysis.capacity`: :func:`capacity`, the largest load a scheduler keeps
  stable (measured by bisection), and :func:`is_stable`, the stability rule of one run.
"""

from .capacity import CapacityProbe, CapacityResult, capacity, is_stable
from .cellular import (
    CellularLog,
    halfway_slots,
    hex_rings,
    level_index,
    power_level_shares,
    power_vs_queue,
    service_choices,
    settling_slots,
)
from .conflict import (
    ConflictLog,
    aggressiveness,
    binned_mean,
    collision_share,
    reserved_subbands,
    subband_roles,
)
from .decisions import DecisionRecorder, record_decisions

__all__ = ["record_decisions", "DecisionRecorder", "ConflictLog", "CellularLog",
           "aggressiveness", "subband_roles", "reserved_subbands", "collision_share",
           "binned_mean", "power_level_shares", "power_vs_queue", "service_choices",
           "settling_slots", "halfway_slots", "hex_rings", "level_index", "capacity",
           "is_stable", "CapacityResult", "CapacityProbe"]
