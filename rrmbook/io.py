"""Safe files: atomic writes (temp file + rename) so an interrupted run never leaves a
corrupt file behind, and the one name of a training run's resumable checkpoint."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_write_npz",
           "atomic_write_torch", "CHECKPOINT_NAME", "refuse_to_replace", "remove_stale_temp_files",
           "read_torch", "writable_dir"]

#: The file every trainer (MAPPO, SAC, DQN, CQL) keeps its last resumable state in, inside
#: its ``checkpoint_dir``.
CHECKPOINT_NAME = "last.pt"


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; use the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def atomic_write_npz(path: str | Path, **arrays) -> Path:
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    return atomic_write_bytes(path, buf.getvalue())


def atomic_write_torch(path: str | Path, obj) -> Path:
    """``torch.save(obj)`` written atomically (torch is imported on first use, so the
    NumPy-only parts of the library do not pay for it)."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return atomic_write_bytes(path, buf.getvalue())


def refuse_to_replace(*paths: str | Path | None) -> None:
    """Raise :class:`FileExistsError` if any of ``paths`` (``None`` skipped) is a non-empty
    file: a fresh training run must not replace an earlier run's checkpoint or log."""
    for path in paths:
        if path is not None and Path(path).is_file() and Path(path).stat().st_size > 0:
            raise FileExistsError(
                f"{path} already exists from an earlier run: resume it (resume=True, or "
                f"--resume on the command line) or replace it (overwrite=True, --overwrite)")


def remove_stale_temp_files(path: str | Path) -> list[Path]:
    """Delete the temp files that killed atomic writes of ``path`` left beside it (the
    ``.NAME.*.tmp`` files of :func:`atomic_write_bytes`); returns what was removed."""
    path = Path(path)
    stale = sorted(path.parent.glob(f".{path.name}.*.tmp")) if path.parent.is_dir() else []
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


def read_torch(path: str | Path, what: str):
    """``torch.load(path, weights_only=True)`` on the CPU, with one clear error for a file that
    cannot be one: a missing file raises ``FileNotFoundError``; an empty, truncated, text or
    random-byte file (or a pickle that would need to run code) raises ``ValueError`` naming
    ``path`` and ``what`` it should have been, instead of torch's own exceptions and advice;
    a floating-point tensor anywhere in it that holds ``nan`` or ``inf`` raises too (a model
    with such weights acts at random and evaluates to ``nan`` without a word)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {path}")
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - torch raises many kinds for a bad file
        raise ValueError(f"{path} is not a readable {what}: the file is empty, truncated or not "
                         f"one torch saved ({type(err).__name__}); copy it again or retrain"
                         ) from None
    bad = _non_finite_tensor(state)
    if bad is not None:
        raise ValueError(f"{path}: {what} holds non-finite values (nan or inf) in {bad}; "
                         "it cannot be used (retrain, or resume from an earlier checkpoint)")
    return state


def _non_finite_tensor(obj, where: str = "") -> str | None:
    """The key path of the first floating tensor holding nan or inf, else ``None``."""
    import torch

    if isinstance(obj, torch.Tensor):
        if obj.is_floating_point() and not bool(torch.isfinite(obj).all()):
            return where or "the file"
        return None
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, list | tuple):
        items = enumerate(obj)
    else:
        return None
    for key, value in items:
        found = _non_finite_tensor(value, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


#: the least free space an output folder must have before a run starts
MIN_FREE_BYTES = 16 * 2**20


def writable_dir(path: str | Path, name: str) -> Path:
    """Make sure ``path`` is a folder this process can write into, before any work starts:
    created if missing; a path that is a file, a read-only location or a disk with less than
    16 MiB free raises ``ValueError`` naming the field ``name`` (e.g. ``--out``). A small
    probe file is written, synced and removed."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{name} {path} is a file; give a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".rrmbook-probe.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(b"\0" * 4096)
                f.flush()
                os.fsync(f.fileno())
        finally:
            os.unlink(probe)
    except OSError as err:
        raise ValueError(f"{name} {path} cannot be written ({err.strerror or err})") from None
    free = shutil.disk_usage(path).free
    if free < MIN_FREE_BYTES:
        raise ValueError(f"{name} {path}: only {free / 2**20:.1f} MiB free on its disk; "
                         f"a run needs at least {MIN_FREE_BYTES / 2**20:.0f} MiB")
    return path
