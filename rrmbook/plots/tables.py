"""Plain HTML tables for the chapters (formatting only: no styling, no escaping)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any

__all__ = ["table_html", "show_table"]


def _cell(value: Any, float_format: str | None) -> str:
    if float_format is not None and isinstance(value, Real) and not isinstance(value, Integral):
        return format(value, float_format)
    return f"{value}"


def table_html(header: Sequence[Any], rows: Iterable[Sequence[Any]],
               float_format: str | None = None) -> str:
    """The HTML of a table: a row of ``<th>`` for ``header``, a row of ``<td>`` per row.

    Cells are written with ``str``.  With ``float_format`` (e.g. ``".2f"``) every
    non-integer number in ``rows`` (Python or NumPy float) is written as
    ``format(value, float_format)`` instead; text, integers, booleans and the header stay
    as they are.
    """
    head = "<tr>" + "".join(f"<th>{c}</th>" for c in header) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td>{_cell(c, float_format)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return "<table>" + head + body + "</table>"


def show_table(header: Sequence[Any], rows: Iterable[Sequence[Any]],
               float_format: str | None = None) -> None:
    """Display ``rows`` under ``header`` as an HTML table in a notebook: the helper every
    chapter shares (see :func:`table_html` for ``float_format``).  Returns ``None``, so a
    call at the end of a cell shows the table once."""
    from IPython.display import HTML, display

    display(HTML(table_html(header, rows, float_format)))
