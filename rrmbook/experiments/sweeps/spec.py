"""What a sweep is: the spec (a grid of scenario × load × drop × method × seed), its
validation, and the cells it expands into.

A spec is a dict, a YAML / TOML / JSON file, or a :class:`SweepSpec`.  Every field is
checked by :func:`load_spec` before any work starts; an error names the field::

    name: cg8-baselines
    scenarios: [paper-cg8]
    loads: [light, medium, heavy]
    methods: [gms, llq, qcsma]
    seeds: 10                 # seeds 0..9 (or a list of distinct integers >= 0)
    slots: 5000

A method entry is a registry name (``rrmbook sweep`` lists them in
:data:`~rrmbook.experiments.sweeps.methods.METHODS`) or a mapping with ``method``, an
optional ``label`` (its name in the table, unique), ``params`` (merged over the method's
defaults) and ``env`` (overrides of the scenario's config for this method).
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from ... import checks
from ...scenarios import get_scenario, make_config, resolve_load
from .keys import cell_key, fmt_load
from .methods import EVALUATE, get_method

__all__ = ["MethodEntry", "SweepSpec", "Cell", "load_spec", "read_spec_file", "DROP_SCENARIOS",
           "load_text", "shipped_specs", "cell_key"]

#: scenarios with a random layout drawn from ``layout_seed``: the ones the ``drops`` axis
#: applies to
DROP_SCENARIOS = ("paper-hex19", "paper-random19", "cellular")

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*(?:_[A-Za-z0-9.+-]+)*$")
_FIELDS = ("name", "scenarios", "loads", "drops", "methods", "seeds", "eval_seeds", "slots",
           "batch", "env")


@dataclass(frozen=True)
class MethodEntry:
    """One method of the grid: the registry ``method``, its ``label`` in the table, its
    ``kind`` (evaluate or train), its ``params`` (the method's defaults already merged in)
    and ``env`` overrides."""

    method: str
    label: str
    kind: str = EVALUATE
    params: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"method": self.method, "label": self.label, "kind": self.kind,
                "params": dict(self.params), "env": dict(self.env)}


@dataclass(frozen=True)
class Cell:
    """One unit of work: one method on one scenario, load and layout drop with one seed.

    For an evaluation method ``seed`` is the evaluation seed (traffic, fading and the
    policy's tie-breaks) and ``eval_seeds == (seed,)``; for a training method ``seed`` is
    the training seed and the trained policy is evaluated on every seed of ``eval_seeds``.
    ``env`` holds the config overrides of the cell (``layout_seed`` = ``drop`` among them).
    """

    key: str
    scenario: str
    load: str | float | None
    drop: int | None
    method: str          # the label
    method_name: str     # the registry name
    kind: str
    params: dict
    seed: int
    eval_seeds: tuple[int, ...]
    slots: int
    batch: int
    env: dict
    work_dir: str | None = None   # training checkpoints (set by the driver)
    artifact: str | None = None   # the trained policy or learner file (set by the driver)

    def config(self) -> dict:
        """The cell's full configuration, JSON-ready (what its record stores)."""
        out = dataclasses.asdict(self)
        out["eval_seeds"] = list(self.eval_seeds)
        return out


@dataclass
class SweepSpec:
    """A sweep: the grid and the evaluation settings.

    Build one with the fields as a user writes them and pass it to
    :func:`~rrmbook.experiments.sweep` or :func:`load_spec`; :func:`load_spec` checks it
    and returns the normalised spec (methods as :class:`MethodEntry`, loads per scenario,
    seed counts as lists), whose :meth:`cells` and :meth:`as_dict` the runner uses.

    Attributes
    ----------
    scenarios : named scenarios (``rrmbook scenarios``).
    methods : method entries (a registry name, or a mapping with ``method``, ``label``,
        ``params``, ``env``); labels must be unique.
    seeds : the seeds of the seed axis: an integer n (seeds 0..n-1) or distinct integers
        >= 0.  Evaluation seeds for baselines and shipped policies, training seeds for
        learners.
    loads : load presets or rates, one list for all scenarios or ``{scenario: [...]}``;
        ``None`` means each scenario's default (``medium``; the PF model has no load).
    drops : layout seeds (``layout_seed``) of the multi-cell scenarios
        (:data:`DROP_SCENARIOS`); ``None``: the scenario's own layout, no drop axis.
    eval_seeds : the evaluation seeds of every trained policy (an integer n or a list).
    slots, batch : length and number of copies of every evaluation.
    env : config overrides for every scenario (e.g. ``{n_subbands: 2}``).
    name : a name for the sweep (shown by the progress bar and the report).
    """

    scenarios: list
    methods: list
    seeds: Any
    loads: Any = None
    drops: Any = None
    eval_seeds: Any = (0,)
    slots: int = 5000
    batch: int = 1
    env: dict = field(default_factory=dict)
    name: str = "sweep"

    # ------------------------------------------------------------------ normalised form
    @classmethod
    def from_dict(cls, data: dict) -> SweepSpec:
        """A spec from its normalised form (:meth:`as_dict`, as a store keeps it), without
        validating it again (its methods need not be registered in this process)."""
        fields = dict(data)
        fields["methods"] = [MethodEntry(**m) for m in data["methods"]]
        return cls(**fields)

    def as_dict(self) -> dict:
        """The normalised spec, JSON-ready (what a store keeps and compares)."""
        return {"name": self.name, "scenarios": list(self.scenarios),
                "loads": {s: list(v) for s, v in self.loads.items()},
                "drops": None if self.drops is None else list(self.drops),
                "methods": [m.as_dict() for m in self.methods], "seeds": list(self.seeds),
                "eval_seeds": list(self.eval_seeds), "slots": self.slots, "batch": self.batch,
                "env": dict(self.env)}

    def cells(self) -> list[Cell]:
        """Every cell of the grid, in the order scenario, load, drop, method, seed."""
        out = []
        for scenario in self.scenarios:
            drops = self.drops if self.drops is not None and scenario in DROP_SCENARIOS \
                else [None]
            for load in self.loads[scenario]:
                for drop in drops:
                    for m in self.methods:
                        kind = m.kind
                        env = dict(self.env) | dict(m.env)
                        if drop is not None:
                            env["layout_seed"] = drop
                        for seed in self.seeds:
                            evals = (seed,) if kind == EVALUATE else tuple(self.eval_seeds)
                            out.append(Cell(
                                key=cell_key(scenario, load, drop, m.label, seed),
                                scenario=scenario, load=load, drop=drop, method=m.label,
                                method_name=m.method, kind=kind, params=dict(m.params),
                                seed=seed, eval_seeds=evals, slots=self.slots,
                                batch=self.batch, env=env))
        return out


# ------------------------------------------------------------------------ validation
def _seed_list(name: str, value) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        count = checks.non_negative_int(name, value)
        if count == 0:
            raise ValueError(f"{name} must not be empty (got 0 seeds): the grid would be empty")
        return list(range(count))
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise ValueError(f"{name} must be a number of seeds or a list of integers >= 0, "
                         f"got {value!r}")
    seeds = [checks.non_negative_int(f"{name}[{i}]", s) for i, s in enumerate(value)]
    if not seeds:
        raise ValueError(f"{name} must not be empty: the grid would be empty")
    dupes = sorted({s for s in seeds if seeds.count(s) > 1})
    if dupes:
        raise ValueError(f"{name} must be distinct, got {dupes} more than once")
    return seeds


def _str_list(name: str, value) -> list:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, Mapping) or not hasattr(value, "__iter__"):
        raise ValueError(f"{name} must be a list, got {value!r}")
    value = list(value)
    if not value:
        raise ValueError(f"{name} must not be empty: the grid would be empty")
    return value


def _mapping(name: str, value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a mapping of field names to values, got {value!r}")
    for k in value:
        if not isinstance(k, str):
            raise ValueError(f"{name} keys must be strings, got {k!r}")
    return dict(value)


def _plain_load(name: str, scenario: str, load):
    """A load as it is stored: a preset name or a float (checked against the scenario)."""
    if isinstance(load, bool) or not isinstance(load, str | int | float):
        raise ValueError(f"{name} must be a preset name or a number, got {load!r}")
    try:
        resolve_load(get_scenario(scenario), load)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None
    return load if isinstance(load, str) else float(load)


def _loads(value, scenarios: list[str]) -> dict[str, list]:
    """``{scenario: [load, ...]}``; the PF model (full buffers) gets the one load None."""
    full_buffers = [s for s in scenarios if get_scenario(s).family == "pf"]
    if isinstance(value, Mapping):
        unknown = [s for s in value if s not in scenarios]
        if unknown:
            raise ValueError(f"loads names scenarios that are not in scenarios: {unknown}")
        given = [s for s in full_buffers if value.get(s) is not None]
        if given:
            raise ValueError(f"loads[{given[0]!r}]: the scenario has full buffers and takes "
                             "no load (leave it out)")
        per = {s: value.get(s) for s in scenarios}
    else:
        if value is not None and len(full_buffers) == len(scenarios):
            raise ValueError(f"loads: no scenario of {scenarios} takes a load (full "
                             "buffers); leave loads out")
        per = {s: value for s in scenarios}
    out = {}
    for s, loads in per.items():
        if s in full_buffers:
            out[s] = [None]
            continue
        if loads is None:
            out[s] = ["medium"]
            continue
        where = f"loads[{s!r}]" if isinstance(value, Mapping) else "loads"
        plain = [_plain_load(f"{where}[{i}]", s, ld)
                 for i, ld in enumerate(_str_list(where, loads))]
        dupes = sorted({fmt_load(x) for x in plain if plain.count(x) > 1})
        if dupes:
            raise ValueError(f"{where} must be distinct, got {dupes} more than once")
        out[s] = plain
    return out


def _method_entry(i: int, entry) -> MethodEntry:
    where = f"methods[{i}]"
    if isinstance(entry, MethodEntry):
        entry = {k: v for k, v in entry.as_dict().items() if k != "kind"}
    if isinstance(entry, str):
        entry = {"method": entry}
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where} must be a method name or a mapping with 'method', got "
                         f"{entry!r}")
    unknown = set(entry) - {"method", "label", "params", "env"}
    if unknown:
        raise ValueError(f"{where} has unknown fields {sorted(unknown)}; allowed: method, "
                         "label, params, env")
    if "method" not in entry:
        raise ValueError(f"{where} needs a 'method' (a registry name)")
    name = entry["method"]
    try:
        method = get_method(name)
    except ValueError as err:
        raise ValueError(f"{where}.method: {err}") from None
    label = entry.get("label") or name
    if not isinstance(label, str) or not _LABEL.match(label):
        raise ValueError(f"{where}.label must be letters, digits, '.', '+', '-' or single "
                         f"'_' (not leading), got {label!r}")
    params = _mapping(f"{where}.params", entry.get("params"))
    unknown = sorted(set(params) - set(method.defaults))
    if unknown:
        raise ValueError(f"{where}.params: unknown parameter(s) {unknown} for method "
                         f"{name!r}; it takes {sorted(method.defaults)}")
    params = dict(method.defaults) | params
    if method.check is not None:
        try:
            method.check(params)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{where}.params: {err}") from None
    return MethodEntry(name, label, method.kind, params,
                       _mapping(f"{where}.env", entry.get("env")))


