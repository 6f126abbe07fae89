"""Safe files: atomic writes (temp file + rename) so an interrupted run never leaves a
corrupt file behind, and the one name of a training run's resumable checkpoint."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_write_npz",
           "atomic_write_torch", "CHECKPOINT_NAME", "refuse_to_replace", "remove_stale_temp_files"]

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
