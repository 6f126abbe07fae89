"""Baseline policies.  ``get(name)`` returns a fresh policy; ``available()`` lists names.

Every baseline is a :class:`~rrmbook.policy.Policy`, run through :func:`rrmbook.evaluate`
exactly like a learned agent or a student's function.  Baselines come in families, one per
model (``"conflict"``, ``"cellular"``, ``"pf"``); a name that exists in several families (``llq``,
``random``) gives a policy that picks the right implementation when it meets its env.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..envs.base import Env
from ..policy import Policy
from .cellular import (
    FP,
    WMMSE,
    CellularLLQ,
    CellularRandom,
    FairITLinQ,
    FullPower,
    WMMSESumPower,
    all_links,
)
from .conflict import (
    GMS,
    LLQ,
    QCSMA,
    GMSPaperCode,
    MaxWeight,
    MultiChannelGMS,
    MultiChannelQCSMA,
    QCSMAPaperCode,
    RandomPolicy,
)
from .pf import TDM, Greedy, ITLinQ, PFThreshold, PFTop1, RandomUE, RandomWalk

__all__ = ["get", "available", "FAMILIES", "GMS", "GMSPaperCode", "MultiChannelGMS", "MultiChannelQCSMA", "MaxWeight",
           "LLQ", "QCSMA", "QCSMAPaperCode", "RandomPolicy", "CellularLLQ", "FullPower", "CellularRandom", "FairITLinQ",
           "FP", "WMMSE", "WMMSESumPower", "RandomWalk", "RandomUE", "PFTop1", "PFThreshold", "Greedy", "TDM", "ITLinQ"]

#: family -> name -> policy class (or constructor).  The ``*_paper_code`` and ``*_all_links``
#: entries reproduce the authors' public code, beside the SPEC versions (SPEC section 4).
FAMILIES: dict[str, dict[str, Callable[..., Policy]]] = {
    "conflict": {
        "gms": GMS,
        "gms_multichannel": MultiChannelGMS,
        "max_weight": MaxWeight,
        "llq": LLQ,
        "qcsma": QCSMA,
        "random": RandomPolicy,
        "gms_paper_code": GMSPaperCode,
        "qcsma_paper_code": QCSMAPaperCode,
        "qcsma_multichannel": MultiChannelQCSMA,
    },
    "cellular": {
        "llq": CellularLLQ,
        "full_power": FullPower,
        "random": CellularRandom,
        "fair_itlinq": FairITLinQ,
        "fp": FP,
        "wmmse": WMMSE,
        "fp_all_links": all_links(FP, "fp_all_links"),
        "wmmse_all_links": all_links(WMMSE, "wmmse_all_links"),
        "wmmse_sum_power": WMMSESumPower,
    },
    "pf": {
        "random_walk": RandomWalk,
        "random_ue": RandomUE,
        "greedy": Greedy,
        "tdm": TDM,
        "itlinq": ITLinQ,
        "pf_top1": PFTop1,
        "pf_threshold": PFThreshold,
    },
}


def available(family: str | None = None) -> list[str]:
    """Names accepted by :func:`get` (for one family, or all)."""
    if family is not None:
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; choose one of {sorted(FAMILIES)}")
        return sorted(FAMILIES[family])
    return sorted({n for names in FAMILIES.values() for n in names})


class _ByFamily(Policy):
    """A baseline name shared by several families: resolved when it meets an env."""

    def __init__(self, name: str, kwargs: dict) -> None:
        self.name = name
        self._kwargs = kwargs
        self._impl: Policy | None = None
        first = next(f[name] for f in FAMILIES.values() if name in f)(**kwargs)
        self.information, self.coordination = first.information, first.coordination
        self.conflict_free = first.conflict_free

    def reset(self, env, rng: np.random.Generator) -> None:
        family = env.family if isinstance(env, Env) else None
        if family not in FAMILIES or self.name not in FAMILIES[family]:
            raise TypeError(f"policy {self.name!r} has no implementation for {env!r}")
        self._impl = FAMILIES[family][self.name](**self._kwargs)
        self.information, self.coordination = self._impl.information, self._impl.coordination
        self.conflict_free = self._impl.conflict_free
        self._impl.reset(env, rng)

    def act(self, obs, state=None):
        if self._impl is None:
            raise RuntimeError(f"call reset(env, rng) before act: {self.name!r} does not know "
                               "its environment yet")
        return self._impl.act(obs, state)


def get(name: str, family: str | None = None, **kwargs) -> Policy:
    """A new instance of the baseline called ``name`` (keyword arguments go to its
    constructor).  ``family`` picks one model's implementation when a name is shared."""
    if family is not None:
        if name not in FAMILIES.get(family, {}):
            raise ValueError(f"unknown policy {name!r} for family {family!r}; choose one of "
                             f"{available(family)}")
        return FAMILIES[family][name](**kwargs)
    owners = [f for f, names in FAMILIES.items() if name in names] if isinstance(name, str) else []
    if not owners:
        raise ValueError(f"unknown policy {name!r}; choose one of {available()}")
    if len(owners) == 1:
        return FAMILIES[owners[0]][name](**kwargs)
    return _ByFamily(name, kwargs)
