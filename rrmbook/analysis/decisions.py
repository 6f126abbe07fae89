"""The one recorder: run any policy through :func:`rrmbook.evaluate` and keep what it
decided.

:class:`DecisionRecorder` wraps a policy; at every decision it stores what the model
family's ``capture`` function reads (the policy never sees the recorder), and
:func:`record_decisions` returns the evaluation's results together with the family's log:
a :class:`~rrmbook.analysis.conflict.ConflictLog` on a conflict graph, a
:class:`~rrmbook.analysis.cellular.CellularLog` on a multi-cell network.  Because the run
*is* an evaluation, a recorded run has the same seeds and numbers as the bare one.
"""

from __future__ import annotations

import numpy as np

from ..envs.base import require_family
from ..evaluate import Results, evaluate
from ..policy import Policy, as_policy
from . import cellular, conflict
from .cellular import CellularLog
from .conflict import ConflictLog

__all__ = ["DecisionRecorder", "record_decisions"]

#: family -> (capture one decision, build the log of a run)
_FAMILIES = {
    "conflict": (conflict.capture, ConflictLog.from_records),
    "cellular": (cellular.capture, CellularLog.from_records),
}


class DecisionRecorder(Policy):
    """Wraps a policy and logs, at every call of :meth:`act`, what the environment's family
    records (read from the environment and the actions, never shown to the wrapped
    policy), so that a run through :func:`rrmbook.evaluate` also tells *what* the policy
    did."""

    def __init__(self, policy: Policy | object) -> None:
        self.policy = as_policy(policy)
        self.name = self.policy.name
        self.information, self.coordination = self.policy.information, self.policy.coordination
        self.conflict_free = self.policy.conflict_free
        self.records: list[dict[str, np.ndarray]] = []

    def reset(self, env, rng: np.random.Generator) -> None:
        require_family(env, tuple(_FAMILIES), "DecisionRecorder")
        self.policy.reset(env, rng)
        self.information = self.policy.information
        self.env = env
        self.records = []

    def act(self, obs, state=None):
        actions = self.policy.act(obs, state)
        self.records.append(_FAMILIES[self.env.family][0](self.env, obs, actions))
        return actions

    def log(self) -> ConflictLog | CellularLog:
        """The decisions recorded since the last :meth:`reset`."""
        if not self.records:
            raise ValueError("nothing recorded yet: run the recorder through rrmbook.evaluate")
        return _FAMILIES[self.env.family][1](self.env, self.records)


def record_decisions(env, policy: Policy | object, slots: int = 1000,
                     seed: int = 0) -> tuple[Results, ConflictLog | CellularLog]:
    """Run ``policy`` on ``env`` with :func:`rrmbook.evaluate` and return its results
    together with the log of every decision of the run."""
    require_family(env, tuple(_FAMILIES), "record_decisions")
    recorder = DecisionRecorder(policy)
    results = evaluate(env, recorder, slots=slots, seed=seed)
    return results, recorder.log()
