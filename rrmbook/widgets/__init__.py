"""Interactive dashboards (ipywidgets).  Thin: they call the library and :mod:`rrmbook.plots`.

Every dashboard comes in two halves that share one code path:

* a *figure function* (:func:`conflict_dashboard_figure`, :func:`cellular_dashboard_figure`,
  :func:`policy_dashboard_figure`, :func:`offline_dashboard_figure`) that runs the simulations for given values and draws the
  figure, used by the HTML book (which cannot run widgets) and by tests;
* the *dashboard* (:func:`conflict_dashboard`, :func:`cellular_dashboard`,
  :func:`offline_dashboard`), a set of controls whose every change calls ``update`` (the
  offline dashboard, which trains a learner, waits for its *train* button instead); ``update``
  can also be called from code.

Importing this module needs no display; widgets are only built when a dashboard is created.

One module per model family: :mod:`~rrmbook.widgets.conflict` (chapter 3),
:mod:`~rrmbook.widgets.cellular` (chapter 4), :mod:`~rrmbook.widgets.policy` (the shipped
learned policies beside a baseline, chapters 6 and 7) and :mod:`~rrmbook.widgets.offline`
(chapter 9);
the machinery they share (controls, message line, output area, ``update``) is the abstract
``Dashboard`` of ``rrmbook.widgets._base``.
"""

from __future__ import annotations

from .cellular import (
    CELLULAR_LAYOUTS,
    DEFAULT_CELLULAR_POLICIES,
    CellularDashboard,
    CellularDashboardSettings,
    cellular_dashboard,
    cellular_dashboard_figure,
    draw_cellular_dashboard,
    make_cellular_env,
    run_cellular_dashboard,
)
from .conflict import (
    DEFAULT_POLICIES,
    TOPOLOGIES,
    ConflictDashboard,
    DashboardSettings,
    conflict_dashboard,
    conflict_dashboard_figure,
    draw_conflict_dashboard,
    parse_multipliers,
    run_conflict_dashboard,
)
from .offline import (
    OFFLINE_SOURCES,
    OfflineDashboard,
    OfflineDashboardSettings,
    OfflineRun,
    behaviour_policies,
    draw_offline_dashboard,
    offline_dashboard,
    offline_dashboard_dataset,
    offline_dashboard_figure,
    run_offline_dashboard,
)
from .policy import (
    POLICY_SCENARIOS,
    PolicyDashboard,
    PolicyDashboardSettings,
    draw_policy_dashboard,
    policy_dashboard,
    policy_dashboard_figure,
    run_policy_dashboard,
    shipped_policies,
)

__all__ = [
    "TOPOLOGIES",
    "DEFAULT_POLICIES",
    "DashboardSettings",
    "parse_multipliers",
    "run_conflict_dashboard",
    "draw_conflict_dashboard",
    "conflict_dashboard_figure",
    "ConflictDashboard",
    "conflict_dashboard",
    "CELLULAR_LAYOUTS",
    "DEFAULT_CELLULAR_POLICIES",
    "CellularDashboardSettings",
    "make_cellular_env",
    "run_cellular_dashboard",
    "draw_cellular_dashboard",
    "cellular_dashboard_figure",
    "CellularDashboard",
    "cellular_dashboard",
    "OFFLINE_SOURCES",
    "OfflineDashboardSettings",
    "OfflineRun",
    "offline_dashboard_dataset",
    "behaviour_policies",
    "run_offline_dashboard",
    "draw_offline_dashboard",
    "offline_dashboard_figure",
    "OfflineDashboard",
    "offline_dashboard",
    "POLICY_SCENARIOS",
    "PolicyDashboardSettings",
    "shipped_policies",
    "run_policy_dashboard",
    "draw_policy_dashboard",
    "policy_dashboard_figure",
    "PolicyDashboard",
    "policy_dashboard",
]

