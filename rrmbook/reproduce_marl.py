"""The trained MAPPO policies behind the papers' learning results, and the experiments that
only learners have: training curves (Figs. 12-13), train/test load mismatch (Table V) and
deployment on larger networks than the one trained on.

Every policy the book shows ships as a small *policy file* in ``rrmbook/data/policies``
(the actor's weights, its configuration, its run and its learning curve; see
:func:`rrmbook.marl.export_policy`).  :data:`SHIPPED` lists them with the run that makes
each one; :func:`get_policy` loads one, training it first when the file is missing (or when
asked to retrain).  Training writes a checkpoint every few updates, so an interrupted
``rrmbook reproduce`` continues where it stopped when run again.

Used by :mod:`rrmbook.reproduce` (``rrmbook reproduce fig7 ... table5 scaling``).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .marl import MAPPOConfig, MAPPOPolicy, export_policy, load_checkpoint, load_policy, train
from .marl.mappo import CHECKPOINT_NAME

__all__ = ["ShippedPolicy", "SHIPPED", "data_dir", "policies_dir", "policy_path", "get_policy",
           "ensure_policy", "training_record", "queue_growth", "stability_label"]


@dataclass(frozen=True)
class ShippedPolicy:
    """One shipped policy and the training run that produces it (laptop preset, seed 0).

    ``load`` is a preset name or packets/s per device; ``budget_slots`` counts copy-slots
    (one environment copy advancing one slot); ``deterministic`` is how the book runs it:
    taking each agent's most likely action (``True``) or sampling."""

    name: str
    scenario: str
    load: str | float
    mode: str
    budget_slots: int
    deterministic: bool = True
    seed: int = 0

    def config(self) -> MAPPOConfig:
        return MAPPOConfig.laptop(mode=self.mode)


_CG8_BUDGET = 1_500_000  # about 4-5 minutes per mode on one core
_CELL_BUDGET = 300_000   # about 8-10 minutes per policy on one core
# Separate policies on the hexagonal layout learn more slowly: each agent trains on its own
# samples only, and every cell there has strong neighbours.  At 300k copy-slots some agents
# still starved a device; 600k is also where the paper's Fig. 13 levels off.
_HEX_SEPARATE_BUDGET = 600_000

#: Every shipped policy, by name.
SHIPPED: dict[str, ShippedPolicy] = {p.name: p for p in [
    ShippedPolicy("cg8-heavy-shared", "paper-cg8", "heavy", "shared", _CG8_BUDGET),
    ShippedPolicy("cg8-heavy-separate", "paper-cg8", "heavy", "separate", _CG8_BUDGET),
    ShippedPolicy("hex19-heavy-shared", "paper-hex19", 25.0, "shared", _CELL_BUDGET),
    ShippedPolicy("hex19-heavy-separate", "paper-hex19", 25.0, "separate", _HEX_SEPARATE_BUDGET),
    ShippedPolicy("hex19-medium-shared", "paper-hex19", 20.0, "shared", _CELL_BUDGET),
    ShippedPolicy("hex19-light-shared", "paper-hex19", 15.0, "shared", _CELL_BUDGET),
    ShippedPolicy("random19-heavy-shared", "paper-random19", 30.0, "shared", _CELL_BUDGET),
    ShippedPolicy("random19-heavy-separate", "paper-random19", 30.0, "separate", _CELL_BUDGET),
]}

_retrained: set[tuple[str, str]] = set()  # (folder, name) retrained in this process


def data_dir() -> Path:
    """The folder of the shipped results and policies: ``rrmbook/data`` inside the package,
    or the folder named by the environment variable ``RRMBOOK_DATA`` (for instance results
    regenerated with ``rrmbook reproduce ... --out DIR``)."""
    if os.environ.get("RRMBOOK_DATA"):
        return Path(os.environ["RRMBOOK_DATA"])
    from importlib.resources import files

    return Path(str(files("rrmbook") / "data"))


def policies_dir(root: str | Path | None = None) -> Path:
    """``<root>/policies``; without ``root``, the shipped ones (see :func:`data_dir`)."""
    return (data_dir() if root is None else Path(root)) / "policies"


def _check_name(name: str) -> ShippedPolicy:
    if name not in SHIPPED:
        raise ValueError(f"unknown shipped policy {name!r}; choose one of {sorted(SHIPPED)}")
    return SHIPPED[name]


def policy_path(name: str, root: str | Path | None = None) -> Path:
    """Where the policy file of ``name`` lives (``<root>/policies/<name>.pt``)."""
    _check_name(name)
    return policies_dir(root) / f"{name}.pt"


