"""Training runs on one torch thread unless told otherwise and gives the caller's setting
back; progress bars default to on where somebody watches (issue 18, item 3)."""

from __future__ import annotations

import inspect

import pytest
import torch

import rrmbook
from rrmbook.marl import MAPPOConfig, train
from rrmbook.offline import train_cql, train_dqn, train_sac
from rrmbook.runtime import show_progress, torch_threads


def test_torch_threads_sets_and_restores():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        with torch_threads(0):
            pass
    with torch_threads(None):
        assert torch.get_num_threads() == before


@pytest.mark.parametrize("fn", [train, train_cql, train_sac, train_dqn])
def test_every_trainer_takes_threads_defaulting_to_one(fn):
    params = inspect.signature(fn).parameters
    if fn in (train_sac, train_dqn):   # they pass **kwargs on to train_online
        params = inspect.signature(rrmbook.offline.online.train_online).parameters
    assert params["threads"].default == 1
    assert params["progress"].default is None


def test_train_uses_one_thread_inside_and_restores_outside():
    seen = []
    torch.set_num_threads(2)
    try:
        config = MAPPOConfig(n_envs=2, rollout_slots=8, chunk_length=8, update_epochs=1,
                             num_minibatches=1)
        train(config, "paper-cg8", "heavy", budget_slots=16, progress=False,
              callback=lambda policy, record: seen.append(torch.get_num_threads()))
        assert seen == [1] and torch.get_num_threads() == 2
        train(config, "paper-cg8", "heavy", budget_slots=16, progress=False, threads=None,
              callback=lambda policy, record: seen.append(torch.get_num_threads()))
        assert seen[-1] == 2
    finally:
        torch.set_num_threads(1)


def test_progress_default(monkeypatch):
    assert show_progress(True) is True and show_progress(False) is False
    monkeypatch.setenv("RRMBOOK_PROGRESS", "1")
    assert show_progress(None) is True
    monkeypatch.setenv("RRMBOOK_PROGRESS", "0")
    assert show_progress(None) is False
