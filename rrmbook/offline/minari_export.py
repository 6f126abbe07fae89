"""Export a dataset to Minari (the Farama standard for offline RL datasets).

Minari stores episodes of one (here: joint) agent: per episode ``observations`` with one
row more than ``actions`` (the last observation follows the last action), ``rewards``,
``terminations`` and ``truncations``.  A :class:`~rrmbook.offline.datasets.Dataset` has the
same field names per transition; :func:`to_minari` cuts it into its episodes (by
``episode_ids``, each a contiguous block) and appends each episode's last
``next_observations`` row.  Spaces: the joint observation ``Box((I, F))`` and the joint
action ``MultiDiscrete`` of shape ``(I, *A)`` (every entry's number of choices from the
sidecar).  The team reward and the sidecar's description go along; individual rewards are
not in a dataset.

Minari is an optional dependency: ``pip install 'rrmbook[minari]'``.  It writes under
``$MINARI_DATASETS_PATH`` (default ``~/.minari/datasets``).
"""

from __future__ import annotations

import numpy as np

from .datasets import Dataset

__all__ = ["to_minari", "minari_spaces"]


def _import_minari():
    try:
        import minari
        from minari.data_collector import EpisodeBuffer
    except ImportError as err:
        raise ImportError("rrmbook.offline.to_minari needs Minari (with its HDF5 storage): "
                          "pip install 'rrmbook[minari]'  (or: pip install 'minari[hdf5]')"
                          ) from err
    return minari, EpisodeBuffer


def minari_spaces(dataset: Dataset):
    """The joint ``(observation_space, action_space)`` of ``dataset`` as Gymnasium spaces."""
    from gymnasium import spaces

    meta = dataset.meta
    low = 0.0 if meta.get("family") == "conflict" else -np.inf
    obs = spaces.Box(low=low, high=np.inf, shape=dataset.observations.shape[1:],
                     dtype=np.float32)
    shape = dataset.actions.shape[1:]
    if "action_nvec" in meta:
        nvec = np.broadcast_to(np.asarray(meta["action_nvec"], dtype=np.int64), shape)
    else:
        n = meta.get("n_actions", int(dataset.actions.max()) + 1 if dataset.actions.size else 1)
        nvec = np.full(shape, int(n), dtype=np.int64)
    return obs, spaces.MultiDiscrete(nvec.copy())


def _episodes(dataset: Dataset) -> list[tuple[int, int]]:
    """(start, stop) of every episode, in stored order; each must be one contiguous block
    whose observations chain (``next_observations[t] == observations[t + 1]``)."""
    ids = dataset.episode_ids
    if not len(ids):
        raise ValueError("the dataset holds no transitions")
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    stops = np.r_[starts[1:], len(ids)]
    if len(np.unique(ids)) != len(starts):
        raise ValueError("every episode must be one contiguous block of transitions (as "
                         "collect, mix and the subsets store them); sort by episode_ids first")
    inside = ids[1:] == ids[:-1]
    broken = inside & np.any(dataset.next_observations[:-1] != dataset.observations[1:],
                             axis=tuple(range(1, dataset.observations.ndim)))
    if broken.any():
        t = int(np.flatnonzero(broken)[0])
        raise ValueError(f"next_observations[{t}] is not observations[{t + 1}] inside episode "
                         f"{int(ids[t])}: Minari stores one observation sequence per episode")
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _description(meta: dict) -> str:
    reward = meta.get("reward", "the team reward (E-16)")
    return (f"rrmbook offline dataset: scenario {meta.get('scenario')!r}, behaviour "
            f"{meta.get('behaviour')!r}, seed {meta.get('seed')}, {meta.get('size')} "
            f"transitions of {meta.get('n_agents')} agents (joint observation and action, "
            f"agent axis first); reward: {reward}; rrmbook {meta.get('rrmbook_version')}.")


def to_minari(dataset: Dataset, dataset_id: str, *, description: str | None = None,
              algorithm_name: str | None = None, author: str | None = None,
              author_email: str | None = None, code_permalink: str | None = None,
              data_format: str | None = None, **minari_kwargs):
    """Write ``dataset`` as the Minari dataset ``dataset_id`` (e.g.
    ``"rrmbook/pf-4x20/greedy-v0"``) and return the ``minari.MinariDataset``.

    One Minari episode per rrmbook episode, in stored order (Minari numbers them 0, 1, ...;
    the first transition of Minari episode e is the first row of the e-th episode block).
    ``algorithm_name`` defaults to the behaviour policy's name, ``description`` to a summary
    of the sidecar; further keyword arguments go to
    ``minari.create_dataset_from_buffers``.  An existing ``dataset_id`` is an error
    (Minari never overwrites)."""
    minari, EpisodeBuffer = _import_minari()
    if not isinstance(dataset, Dataset):
        raise TypeError(f"to_minari needs an rrmbook.offline.Dataset, got {type(dataset).__name__}")
    obs_space, act_space = minari_spaces(dataset)
    buffers = []
    for e, (a, b) in enumerate(_episodes(dataset)):
        observations = np.concatenate([dataset.observations[a:b],
                                       dataset.next_observations[b - 1:b]])
        buffers.append(EpisodeBuffer(id=e, observations=observations,
                                     actions=dataset.actions[a:b],
                                     rewards=dataset.rewards[a:b],
                                     terminations=dataset.terminations[a:b],
                                     truncations=dataset.truncations[a:b]))
    kwargs = {"data_format": data_format} if data_format is not None else {}
    return minari.create_dataset_from_buffers(
        dataset_id, buffers, observation_space=obs_space, action_space=act_space,
        algorithm_name=algorithm_name or dataset.meta.get("behaviour"),
        description=description or _description(dataset.meta), author=author,
        author_email=author_email, code_permalink=code_permalink, **kwargs, **minari_kwargs)
