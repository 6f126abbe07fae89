"""The one registry of everything trained that ships with the package.

Every trained agent the book shows ships as a small file under ``rrmbook/data``: MAPPO
*policy files* in ``policies/`` (Zhang & Guo; the actor's weights, its configuration, its
run and its learning curve, see :func:`rrmbook.marl.export_policy`) and offline-MARL
*learner files* in ``offline/`` (Eldeeb & Alves; networks and configuration without the
replay memory, see :func:`rrmbook.offline.checkpoints.export_learner`).  :data:`SHIPPED`
lists both kinds with the run that makes each one:

- :func:`path` says where an entry's file lives, :func:`ensure` trains it when the file is
  missing (resumably: an interrupted run continues from its checkpoint), :func:`provenance`
  reads back the run, configuration and learning curve stored in the file;
- :func:`get_policy` loads a MAPPO policy, :func:`get_learner` an offline-MARL learner.

Training writes a checkpoint every few updates into ``<root>/<folder>/.<name>/``, removed
once the file is exported, so an interrupted ``rrmbook reproduce`` continues where it
stopped when run again.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import ClassVar

from ..io import CHECKPOINT_NAME
from ..marl import MAPPOConfig, MAPPOPolicy, export_policy, load_checkpoint, load_policy, train
from ..marl.mappo import POLICY_FORMAT
from ..offline import DQNConfig, SACConfig, load_learner, train_dqn, train_sac
from ..offline.checkpoints import export_learner, learner_history, read_checkpoint

__all__ = ["ShippedPolicy", "OnlineRun", "SHIPPED", "PF_SCENARIO", "data_dir", "path",
           "ensure", "provenance", "get_policy", "get_learner", "policy_path", "learner_path",
           "policies_dir", "ensure_policy", "training_record", "learning_curve"]

#: the scenario of every shipped offline-MARL learner
PF_SCENARIO = "pf-4x20"
_EVAL_EVERY = 10_000  # transitions between two points of an online learner's curve
_EVAL_SLOTS = 1_000   # steps of each of those evaluations


@dataclass(frozen=True)
class ShippedPolicy:
    """One shipped MAPPO policy and the training run that produces it (laptop preset).

    ``load`` is a preset name or packets/s per device; ``budget_slots`` counts copy-slots
    (one environment copy advancing one slot); ``deterministic`` is how the book runs it:
    taking each agent's most likely action (``True``) or sampling; ``figure`` is the
    ``rrmbook reproduce`` command that first trains it."""

    folder: ClassVar[str] = "policies"

    name: str
    scenario: str
    load: str | float
    mode: str
    budget_slots: int
    figure: str
    deterministic: bool = True
    seed: int = 0
    half: bool = True   # stored in half precision (float32 when it is a sweep's artifact)

    def config(self) -> MAPPOConfig:
        return MAPPOConfig.laptop(mode=self.mode)

    def train(self, checkpoint_dir: Path, resume: bool, progress: bool) -> None:
        train(self.config(), self.scenario, self.load, seed=self.seed,
              budget_slots=self.budget_slots, checkpoint_dir=checkpoint_dir, resume=resume,
              progress=progress, overwrite=True)  # retraining a changed design starts afresh

    def resumable(self, checkpoint: Path) -> bool:
        """Whether an old checkpoint was made by this run (a retrain of a changed design
        starts afresh)."""
        return load_checkpoint(checkpoint)["run"].get("load") == self.load

    def export(self, checkpoint: Path, path: Path) -> Path:
        return export_policy(checkpoint, path, half=self.half)


@dataclass(frozen=True)
class OnlineRun:
    """One shipped online offline-MARL learner (SAC or DQN on ``pf-4x20``) and the run that
    trains it (laptop preset)."""

    folder: ClassVar[str] = "offline"
    figure: ClassVar[str] = "pf-fig4"

    name: str
    kind: str                      # "sac" or "dqn"
    budget_steps: int
    seed: int = 0
    overrides: dict = field(default_factory=dict)

    def config(self) -> SACConfig | DQNConfig:
        return (SACConfig if self.kind == "sac" else DQNConfig)(**self.overrides)

    def train(self, checkpoint_dir: Path | None = None, resume: bool = False,
              progress: bool = False):
        fn = train_sac if self.kind == "sac" else train_dqn
        return fn(self.config(), PF_SCENARIO, self.seed, self.budget_steps,
                  eval_every=_EVAL_EVERY, eval_slots=_EVAL_SLOTS,
                  checkpoint_dir=checkpoint_dir, resume=resume, progress=progress)

    def resumable(self, checkpoint: Path) -> bool:
        return True  # the trainer itself refuses a checkpoint of another run or config

    def export(self, checkpoint: Path, path: Path) -> Path:
        return export_learner(checkpoint, path)


_CG8_BUDGET = 1_500_000  # about 4-5 minutes per mode on one core
_CELL_BUDGET = 300_000   # about 8-10 minutes per policy on one core
# Separate policies on the hexagonal layout learn more slowly: each agent trains on its own
# samples only, and every cell there has strong neighbours.  At 300k copy-slots some agents
# still starved a device; 600k is also where the paper's Fig. 13 levels off.
_HEX_SEPARATE_BUDGET = 600_000

#: Everything trained that ships, by name: MAPPO policies and offline-MARL learners.
SHIPPED: dict[str, ShippedPolicy | OnlineRun] = {p.name: p for p in [
    # the median training seed of the fig8-mappo sweep (5 seeds, ranked by mean delay over
    # its 5 evaluation seeds), shipped as the sweep exported it
    ShippedPolicy("cg8-heavy-shared", "paper-cg8", "heavy", "shared", _CG8_BUDGET, "fig8",
                  seed=1, half=False),
    ShippedPolicy("cg8-heavy-separate", "paper-cg8", "heavy", "separate", _CG8_BUDGET, "fig8",
                  seed=3, half=False),
    # the median training seeds of hex19-mappo (3 seeds) and hex19-loads-mappo (3 seeds per
    # load), stored in half precision
    ShippedPolicy("hex19-heavy-shared", "paper-hex19", 25.0, "shared", _CELL_BUDGET, "fig12"),
    ShippedPolicy("hex19-heavy-separate", "paper-hex19", 25.0, "separate",
                  _HEX_SEPARATE_BUDGET, "fig13"),
    ShippedPolicy("hex19-medium-shared", "paper-hex19", 20.0, "shared", _CELL_BUDGET, "table5",
                  seed=2),
    ShippedPolicy("hex19-light-shared", "paper-hex19", 15.0, "shared", _CELL_BUDGET, "table5",
                  seed=2),
    # the median training seeds of random19-mappo (3 seeds each), in half precision
    ShippedPolicy("random19-heavy-shared", "paper-random19", 30.0, "shared", _CELL_BUDGET,
                  "fig10", seed=1),
    ShippedPolicy("random19-heavy-separate", "paper-random19", 30.0, "separate", _CELL_BUDGET,
                  "fig10", seed=2),
    OnlineRun("pf-sac", "sac", 100_000),
    OnlineRun("pf-dqn", "dqn", 100_000),
]}

_retrained: set[tuple[str, str]] = set()  # (folder, name) retrained in this process


def data_dir() -> Path:
    """The folder of the shipped results and trained files: ``rrmbook/data`` inside the
    package, or the folder named by the environment variable ``RRMBOOK_DATA`` (for instance
    results regenerated with ``rrmbook reproduce ... --out DIR``)."""
    if os.environ.get("RRMBOOK_DATA"):
        return Path(os.environ["RRMBOOK_DATA"])
    return Path(str(files("rrmbook") / "data"))


def _entry(name: str, kind: type | None = None) -> ShippedPolicy | OnlineRun:
    entries = {n: e for n, e in SHIPPED.items() if kind is None or isinstance(e, kind)}
    if name not in entries:
        what = {None: "shipped policy or learner", ShippedPolicy: "shipped policy",
                OnlineRun: "shipped learner"}[kind]
        raise ValueError(f"unknown {what} {name!r}; choose one of {sorted(entries)}")
    return entries[name]


def path(name: str, root: str | Path | None = None) -> Path:
    """Where the file of ``name`` lives: ``<root>/<folder>/<name>.pt`` (``root`` None: the
    files shipped in the package, see :func:`data_dir`)."""
    entry = _entry(name)
    return (data_dir() if root is None else Path(root)) / entry.folder / f"{name}.pt"


def ensure(name: str, root: str | Path | None = None, retrain: bool = False,
           progress: bool = False) -> Path:
    """The file of ``name``, trained first when needed.

    With a ``root`` whose file is missing, the file shipped in the package is used if there
    is one.  Otherwise (or with ``retrain``, once per process even if a file exists) the
    entry is trained into ``<root>`` with checkpoints in ``<root>/<folder>/.<name>/``,
    resumed from there after an interruption; the folder is removed once the file is
    written."""
    entry = _entry(name)
    target = path(name, root)
    if not retrain and not target.is_file() and root is not None and path(name).is_file():
        return path(name)
    key = (str(target.parent.resolve()), name)
    if target.is_file() and not (retrain and key not in _retrained):
        return target
    work = target.parent / f".{name}"
    checkpoint = work / CHECKPOINT_NAME
    resume = checkpoint.is_file()
    if resume and retrain and key not in _retrained:
        resume = entry.resumable(checkpoint)
    entry.train(checkpoint_dir=work, resume=resume, progress=progress)
    entry.export(checkpoint, target)
    shutil.rmtree(work, ignore_errors=True)
    _retrained.add(key)
    return target


def provenance(name: str, root: str | Path | None = None) -> dict:
    """What the file of ``name`` records about how it was made: ``run`` (scenario, load,
    seed, ...), ``config`` and the learning curve ``history`` (one record per update or
    evaluation), plus the registry entry that makes it."""
    entry = _entry(name)
    file = path(name, root)
    if not file.is_file() and root is not None:
        file = path(name)
    if isinstance(entry, ShippedPolicy):
        state = load_checkpoint(file, formats=(POLICY_FORMAT,))
        return {"entry": entry, "run": state["run"], "config": state["config"],
                "updates": state["updates"], "history": state["history"]}
    state = read_checkpoint(file)
    return {"entry": entry, "run": state["run"], "config": state["learner"]["config"],
            "updates": int(state["learner"]["updates"]), "history": list(state["history"])}


# ---------------------------------------------------------------------- MAPPO policies
def get_policy(name: str, root: str | Path | None = None, retrain: bool = False,
               deterministic: bool | None = None, train_missing: bool = True) -> MAPPOPolicy:
    """A shipped MAPPO policy, ready for :func:`rrmbook.evaluate`, named ``mappo-<mode>``.

    ``root`` None reads the file shipped in the package.  With a folder, reads
    ``<root>/policies/<name>.pt``; when that is missing, the file shipped in the package is
    used if there is one, otherwise (or always, with ``retrain``) the policy is trained
    into ``<root>/policies`` first (``train_missing=False`` raises instead).
    ``deterministic`` defaults to how the book runs the policy
    (:attr:`ShippedPolicy.deterministic`)."""
    entry = _entry(name, ShippedPolicy)
    target = path(name, root)
    available = target.is_file() or (root is not None and path(name).is_file())
    if (retrain or not available) and not train_missing:
        raise FileNotFoundError(
            f"no policy file for {name!r} at {target}; train it from the repository root "
            f"with `rrmbook reproduce {entry.figure} --out rrmbook/data`")
    policy = load_policy(ensure(name, root, retrain=retrain, progress=True),
                         deterministic=entry.deterministic if deterministic is None
                         else deterministic)
    policy.name = f"mappo-{entry.mode}"
    return policy


def policies_dir(root: str | Path | None = None) -> Path:
    """``<root>/policies``; without ``root``, the shipped ones (see :func:`data_dir`)."""
    return (data_dir() if root is None else Path(root)) / ShippedPolicy.folder


def policy_path(name: str, root: str | Path | None = None) -> Path:
    """Where the policy file of the MAPPO policy ``name`` lives."""
    _entry(name, ShippedPolicy)
    return path(name, root)


def ensure_policy(name: str, root: str | Path | None = None, retrain: bool = False,
                  progress: bool = False) -> Path:
    """:func:`ensure` for a MAPPO policy."""
    _entry(name, ShippedPolicy)
    return ensure(name, root, retrain=retrain, progress=progress)


def training_record(name: str, root: str | Path | None = None) -> dict:
    """The learning curve stored in a MAPPO policy file: per update the copy-slots so far,
    the mean reward and queue over the rollout, each agent's mean reward, the entropy and
    the training time, plus the run's description."""
    _entry(name, ShippedPolicy)
    state = load_checkpoint(path(name, root), formats=(POLICY_FORMAT,))
    history = state["history"]
    fields = ("slots", "mean_reward", "mean_queue", "entropy", "time_s")
    curve = {f: [h[f] for h in history] for f in fields}
    curve["agent_reward"] = [h.get("agent_reward", []) for h in history]
    return {"name": name, "run": state["run"], "config": state["config"],
            "updates": state["updates"], **curve}


# ---------------------------------------------------------------- offline-MARL learners
def learner_path(name: str, root: str | Path | None = None) -> Path:
    """``<root>/offline/<name>.pt`` (root None: the files shipped in the package)."""
    _entry(name, OnlineRun)
    return path(name, root)


def get_learner(name: str, root: str | Path | None = None, retrain: bool = False,
                progress: bool = False):
    """A shipped online learner (see :data:`SHIPPED`), ready to act.  With ``root``, reads
    ``<root>/offline/<name>.pt``, falling back to the package's file; trains it into
    ``root`` when it is in neither place or when ``retrain`` is set (an interrupted run
    resumes from ``<root>/offline/.<name>/``)."""
    _entry(name, OnlineRun)
    return load_learner(ensure(name, root, retrain=retrain, progress=progress))


def learning_curve(name: str, root: str | Path | None = None) -> list[dict]:
    """The training history stored in a shipped learner file."""
    return learner_history(ensure(name, root))
