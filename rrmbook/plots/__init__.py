"""Matplotlib figures used by the chapters, the widgets and ``rrmbook reproduce``.

Every function is pure: it takes data (a :class:`~rrmbook.evaluate.Results`, a dict of them,
a graph, a layout or plain arrays), draws on the ``ax`` it is given (or on a new one) and
returns the axes.  Nothing here runs a simulation.  One method keeps one colour across the
whole book: :data:`~rrmbook.plots.style.METHODS` in :mod:`rrmbook.plots.style` is the one
table of colours, legend labels and line styles, read through :func:`color_of`,
:func:`label_of` and :func:`linestyle_of`.

=============================  ===============================================================
function                       what it draws (module)
=============================  ===============================================================
``color_of``                   a method's book-wide colour (``style``)
``label_of``                   a method's legend label (``style``)
``linestyle_of``               a method's line style, solid unless listed (``style``)
``method_key``                 the table key of a method name, old spellings mapped (``style``)
``delay_cdf``                  step CDFs of packet delays, dashed line at each maximum (Fig. 7)
``mean_delay_bars``            grouped bars of average delay per load and method (Fig. 8)
``delay_vs_load``              average delay against the arrival rate, optional capacity line
``delay_quantile_cdf``         CDFs stored as quantiles (the shipped result files)
``queue_traces``               total queue length over time (moving average)
``arrival_departure_curves``   cumulative arrivals/departures of one FIFO queue, packet delays
``decision_time_bars``         time per decision per method, with published values
``ema``                        exponential moving average (re-exported from rrmbook.metrics)
``training_curve``             mean reward per update and its moving average (Figs. 12-13)
``mismatch_table``             Table V as a coloured grid of verdicts and delays
``draw_conflict_graph``        a conflict graph, devices coloured by agent (``conflict``)
``activity_grid``              which device is on in which slot (a raster) (``conflict``)
``subband_schedules``          one conflict-graph panel per subband: served, collided, wasted
``draw_layout``                APs, devices, cells and neighbour links (``cellular``)
``path_loss_curve``            path loss against distance, marked distances, optional SNR axis
``fading_trace``               a fading gain |beta|^2 in dB over time (``cellular``)
``autocorrelation``            empirical autocorrelation against reference curves (``cellular``)
``sinr_map``                   SINR (dB) at every point of a grid, with the layout on top
``objective_history``          objective value against iteration (FP, WMMSE, ...) (``cellular``)
``rate_panels``                sum rate, 5th-percentile rate and score bars (``pf``, Figs. 4-7)
``report_rates``               the three rates of some methods of a sweep report, as intervals
``interval_bars``              grouped bars of means with confidence-interval error bars
``interval_lines``             means against load with confidence bands (``intervals``)
``as_interval``                (mean, low, high) of an Interval, a report row or a triple
``table_html``                 the HTML of a plain table (``tables``)
``show_table``                 display a plain HTML table in a notebook (``tables``)
=============================  ===============================================================

Unmarked functions live in ``common`` (family-independent figures); ``subband_schedules`` is
in ``conflict``, ``path_loss_curve`` and ``sinr_map`` in ``cellular``.  Constants:
``METHODS``, ``MethodStyle``, ``METHOD_ALIASES``, ``METHOD_COLORS``, ``METHOD_LABELS``,
``METHOD_LINESTYLES`` (``style``), ``AGENT_COLORS`` (``conflict``), ``VERDICT_COLORS``
(``common``) and ``RATE_METRICS`` (``pf``).
"""

from __future__ import annotations

from .cellular import (
    autocorrelation,
    draw_layout,
    fading_trace,
    objective_history,
    path_loss_curve,
    sinr_map,
)
from .common import (
    VERDICT_COLORS,
    arrival_departure_curves,
    decision_time_bars,
    delay_cdf,
    delay_quantile_cdf,
    delay_vs_load,
    ema,
    mean_delay_bars,
    mismatch_table,
    queue_traces,
    training_curve,
)
from .conflict import AGENT_COLORS, activity_grid, draw_conflict_graph, subband_schedules
from .intervals import as_interval, interval_bars, interval_lines
from .pf import RATE_METRICS, rate_panels, report_rates
from .style import (
    METHOD_ALIASES,
    METHOD_COLORS,
    METHOD_LABELS,
    METHOD_LINESTYLES,
    METHODS,
    MethodStyle,
    color_of,
    label_of,
    linestyle_of,
    method_key,
)
from .tables import show_table, table_html

__all__ = [
    # style
    "METHODS",
    "MethodStyle",
    "METHOD_ALIASES",
    "METHOD_COLORS",
    "METHOD_LABELS",
    "METHOD_LINESTYLES",
    "method_key",
    "color_of",
    "label_of",
    "linestyle_of",
    # family-independent
    "delay_cdf",
    "mean_delay_bars",
    "delay_vs_load",
    "delay_quantile_cdf",
    "queue_traces",
    "arrival_departure_curves",
    "decision_time_bars",
    "ema",
    "training_curve",
    "VERDICT_COLORS",
    "mismatch_table",
    # confidence intervals
    "as_interval",
    "interval_bars",
    "interval_lines",
    # conflict graphs
    "AGENT_COLORS",
    "draw_conflict_graph",
    "activity_grid",
    "subband_schedules",
    # multi-cell networks
    "draw_layout",
    "path_loss_curve",
    "fading_trace",
    "autocorrelation",
    "sinr_map",
    "objective_history",
    # proportional-fair scheduling
    "RATE_METRICS",
    "rate_panels",
    "report_rates",
    # tables
    "table_html",
    "show_table",
]