def load_spec(spec: SweepSpec | Mapping | str | Path) -> SweepSpec:
    """A validated, normalised :class:`SweepSpec` from a spec, a dict or a file path
    (``.yaml``/``.yml``, ``.toml`` or ``.json``).  Raises ``ValueError`` naming the field
    at the first problem: unknown scenario, method or load, an empty axis, negative or
    duplicate seeds, a method that does not run on a scenario, a bad override."""
    if isinstance(spec, str | Path):
        spec = read_spec_file(spec)
    if isinstance(spec, SweepSpec):
        spec = {f.name: getattr(spec, f.name) for f in dataclasses.fields(SweepSpec)}
    if not isinstance(spec, Mapping):
        raise TypeError(f"spec must be a SweepSpec, a dict or a file path, got "
                        f"{type(spec).__name__}")
    unknown = sorted(set(spec) - set(_FIELDS))
    if unknown:
        raise ValueError(f"unknown spec field(s) {unknown}; allowed: {list(_FIELDS)}")
    for required in ("scenarios", "methods", "seeds"):
        if required not in spec:
            raise ValueError(f"the spec needs {required!r}")
    name = spec.get("name", "sweep")
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    scenarios = _str_list("scenarios", spec["scenarios"])
    for i, s in enumerate(scenarios):
        try:
            get_scenario(s)
        except ValueError as err:
            raise ValueError(f"scenarios[{i}]: {err}") from None
    if len(set(scenarios)) < len(scenarios):
        raise ValueError(f"scenarios must be distinct, got {scenarios}")
    loads = _loads(spec.get("loads"), scenarios)
    drops = spec.get("drops")
    if drops is not None:
        drops = _seed_list("drops", drops)
        if not any(s in DROP_SCENARIOS for s in scenarios):
            raise ValueError(f"drops (layout seeds) apply only to the scenarios "
                             f"{list(DROP_SCENARIOS)}; none is in scenarios {scenarios}")
    methods = [_method_entry(i, m) for i, m in enumerate(_str_list("methods", spec["methods"]))]
    labels = [m.label for m in methods]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ValueError(f"methods: labels must be unique, got {dupes} more than once (give "
                         "each entry a 'label')")
    seeds = _seed_list("seeds", spec["seeds"])
    eval_seeds = _seed_list("eval_seeds", spec.get("eval_seeds", [0]))
    slots = checks.positive_int("slots", spec.get("slots", 5000))
    batch = checks.positive_int("batch", spec.get("batch", 1))
    env = _mapping("env", spec.get("env"))
    if drops is not None and "layout_seed" in env:
        raise ValueError("env.layout_seed and drops both set the layout; use drops")
    out = SweepSpec(scenarios=scenarios, methods=methods, seeds=seeds, loads=loads,
                    drops=drops, eval_seeds=eval_seeds, slots=slots, batch=batch, env=env,
                    name=name)
    _check_grid(out)
    return out


