"""Shared, generic test helpers.

``conflict_graph_factory`` builds random conflict graphs for property tests: either the
library's ``random_conflict_graph`` (every agent serves the same number of devices) or an
*uneven* graph built by hand, where agents serve different numbers of devices that need not
be numbered contiguously (so dummy-device padding and owner lookups are exercised).
"""

from __future__ import annotations

import matplotlib

# the test process draws off screen; the Makefile leaves MPLBACKEND unset so that the notebook
# kernels nbval starts draw inline, and the book is built from their outputs
matplotlib.use("Agg")

import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rrmbook.conflict import random_conflict_graph  # noqa: E402


def _random_graph(seed: int, n_agents: int, devices_per_agent: int, density: float,
                  uneven: bool = False) -> nx.DiGraph:
    if not uneven:
        return random_conflict_graph(n_agents, devices_per_agent, density, seed=seed)
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, devices_per_agent + 1, size=n_agents)
    owner = np.repeat(np.arange(n_agents), counts)
    rng.shuffle(owner)
    n = len(owner)
    adj = rng.random((n, n)) < density
    np.fill_diagonal(adj, False)
    g = nx.DiGraph()
    g.add_nodes_from((i, {"agent": int(owner[i])}) for i in range(n))
    g.add_edges_from((int(i), int(j)) for i, j in zip(*np.nonzero(adj), strict=True))
    return g


@pytest.fixture(scope="session")
def conflict_graph_factory():
    """``factory(seed, n_agents, devices_per_agent, density, uneven=False) -> nx.DiGraph``
    (with ``uneven``, agent k serves 1..devices_per_agent devices)."""
    return _random_graph


def pytest_configure(config):
    """One torch thread per test process (the suite runs two processes on two cores)."""
    import torch

    torch.set_num_threads(1)
