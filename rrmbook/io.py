"""Safe files: atomic writes (temp file + rename) so an interrupted run never leaves a
corrupt file behind, and the one name of a training run's resumable checkpoint; config
files (every config dataclass to and from YAML, TOML or JSON: :func:`save_config`,
:func:`load_config`) and the learning-curve logs every trainer writes (:class:`TrainingLog`:
CSV, and TensorBoard scalars with the optional ``tensorboard`` package)."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import math
import os
import shutil
import tempfile
import tomllib
import types
import typing
from pathlib import Path

import numpy as np

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_write_npz",
           "atomic_write_torch", "CHECKPOINT_NAME", "refuse_to_replace", "remove_stale_temp_files",
           "read_torch", "writable_dir", "to_plain", "config_to_dict", "config_from_dict",
           "parse_overrides", "save_config", "load_config", "read_config_file", "CSVLog",
           "TrainingLog", "log_closed", "require_tensorboard", "TENSORBOARD_HINT"]

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


# ------------------------------------------------------------------ plain values and configs

def to_plain(value):
    """A value as plain JSON/YAML/TOML data: arrays and tuples as lists, a conflict graph
    (a networkx graph whose nodes carry ``agent``) as ``{"nodes", "agent", "edges"}``, a
    dataclass (a layout) field by field. The dataset sidecars store env configs this way."""
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "edges") and hasattr(value, "nodes"):  # a networkx graph
        nodes = sorted(value.nodes)
        return {"nodes": len(nodes), "agent": [int(value.nodes[d]["agent"]) for d in nodes],
                "edges": sorted([int(u), int(v)] for u, v in value.edges)}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value


def _init_fields(cls) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.init]


def config_to_dict(config) -> dict:
    """The constructor arguments of a config dataclass as plain data (see :func:`to_plain`):
    what :func:`save_config` writes and :func:`config_from_dict` reads back. Derived fields
    (``init=False``, such as ``ConflictGraphConfig.rates``) are left out."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"config must be a config dataclass instance, got {type(config).__name__}")
    return {f.name: to_plain(getattr(config, f.name)) for f in _init_fields(config)}


