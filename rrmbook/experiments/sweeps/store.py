"""The result store of a sweep: a folder, written by the driver only, one atomic JSON file
per cell, so a sweep killed at any moment continues where it stopped.

::

    DIR/spec.json            the normalised spec the store was made for (and its version)
    DIR/cells/<key>.json     one record per cell: its config, seeds, metrics, status
                             (ok / failed with the traceback), wall time, machine, package
                             version and git commit
    DIR/work/<key>/          checkpoints of a training cell in progress (resumed after a kill)
    DIR/artifacts/<key>.pt   the policy or learner file a training cell produced

A record file appears complete or not at all (:func:`rrmbook.io.atomic_write_json`), and
a cell has one file, so no cell is ever recorded twice.  A store refuses a spec other than
its own, naming the first field that differs, with one exception: a spec that only adds
training seeds (``seeds`` a superset of the store's, everything else equal) *grows* the
store, since the cells it already holds are exactly cells of the larger grid; spec.json then
records the seeds it grew from.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import socket
import subprocess
import warnings
from datetime import UTC, datetime
from pathlib import Path

from ...io import atomic_write_json

__all__ = ["Store", "STORE_FORMAT", "RECORD_FORMAT", "first_difference", "provenance",
           "machine", "now"]

STORE_FORMAT = "rrmbook-sweep-store/1"
RECORD_FORMAT = "rrmbook-sweep-record/1"


def now() -> str:
    """The current UTC time, ISO 8601, to the millisecond."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@functools.cache
def machine() -> dict:
    """Where a cell ran: host name, platform, processor, CPUs available to the process
    (read once per process: ``platform`` takes tens of milliseconds)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return {"host": socket.gethostname(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpus": cpus,
            "python": platform.python_version()}


def _git_commit() -> tuple[str | None, bool | None]:
    """The commit of the source tree the package runs from (None outside a git checkout)
    and whether that tree has uncommitted changes."""
    root = Path(__file__).resolve().parents[3]
    if not (root / ".git").exists():
        return None, None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=10, check=True)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit.stdout.strip() or None, bool(dirty.stdout.strip())


def provenance() -> dict:
    """What every record says about the code that made it."""
    from ... import __version__

    commit, dirty = _git_commit()
    return {"rrmbook_version": __version__, "git_commit": commit, "git_dirty": dirty}


def _adds_seeds(stored: dict, spec: dict) -> bool:
    """Whether ``spec`` is ``stored`` with more training seeds (and nothing else changed)."""
    old, new = stored.get("seeds"), spec.get("seeds")
    if not (isinstance(old, list) and isinstance(new, list)) or not set(old) < set(new):
        return False
    return first_difference({**stored, "seeds": None}, {**spec, "seeds": None}) is None


def first_difference(a, b, path: str = "") -> str | None:
    """The path of the first field where two JSON-like values differ (``None`` if equal),
    e.g. ``"methods[1].params.budget_slots"``."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                return sub
            diff = first_difference(a[key], b[key], sub)
            if diff is not None:
                return diff
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return path or "(root)"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            diff = first_difference(x, y, f"{path}[{i}]")
            if diff is not None:
                return diff
        return None
    same = a == b and isinstance(a, bool) == isinstance(b, bool)
    return None if same else (path or "(root)")


def _field(obj, path: str):
    """The value at a path of :func:`first_difference` (for error messages)."""
    import re

    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        try:
            obj = obj[int(part[1:-1])] if part.startswith("[") else obj[part]
        except (KeyError, IndexError, TypeError):
            return "(missing)"
    return obj


class Store:
    """A sweep's result folder (see the module docstring).  Only the driver writes to it."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # ------------------------------------------------------------------ paths
    @property
    def spec_path(self) -> Path:
        return self.root / "spec.json"

    @property
    def cells_dir(self) -> Path:
        return self.root / "cells"

    def record_path(self, key: str) -> Path:
        return self.cells_dir / f"{key}.json"

    def work_dir(self, key: str) -> Path:
        return self.root / "work" / key

    def artifact_path(self, key: str) -> Path:
        return self.root / "artifacts" / f"{key}.pt"

    # ------------------------------------------------------------------ open
    @classmethod
    def create_or_open(cls, root: str | Path, spec: dict) -> Store:
        """The store at ``root`` for ``spec`` (the normalised spec dict): created when the
        folder is missing or empty; an existing store must have been made for the same
        spec (``ValueError`` naming the first field that differs otherwise)."""
        store = cls(root)
        spec = json.loads(json.dumps(spec))  # as it reads back from the file
        if store.root.exists() and not store.root.is_dir():
            raise ValueError(f"store {store.root} is a file, not a folder")
        if store.spec_path.is_file():
            stored = store.spec()
            diff = first_difference(stored, spec)
            if diff == "seeds" and _adds_seeds(stored, spec):
                record = json.loads(store.spec_path.read_text())
                grown = record.get("grown", []) + [{"from_seeds": stored["seeds"],
                                                     "to_seeds": spec["seeds"], "at": now()}]
                atomic_write_json(store.spec_path, record | {"spec": spec, "grown": grown})
            elif diff is not None:
                raise ValueError(
                    f"store {store.root} was written by another spec: field {diff!r} differs "
                    f"(store: {_field(stored, diff)!r}, given: {_field(spec, diff)!r}); use "
                    "another --store folder, or the spec the store was made for")
        elif store.root.is_dir() and any(p for p in store.root.iterdir()
                                         if not p.name.startswith(".")):
            raise ValueError(f"store {store.root} is a folder that is not a sweep store (no "
                             "spec.json); give an empty or a new folder")
        else:
            atomic_write_json(store.spec_path, {"format": STORE_FORMAT, "spec": spec,
                                                "created": now()} | provenance())
        store.cells_dir.mkdir(parents=True, exist_ok=True)
        store._clean_temporaries()
        return store

    @classmethod
    def open(cls, root: str | Path) -> Store:
        """An existing store (for status and reports)."""
        store = cls(root)
        if not store.spec_path.is_file():
            raise FileNotFoundError(f"no sweep store at {store.root} (no spec.json)")
        store.spec()
        return store

    def spec(self) -> dict:
        """The normalised spec this store was made for."""
        data = json.loads(self.spec_path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != STORE_FORMAT:
            raise ValueError(f"{self.spec_path} is not a sweep store's spec (format "
                             f"{STORE_FORMAT!r})")
        return data["spec"]

    def _clean_temporaries(self) -> None:
        """Remove the temporary files of writes cut short by a kill."""
        for tmp in self.cells_dir.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    @contextlib.contextmanager
    def lock(self):
        """Hold the store for one driver: a second driver on the same store fails at once
        (the lock goes with the process, so a killed driver leaves none behind)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            yield self
            return
        with open(self.root / ".lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise ValueError(f"store {self.root} is in use by another sweep driver") \
                    from None
            try:
                yield self
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ------------------------------------------------------------------ records
    def records(self) -> dict[str, dict]:
        """Every record, by cell key (a file that does not parse is skipped with a
        warning: its cell counts as pending)."""
        out = {}
        for path in sorted(self.cells_dir.glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as err:
                warnings.warn(f"skipping unreadable record {path}: {err}", stacklevel=2)
                continue
            if isinstance(record, dict) and record.get("format") == RECORD_FORMAT:
                out[record["key"]] = record
        return out

    def write(self, record: dict) -> Path:
        """Write one cell's record atomically (replacing an earlier one of that cell)."""
        return atomic_write_json(self.record_path(record["key"]),
                                 {"format": RECORD_FORMAT} | record)
