"""The one validation vocabulary.

Each function checks one value, raises a ``ValueError`` or ``TypeError`` whose message names
the field and what is allowed, and returns the value in its canonical type, so a config
checks its fields in one line each, before any work starts:

>>> from rrmbook import checks
>>> checks.positive_int("batch", 4)
4
>>> checks.positive_int("batch", 0)
Traceback (most recent call last):
...
ValueError: batch must be a positive integer, got 0
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any

import numpy as np

__all__ = ["positive_int", "non_negative_int", "positive", "non_negative", "in_range",
           "finite", "one_of", "boolean", "instance_of", "fits_in_memory"]


def _integer(name: str, value: Any, what: str) -> int:
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real) and math.isfinite(float(value)) and float(value).is_integer():
        return int(value)
    raise ValueError(f"{name} must be {what}, got {value!r}")


def _integer_from(name: str, value: Any, low: int, what: str) -> int:
    out = _integer(name, value, what)
    if out < low:
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return out


def positive_int(name: str, value: Any) -> int:
    """An integer >= 1 (integral floats such as ``2.0`` are accepted; booleans are not)."""
    return _integer_from(name, value, 1, "a positive integer")


def non_negative_int(name: str, value: Any) -> int:
    """An integer >= 0 (e.g. a seed)."""
    return _integer_from(name, value, 0, "a non-negative integer")


def _real(name: str, value: Any, what: str) -> float:
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return out


def finite(name: str, value: Any) -> float:
    """A finite real number."""
    return _real(name, value, "a finite number")


def _above_zero(name: str, value: Any, strict: bool) -> float:
    what = f"a finite number {'>' if strict else '>='} 0"
    out = _real(name, value, what)
    if out < 0 or (strict and out == 0):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return out


def positive(name: str, value: Any) -> float:
    """A finite number > 0."""
    return _above_zero(name, value, strict=True)


def non_negative(name: str, value: Any) -> float:
    """A finite number >= 0."""
    return _above_zero(name, value, strict=False)


def in_range(name: str, value: Any, low: float, high: float, *,
             low_open: bool = False, high_open: bool = False) -> float:
    """A finite number in the interval from ``low`` to ``high`` (closed unless an end is
    marked open)."""
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    what = f"a number in {left}{low}, {high}{right}"
    out = _real(name, value, what)
    if out < low or out > high or (low_open and out == low) or (high_open and out == high):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return out


def one_of(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """One of a fixed set of values (e.g. a mode or a variant name)."""
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; "
                         f"got {value!r}")
    return value


def boolean(name: str, value: Any) -> bool:
    """True or False (NumPy booleans accepted; 0/1 are not)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def instance_of(name: str, value: Any, cls: type | tuple[type, ...]) -> Any:
    """An instance of ``cls`` (a ``TypeError`` naming the expected and the given type)."""
    if not isinstance(value, cls):
        names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise TypeError(f"{name} must be a {names}, got {type(value).__name__}")
    return value


def _physical_memory() -> int:
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a laptop's 16 GiB
        return 16 * 2**30


def fits_in_memory(nbytes: float, what: str, fix: str, share: float = 0.5) -> None:
    """Refuse, before allocating, a request whose estimated size ``nbytes`` exceeds ``share``
    of this machine's physical memory: a ``ValueError`` that says ``what`` needs how much and
    ``fix``, the fields to change (numpy's own ``MemoryError`` comes after the work, or
    never, when the system starts swapping)."""
    limit = share * _physical_memory()
    if nbytes > limit:
        raise ValueError(f"{what} would need about {nbytes / 2**30:,.1f} GiB, more than "
                         f"{share:.0%} of this machine's {_physical_memory() / 2**30:.0f} GiB; "
                         f"{fix}")
