"""The instructor's solutions to in-text exercises that are programs (``solutions/in_text``):
they run and do what the exercise asks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

import rrmbook

IN_TEXT = Path(__file__).resolve().parents[1] / "solutions" / "in_text"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, IN_TEXT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_minimal_mappo_of_exercise_5_6_beats_llq_at_light_load():
    """150 updates (about half a minute): the greedy policy's mean delay is below LLQ's on
    the same arrivals, and far below an untrained policy's."""
    mm = _module("ch05_minimal_mappo")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        agent, history = mm.train(load="light", updates=150, seed=0)
        env = rrmbook.make_env("paper-cg8", load="light", seed=0)
        trained = rrmbook.evaluate(env, mm.greedy(agent, env), 2000, seed=7).mean_delay
        untrained = rrmbook.evaluate(env, mm.greedy(mm.Agent(6, 3, 3), env), 2000, seed=7).mean_delay
    finally:
        torch.set_num_threads(threads)
    llq = rrmbook.evaluate(env, rrmbook.baselines.get("llq"), 2000, seed=7).mean_delay
    assert len(history) == 150
    assert trained < llq < untrained, (trained, llq, untrained)