def ensure_policy(name: str, root: str | Path | None = None, retrain: bool = False,
                  progress: bool = False) -> Path:
    """The policy file of ``name``, training it first if it is missing (or, with
    ``retrain``, once per process even if it exists).  Training checkpoints go to
    ``<root>/policies/.<name>/`` and are resumed from there after an interruption; the
    folder is removed once the policy file (weights in float16) is written."""
    spec = _check_name(name)
    path = policy_path(name, root)
    key = (str(path.parent.resolve()), name)
    if path.is_file() and not (retrain and key not in _retrained):
        return path
    work = path.parent / f".{name}"
    resume = (work / CHECKPOINT_NAME).is_file()
    if resume and retrain and key not in _retrained:
        state = load_checkpoint(work / CHECKPOINT_NAME)
        resume = state["run"].get("load") == spec.load  # an old run of another design: restart
    train(spec.config(), spec.scenario, spec.load, seed=spec.seed, budget_slots=spec.budget_slots,
          checkpoint_dir=work, resume=resume, progress=progress)
    export_policy(work / CHECKPOINT_NAME, path, half=True)
    shutil.rmtree(work, ignore_errors=True)
    _retrained.add(key)
    return path


def get_policy(name: str, root: str | Path | None = None, retrain: bool = False,
               deterministic: bool | None = None, train_missing: bool = True) -> MAPPOPolicy:
    """A shipped policy, ready for :func:`rrmbook.evaluate`, named ``mappo-<mode>``.

    ``root`` None reads the file shipped in the package.  With a folder, reads
    ``<root>/policies/<name>.pt``; when that is missing, the file shipped in the package is
    used if there is one, otherwise (or always, with ``retrain``) the policy is trained
    into ``<root>/policies`` first (``train_missing=False`` raises instead).
    ``deterministic`` defaults to how the book runs the policy
    (:attr:`ShippedPolicy.deterministic`)."""
    spec = _check_name(name)
    path = policy_path(name, root)
    if not path.is_file() and not retrain and root is not None \
            and policy_path(name).is_file():
        path = policy_path(name)
    if retrain or not path.is_file():
        if not train_missing:
            raise FileNotFoundError(
                f"no policy file for {name!r} at {path}; train it from the repository root with "
                f"`rrmbook reproduce {_FIGURE_OF[name]} --out rrmbook/data`")
        path = ensure_policy(name, root, retrain=retrain, progress=True)
    policy = load_policy(path, deterministic=spec.deterministic if deterministic is None
                         else deterministic)
    policy.name = f"mappo-{spec.mode}"
    return policy


#: the reproduce command that first trains each shipped policy
_FIGURE_OF = {"cg8-heavy-shared": "fig8", "cg8-heavy-separate": "fig8",
              "hex19-heavy-shared": "fig12", "hex19-heavy-separate": "fig13",
              "hex19-medium-shared": "table5", "hex19-light-shared": "table5",
              "random19-heavy-shared": "fig10", "random19-heavy-separate": "fig10"}


def training_record(name: str, root: str | Path | None = None) -> dict:
    """The learning curve stored in a policy file: per update the copy-slots so far, the
    mean reward and queue over the rollout, each agent's mean reward, the entropy and the
    training time, plus the run's description."""
    state = load_checkpoint(policy_path(name, root), formats=("rrmbook-mappo-policy/1",))
    history = state["history"]
    fields = ("slots", "mean_reward", "mean_queue", "entropy", "time_s")
    curve = {f: [h[f] for h in history] for f in fields}
    curve["agent_reward"] = [h.get("agent_reward", []) for h in history]
    return {"name": name, "run": state["run"], "config": state["config"],
            "updates": state["updates"], **curve}


def queue_growth(queue_trace: np.ndarray, owner: np.ndarray, n_agents: int) -> np.ndarray:
    """Per agent, how much its devices' total backlog grew over a run: the mean over the
    last quarter of the slots minus the mean over the second quarter (``queue_trace``
    ``(T, N)`` in packets or bits, ``owner`` ``(N,)`` the serving agent of each device).  A
    stable queue gives about 0; a queue that grows without bound gives a large positive
    number."""
    q = np.asarray(queue_trace, dtype=float)
    per_agent = np.zeros((q.shape[0], n_agents))
    np.add.at(per_agent.T, np.asarray(owner), q.T)
    T = q.shape[0]
    return per_agent[3 * T // 4:].mean(0) - per_agent[T // 4: T // 2].mean(0)


def stability_label(growth: np.ndarray, threshold: float) -> str:
    """Table V's words for a test run: ``"good"`` if no agent's backlog keeps growing
    (growth below ``threshold``), ``"unstable"`` if at least half of the agents' do, and
    ``"mixed"`` in between."""
    unstable = int((np.asarray(growth) > threshold).sum())
    if unstable == 0:
        return "good"
    return "unstable" if 2 * unstable >= len(growth) else "mixed"