def _check_grid(spec: SweepSpec) -> None:
    """Every (scenario, method) pair runs, and every override builds a config."""
    for scenario in spec.scenarios:
        family = get_scenario(scenario).family
        if family == "pf" and spec.slots % 200:
            raise ValueError(f"slots must be a multiple of the 200-step episode of "
                             f"{scenario!r}, got {spec.slots}")
        for i, m in enumerate(spec.methods):
            method = get_method(m.method)
            if family not in method.families:
                raise ValueError(f"methods[{i}]: method {m.method!r} does not run on "
                                 f"scenario {scenario!r} (family {family!r}; it runs on "
                                 f"{list(method.families)})")
            env = dict(spec.env) | dict(m.env)
            if spec.drops is not None and scenario in DROP_SCENARIOS:
                env["layout_seed"] = spec.drops[0]
            try:
                make_config(scenario, spec.loads[scenario][0], **env)
            except (ValueError, TypeError) as err:
                raise ValueError(f"env overrides of methods[{i}] on {scenario!r}: {err}") \
                    from None


# ----------------------------------------------------------------------------- files
def load_text(text: str, suffix: str) -> dict:
    """Parse a spec's text in the format its file suffix names."""
    suffix = suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:  # pragma: no cover - pyyaml is a dependency
            raise ImportError("reading a YAML spec needs PyYAML (pip install pyyaml); a "
                              "TOML or JSON spec needs nothing") from None
        data = yaml.safe_load(text)
    elif suffix == ".toml":
        data = tomllib.loads(text)
    elif suffix == ".json":
        data = json.loads(text)
    else:
        raise ValueError(f"a spec file must end in .yaml, .yml, .toml or .json, got {suffix!r}")
    if not isinstance(data, dict):
        raise ValueError(f"a spec file must hold a mapping of fields, got {type(data).__name__}")
    return data


def shipped_specs() -> dict[str, Path]:
    """The specs that ship with the package (``rrmbook/experiments/specs/*.yaml``: the
    README's example and the book's figure sweeps), by name."""
    folder = Path(str(files("rrmbook") / "experiments" / "specs"))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def read_spec_file(path: str | Path) -> dict:
    """The raw fields of a YAML, TOML or JSON spec file (validated by :func:`load_spec`);
    a bare name such as ``fig9`` that is no file names a shipped spec
    (:func:`shipped_specs`)."""
    path = Path(path)
    if not path.is_file() and path.suffix == "" and str(path) in shipped_specs():
        path = shipped_specs()[str(path)]
    if not path.is_file():
        raise FileNotFoundError(f"no spec file at {path} (or give the name of a shipped "
                                f"spec: {', '.join(shipped_specs())})")
    return load_text(path.read_text(encoding="utf-8"), path.suffix)
