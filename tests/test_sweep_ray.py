"""The ray backend against a local Ray of 2 CPUs started inside the tests: the same spec
gives the same aggregated numbers as the local backend, a raising cell is recorded and
retried, an unreachable address fails before any work."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

import sweep_methods  # noqa: E402

from rrmbook.experiments import sweep  # noqa: E402
from rrmbook.experiments.sweeps import backends  # noqa: E402

SPEC = {"name": "cg8-two", "scenarios": ["paper-cg8"], "loads": ["heavy"],
        "methods": ["gms", "llq"], "seeds": 3, "slots": 200}
TESTS = str(Path(__file__).resolve().parent)


def _metrics(store):
    return {p.stem: json.loads(p.read_text())["metrics"] for p in (store / "cells").glob("*")}


def test_an_unreachable_address_fails_before_any_work(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ValueError, match="address"):
        sweep(SPEC, store=tmp_path / "s", backend="ray", address=f"127.0.0.1:{port}",
              progress=False)
    assert not (tmp_path / "s").exists()
    with pytest.raises(ValueError, match="address"):
        backends.check_address("nowhere")


def test_a_raising_cell_on_ray_is_recorded_and_retried(tmp_path):
    """The sweep starts its own local Ray (2 CPUs) and shuts it down."""
    sweep_methods.register()
    spec = SPEC | {"methods": [{"method": "test_flaky",
                                "params": {"fixed": str(tmp_path / "fixed")}}, "gms"]}
    rep = sweep(spec, store=tmp_path / "s", backend="ray", workers=2, progress=False)
    assert not ray.is_initialized()
    assert rep.counts == {"total": 6, "done": 5, "failed": 1, "pending": 0}
    failed = json.loads((tmp_path / "s" / "cells" / "paper-cg8__heavy__test_flaky__s1.json")
                        .read_text())
    assert "RuntimeError: boom" in failed["traceback"] and failed["backend"] == "ray"
    (tmp_path / "fixed").touch()
    rep = sweep(spec, store=tmp_path / "s", backend="ray", workers=2, progress=False,
                retry_failed=True)
    assert rep.counts["done"] == 6


@pytest.fixture(scope="module")
def local_ray():
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [TESTS, os.environ.get("PYTHONPATH")]))}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level="warning", runtime_env={"env_vars": env})
    yield
    ray.shutdown()


def test_ray_and_local_give_identical_aggregates(tmp_path, local_ray):
    on_ray = sweep(SPEC, store=tmp_path / "ray", backend="ray", progress=False)
    assert ray.is_initialized()  # a Ray the caller started is left running
    on_local = sweep(SPEC, store=tmp_path / "local", backend="local", workers=2,
                     progress=False)
    assert on_ray.counts == on_local.counts == {"total": 6, "done": 6, "failed": 0,
                                                "pending": 0}
    assert on_ray.rows == on_local.rows
    assert _metrics(tmp_path / "ray") == _metrics(tmp_path / "local")
    record = json.loads((tmp_path / "ray" / "cells" / "paper-cg8__heavy__gms__s0.json")
                        .read_text())
    assert record["backend"] == "ray" and record["status"] == "ok"
