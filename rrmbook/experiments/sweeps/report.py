"""The aggregated table of a sweep: per (scenario, load, drop, method), every metric's
per-seed values with n, mean and confidence interval (:func:`rrmbook.metrics.mean_ci`,
Student-t over seeds).

For an evaluation method the values are one per evaluation seed; for a training method one
per training seed, each the mean over that policy's evaluation seeds (so the interval is
over independent trainings, the variation that matters for "does this method learn").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ...metrics import Interval, mean_ci
from .spec import SweepSpec
from .store import Store

__all__ = ["Report", "aggregate", "report", "status", "export", "compute_used",
           "PREFERRED_METRICS", "EXPORT_FORMAT"]

#: the format of an exported sweep (a shipped result file, ``rrmbook/data/sweeps/*.json``)
EXPORT_FORMAT = "rrmbook-sweep-result/1"

#: the metrics a printed report shows first (delay results, then PF rate results)
PREFERRED_METRICS = ("mean_delay", "p95_delay", "score", "sum_rate", "p5_rate")


def _grid(spec: dict) -> list[dict]:
    """The cells of a normalised spec as plain dicts (scenario, load, drop, method, seed,
    key), in grid order."""
    return [{"scenario": c.scenario, "load": c.load, "drop": c.drop, "method": c.method,
             "kind": c.kind, "seed": c.seed, "key": c.key} for c in SweepSpec.from_dict(spec).cells()]


@dataclass
class Report:
    """The aggregated table of a sweep.  ``rows`` hold, per (scenario, load, drop,
    method): ``seeds`` (of the finished cells), ``n``, ``failed``, ``pending`` and
    ``metrics`` (``{metric: {"n", "mean", "low", "high", "values"}}``)."""

    name: str
    rows: list[dict]
    level: float = 0.95
    counts: dict = field(default_factory=dict)
    #: for a shipped result: its spec, compute used and whether drops were pooled
    source: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "level": self.level, "counts": dict(self.counts),
                "rows": self.rows}

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        """The report of :meth:`to_dict` (or of an exported sweep, :func:`export`)."""
        return cls(data["name"], data["rows"], data.get("level", 0.95), data.get("counts", {}))

    # ---------------------------------------------------------------- look-ups
    def find(self, method: str, scenario: str | None = None, load=None,
             drop: int | None = None) -> dict:
        """The one row of ``method`` (``scenario``, ``load``, ``drop`` narrow it down and
        may be left out where only one row matches)."""
        rows = [r for r in self.rows if r["method"] == method
                and (scenario is None or r["scenario"] == scenario)
                and (load is None or r["load"] == load)
                and (drop is None or r["drop"] == drop)]
        if len(rows) != 1:
            raise KeyError(f"{len(rows)} rows match method={method!r}, scenario={scenario!r}, "
                           f"load={load!r}, drop={drop!r}")
        return rows[0]

    def interval(self, method: str, metric: str, scenario: str | None = None, load=None,
                 drop: int | None = None) -> Interval:
        """The :class:`~rrmbook.metrics.Interval` of one metric of one row."""
        m = self.find(method, scenario, load, drop)["metrics"][metric]
        return Interval(m["n"], m["mean"], m["low"], m["high"])

    def table(self, metric: str, by: str = "load", scenario: str | None = None,
              drop: int | None = None, methods_first: bool = True) -> dict:
        """``{method: {x: {"n", "mean", "low", "high"}}}`` with x the ``by`` field of each
        row (``load`` or ``drop``), the input of :func:`rrmbook.plots.interval_lines`;
        ``methods_first=False`` gives ``{x: {method: ...}}`` for
        :func:`rrmbook.plots.interval_bars`."""
        out: dict = {}
        for r in self.rows:
            if (scenario is not None and r["scenario"] != scenario) or \
                    (drop is not None and r["drop"] != drop) or metric not in r["metrics"]:
                continue
            m = {k: r["metrics"][metric][k] for k in ("n", "mean", "low", "high")}
            outer, inner = (r["method"], r[by]) if methods_first else (r[by], r["method"])
            out.setdefault(outer, {})[inner] = m
        return out

    # ---------------------------------------------------------------- text
    def metric_names(self) -> list[str]:
        names: list[str] = []
        for r in self.rows:
            names += [k for k in r["metrics"] if k not in names]
        preferred = [m for m in PREFERRED_METRICS if m in names]
        return preferred or names

    def format(self, metrics: Iterable[str] | None = None) -> str:
        """A plain-text table: one line per row, ``mean [low, high]`` per metric."""
        metrics = list(metrics) if metrics is not None else self.metric_names()
        drops = any(r["drop"] is not None for r in self.rows)
        head = ["scenario", "load"] + (["drop"] if drops else []) + ["method", "n"] + metrics
        lines = []
        for r in self.rows:
            cells = [r["scenario"], "-" if r["load"] is None else f"{r['load']}"]
            cells += [f"{r['drop']}" if r["drop"] is not None else "-"] if drops else []
            n = f"{r['n']}" + (f" ({r['failed']} failed)" if r["failed"] else "") + \
                (f" ({r['pending']} pending)" if r["pending"] else "")
            cells += [r["method"], n]
            for m in metrics:
                v = r["metrics"].get(m)
                cells.append("-" if v is None else
                             f"{v['mean']:.4g} [{v['low']:.4g}, {v['high']:.4g}]")
            lines.append(cells)
        widths = [max(len(h), *(len(c[i]) for c in lines)) if lines else len(h)
                  for i, h in enumerate(head)]
        out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)),
               "  ".join("-" * w for w in widths)]
        out += ["  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
                for cells in lines]
        c = self.counts
        out.append(f"{self.name}: {c.get('done', 0)} done, {c.get('failed', 0)} failed, "
                   f"{c.get('pending', 0)} pending of {c.get('total', 0)} cells; "
                   f"{round(100 * self.level)} % confidence intervals (Student-t over seeds)")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.format()


def aggregate(grid: list[dict], records: dict[str, dict], level: float = 0.95,
              name: str = "sweep", pool_drops: bool = False) -> Report:
    """The :class:`Report` of a grid (:func:`_grid`) from its records; with
    ``pool_drops``, the layout drops of a configuration are pooled into one row (values
    over drops × seeds)."""
    groups: dict[tuple, dict] = {}
    counts = {"total": len(grid), "done": 0, "failed": 0, "pending": 0}
    for cell in grid:
        drop = None if pool_drops else cell["drop"]
        key = (cell["scenario"], _load_key(cell["load"]), drop, cell["method"])
        g = groups.setdefault(key, {"scenario": cell["scenario"], "load": cell["load"],
                                    "drop": drop, "method": cell["method"],
                                    "kind": cell["kind"], "ok": [], "failed": 0,
                                    "pending": 0, "drops": []})
        if cell["drop"] is not None and cell["drop"] not in g["drops"]:
            g["drops"].append(cell["drop"])
        record = records.get(cell["key"])
        if record is None:
            g["pending"] += 1
            counts["pending"] += 1
        elif record["status"] != "ok":
            g["failed"] += 1
            counts["failed"] += 1
        else:
            g["ok"].append((cell["drop"], cell["seed"], record))
            counts["done"] += 1
    rows = []
    for g in groups.values():
        ok = g.pop("ok")
        metrics: dict = {}
        for _, _, record in ok:
            metrics.update({k: None for k in record["metrics"] if k not in metrics})
        out = {}
        for m in metrics:
            values = [float(r["metrics"][m]) if m in r["metrics"] else float("nan")
                      for _, _, r in ok]
            out[m] = mean_ci(values, level).as_dict() | {"values": values}
        row = {k: g[k] for k in ("scenario", "load", "drop", "method", "kind")}
        row |= {"n": len(ok), "seeds": [s for _, s, _ in ok], "failed": g["failed"],
                "pending": g["pending"], "metrics": out}
        if pool_drops and g["drops"]:
            row["drops"] = [d for d, _, _ in ok]
        rows.append(row)
    return Report(name, rows, level, counts)


def _load_key(load) -> str:
    return repr(load)


def report(store, level: float = 0.95, pool_drops: bool = False) -> Report:
    """The aggregated table of the sweep in ``store`` (a folder or a
    :class:`~rrmbook.experiments.sweeps.store.Store`), finished or not."""
    st = store if isinstance(store, Store) else Store.open(store)
    spec = st.spec()
    return aggregate(_grid(spec), st.records(), level, spec.get("name", "sweep"), pool_drops)


def compute_used(records: Iterable[dict]) -> dict:
    """What a set of cell records cost: cells, CPU-seconds (the sum of the cells' wall
    times, one core each), the machines and the commits they ran on."""
    records = [r for r in records if r.get("status") == "ok"]
    machines = sorted({f"{r['machine']['processor']} ({r['machine']['cpus']} CPUs, "
                       f"{r['machine']['platform']})" for r in records if "machine" in r})
    commits = sorted({r["git_commit"] for r in records if r.get("git_commit")})
    return {"cells": len(records), "cpu_seconds": round(sum(r["wall_s"] for r in records), 1),
            "machines": machines, "commits": commits}


def export(store, path, level: float = 0.95, pool_drops: bool = False) -> dict:
    """Write the aggregated table of ``store`` to ``path`` (JSON, atomically) with what it
    needs to be read on its own: the spec, every row's per-seed values, n, mean and
    interval, the seeds, and the compute used (:func:`compute_used`).  This is what the book
    ships in ``rrmbook/data/sweeps/``; :func:`rrmbook.experiments.load_sweep` reads it."""
    from ...io import atomic_write_json

    st = store if isinstance(store, Store) else Store.open(store)
    rep = report(st, level, pool_drops)
    data = {"format": EXPORT_FORMAT, **rep.to_dict(), "pool_drops": pool_drops,
            "spec": st.spec(), "compute": compute_used(st.records().values())}
    atomic_write_json(path, data)
    return data


def status(store) -> dict:
    """``{"name", "total", "done", "failed", "pending", "store"}`` of the sweep in
    ``store``; ``failed_cells`` lists the keys of the failed cells."""
    st = store if isinstance(store, Store) else Store.open(store)
    spec = st.spec()
    grid = _grid(spec)
    records = st.records()
    keys = [c["key"] for c in grid]
    failed = [k for k in keys if k in records and records[k]["status"] != "ok"]
    done = sum(1 for k in keys if k in records and records[k]["status"] == "ok")
    return {"name": spec.get("name", "sweep"), "store": str(st.root), "total": len(keys),
            "done": done, "failed": len(failed), "pending": len(keys) - done - len(failed),
            "failed_cells": failed}

