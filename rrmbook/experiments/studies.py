"""The studies that settle Zhang & Guo's open differences (issue 13): ``rrmbook reproduce
STUDY``.

A study is a chain of shipped sweep specs (:mod:`rrmbook.experiments.sweeps`) and a
summary: :func:`run_study` runs each sweep into its store (``results/sweeps/<sweep>``;
finished cells are never run again, so an interrupted study continues where it stopped),
exports each sweep's table with intervals to ``<out>/sweeps/<sweep>.json`` and writes the
study's own summary, ``<out>/studies/<study>.json`` (and a PNG where the study has a
figure), from those tables.  The summaries hold means, 95 % intervals over seeds and the
verdict of :func:`~rrmbook.metrics.compare_intervals` for every comparison they make.

==================  =================================================================
study               what it settles
==================  =================================================================
``paper-code``      the baselines as the authors' public code runs them (GMS, Q-CSMA,
                    FP and WMMSE on all links), Q-CSMA with one chain per subband and
                    WMMSE with one budget per AP, beside the SPEC versions
``table5-capacity`` Table V at 60 / 80 / 95 % of FP's measured capacity: three training
                    loads x three test loads, shared policies, 3 training seeds
``table5-ablations`` the changes that could explain the paper's train/test asymmetry:
                    raw queue features, γ = 0.995, episodes without the queue cut
``curves``          Figs. 12-13: 1.5M-slot learning curves of both modes with test
                    evaluations, and where they settle
``scaling-draws``   a policy trained on one layout against one trained on a new drop per
                    episode, on new 19-cell drops and on 37 and 61 cells, next to FP
``pf-calibration``  the unstated parameters of the PF model (shadowing, weight floor, PF
                    averaging, bandwidth, literal (E-7)) one at a time, scored against the
                    paper's statements about Fig. 4 for the baselines and online SAC/DQN
``ctde-local``      Eldeeb & Alves' CTDE-CQL against what local information allows: the
                    best local rule of a threshold search (``pf_threshold``) and
                    ``pf_top1``, and CTDE-CQL with the CQL weight, the critic, the action
                    choice and the reward ablated
==================  =================================================================

``load_study(name)`` reads the summary shipped in ``rrmbook/data/studies``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import atomic_write_json
from ..metrics import compare_intervals, mean_ci, paired_ci
from .zoo import data_dir

__all__ = ["Study", "STUDIES", "run_study", "summarise", "load_study", "STUDY_COMMAND"]

#: sweeps whose layout drops are pooled into one row per configuration when exported
POOLED = ("scaling-draws",)
#: how a shipped study summary is regenerated (from the repository root)
STUDY_COMMAND = "rrmbook reproduce {name} --out rrmbook/data"


@dataclass(frozen=True)
class Study:
    """A named chain of sweeps and the function that summarises their reports."""

    name: str
    description: str
    sweeps: tuple[str, ...]
    summary: Callable[[dict, dict], dict]   # (reports by sweep, stores by sweep) -> dict


def _iv(interval) -> dict:
    return {"n": interval.n, "mean": interval.mean, "low": interval.low, "high": interval.high}


# ------------------------------------------------------------------ the summaries
def _paper_code(reports: dict, stores: dict) -> dict:
    """SPEC version against paper-code version, per scenario and load (mean delay)."""
    pairs = {"fig8-paper-code": [("gms", "gms_paper_code"), ("qcsma", "qcsma_paper_code")],
             "fig8-qcsma": [("qcsma", "qcsma_multichannel"), ("llq", "qcsma_multichannel")],
             "fig9-all-links": [("fp", "fp_all_links"), ("fp", "wmmse_all_links")],
             "fig10-all-links": [("fp", "fp_all_links"), ("fp", "wmmse_all_links")],
             "hex19-sum-power": [("fp", "fp_all_links"), ("fp", "wmmse_sum_power"),
                                 ("fp_all_links", "wmmse_sum_power")]}
    rows = []
    for sweep, comparisons in pairs.items():
        rep = reports[sweep]
        loads = sorted({r["load"] for r in rep.rows}, key=str)
        scenario = rep.rows[0]["scenario"]
        for load in loads:
            for spec, variant in comparisons:
                a = rep.interval(spec, "mean_delay", load=load)
                b = rep.interval(variant, "mean_delay", load=load)
                rows.append({"sweep": sweep, "scenario": scenario, "load": load,
                             "spec": spec, "variant": variant, "spec_delay": _iv(a),
                             "variant_delay": _iv(b), "ratio": b.mean / a.mean,
                             "variant_vs_spec": compare_intervals(b, a)})
    return {"rows": rows}


def _cross_table(rep, labels: dict, metric: str) -> dict:
    """{train label: {test load: interval}} of a transfer sweep."""
    loads = sorted({r["load"] for r in rep.rows})
    return {name: {f"{ld:g}": _iv(rep.interval(label, metric, load=ld)) for ld in loads}
            for name, label in labels.items()}


def _table5_capacity(reports: dict, stores: dict) -> dict:
    transfer, base = reports["hex19-capacity-transfer"], reports["hex19-capacity-baselines"]
    loads = sorted({r["load"] for r in transfer.rows})
    labels = {f"{ld:g}": f"trained-{ld:g}" for ld in loads}
    out = {"loads": loads, "capacity_fp": CAPACITY["paper-hex19"],
           "mean_delay": _cross_table(transfer, labels, "mean_delay"),
           "unfinished": _cross_table(transfer, labels, "unfinished"),
           "delivered_share": {}, "baselines": {}, "best_trained": {}}
    for name, label in labels.items():
        out["delivered_share"][name] = {
            f"{ld:g}": transfer.interval(label, "delivered", load=ld).mean
            / transfer.interval(label, "arrived", load=ld).mean for ld in loads}
    for m in sorted({r["method"] for r in base.rows}):
        out["baselines"][m] = {f"{ld:g}": _iv(base.interval(m, "mean_delay", load=ld))
                               for ld in loads}
    # per test load: is the policy trained at that load better than those trained elsewhere?
    for ld in loads:
        own = transfer.interval(f"trained-{ld:g}", "mean_delay", load=ld)
        out["best_trained"][f"{ld:g}"] = {
            f"{other:g}": compare_intervals(own, transfer.interval(f"trained-{other:g}", "mean_delay",
                                                          load=ld))
            for other in loads if other != ld}
    return out


def _table5_ablations(reports: dict, stores: dict) -> dict:
    cross, base = reports["hex19-ablation-transfer"], reports["hex19-capacity-transfer"]
    loads = sorted({r["load"] for r in cross.rows})
    out = {"loads": loads, "ablations": {}}
    variants = {"base": ("trained-{}", base)} | {
        a: (a + "-{}", cross) for a in ("raw-queue", "gamma995", "no-cut")}
    for name, (pattern, rep) in variants.items():
        table = {f"{tr:g}": {f"{te:g}": _iv(rep.interval(pattern.format(f"{tr:g}"),
                                                         "mean_delay", load=te))
                             for te in loads} for tr in loads}
        light, heavy = f"{loads[0]:g}", f"{loads[-1]:g}"
        # the paper's asymmetry: heavy-trained fine at light load, light-trained fails at
        # heavy load -> at the heavy test load the heavy-trained policy is better, and at
        # the light test load the two are indistinguishable (or heavy-trained better)
        at_heavy = compare_intervals(table[heavy][heavy], table[light][heavy])
        at_light = compare_intervals(table[heavy][light], table[light][light])
        out["ablations"][name] = {
            "mean_delay": table, "heavy_vs_light_at_heavy": at_heavy,
            "heavy_vs_light_at_light": at_light,
            "paper_asymmetry": at_heavy == "<" and at_light in ("<", "overlap")}
    return out


_TAIL = 5  # tests that define a curve's final level


def _curves(reports: dict, stores: dict) -> dict:
    """Settling points of the test curves of ``hex19-curves`` per mode (a run that was
    still changing at the end of its budget is marked ``settled: False``; its settling
    point is then the budget, a lower bound), final test reward and delay, and training
    time, with the verdicts of shared against separate."""
    from ..analysis.cellular import plateau_slots

    store = Path(stores["hex19-curves"])
    out = {"modes": {}}
    for mode in ("shared", "separate"):
        runs = []
        for path in sorted((store / "cells").glob(f"*mappo_{mode}__s*.json")):
            rec = json.loads(path.read_text())
            if rec.get("status") != "ok" or "curve" not in rec:
                continue
            c = rec["curve"]
            tested = [i for i, v in enumerate(c["test_reward"]) if v is not None]
            slots = np.array(c["slots"], dtype=float)[tested]
            secs = np.array(c["time_s"], dtype=float)[tested]
            reward = np.array(c["test_reward"], dtype=float)[tested]
            settle = plateau_slots(slots, reward, tolerance=0.1, tail=_TAIL)
            # settled: at least the last `_TAIL` tests lie in the band (else the run was still
            # changing at the end of its budget, and its settling point is only a lower bound)
            settled = bool(np.searchsorted(slots, settle) <= len(slots) - _TAIL)
            runs.append({"seed": rec["cell"]["seed"], "slots": slots.tolist(), "settled": settled,
                         "time_s": secs.tolist(), "test_reward": reward.tolist(),
                         "test_mean_delay": [c["test_mean_delay"][i] for i in tested],
                         "train_reward": c["mean_reward"],
                         "train_slots": c["slots"], "settling_slots": settle,
                         "settling_s": float(np.interp(settle, slots, secs)),
                         "final_mean_delay": rec["metrics"]["mean_delay"]})
        if not runs:
            continue
        out["modes"][mode] = {
            "runs": runs,
            "settling_slots": _iv(mean_ci([r["settling_slots"] for r in runs])),
            "settling_s": _iv(mean_ci([r["settling_s"] for r in runs])),
            "settled_runs": sum(r["settled"] for r in runs),
            "train_s": _iv(mean_ci([r["time_s"][-1] for r in runs])),
            "final_test_reward": _iv(mean_ci([r["test_reward"][-1] for r in runs])),
            "final_mean_delay": _iv(mean_ci([r["final_mean_delay"] for r in runs]))}
    if len(out["modes"]) == 2:
        s, p = out["modes"]["shared"], out["modes"]["separate"]
        out["shared_vs_separate"] = {
            k: compare_intervals(s[k], p[k])
            for k in ("settling_slots", "settling_s", "final_test_reward", "final_mean_delay",
                      "train_s")}
    return out


def _scaling_draws(reports: dict, stores: dict) -> dict:
    rep = reports["scaling-draws"]
    out = {"sizes": {}}
    for cells in (19, 37, 61):
        fp = rep.interval(f"fp_c{cells}", "mean_delay")
        row = {"fp": _iv(fp)}
        for name in ("single-drop", "draws"):
            iv = rep.interval(f"{name}_c{cells}", "mean_delay")
            row[name] = _iv(iv)
            row[f"{name}_over_fp"] = iv.mean / fp.mean
            row[f"{name}_vs_fp"] = compare_intervals(iv, fp)
        row["draws_vs_single-drop"] = compare_intervals(
            rep.interval(f"draws_c{cells}", "mean_delay"),
            rep.interval(f"single-drop_c{cells}", "mean_delay"))
        out["sizes"][str(cells)] = row
    return out


def _sign(iv) -> str:
    """The verdict of a difference interval: ">" (above 0), "<" (below 0) or "overlap"."""
    return compare_intervals(iv, (0.0, 0.0))


def _ctde_local(reports: dict, stores: dict) -> dict:
    """Local rules (paired with ``pf_top1`` on the same evaluation seeds) and the CTDE-CQL
    ablations (each training seed's score, measured on the same evaluation seeds as the
    rules, against the rules' means there: the evaluation set is fixed, so the interval is
    over training seeds only); learners acting by their critics are paired with the same
    learners acting by their actors (same training seed)."""
    rules, abl = reports["pf-local-rules"], reports["pf-ctde-ablations"]
    values = lambda rep, m, k="score": rep.find(m)["metrics"][k]["values"]  # noqa: E731
    mean = lambda rep, m, k: rep.find(m)["metrics"][k]["mean"]  # noqa: E731
    top1 = values(rules, "pf_top1")
    out: dict = {"rules": {}, "learners": {}}
    for row in rules.rows:
        m = row["method"]
        diff = paired_ci(values(rules, m), top1)
        out["rules"][m] = {"score": _iv(rules.interval(m, "score")),
                           "silent": mean(rules, m, "silent"),
                           "mean_reward": mean(rules, m, "mean_reward"),
                           "minus_pf_top1": _iv(diff), "vs_pf_top1": _sign(diff)}
    thresholds = [m for m in out["rules"] if m.startswith("pf_threshold")]
    best = max(thresholds, key=lambda m: out["rules"][m]["score"]["mean"])
    out["best_rule"] = best
    refs = {"pf_top1": float(np.mean(top1)), "best_rule": float(np.mean(values(rules, best))),
            "itlinq": float(np.mean(values(rules, "itlinq")))}
    learner_reports = [abl] + [reports[n] for n in ("pf-ctde-act-by", "pf-ctde-utility")
                               if n in reports]
    for rep in learner_reports:
        for row in rep.rows:
            m = row["method"]
            v = values(rep, m)
            entry = {k: _iv(rep.interval(m, k)) for k in ("score", "sum_rate", "p5_rate",
                                                            "silent", "mean_reward")}
            for ref, level in refs.items():
                diff = paired_ci(v, level)
                entry[f"minus_{ref}"], entry[f"vs_{ref}"] = _iv(diff), _sign(diff)
            if m.endswith("+critic"):
                diff = paired_ci(v, values(abl, m.removesuffix("+critic")))
                entry["minus_actor"], entry["vs_actor"] = _iv(diff), _sign(diff)
            out["learners"][m] = entry
    # CTDE against independent CQL trained on the same reward
    for m in out["learners"]:
        reward = "utility" if "utility" in m else "pf"
        indep = [n for n in out["learners"] if n.startswith("cql_independent")
                 and ("utility" in n) == (reward == "utility")]
        if m.startswith("cql_ctde") and indep:
            out["learners"][m]["vs_independent"] = compare_intervals(
                _find_interval(learner_reports, m), _find_interval(learner_reports, indep[0]))
    return out


#: the order in which the calibration settings are shown (today's first)
CALIBRATION_SETTINGS = ("today", "sigma4", "sigma10", "floor0.1", "eta0.01", "eta0.5", "bw20",
                        "literal-e7")


def _pf_calibration(reports: dict, stores: dict) -> dict:
    """Every setting of the calibration sweeps judged by the Fig. 4 statements (with random
    walk as the paper defines it, and read as a random associated UE), the rates of every
    method there, and the default.  A failing statement is a contradiction (intervals
    separated against the paper), an undecided one only a lack of power, so today's setting
    stays the default unless another one contradicts the paper *less often*; among those,
    the one with the fewest fails, then the most statements that hold.  (Counting holds
    alone, the first rule tried, rewards whichever setting's learners happened to separate
    at the seeds run; the summary keeps that count too.)"""
    from .calibration import calibration_table
    from .sweeps import Report

    rows = [r for n in ("pf-calibration-baselines", "pf-calibration-readings",
                        "pf-calibration-learners") if n in reports for r in reports[n].rows]
    rep = Report("pf-calibration", rows)
    have = {r["method"] for r in rows}
    settings = [t for t in CALIBRATION_SETTINGS if f"random_walk+{t}" in have]
    learners = all(f"online_{k}+{t}" in have for k in ("sac", "dqn") for t in settings)
    kw = {} if learners else {"sac": None, "dqn": None}
    tables = {"paper": calibration_table(rep, settings, **kw)}
    if all(f"random_ue+{t}" in have for t in settings):
        tables["random_ue"] = calibration_table(rep, settings, random_walk="random_ue", **kw)
    counts = {reading: {t: {v: sum(1 for x in verdicts.values() if x == v)
                            for v in ("holds", "fails", "indistinguishable")}
                        for t, verdicts in table.items()}
              for reading, table in tables.items()}
    c = counts["paper"]
    fewest = min(c[t]["fails"] for t in settings)
    best = max(c[t]["holds"] for t in settings)
    if c["today"]["fails"] == fewest:
        default = "today"
    else:
        default = min((t for t in settings if c[t]["fails"] == fewest),
                      key=lambda t: (-c[t]["holds"], settings.index(t)))
    metrics = ("score", "sum_rate", "p5_rate", "silent")
    methods = sorted({m.split("+")[0] for m in have})
    rates = {t: {m: {k: _iv(rep.interval(f"{m}+{t}", k)) for k in metrics
                     if k in rep.find(f"{m}+{t}")["metrics"]}
                 for m in methods if f"{m}+{t}" in have} for t in settings}
    extra = sorted({m.split("+", 1)[1] for m in have} - set(settings))
    others = {m: {k: _iv(rep.interval(m, k)) for k in metrics if k in rep.find(m)["metrics"]}
              for m in sorted(have) if m.split("+", 1)[1] in extra}
    return {"settings": settings, "verdicts": tables, "counts": counts, "default": default,
            "fewest_fails": fewest, "most_holds": best,
            "settings_with_most_holds": [t for t in settings if c[t]["holds"] == best],
            "rates": rates, "other_rows": others}


def _find_interval(reps, method: str):
    for rep in reps:
        if any(r["method"] == method for r in rep.rows):
            return rep.interval(method, "score")
    raise KeyError(method)


#: FP's capacity on paper-hex19 (packets/s per device), measured by
#: ``rrmbook.analysis.capacity("paper-hex19", "fp", 20, 200, slots=5000, seeds=(0, 1, 2),
#: tol=2)``: stable at 59.4, unstable at 60.8 (chapter 7 reruns the search)
CAPACITY = {"paper-hex19": {"stable": 59.4, "unstable": 60.8}}

STUDIES: dict[str, Study] = {s.name: s for s in [
    Study("paper-code", "the baselines as the authors' code runs them, beside SPEC's",
          ("fig8-paper-code", "fig8-qcsma", "fig9-all-links", "fig10-all-links",
           "hex19-sum-power"),
          _paper_code),
    Study("table5-capacity", "Table V at 60 / 80 / 95 % of FP's capacity",
          ("hex19-capacity-loads", "hex19-capacity-baselines", "hex19-capacity-transfer"),
          _table5_capacity),
    Study("table5-ablations", "raw queues, gamma 0.995 and uncut episodes on Table V",
          ("hex19-capacity-loads", "hex19-capacity-transfer", "hex19-capacity-ablations",
           "hex19-ablation-transfer"), _table5_ablations),
    Study("curves", "Figs. 12-13 over 1.5M slots with test evaluations", ("hex19-curves",),
          _curves),
    Study("scaling-draws", "single-drop against layout-randomised training, 19-61 cells",
          ("hex19-mappo", "hex19-draws-mappo", "scaling-draws"), _scaling_draws),
    Study("pf-calibration", "the PF model's unstated parameters against the Fig. 4 statements",
          ("pf-calibration-baselines", "pf-calibration-readings", "pf-calibration-learners"),
          _pf_calibration),
    Study("ctde-local", "CTDE-CQL against the best local rule, with its ablations",
          ("pf-local-rules", "pf-ctde-ablations", "pf-ctde-act-by", "pf-ctde-utility"),
          _ctde_local),
]}


def _study(name: str) -> Study:
    if not isinstance(name, str) or name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; choose one of {sorted(STUDIES)}")
    return STUDIES[name]


def summarise(name: str, sweeps_dir: str | Path | None = None,
              stores: str | Path = "results/sweeps") -> dict:
    """The summary of study ``name`` from its sweeps' exported tables (``sweeps_dir``,
    default the shipped ``rrmbook/data/sweeps``) and, for the curves, their stores."""
    from .sweeps import Report

    study = _study(name)
    folder = Path(sweeps_dir) if sweeps_dir is not None else data_dir() / "sweeps"
    reports = {}
    for sweep in study.sweeps:
        path = folder / f"{sweep}.json"
        if not path.is_file():
            raise FileNotFoundError(f"study {name!r} needs the sweep {sweep!r} ({path}); run "
                                    f"`{STUDY_COMMAND.format(name=name)}`")
        reports[sweep] = Report.from_dict(json.loads(path.read_text()))
    summary = study.summary(reports, {s: Path(stores) / s for s in study.sweeps})
    return {"study": name, "description": study.description, "sweeps": list(study.sweeps),
            "command": STUDY_COMMAND.format(name=name)} | summary


def run_study(name: str, out_dir: str | Path = "results", stores: str | Path = "results/sweeps",
              workers: int | None = None, backend: str = "local", progress: bool = True,
              spec_dir: str | Path | None = None) -> Path:
    """Run every sweep of study ``name`` (each into ``<stores>/<sweep>``, resuming), export
    each to ``<out_dir>/sweeps/<sweep>.json`` and write the summary to
    ``<out_dir>/studies/<name>.json``; returns that path.  ``spec_dir``: where the sweeps'
    specs are (default: the shipped ones)."""
    from .sweeps import export, sweep

    study = _study(name)
    out_dir = Path(out_dir)
    spec_dir = Path(spec_dir) if spec_dir is not None else Path(__file__).resolve().parent / "specs"
    for name_ in study.sweeps:
        store = Path(stores) / name_
        sweep(spec_dir / f"{name_}.yaml", store=store, backend=backend, workers=workers,
              progress=progress)
        export(store, out_dir / "sweeps" / f"{name_}.json", pool_drops=name_ in POOLED)
    data = summarise(name, out_dir / "sweeps", stores)
    return atomic_write_json(out_dir / "studies" / f"{name}.json", data)


def load_study(name: str) -> dict:
    """The shipped summary of study ``name`` (``rrmbook/data/studies/<name>.json``)."""
    _study(name)
    path = data_dir() / "studies" / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no shipped study {name!r} ({path}); regenerate it from the "
                                f"repository root with `{STUDY_COMMAND.format(name=name)}`")
    return json.loads(path.read_text(encoding="utf-8"))
