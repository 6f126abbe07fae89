"""Scoring a PF model against what Eldeeb & Alves say about their Fig. 4 (issue 14).

The paper prints no numbers for its baselines, only statements about the order of the bars
(Sec. V-B): random walk has the worst sum rate, 5th-percentile rate and score; greedy
maximises the sum rate at the expense of the 5th percentile, while TDM puts the 5th
percentile before the sum rate; ITLinQ has the best score of the baselines; both online
learners score above every baseline; online DQN reaches the largest sum rate but a clearly
lower 5th percentile than online SAC, whose 5th percentile is about 0.28, so SAC scores
above DQN.  Whether our model reproduces them depends on parameters the paper leaves open
(shadowing, PF averaging, the weight floor, noise, whether a silent AP interferes), so a
calibration sweep scores every candidate setting with :func:`fig4_statements`.

Each statement is judged on 95 % intervals over seeds (:func:`~rrmbook.metrics.compare_intervals`):
``"holds"`` when every comparison it makes is separated in its favour, ``"fails"`` when at
least one is separated against it, ``"indistinguishable"`` otherwise.  A statement about a
value ("about 0.28") holds when the interval lies within ``tolerance`` of it and fails when
it lies outside.  "At the expense of the 5th percentile" is read as "below TDM's and
ITLinQ's", not "the lowest of all", which would contradict random walk's worst tail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..metrics import compare_intervals

__all__ = ["PAPER_PF_BASELINES", "FIG4_STATEMENTS", "LEARNER_STATEMENTS", "fig4_statements",
           "calibration_table", "judge_all", "judge_extreme", "judge_value"]

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


def judge_all(*verdicts: str) -> str:
    """A statement made of several comparisons: holds if all hold, fails if any fails."""
    if all(v == HOLDS for v in verdicts):
        return HOLDS
    return FAILS if FAILS in verdicts else UNCLEAR


def _lowest(iv, b, role, metric):
    return judge_extreme(iv, b[role], metric, list(b.values()), lowest=True)


#: (statement, how it is judged) for the paper's text about Fig. 4; ``b`` maps the roles
#: random_walk / greedy / tdm / itlinq to method names, ``ln`` the roles sac / dqn
FIG4_STATEMENTS: list[tuple[str, Callable]] = [
    ("random walk has the lowest sum rate of the baselines",
     lambda iv, b, ln: _lowest(iv, b, "random_walk", "sum_rate")),
    ("random walk has the lowest 5th-percentile rate of the baselines",
     lambda iv, b, ln: _lowest(iv, b, "random_walk", "p5_rate")),
    ("random walk has the lowest score of the baselines",
     lambda iv, b, ln: _lowest(iv, b, "random_walk", "score")),
    ("greedy has the highest sum rate of the baselines",
     lambda iv, b, ln: judge_extreme(iv, b["greedy"], "sum_rate", list(b.values()),
                                    lowest=False)),
    ("greedy's 5th-percentile rate is below TDM's and ITLinQ's",
     lambda iv, b, ln: judge_extreme(iv, b["greedy"], "p5_rate", [b["tdm"], b["itlinq"]],
                                    lowest=True)),
    ("TDM has a lower sum rate and a higher 5th-percentile rate than greedy",
     lambda iv, b, ln: judge_all(
         judge_extreme(iv, b["tdm"], "sum_rate", [b["greedy"]], lowest=True),
         judge_extreme(iv, b["tdm"], "p5_rate", [b["greedy"]], lowest=False))),
    ("ITLinQ has the highest score of the baselines",
     lambda iv, b, ln: judge_extreme(iv, b["itlinq"], "score", list(b.values()), lowest=False)),
    ("online SAC and DQN both score above every baseline",
     lambda iv, b, ln: judge_all(*(judge_extreme(iv, ln[k], "score", list(b.values()),
                                                 lowest=False) for k in ("sac", "dqn")))),
    ("online DQN reaches the largest sum rate of all",
     lambda iv, b, ln: judge_extreme(iv, ln["dqn"], "sum_rate", list(b.values()) + [ln["sac"]],
                                    lowest=False)),
    ("online DQN's 5th-percentile rate is below online SAC's",
     lambda iv, b, ln: judge_extreme(iv, ln["dqn"], "p5_rate", [ln["sac"]], lowest=True)),
    ("online SAC's 5th-percentile rate is about 0.28",
     lambda iv, b, ln: judge_value(iv, ln["sac"], "p5_rate", 0.28)),
    ("online SAC scores above online DQN",
     lambda iv, b, ln: judge_extreme(iv, ln["sac"], "score", [ln["dqn"]], lowest=False)),
]
#: the statements that name an online learner (left out when no learner is given)
LEARNER_STATEMENTS = frozenset(t for t, _ in FIG4_STATEMENTS if "online" in t)


def fig4_statements(report, sac: str | None = "online_sac", dqn: str | None = "online_dqn",
                    suffix: str = "", random_walk: str = "random_walk", **where) -> list[dict]:
    """Judge every statement of :data:`FIG4_STATEMENTS` on a sweep report (rows of the four
    baselines ``random_walk``, ``greedy``, ``tdm``, ``itlinq`` and, if named, the online
    learners; ``suffix`` is appended to every method name, e.g. ``"+sigma4"`` for the rows
    of one setting of a calibration sweep; ``random_walk`` names the method that plays
    random walk, e.g. ``"random_ue"`` for the reading without the top-N filter; ``where``
    narrows rows down, e.g. ``scenario=``).  The statements about the learners are left out
    unless both are given.  Returns ``[{"statement", "verdict"}]``."""
    def interval(method, metric):
        return report.interval(method + suffix, metric, **where)

    roles = dict(zip(PAPER_PF_BASELINES, (random_walk,) + PAPER_PF_BASELINES[1:], strict=True))
    learners = {"sac": sac, "dqn": dqn}
    with_learners = sac is not None and dqn is not None
    return [{"statement": text, "verdict": judge(interval, roles, learners)}
            for text, judge in FIG4_STATEMENTS
            if with_learners or text not in LEARNER_STATEMENTS]


def calibration_table(report, settings: Sequence[str], **kwargs) -> dict[str, dict[str, str]]:
    """``{setting: {statement: verdict}}`` for the settings of a calibration sweep whose
    method labels are ``<method>+<setting>`` (``kwargs`` as for :func:`fig4_statements`,
    learners named without the suffix)."""
    return {tag: {s["statement"]: s["verdict"]
                  for s in fig4_statements(report, suffix=f"+{tag}", **kwargs)}
            for tag in settings}
