"""Where the cells run: ``local`` (a process pool on this machine) or ``ray`` (Ray tasks on
a cluster, or on a local Ray started for the sweep).

Both run the same function, :func:`execute`, on a :class:`Task` (a cell and its method's
function) and hand its result back to the driver, which alone writes the store.  A cell's
own exception never escapes :func:`execute`: it comes back as a failed result with its
traceback.  A worker process that dies (killed, out of memory) is replaced: its cell runs
again, and after :data:`MAX_CRASHES` deaths it is recorded as failed.

Workers use one torch thread each (``num_cpus`` threads for a Ray task that reserves more
CPUs): the networks are small, and more threads than free cores slow everything down.
Local workers are spawned fresh (no fork of the driver's state), ignore Ctrl-C (the driver
stops them) and exit by themselves when the driver dies, even by ``kill -9``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from .spec import Cell
from .store import machine, now

__all__ = ["Task", "execute", "LocalBackend", "RayBackend", "BACKENDS", "make_backend",
           "free_cores", "import_ray", "check_address", "MAX_CRASHES"]

BACKENDS = ("local", "ray")
#: a cell whose worker process dies this many times is recorded as failed
MAX_CRASHES = 3


@dataclass(frozen=True)
class Task:
    """What a worker runs: ``run(cell)``, with ``threads`` torch threads."""

    cell: Cell
    run: Callable
    threads: int = 1


def free_cores() -> int:
    """The cores this process may run on (its CPU affinity), the default worker count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _set_threads(n: int) -> None:
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def _failure(task: Task, error: str, trace: str, started: str, wall_s: float) -> dict:
    return {"key": task.cell.key, "status": "failed", "error": error, "traceback": trace,
            "started": started, "finished": now(), "wall_s": round(wall_s, 4),
            "machine": dict(machine()), "pid": os.getpid()}


def execute(task: Task) -> dict:
    """Run one cell; returns ``{"key", "status": "ok", "metrics", ...}`` or, when the cell
    raised, ``{"status": "failed", "error", "traceback", ...}``, with the wall time and the
    machine it ran on."""
    _set_threads(task.threads)
    started, start = now(), time.perf_counter()
    try:
        out = task.run(task.cell)
        if not isinstance(out, dict) or not isinstance(out.get("metrics"), dict):
            raise TypeError(f"method {task.cell.method_name!r} returned {type(out).__name__}, "
                            "not a dict with 'metrics'")
    except Exception as err:
        return _failure(task, f"{type(err).__name__}: {err}", traceback.format_exc(), started,
                        time.perf_counter() - start)
    return out | {"key": task.cell.key, "status": "ok", "started": started, "finished": now(),
                  "wall_s": round(time.perf_counter() - start, 4), "machine": dict(machine()),
                  "pid": os.getpid()}


# ------------------------------------------------------------------------------ local
def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


_STARTED = None  # a local worker's queue of the cells it starts (set by _init_worker)


def _init_worker(parent: int, started) -> None:
    """Each local worker: ignore Ctrl-C (the driver stops the pool), exit when the driver
    is gone, and report every cell it starts (so a dead worker's cell is known)."""
    global _STARTED
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    _STARTED = started


def _execute_local(task: Task) -> dict:
    if _STARTED is not None:
        _STARTED.put(task.cell.key)  # written to the pipe before the cell starts
    return execute(task)


class LocalBackend:
    """A pool of ``workers`` processes on this machine (``start_method`` spawn or
    forkserver)."""

    name = "local"

    def __init__(self, workers: int, start_method: str = "spawn") -> None:
        self.workers = workers
        self.context = mp.get_context(start_method)

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc) -> None:
        return None

    @staticmethod
    def _stop(pool: ProcessPoolExecutor) -> None:
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join(timeout=5)

    def run(self, tasks: list[Task]) -> Iterator[tuple[Task, dict]]:
        """Results as the cells finish (in any order).  When a worker dies, the cells it
        was running count one death each and every unfinished cell is submitted again to a
        new pool; a cell that killed :data:`MAX_CRASHES` workers is returned as failed."""
        pending, crashes, stalls = list(tasks), Counter(), 0
        while pending:
            started = self.context.SimpleQueue()
            pool = ProcessPoolExecutor(max_workers=min(self.workers, len(pending)),
                                       mp_context=self.context, initializer=_init_worker,
                                       initargs=(os.getpid(), started))
            futures = {pool.submit(_execute_local, t): t for t in pending}
            pending, running, broken, progressed = [], set(), [], False
            finished = False
            try:
                not_done = set(futures)
                while not_done:
                    done, not_done = wait(not_done, return_when=FIRST_COMPLETED)
                    while not started.empty():
                        running.add(started.get())
                    for fut in done:
                        task = futures[fut]
                        try:
                            result = fut.result()
                        except BrokenProcessPool:
                            broken.append(task)
                            continue
                        running.discard(task.cell.key)
                        progressed = True
                        yield task, result
                finished = True
            finally:
                if finished:  # every result is in: let the workers exit in the background
                    pool.shutdown(wait=False)
                else:  # interrupted, or the consumer stopped: do not wait for running cells
                    self._stop(pool)
            for task in broken:
                if task.cell.key in running:
                    crashes[task.cell.key] += 1
                if crashes[task.cell.key] >= MAX_CRASHES or stalls >= MAX_CRASHES:
                    why = (f"the worker process died {MAX_CRASHES} times running this cell"
                           if crashes[task.cell.key] >= MAX_CRASHES else
                           "the worker processes die before running any cell")
                    yield task, _failure(task, why, "", now(), 0.0)
                else:
                    pending.append(task)
            stalls = 0 if progressed or running else stalls + 1


