"""Recurrent MAPPO for radio resource management (Zhang & Guo Sec. III; chapters 5–7).

Train, then evaluate the trained actor like any baseline::

    import rrmbook
    from rrmbook.marl import MAPPOConfig, train

    policy, history = train(MAPPOConfig.laptop(), "paper-cg8", "heavy", budget_slots=200_000)
    env = rrmbook.make_env("paper-cg8", load="heavy", seed=0)
    rrmbook.evaluate(env, policy, slots=5000, seed=0).mean_delay

Modules: :mod:`~rrmbook.marl.networks` (recurrent actor and critic with per-agent weight
groups, action heads, ValueNorm), :mod:`~rrmbook.marl.storage` (rollouts in recurrent
chunks), :mod:`~rrmbook.marl.losses` (GAE and the PPO loss pieces as pure functions),
:mod:`~rrmbook.marl.mappo` (config, learner, checkpoints, :func:`train`) and
:mod:`~rrmbook.marl.agent` (a trained actor as a :class:`~rrmbook.policy.Policy`).
"""

from .agent import AgentSpec, MAPPOPolicy
from .losses import clipped_surrogate, clipped_value_loss, gae
from .mappo import MAPPO, MAPPOConfig, export_policy, load_checkpoint, load_policy, train

__all__ = ["AgentSpec", "MAPPOPolicy", "MAPPO", "MAPPOConfig", "train", "load_checkpoint",
           "load_policy", "export_policy", "gae", "clipped_surrogate", "clipped_value_loss"]
