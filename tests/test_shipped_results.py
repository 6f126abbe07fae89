"""A shipped result is what the library computes today, to the byte: regenerating Fig. 7
(the conflict-graph baselines and both shipped MAPPO policies at the paper's budget, 5,000
slots) gives exactly the JSON in ``rrmbook/data``.  A refactor that changed a random
stream, an evaluation step or a policy file would break this."""

from __future__ import annotations

import json

from rrmbook.experiments import load_result
from rrmbook.experiments.conflict_graph import fig7_data


def test_fig7_regenerates_byte_for_byte():
    shipped = load_result("fig7")
    again = fig7_data(slots=shipped["slots"], seed=shipped["seed"], batch=shipped["batch"])
    assert json.dumps(again, sort_keys=True) == json.dumps(shipped, sort_keys=True)