# -------------------------------------------------------------------------------- ray
def import_ray():
    """The ``ray`` module, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError:
        raise ImportError('the ray backend needs Ray: pip install "rrmbook[ray]" (or '
                          'pip install "ray>=2.9")') from None
    return ray


def check_address(address: str | None, timeout: float = 5.0) -> None:
    """A ``HOST:PORT`` (or ``ray://HOST:PORT``) address must accept a connection: an
    unreachable cluster is a ``ValueError`` naming ``address`` before any work starts.
    ``None`` (start a local Ray) and ``"auto"`` (the cluster this machine belongs to) are
    checked when Ray starts."""
    if address is None or address == "auto":
        return
    if not isinstance(address, str):
        raise ValueError(f"address must be 'auto' or HOST:PORT, got {address!r}")
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"address must be 'auto' or HOST:PORT, got {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        raise ValueError(f"address {address!r}: no Ray cluster reachable there ({err})") \
            from None


def _user_path() -> str:
    """This process's ``sys.path`` entries outside the Python installation, for the
    workers of a local Ray (so methods registered from a project's own modules import
    there as they do in spawned local workers)."""
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    keep = []
    for entry in sys.path:
        real = os.path.realpath(entry or os.getcwd())
        if os.path.isdir(real) and not any(real == p or real.startswith(p + os.sep)
                                           for p in prefixes):
            keep.append(real)
    old = os.environ.get("PYTHONPATH")
    return os.pathsep.join(dict.fromkeys(keep + ([old] if old else [])))


class RayBackend:
    """Each cell a Ray task reserving ``num_cpus`` CPUs, on the cluster at ``address``
    (``"auto"`` or ``HOST:PORT``) or, with no address, on a local Ray of ``workers`` CPUs
    started here and shut down at the end (its workers get this process's ``sys.path``).
    A Ray already initialised in this process is used as it is (and left running).  On a
    cluster, the nodes need rrmbook installed, and the modules of any method registered
    with :func:`~rrmbook.experiments.sweeps.register_method` (Ray's ``runtime_env``)."""

    name = "ray"

    def __init__(self, workers: int, address: str | None = None, num_cpus: int = 1,
                 max_retries: int = MAX_CRASHES) -> None:
        self.ray = import_ray()
        check_address(address)
        self.workers, self.address, self.num_cpus = workers, address, num_cpus
        self.max_retries = max_retries
        self._owner = False

    def __enter__(self) -> RayBackend:
        ray = self.ray
        if ray.is_initialized():
            return self
        kwargs = {"include_dashboard": False, "log_to_driver": False,
                  "logging_level": "warning"}
        if self.address is None:
            kwargs["num_cpus"] = self.workers
            kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": _user_path()}}
        try:
            ray.init(address=self.address, **kwargs)
        except ConnectionError as err:
            raise ValueError(f"address {self.address!r}: no Ray cluster found ({err})") \
                from None
        self._owner = True
        return self

    def __exit__(self, *exc) -> None:
        if self._owner:
            self.ray.shutdown()
            self._owner = False

    def run(self, tasks: list[Task]) -> Iterator[tuple[Task, dict]]:
        """Results as the cells finish (in any order)."""
        ray = self.ray
        remote = ray.remote(num_cpus=self.num_cpus, max_retries=self.max_retries)(execute)
        refs = {remote.remote(t): t for t in tasks}
        try:
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1)
                for ref in done:
                    task = refs.pop(ref)
                    started = now()
                    try:
                        result = ray.get(ref)
                    except Exception as err:  # the worker died more than max_retries times
                        result = _failure(task, f"{type(err).__name__}: {err}",
                                          traceback.format_exc(), started, 0.0)
                    yield task, result
        finally:
            for ref in refs:
                ray.cancel(ref, force=True)


def make_backend(backend: str, workers: int, address: str | None = None,
                 num_cpus: int = 1) -> LocalBackend | RayBackend:
    """The backend called ``backend``, checked (Ray importable, its address reachable)
    but not started: use it as a context manager."""
    if backend == "ray":
        return RayBackend(workers, address, num_cpus)
    if address is not None:
        raise ValueError(f"address applies only to the ray backend, got address={address!r} "
                         f"with backend={backend!r}")
    return LocalBackend(workers)
