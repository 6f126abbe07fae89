"""Clear errors (DESIGN principle 7): a bad config raises ValueError/TypeError naming the
field and the allowed values, before anything runs."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import rrmbook
from rrmbook.conflict import paper_cg8
from rrmbook.envs import ConflictGraphConfig, ConflictGraphEnv


# ----------------------------------------------------------------- scenarios and loads
@pytest.mark.parametrize("load", [-0.1, float("nan"), float("inf"), [0.3] * 7 + [-0.1],
                                  [[0.3] * 8], True, [True] * 8, "0.3x", object()])
def test_bad_load_values(load):
    with pytest.raises(ValueError, match="load"):
        rrmbook.make_env("paper-cg8", load=load)


@pytest.mark.parametrize("seed", [1.7, -1, "abc", True, None])
def test_bad_seeds_are_refused_by_name(seed):
    """Issue 18: a seed is a non-negative integer; 1.7 is not silently 1."""
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer"):
        rrmbook.make_env("paper-cg8", seed=seed)
    env = rrmbook.make_env("paper-cg8")
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer"):
        rrmbook.evaluate(env, rrmbook.baselines.get("llq"), slots=5, seed=seed)


def test_unknown_load_preset_lists_choices():
    with pytest.raises(ValueError, match=r"unknown load 'extreme'.*light.*medium.*heavy"):
        rrmbook.make_env("paper-cg8", load="extreme")


def test_unknown_scenario_lists_choices():
    with pytest.raises(ValueError, match=r"unknown scenario 'paper-cg9'.*paper-cg8.*random-cg"):
        rrmbook.make_env("paper-cg9")


def test_unknown_override_is_a_value_error():
    with pytest.raises(ValueError, match="bad override.*n_subband"):
        rrmbook.make_env("paper-cg8", n_subband=2)


def test_load_vector_with_wrong_length():
    with pytest.raises(ValueError, match=r"arrival_rate.*\(8\)"):
        rrmbook.make_env("paper-cg8", load=[0.3] * 7)


# ----------------------------------------------------------------- config and env
def test_arrival_rate_wrong_length():
    with pytest.raises(ValueError, match="arrival_rate"):
        ConflictGraphConfig(paper_cg8(), arrival_rate=(0.1, 0.2))


def test_negative_arrival_rate():
    with pytest.raises(ValueError, match="arrival_rate"):
        ConflictGraphConfig(paper_cg8(), arrival_rate=-1.0)


@pytest.mark.parametrize(("field", "value"), [("n_subbands", 0), ("n_subbands", 1.5),
                                              ("episode_slots", 0), ("max_queue", -1),
                                              ("max_queue", float("nan"))])
def test_bad_config_numbers(field, value):
    with pytest.raises(ValueError, match=field):
        ConflictGraphConfig(paper_cg8(), **{field: value})


def test_graph_without_agent_attribute():
    g = nx.DiGraph()
    g.add_nodes_from([0, 1])
    g.add_edge(0, 1)
    g.nodes[0]["agent"] = 0
    with pytest.raises(ValueError, match=r"\[1\].*'agent'"):
        ConflictGraphConfig(g)


def test_graph_must_be_directed():
    with pytest.raises(TypeError, match="DiGraph"):
        ConflictGraphConfig(nx.Graph([(0, 1)]))


def test_empty_graph():
    with pytest.raises(ValueError, match="at least one device"):
        ConflictGraphConfig(nx.DiGraph())


def test_agent_labels_must_be_contiguous():
    g = nx.DiGraph()
    g.add_node(0, agent=0)
    g.add_node(1, agent=2)
    with pytest.raises(ValueError, match="agent labels"):
        ConflictGraphEnv(ConflictGraphConfig(g))


def test_device_labels_must_be_0_to_n_minus_1():
    """Nodes labelled 1..N (a common off-by-one) should get the clear 'labelled 0..N-1' error
    of ``adjacency_matrix``; the env reads the owners first and fails with a bare KeyError."""
    g = nx.DiGraph()
    g.add_node(1, agent=0)
    g.add_node(2, agent=1)
    g.add_edge(1, 2)
    with pytest.raises(ValueError, match=r"0\.\.N-1"):
        ConflictGraphEnv(ConflictGraphConfig(g))


def test_config_must_be_a_config():
    with pytest.raises(TypeError, match="ConflictGraphConfig"):
        ConflictGraphEnv(paper_cg8())


@pytest.mark.parametrize("batch", [0, -1, 1.5])
def test_bad_batch(batch):
    with pytest.raises(ValueError, match="batch"):
        rrmbook.make_env("paper-cg8", batch=batch)


# ----------------------------------------------------------------- actions
@pytest.fixture
def env():
    return rrmbook.make_env("paper-cg8", load="heavy", batch=2, seed=0)


def _unchanged(env, before):
    assert env.t == before[0]
    np.testing.assert_array_equal(env.q, before[1])
    np.testing.assert_array_equal(env.arrivals, before[2])


def test_wrong_action_shape(env):
    before = (env.t, env.q.copy(), env.arrivals.copy())
    with pytest.raises(ValueError, match=r"shape \(batch, agents, subbands\) = \(2, 4, 3\)"):
        env.step(np.zeros((1, 4, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros((2, 4), dtype=np.int64))
    _unchanged(env, before)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, bool])
def test_wrong_action_dtype(env, dtype):
    before = (env.t, env.q.copy(), env.arrivals.copy())
    with pytest.raises(TypeError, match="integers"):
        env.step(np.zeros((2, 4, 3), dtype=dtype))
    _unchanged(env, before)


@pytest.mark.parametrize("value", [-1, 3, 100])
def test_action_out_of_range(env, value):
    before = (env.t, env.q.copy(), env.arrivals.copy())
    acts = np.zeros((2, 4, 3), dtype=np.int64)
    acts[1, 2, 0] = value
    with pytest.raises(ValueError, match=r"0\.\.2"):
        env.step(acts)
    _unchanged(env, before)


# ----------------------------------------------------------------- policies and evaluate
def test_unknown_policy_lists_choices():
    with pytest.raises(ValueError, match=r"unknown policy 'nope'.*gms.*llq"):
        rrmbook.baselines.get("nope")


def test_function_policy_bad_information():
    with pytest.raises(ValueError, match=r"information.*psychic"):
        rrmbook.FunctionPolicy(lambda obs: None, information="psychic")


def test_global_function_policy_needs_state_argument():
    with pytest.raises(TypeError, match=r"\(obs, state\)"):
        rrmbook.FunctionPolicy(lambda obs: None, information="global")


def test_as_policy_rejects_non_callables():
    with pytest.raises(TypeError, match="Policy or a callable"):
        rrmbook.as_policy(42)


def test_qcsma_window():
    with pytest.raises(ValueError, match="window"):
        rrmbook.baselines.get("qcsma", window=0)


@pytest.mark.parametrize("slots", [0, -5, 2.5])
def test_evaluate_bad_slots_before_any_work(env, slots):
    env.step(np.zeros((2, 4, 3), dtype=np.int64))
    before = (env.t, env.q.copy(), env.arrivals.copy())
    calls = []

    def policy(obs):
        calls.append(obs)
        return np.zeros((2, 4, 3), dtype=np.int64)

    with pytest.raises(ValueError, match="slots"):
        rrmbook.evaluate(env, policy, slots=slots)
    assert calls == []
    _unchanged(env, before)


def test_student_function_returning_bad_actions_is_reported(env):
    with pytest.raises(ValueError, match="shape"):
        rrmbook.evaluate(env, lambda obs: np.zeros((4, 3), dtype=np.int64), slots=5)
    # the failed run does not leave a ledger recording behind
    assert env.ledger is None


def test_percentile_range():
    with pytest.raises(ValueError, match="percentile"):
        rrmbook.metrics.percentile(np.arange(3.0), 101)


def test_requests_that_cannot_fit_in_memory_are_refused_before_any_work():
    """Issue 18: size guards estimate memory before allocating and name what to change."""
    with pytest.raises(ValueError, match=r"100 rings \(30,301 cells\) would need about .* GiB.*"
                                         r"use fewer rings"):
        rrmbook.cellular(rings=100)
    env = rrmbook.make_env("paper-cg8", load=1e5)
    with pytest.raises(ValueError, match=r"about 4,000,000,000 packets.*lower slots, batch or the load"):
        rrmbook.evaluate(env, rrmbook.baselines.get("llq"), slots=5000)


def test_loads_beyond_32_bits_are_counted_exactly():
    """Arrivals above 2**31 packets per slot are kept in 64-bit counters (they overflowed to
    'FIFO queues cannot serve packets before they arrive' before)."""
    env = rrmbook.make_env("paper-cg8", load=3e9, seed=0)
    policy = rrmbook.baselines.get("llq")
    obs = env.reset(seed=0)
    policy.reset(env, np.random.default_rng(0))
    ledger = env.start_recording()
    for _ in range(2):
        obs = env.step(policy.act(obs, None)).obs
    assert ledger.arrivals.dtype == np.int64
    assert ledger.arrivals.sum() == pytest.approx(2 * 8 * 3e9, rel=1e-4)
    assert (ledger.arrivals > 2**31).all()


@pytest.mark.parametrize("scenario", ["paper-cg8", "paper-hex19", "pf-4x20"])
def test_a_batch_that_cannot_fit_is_refused_naming_batch(scenario):
    with pytest.raises(ValueError, match=r"1,000,000,000 copies of .* GiB.*lower batch"):
        rrmbook.make_env(scenario, batch=10**9)
