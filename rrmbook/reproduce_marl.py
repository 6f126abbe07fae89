"""Deprecated: moved to rrmbook.experiments.zoo (shipped policies) and rrmbook.experiments.learning.  This module re-exports the old names for one release
and warns on import; import from the new place instead."""

import warnings

from .experiments.learning import queue_growth, stability_label
from .experiments.zoo import (
    SHIPPED,
    ShippedPolicy,
    data_dir,
    ensure_policy,
    get_policy,
    policies_dir,
    policy_path,
    training_record,
)

warnings.warn("rrmbook.reproduce_marl is deprecated; use rrmbook.experiments.zoo (shipped policies) and rrmbook.experiments.learning instead", DeprecationWarning,
              stacklevel=2)

__all__ = ['ShippedPolicy', 'SHIPPED', 'data_dir', 'policies_dir', 'policy_path', 'get_policy', 'ensure_policy', 'training_record', 'queue_growth', 'stability_label']