def _type_parts(tp) -> tuple:
    """The plain types a field annotation allows: ``float | None`` -> ``(float, NoneType)``,
    ``tuple[float, ...]`` -> ``(tuple,)``."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return tuple(p for arg in typing.get_args(tp) for p in _type_parts(arg))
    origin = typing.get_origin(tp)
    return (origin if origin is not None else tp,)


def _is_graph_type(tp) -> bool:
    return isinstance(tp, type) and hasattr(tp, "add_edges_from") and hasattr(tp, "add_nodes_from")


def _graph_from_plain(tp, value: dict, name: str):
    """A graph of type ``tp`` from the ``{"nodes", "agent", "edges"}`` of :func:`to_plain`."""
    keys = {"nodes", "agent", "edges"}
    if set(value) != keys:
        raise ValueError(f"{name} must hold exactly the keys {sorted(keys)} (node count, each "
                         f"node's agent, the edge list), got {sorted(value)}")
    agents = list(value["agent"])
    if len(agents) != value["nodes"]:
        raise ValueError(f"{name}: 'agent' must list one owner per node ({value['nodes']}), "
                         f"got {len(agents)}")
    graph = tp()
    graph.add_nodes_from((d, {"agent": int(a)}) for d, a in enumerate(agents))
    for edge in value["edges"]:
        u, v = edge
        if not (0 <= u < len(agents) and 0 <= v < len(agents)):
            raise ValueError(f"{name}: edge {list(edge)} names a node outside 0..{len(agents) - 1}")
        graph.add_edge(int(u), int(v))
    return graph


_NULL_WORDS = ("none", "null", "~")


def _coerce(value, tp, name: str):
    """``value`` read from a file (or ``--set``) as the field's annotation ``tp`` wants it:
    lists become tuples where the field is a tuple, ``"none"``/``"null"`` becomes ``None``
    where the field may be ``None`` but not a string (TOML has no null), a number written as
    text (``3e-4``, which YAML reads as a string) becomes a float where the field is a float,
    an integer becomes a float where the field is a float and not an int, and a mapping
    becomes a nested config (a layout) or a conflict graph."""
    parts = _type_parts(tp)
    if value is None:
        return None
    if isinstance(value, str) and str not in parts:
        if type(None) in parts and value.strip().lower() in _NULL_WORDS:
            return None
        if float in parts:
            try:
                return float(value)
            except ValueError:
                pass
    if isinstance(value, int) and not isinstance(value, bool) and float in parts \
            and int not in parts:
        return float(value)
    if isinstance(value, list) and tuple in parts:
        return tuple(value)
    if isinstance(value, dict):
        for part in parts:
            if dataclasses.is_dataclass(part):
                return config_from_dict(part, value, what=name)
            if _is_graph_type(part):
                return _graph_from_plain(part, value, name)
    return value


def config_from_dict(cls, data: dict, *, what: str | None = None, **overrides):
    """Build the config dataclass ``cls`` from plain data (a file's table, or
    :func:`config_to_dict`'s output) with ``overrides`` on top, converting each value as its
    field's type says (see :func:`rrmbook.io.load_config`). A key that is not a constructor
    argument of ``cls`` raises ``ValueError`` naming it and listing the fields; the
    config's own checks validate the values."""
    if not isinstance(data, dict):
        raise ValueError(f"a {cls.__name__} must be a table of field = value, "
                         f"got {type(data).__name__}")
    what = what or cls.__name__
    fields = _init_fields(cls)
    names = [f.name for f in fields]
    merged = dict(data) | overrides
    for key in merged:
        if key not in names:
            derived = [f.name for f in dataclasses.fields(cls) if not f.init]
            why = " (derived from the others, not set)" if key in derived else ""
            raise ValueError(f"{what} has no field {key!r}{why}; its fields are: "
                             f"{', '.join(names)}")
    hints = typing.get_type_hints(cls)
    kwargs = {key: _coerce(value, hints.get(key, object), f"{what}.{key}")
              for key, value in merged.items()}
    return cls(**kwargs)


def parse_overrides(items: list[str] | tuple[str, ...], option: str = "--set") -> dict:
    """``["lr=3e-4", "target_kl=null"]`` -> ``{"lr": "3e-4", "target_kl": None}``: each
    ``FIELD=VALUE`` with VALUE read as a YAML scalar (``null``, ``true``, ``64``, ``tanh``)
    or flow list (``[0.1, 0.2]``);
    :func:`config_from_dict` then converts it as the field's type says. Raises
    ``ValueError`` naming ``option`` for an item without ``=`` or a VALUE that is not a
    scalar."""
    import yaml

    out: dict = {}
    for item in items:
        key, sep, text = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"{option} takes FIELD=VALUE, got {item!r}")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            raise ValueError(f"{option} {item!r}: {text!r} is not a value") from None
        if isinstance(value, dict):
            raise ValueError(f"{option} {item!r}: give a value or a [list], not a mapping")
        out[key] = value
    return out


_SUFFIXES = (".yaml", ".yml", ".toml", ".json")


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(f"a config file must end in {', '.join(_SUFFIXES)}, got {path.name!r}")
    return suffix


def _toml_value(value, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if value is None:
        return '"none"'   # TOML has no null; config_from_dict reads "none" back as None
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v, key) for v in value) + "]"
    raise TypeError(f"{key}: a {type(value).__name__} cannot be written to TOML")


def _toml_text(data: dict, comment: str | None) -> str:
    """A TOML document of ``data``: scalars and lists at the top, then one table per
    nested mapping (a layout, a conflict graph), nested tables dotted."""
    lines = [f"# {line}" for line in (comment or "").splitlines()]

    def table(d: dict, prefix: str) -> None:
        nested = {k: v for k, v in d.items() if isinstance(v, dict)}
        for key, value in d.items():
            if key not in nested:
                lines.append(f"{key} = {_toml_value(value, prefix + key)}")
        for key, value in nested.items():
            lines.extend(["", f"[{prefix}{key}]"])
            table(value, f"{prefix}{key}.")

    table(data, "")
    return "\n".join(lines) + "\n"


