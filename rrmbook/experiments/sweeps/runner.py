"""The sweep driver: validate, open the store, run the cells that are not finished on a
backend, write each result as it arrives, and return the aggregated table."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ... import checks
from .backends import BACKENDS, Task, free_cores, make_backend
from .methods import TRAIN, get_method
from .report import Report, report
from .spec import Cell, SweepSpec, load_spec
from .store import Store, provenance

__all__ = ["sweep", "plan"]


def _jsonable(obj):
    """Plain JSON values: NumPy scalars and arrays, tuples and paths converted (NaN and
    infinities stay floats, which Python's JSON reads back)."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, str | bool | int | float):
        return obj
    return repr(obj)


def _with_paths(cell: Cell, store: Store) -> Cell:
    if cell.kind != TRAIN:
        return cell
    return dataclasses.replace(cell, work_dir=str(store.work_dir(cell.key)),
                               artifact=str(store.artifact_path(cell.key)))


def plan(spec, store: str | Path, retry_failed: bool = False) -> tuple[list[Cell], list[Cell]]:
    """``(all cells, cells still to run)`` of ``spec`` against ``store`` (read only)."""
    spec = load_spec(spec)
    root = Path(store)
    cells = spec.cells()
    if not (root / "spec.json").is_file():
        return cells, cells
    records = Store.open(root).records()
    return cells, [c for c in cells if _to_run(records.get(c.key), retry_failed)]


def _to_run(record: dict | None, retry_failed: bool) -> bool:
    return record is None or (retry_failed and record.get("status") != "ok")


def sweep(spec: SweepSpec | Mapping | str | Path, store: str | Path, backend: str = "local",
          workers: int | None = None, address: str | None = None, retry_failed: bool = False,
          progress: bool = True, num_cpus: int = 1, level: float = 0.95) -> Report:
    """Run a sweep and return its aggregated table (:class:`Report`).

    Parameters
    ----------
    spec : a :class:`~rrmbook.experiments.sweeps.spec.SweepSpec`, a dict of its fields,
        or the path of a YAML / TOML / JSON file (schema: :mod:`rrmbook.experiments.sweeps`).
    store : the result folder (created if missing).  Finished cells are never run again;
        running the same call after an interruption continues where it stopped.  A store
        made for another spec is refused.
    backend : ``"local"`` (a process pool here) or ``"ray"``.
    workers : local worker processes, or the CPUs of a local Ray (default: the cores this
        process may use).
    address : ``ray`` only: ``"auto"`` or ``"HOST:PORT"`` of an existing cluster; ``None``
        starts a local Ray of ``workers`` CPUs (shut down at the end).
    retry_failed : run the cells whose earlier attempt raised again.
    progress : a progress bar over cells with an ETA.
    num_cpus : CPUs each Ray task reserves (and torch threads it uses).
    level : the confidence level of the report's intervals.

    Everything is checked before any work starts (``ValueError`` naming the field): the
    spec, the backend, the worker count, Ray's presence and address, the store's spec.

    Local workers are *spawned*: each imports the script that called :func:`sweep`, so in
    a script, call it under ``if __name__ == "__main__":`` (as for any multiprocessing).
    """
    spec = load_spec(spec)
    checks.one_of("backend", backend, BACKENDS)
    workers = free_cores() if workers is None else checks.positive_int("workers", workers)
    num_cpus = checks.positive_int("num_cpus", num_cpus)
    checks.boolean("retry_failed", retry_failed)
    if not (0 < level < 1) or isinstance(level, bool):
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    runner = make_backend(backend, workers, address, num_cpus)
    st = Store.create_or_open(store, spec.as_dict())
    with st.lock():
        cells = [_with_paths(c, st) for c in spec.cells()]
        records = st.records()
        todo = [c for c in cells if _to_run(records.get(c.key), retry_failed)]
        if todo:
            _run(spec, st, runner, todo, records, len(cells), backend,
                 num_cpus if backend == "ray" else 1, progress)
    return report(st, level=level)


def _run(spec: SweepSpec, st: Store, runner, todo: list[Cell], records: dict, total: int,
         backend: str, threads: int, progress: bool) -> None:
    prov = provenance()
    failed = 0
    tasks = [Task(c, get_method(c.method_name).run, threads) for c in todo]
    with tqdm(total=total, initial=total - len(todo), desc=spec.name, unit="cell",
              disable=not progress, dynamic_ncols=True) as bar, runner:
        for task, result in runner.run(tasks):
            cell = task.cell
            previous = records.get(cell.key)
            record = _jsonable(result) | {
                "key": cell.key, "cell": _jsonable(cell.config()),
                "seeds": {"seed": cell.seed, "eval_seeds": list(cell.eval_seeds),
                          "layout_seed": cell.env.get("layout_seed")},
                "attempt": (previous or {}).get("attempt", 0) + 1, "backend": backend,
                "spec_name": spec.name} | prov
            record.setdefault("metrics", {})
            st.write(record)
            failed += record["status"] != "ok"
            bar.set_postfix(failed=failed, refresh=False)
            bar.update(1)
