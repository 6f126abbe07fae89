"""The book's one colour and label table: one method, one key, one colour, one label.

:data:`METHODS` is the single source; :data:`METHOD_COLORS`, :data:`METHOD_LABELS` and
:data:`METHOD_LINESTYLES` are views of it.  Names are normalised by :func:`method_key`
(case, spaces and dashes ignored); older spellings found in shipped result files
(``marl_shared`` for ``mappo_shared``, ...) are mapped to the one key by
:data:`METHOD_ALIASES`, so old files still plot in the right colours.
"""

from __future__ import annotations

import zlib
from typing import NamedTuple

__all__ = [
    "MethodStyle",
    "METHODS",
    "METHOD_ALIASES",
    "METHOD_COLORS",
    "METHOD_LABELS",
    "METHOD_LINESTYLES",
    "method_key",
    "color_of",
    "label_of",
    "linestyle_of",
]


class MethodStyle(NamedTuple):
    """How one method is drawn; ``label`` ``None`` means "the name itself"."""

    color: str
    label: str | None = None
    linestyle: str = "-"


#: One row per method.  Related methods get related colours (the two GMS variants are
#: blues, the learned policies warm colours).  The paper's GMS uses one independent set on
#: every subband; the book's multi-channel GMS re-runs the greedy on each subband.  WMMSE is
#: the same iteration as FP in the scalar case (chapter 4), so it is drawn dashed over FP.
#: The variants of the authors' public code (``*_paper_code``, ``*_all_links``) take a
#: lighter shade of their SPEC method's colour.
METHODS: dict[str, MethodStyle] = {
    # conflict-graph baselines
    "gms": MethodStyle("#1f77b4", "GMS (paper: one set)"),
    "gms_multichannel": MethodStyle("#17becf", "GMS (multi-channel)"),
    "max_weight": MethodStyle("#2ca02c", "max-weight"),
    "llq": MethodStyle("#9467bd", "LLQ"),
    "qcsma": MethodStyle("#8c564b", "Q-CSMA"),
    "random": MethodStyle("#7f7f7f", "random"),
    "gms_paper_code": MethodStyle("#6baed6", "GMS (paper code)"),
    "qcsma_paper_code": MethodStyle("#c49c94", "Q-CSMA (paper code)"),
    "qcsma_multichannel": MethodStyle("#e7969c", "Q-CSMA (multi-channel)"),
    # learned (multi-agent PPO)
    "mappo_shared": MethodStyle("#d62728", "MARL shared"),
    "mappo_separate": MethodStyle("#ff7f0e", "MARL separate"),
    # multi-cell baselines
    "fp": MethodStyle("#2ca02c", "FP"),
    "wmmse": MethodStyle("#e377c2", "WMMSE", "--"),
    "fp_all_links": MethodStyle("#98df8a", "FP (all links)"),
    "wmmse_all_links": MethodStyle("#f7b6d2", "WMMSE (all links)"),
    "wmmse_sum_power": MethodStyle("#ad494a", "WMMSE (one budget per AP)", ":"),
    "fair_itlinq": MethodStyle("#bcbd22", "Fair-ITLinQ"),
    "itlinq": MethodStyle("#bcbd22", "ITLinQ"),
    "full_power": MethodStyle("#4d4d4d", "full power"),
    "greedy": MethodStyle("#9467bd", "greedy"),
    # proportional-fair scheduling
    "random_walk": MethodStyle("#7f7f7f", "random walk"),
    "random_ue": MethodStyle("#c7c7c7", "random UE (no top-N)"),
    "pf_top1": MethodStyle("#5254a3", "PF top-1"),
    "pf_threshold": MethodStyle("#9c9ede", "PF threshold"),
    "tdm": MethodStyle("#8c564b", "TDM"),
    "cql_centralised": MethodStyle("#d62728", "CQL (centralised)"),
    "cql_independent": MethodStyle("#ff9896", "CQL (independent)"),
    "cql_ctde": MethodStyle("#ff7f0e", "CQL (CTDE)"),
    # CTDE-CQL by dataset source (Fig. 7a)
    "cql_ctde_dqn_data": MethodStyle("#aec7e8", "CTDE-CQL on DQN data"),
    "cql_ctde_mixed_data": MethodStyle("#98df8a", "CTDE-CQL on SAC + DQN data"),
    "cql_ctde_baseline_data": MethodStyle("#bcbd22", "CTDE-CQL on baseline data"),
    "cql_ctde_random_data": MethodStyle("#c7c7c7", "CTDE-CQL on random data"),
    "dqn": MethodStyle("#aec7e8", "DQN"),
    "sac": MethodStyle("#c5b0d5", "SAC"),
    "online_sac": MethodStyle("#e377c2", "online SAC (centralised)"),
    "online_dqn": MethodStyle("#1f77b4", "online DQN (centralised)"),
    "cql_sac_centralised": MethodStyle("#d62728", "CQL-SAC (centralised)"),
    "cql_dqn_centralised": MethodStyle("#17becf", "CQL-DQN (centralised)"),
    # dataset sources (Fig. 7a of Eldeeb & Alves)
    "sac+dqn": MethodStyle("#c49c94"),
    "baselines": MethodStyle("#bcbd22"),
}

#: Other spellings of a method (after :func:`method_key`'s normalisation) -> its one key.
#: ``table4.json`` and the Table IV timings name the MAPPO policies ``marl_*``.
METHOD_ALIASES: dict[str, str] = {
    "marl_shared": "mappo_shared",
    "marl_separate": "mappo_separate",
}

#: Colour of every method (a view of :data:`METHODS`).
METHOD_COLORS: dict[str, str] = {k: s.color for k, s in METHODS.items()}
#: Legend label of every method that has one (a view of :data:`METHODS`).
METHOD_LABELS: dict[str, str] = {k: s.label for k, s in METHODS.items() if s.label is not None}
#: Line styles of the methods not drawn solid (a view of :data:`METHODS`).
METHOD_LINESTYLES: dict[str, str] = {k: s.linestyle for k, s in METHODS.items()
                                     if s.linestyle != "-"}

_FALLBACK = ["#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d",
             "#31a354", "#756bb1", "#636363"]


def method_key(name: str) -> str:
    """The table key of method ``name``: lower case, dashes and spaces as underscores, old
    spellings mapped by :data:`METHOD_ALIASES`."""
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    return METHOD_ALIASES.get(key, key)


def color_of(name: str) -> str:
    """The book-wide colour of method ``name`` (case, spaces and dashes are ignored).

    Unknown names get a colour from a fixed palette chosen by a hash of the name, so the
    same name has the same colour in every figure and every run.
    """
    key = method_key(name)
    if key in METHOD_COLORS:
        return METHOD_COLORS[key]
    return _FALLBACK[zlib.crc32(key.encode()) % len(_FALLBACK)]


def label_of(name: str) -> str:
    """The legend label of method ``name`` (the name itself when it has none)."""
    return METHOD_LABELS.get(method_key(name), str(name))


def linestyle_of(name: str) -> str:
    """The book-wide line style of method ``name`` (solid unless it is in METHOD_LINESTYLES)."""
    return METHOD_LINESTYLES.get(method_key(name), "-")