def save_config(config, path: str | Path, comment: str | None = None) -> Path:
    """Write a config dataclass (``MAPPOConfig``, ``SACConfig``, ``DQNConfig``,
    ``CQLConfig``, ``PFConfig``, ``ConflictGraphConfig``, ``CellularConfig``) to ``path``
    atomically, in the format its suffix names: ``.yaml``/``.yml``, ``.toml`` or ``.json``.
    ``comment`` (YAML and TOML) goes on top as ``#`` lines. A conflict graph is stored as
    its node count, each node's agent and its edges; a layout as its coordinates and
    serving APs (see :func:`to_plain`). :func:`load_config` reads it back."""
    path = Path(path)
    suffix = _suffix(path)
    data = config_to_dict(config)
    if suffix == ".json":
        return atomic_write_json(path, data)
    if suffix == ".toml":
        return atomic_write_text(path, _toml_text(data, comment))
    import yaml

    head = "".join(f"# {line}\n" for line in (comment or "").splitlines())
    return atomic_write_text(path, head + yaml.safe_dump(data, sort_keys=False))


def read_config_file(path: str | Path) -> dict:
    """The table of a ``.yaml``/``.yml``, ``.toml`` or ``.json`` file; a missing file raises
    ``FileNotFoundError``, an unreadable one ``ValueError`` naming it."""
    path = Path(path)
    suffix = _suffix(path)
    if not path.is_file():
        raise FileNotFoundError(f"no config file at {path}")
    text = path.read_text(encoding="utf-8")
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as err:  # noqa: BLE001 - each parser raises its own kind
        raise ValueError(f"{path} is not a readable {suffix[1:].upper()} file: {err}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a table of field = value, got {type(data).__name__}")
    return data


def load_config(cls, path: str | Path, **overrides):
    """The config dataclass ``cls`` saved in ``path`` (``.yaml``/``.yml``, ``.toml``,
    ``.json``; see :func:`save_config`) with ``overrides`` on top. Fields the file leaves
    out take their defaults. A key that is not a field of ``cls`` raises ``ValueError``
    naming it and listing the fields; values are converted as the field's type says
    (lists to tuples, ``"none"`` to ``None`` where allowed, numbers written as text)."""
    path = Path(path)
    return config_from_dict(cls, read_config_file(path), what=f"{path.name} ({cls.__name__})",
                            **overrides)


# ------------------------------------------------------------------ learning-curve logs

def _log_scalar(value) -> bool:
    return value is None or isinstance(value, str | bool | int | float | np.generic)


class CSVLog:
    """A learning curve as CSV, one row per record, written the way every trainer needs
    for exact resumption: :meth:`rewrite` writes the whole file from the history (a resumed
    run starts from its checkpoint's history, so rows logged after that checkpoint go), and
    :meth:`append` adds one row. ``fields`` fixes the columns (MAPPO's ``LOG_FIELDS``);
    ``None`` takes the union of the records' scalar keys in order of first appearance, and
    a record with a new key rewrites the file with the wider header."""

    def __init__(self, path: str | Path, fields: tuple[str, ...] | None = None) -> None:
        self.path = Path(path)
        self.fixed = fields is not None
        self.fields: list[str] = list(fields or ())

    def _widen(self, record: dict) -> bool:
        new = [k for k, v in record.items() if k not in self.fields and _log_scalar(v)]
        self.fields += new
        return bool(new)

    def rewrite(self, history: list[dict]) -> Path:
        if not self.fixed:
            for record in history:
                self._widen(record)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.fields, lineterminator="\n",
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(history)
        return atomic_write_text(self.path, buffer.getvalue())

    def append(self, record: dict, history: list[dict]) -> None:
        """Add ``record`` (the last of ``history``); with a new column, rewrite from
        ``history``."""
        if not self.fixed and self._widen(record):
            self.rewrite(history)
            return
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.fields, lineterminator="\n",
                           extrasaction="ignore").writerow(record)


