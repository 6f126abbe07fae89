"""Offline multi-agent RL for proportional-fair scheduling (Eldeeb & Alves; chapters 8-9).

- :mod:`~rrmbook.offline.losses`: the loss pieces of discrete SAC, DQN and CQL as pure
  functions (the CQL penalty, SAC targets, the VDN logsumexp factorisation);
- :mod:`~rrmbook.offline.sac`, :mod:`~rrmbook.offline.dqn`: the online learners
  (centralised, independent, CTDE), trained by :mod:`~rrmbook.offline.online`; what
  they share around training (config checks, checkpoints) is in
  :mod:`~rrmbook.offline.checkpoints`, and :mod:`~rrmbook.offline.loading` reads a
  learner back from its file;
- :mod:`~rrmbook.offline.datasets`: collect (on any model family), save, load and mix
  datasets; :mod:`~rrmbook.offline.minari_export`: export one to Minari (``to_minari``);
- :mod:`~rrmbook.offline.cql`: CQL on discrete SAC (or DQN), trained from a dataset.
"""

from .cql import CQLConfig, train_cql
from .datasets import Dataset, EpsilonBehaviour, collect, load_dataset, mix, save_dataset
from .dqn import DQNConfig, DQNLearner, train_dqn
from .loading import load_learner
from .minari_export import to_minari
from .policy import LearnedPolicy
from .sac import SACConfig, SACLearner, train_sac

__all__ = ["Dataset", "EpsilonBehaviour", "collect", "load_dataset", "mix", "save_dataset", "DQNConfig",
           "DQNLearner", "train_dqn", "SACConfig", "SACLearner", "train_sac", "LearnedPolicy",
           "load_learner", "CQLConfig", "train_cql", "to_minari"]
