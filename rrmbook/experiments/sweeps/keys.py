"""The names of cells in a store (used by the spec, and by methods that read another
sweep's store)."""

from __future__ import annotations

__all__ = ["cell_key", "fmt_load"]


def fmt_load(load) -> str:
    """A load as it appears in a cell key: a preset name, ``repr(float)`` or ``none``."""
    return "none" if load is None else (load if isinstance(load, str) else repr(float(load)))


def cell_key(scenario: str, load, drop: int | None, label: str, seed: int) -> str:
    """The cell's name in the store: readable and safe as a file name."""
    parts = [scenario, fmt_load(load)] + ([f"d{drop}"] if drop is not None else [])
    return "__".join(parts + [label, f"s{seed}"])
