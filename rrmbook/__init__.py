"""rrmbook: multi-agent reinforcement learning for radio resource management.

The library behind the book: batched simulators of the papers' network models, their
baselines, learners and one evaluation path.

>>> import rrmbook
>>> env = rrmbook.make_env("paper-cg8", load="heavy", batch=1, seed=0)
>>> res = rrmbook.evaluate(env, rrmbook.baselines.get("gms"), slots=200, seed=0)
>>> res.mean_delay > 1.0
True
"""

from . import baselines, channel, conflict, metrics, pf, topology, traffic
from .envs import CellularConfig, CellularEnv, ConflictGraphConfig, ConflictGraphEnv
from .evaluate import RateResults, Results, compare, evaluate
from .policy import FunctionPolicy, Policy, as_policy
from .scenarios import (
    SCENARIOS,
    cellular,
    make_config,
    make_env,
    make_parallel_env,
    make_vector_env,
    register_scenario,
)

__version__ = "0.1.0"

__all__ = [
    "baselines", "channel", "conflict", "metrics", "pf", "topology", "traffic",
    "CellularConfig", "CellularEnv", "ConflictGraphConfig", "ConflictGraphEnv",
    "Results", "RateResults", "compare", "evaluate",
    "make_parallel_env", "make_vector_env", "register_scenario",
    "FunctionPolicy", "Policy", "as_policy",
    "SCENARIOS", "cellular", "make_config", "make_env",
]