TENSORBOARD_HINT = ("TensorBoard logging (tensorboard_dir) needs the tensorboard package: "
                    "pip install tensorboard (or pip install 'rrmbook[tensorboard]')")


def require_tensorboard():
    """``torch.utils.tensorboard.SummaryWriter``; ``ImportError`` with the install line
    when the ``tensorboard`` package is missing."""
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ImportError(TENSORBOARD_HINT) from None
    return SummaryWriter


class TrainingLog:
    """What a trainer writes beside its checkpoint: a CSV learning curve (``csv_path``)
    and TensorBoard scalars (``tensorboard_dir``: one scalar per numeric record field, at
    the record's ``step`` counter: ``slots``, ``steps`` or ``updates``). Both optional;
    with neither nothing is written.

    Use: construct, :meth:`check` and :meth:`check_folders` before any work (a missing
    ``tensorboard`` package, an earlier run's files on a fresh run, a folder that cannot be
    written: all refused),
    :meth:`start` with the history the run starts from (``[]``, or a checkpoint's), then
    :meth:`add` every record and :meth:`close` at the end."""

    def __init__(self, csv_path: str | Path | None = None,
                 tensorboard_dir: str | Path | None = None, *, step: str,
                 fields: tuple[str, ...] | None = None) -> None:
        self.csv = CSVLog(csv_path, fields) if csv_path is not None else None
        self.tb_dir = Path(tensorboard_dir) if tensorboard_dir is not None else None
        self.step = step
        self.writer = None

    def _events(self) -> list[Path]:
        if self.tb_dir is None or not self.tb_dir.is_dir():
            return []
        return sorted(self.tb_dir.glob("events.out.tfevents.*"))

    def check(self, resume: bool, overwrite: bool) -> None:
        """Refuse, before any work: TensorBoard without its package; on a fresh run (not
        ``resume``) without ``overwrite``, a CSV or TensorBoard folder holding an earlier
        run's log. (:meth:`check_folders` then refuses folders that cannot be written.)"""
        if self.tb_dir is not None:
            require_tensorboard()
        if not resume and not overwrite:
            refuse_to_replace(self.csv.path if self.csv else None)
            if self._events():
                raise FileExistsError(
                    f"{self.tb_dir} already holds TensorBoard logs from an earlier run: resume "
                    f"it (resume=True, or --resume) or replace them (overwrite=True, --overwrite)")

    def check_folders(self) -> None:
        """The log folders exist and can be written (see :func:`writable_dir`)."""
        if self.csv is not None:
            writable_dir(self.csv.path.parent, "log_csv's folder")
        if self.tb_dir is not None:
            writable_dir(self.tb_dir, "tensorboard_dir")

    def start(self, history: list[dict], resume: bool = False) -> None:
        """Write the CSV from ``history`` and open the TensorBoard writer; a resumed run
        hides the events an interrupted run logged after its checkpoint (TensorBoard's
        ``purge_step``), a fresh one removes the old event files (``overwrite``)."""
        if self.csv is not None:
            self.csv.rewrite(history)
        if self.tb_dir is not None:
            SummaryWriter = require_tensorboard()
            if not resume:
                for old in self._events():
                    old.unlink()
            purge = (int(history[-1].get(self.step, 0)) + 1 if history else 0) if resume \
                else None
            self.writer = SummaryWriter(str(self.tb_dir), purge_step=purge)

    def add(self, record: dict, history: list[dict]) -> None:
        if self.csv is not None:
            self.csv.append(record, history)
        if self.writer is not None:
            step = int(record[self.step])
            for key, value in record.items():
                if key != self.step and isinstance(value, int | float | np.number) \
                        and not isinstance(value, bool):
                    self.writer.add_scalar(key, float(value), step)
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


@contextlib.contextmanager
def log_closed(log: TrainingLog):
    """Close ``log`` (its TensorBoard writer) when the block ends, however it ends."""
    try:
        yield log
    finally:
        log.close()
