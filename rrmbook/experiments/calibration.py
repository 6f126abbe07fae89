"""Scoring a PF model against what Eldeeb & Alves say about their Fig. 4 (issue 14).

The paper prints no numbers for its baselines, only statements about the order of the bars:
random walk is the worst in sum rate, 5th-percentile rate and score; greedy reaches the
highest sum rate of the baselines and the lowest tail; ITLinQ is the best baseline; online
DQN reaches the largest sum rate of all; online SAC's 5th percentile is about 0.28.  Whether
our model reproduces them depends on parameters the paper leaves open (shadowing, PF
averaging, the weight floor, noise, whether a silent AP interferes), so a calibration sweep
scores every candidate setting with :func:`fig4_statements`.

Each statement is judged on 95 % intervals over seeds (:func:`~rrmbook.metrics.compare_intervals`):
``"holds"`` when every comparison it makes is separated in its favour, ``"fails"`` when at
least one is separated against it, ``"indistinguishable"`` otherwise.  A statement about a
value ("about 0.28") holds when the interval lies within ``tolerance`` of it and fails when
it lies outside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..metrics import compare_intervals

__all__ = ["PAPER_PF_BASELINES", "FIG4_STATEMENTS", "fig4_statements", "calibration_table",
           "judge_extreme", "judge_value"]

#: the four baselines of the paper's Fig. 4
PAPER_PF_BASELINES = ("random_walk", "greedy", "tdm", "itlinq")

HOLDS, FAILS, UNCLEAR = "holds", "fails", "indistinguishable"


def judge_extreme(interval: Callable, method: str, metric: str, others: Sequence[str],
                  lowest: bool) -> str:
    """Whether ``method`` has the lowest (or highest) ``metric`` among ``others``;
    ``interval(method, metric)`` gives an interval (``low``, ``high``)."""
    want = "<" if lowest else ">"
    against = ">" if lowest else "<"
    verdicts = [compare_intervals(interval(method, metric), interval(o, metric))
                for o in others if o != method]
    if all(v == want for v in verdicts):
        return HOLDS
    return FAILS if any(v == against for v in verdicts) else UNCLEAR


def judge_value(interval: Callable, method: str, metric: str, value: float,
                tolerance: float = 0.1) -> str:
    """Whether ``method``'s ``metric`` is about ``value`` (within ± ``tolerance`` × value)."""
    iv = interval(method, metric)
    band = (value * (1 - tolerance), value * (1 + tolerance))
    if band[0] <= iv.low and iv.high <= band[1]:
        return HOLDS
    return FAILS if compare_intervals(iv, band) != "overlap" else UNCLEAR


#: (statement, how it is judged) for the paper's text about Fig. 4; ``b`` are the baselines
#: and ``learners`` the online learners present
FIG4_STATEMENTS: list[tuple[str, Callable]] = [
    ("random walk has the lowest sum rate of the baselines",
     lambda iv, b, ln: judge_extreme(iv, "random_walk", "sum_rate", b, lowest=True)),
    ("random walk has the lowest 5th-percentile rate of the baselines",
     lambda iv, b, ln: judge_extreme(iv, "random_walk", "p5_rate", b, lowest=True)),
    ("random walk has the lowest score of the baselines",
     lambda iv, b, ln: judge_extreme(iv, "random_walk", "score", b, lowest=True)),
    ("greedy has the highest sum rate of the baselines",
     lambda iv, b, ln: judge_extreme(iv, "greedy", "sum_rate", b, lowest=False)),
    ("greedy has the lowest 5th-percentile rate of the baselines",
     lambda iv, b, ln: judge_extreme(iv, "greedy", "p5_rate", b, lowest=True)),
    ("ITLinQ has the highest score of the baselines",
     lambda iv, b, ln: judge_extreme(iv, "itlinq", "score", b, lowest=False)),
    ("online DQN reaches the largest sum rate of all",
     lambda iv, b, ln: judge_extreme(iv, ln["dqn"], "sum_rate", list(b) + [ln["sac"]],
                                    lowest=False)),
    ("online SAC's 5th-percentile rate is about 0.28",
     lambda iv, b, ln: judge_value(iv, ln["sac"], "p5_rate", 0.28)),
]


def fig4_statements(report, baselines: Sequence[str] = PAPER_PF_BASELINES,
                    sac: str | None = "online_sac", dqn: str | None = "online_dqn",
                    suffix: str = "", **where) -> list[dict]:
    """Judge every statement of :data:`FIG4_STATEMENTS` on a sweep report (rows of the
    baselines and, if named, the online learners; ``suffix`` is appended to every method
    name, e.g. ``"+sigma4"`` for the rows of one setting of a calibration sweep; ``where``
    narrows rows down, e.g. ``scenario=``).  Statements about a learner that is not given
    are left out.  Returns ``[{"statement", "verdict"}]``."""
    def interval(method, metric):
        return report.interval(method + suffix, metric, **where)

    learners = {"sac": sac, "dqn": dqn}
    out = []
    for text, judge in FIG4_STATEMENTS:
        if ("DQN" in text and dqn is None) or ("SAC" in text and sac is None):
            continue
        out.append({"statement": text, "verdict": judge(interval, tuple(baselines), learners)})
    return out


def calibration_table(report, settings: Sequence[str], **kwargs) -> dict[str, dict[str, str]]:
    """``{setting: {statement: verdict}}`` for the settings of a calibration sweep whose
    method labels are ``<method>+<setting>`` (``kwargs`` as for :func:`fig4_statements`,
    learners named without the suffix)."""
    return {tag: {s["statement"]: s["verdict"]
                  for s in fig4_statements(report, suffix=f"+{tag}", **kwargs)}
            for tag in settings}
