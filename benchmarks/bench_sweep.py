"""The sweep runner's overhead: a grid of short baseline evaluations on paper-cg8 (4
baselines x 50 seeds = 200 cells by default) run in one plain loop, with the ``local``
backend at 1 and 2 workers, and with a local Ray of 1 and of 2 CPUs.  Prints markdown
tables; not a test.

    .venv/bin/python benchmarks/bench_sweep.py [--seeds 50] [--slots 500] [--no-ray]

Each backend runs the grid through :func:`rrmbook.experiments.sweep` into a fresh store.
The records' finish times (milliseconds) give the steady rate: ``(last - first finish) /
(cells - 1)`` seconds per cell once the workers are up.  The fixed cost is the rest of the
wall time (checking the spec, spawning the workers, which import rrmbook and torch,
shutting them down, the report).  The per-cell overhead is the steady time per cell times
the number of cells running at once, minus the plain loop's time per cell; with as many
workers as free cores it also holds the slow-down of sharing the cores.  A local Ray is
started before it is timed (its start-up is reported on its own).  Targets on 2 cores:
local with 2 workers >= 1.7 x one worker; per-cell overhead <= 10 ms local and <= 50 ms
Ray.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import rrmbook  # noqa: E402
from rrmbook.experiments import sweep  # noqa: E402

METHODS = ["gms", "llq", "qcsma", "max_weight"]


def grid(seeds: int, slots: int) -> dict:
    return {"name": "bench", "scenarios": ["paper-cg8"], "loads": ["heavy"],
            "methods": METHODS, "seeds": seeds, "slots": slots}


def plain_loop(seeds: int, slots: int) -> float:
    """The same cells, one after the other, with rrmbook.evaluate: the reference."""
    start = time.perf_counter()
    for m in METHODS:
        for s in range(seeds):
            env = rrmbook.make_env("paper-cg8", load="heavy", seed=s)
            rrmbook.evaluate(env, rrmbook.baselines.get(m), slots=slots, seed=s).summary()
    return time.perf_counter() - start


def timed_sweep(spec: dict, store: Path, **kwargs) -> tuple[float, float]:
    """(wall seconds, steady seconds per cell) of one sweep into a fresh store."""
    start = time.perf_counter()
    rep = sweep(spec, store=store, progress=False, **kwargs)
    wall = time.perf_counter() - start
    assert rep.counts["done"] == rep.counts["total"], rep.counts
    done = sorted(datetime.fromisoformat(json.loads(p.read_text())["finished"]).timestamp()
                  for p in (store / "cells").glob("*.json"))
    return wall, (done[-1] - done[0]) / (len(done) - 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--slots", type=int, default=500)
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cells = len(METHODS) * args.seeds
    spec = grid(args.seeds, args.slots)
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, "
          f"NumPy {np.__version__}, torch {torch.__version__}; load average "
          f"{os.getloadavg()[0]:.2f} at the start\n")
    plain = plain_loop(args.seeds, args.slots)
    per_cell = plain / cells
    rows, ray_starts = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for workers in (1, 2):
            wall, steady = timed_sweep(spec, root / f"local-{workers}", workers=workers)
            rows.append((f"local, {workers} worker{'s' if workers > 1 else ''}", workers,
                         wall, steady))
        if not args.no_ray:
            import ray

            for cpus in (1, 2):
                start = time.perf_counter()
                ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False,
                         logging_level="warning")
                ray_starts.append((cpus, time.perf_counter() - start))
                try:
                    wall, steady = timed_sweep(spec, root / f"ray-{cpus}", backend="ray")
                finally:
                    ray.shutdown()
                rows.append((f"ray (local), {cpus} CPU{'s' if cpus > 1 else ''}", cpus, wall,
                             steady))

    print(f"## Sweep overhead ({cells} cells: paper-cg8 heavy, {len(METHODS)} baselines x "
          f"{args.seeds} seeds, {args.slots} slots each)\n")
    print("| run | wall (s) | cells/s | fixed cost (s) | steady cells/s | "
          "per-cell overhead (ms) | target (ms) |")
    print("|---|---|---|---|---|---|---|")
    print(f"| plain loop | {plain:.2f} | {cells / plain:.1f} | – | {cells / plain:.1f} | – | "
          "– |")
    by_name = {}
    for name, parallel, wall, steady in rows:
        overhead = 1e3 * (steady * parallel - per_cell)
        target = "≤ 50" if name.startswith("ray") else "≤ 10"
        by_name[name] = (wall, steady)
        print(f"| {name} | {wall:.2f} | {cells / wall:.1f} | {wall - steady * cells:.2f} | "
              f"{1 / steady:.1f} | {overhead:.1f} | {target} |")
    one, two = by_name["local, 1 worker"], by_name["local, 2 workers"]
    print(f"\nspeed-up of 2 local workers over 1: {one[0] / two[0]:.2f}x on the whole sweep "
          f"(wall), {one[1] / two[1]:.2f}x in the steady rate (target >= 1.7x)")
    for cpus, seconds in ray_starts:
        print(f"starting a local Ray of {cpus} CPU{'s' if cpus > 1 else ''}: {seconds:.1f} s")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
