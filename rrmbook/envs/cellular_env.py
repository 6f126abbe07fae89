"""The multi-cell downlink as a batched Dec-POMDP-IR environment (Zhang & Guo Sec. II-C).

K access points (agents) serve N devices on H subbands.  Each slot every AP picks, per
subband, one of its devices (or none) and one of |P| power levels (Z-13, Z-14); links
succeed at the rate their SINR allows (Z-12) and queues, in bits, drain by (Z-15).  B
copies of one layout step together (independent fading and traffic); no Python loop over
devices or APs.  Chapter 4 explains it.

Slot timing (SPEC section 0): arrivals; each agent observes its neighbourhood's queues (now)
and channel measurements of the previous slot (one-slot-delayed CSI); it acts; the
current slot's fading decides the rates; queues update; rewards use end-of-slot queues.

Action of agent k: integer array ``(H, 2)``: column 0 the device (0 = silent, i = its i-th
device, padded indices = silent), column 1 the power level 0..|P|-1 (ignored when silent).
The joint action is ``(B, K, H, 2)``.  Optimisation baselines (FP, WMMSE) instead return
:class:`LinkPowers`: a continuous power in [0, P_max] on every link and subband, which also
allows the paper's relaxation where several links of one AP share a subband.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import checks, seeding
from ..channel import (
    db_to_linear,
    dbm_to_watt,
    doppler_correlation,
    gauss_markov_step,
    power_levels,
    rayleigh,
    spectral_efficiency,
)
from ..seeding import Stream
from ..topology import Layout, neighbourhoods_by_gain
from ..traffic import PacketLedger, poisson_arrivals, queue_step
from .base import BatchedQueueEnv, Observation, StepResult

__all__ = ["CellularConfig", "CellularEnv", "CellularState", "LinkPowers"]


@dataclass
class LinkPowers:
    """Continuous transmit powers ``(B, H, N)`` in watts on every link (device) and subband,
    as an alternative to the discrete joint action."""

    power: np.ndarray


#: features per device in o_n (Z-18): the queue in packets, then for each subband h (in
#: order) SNR at P_max (dB/10), own power / P_max, interference-plus-noise over noise
#: (dB/10) and spectral efficiency / its cap, all measured in the previous slot.
_PER_SUBBAND = ("snr_db", "power", "inr_db", "rate")


@dataclass(eq=False)
class CellularConfig:
    """A multi-cell scenario.  Units: metres, seconds, hertz, dBm; traffic in packets/slot.

    Defaults are SPEC section 2 (Table I of Zhang & Guo, except ``bandwidth_hz``: the
    published delay curves were produced with 10 MHz; Table I says 20 MHz).

    Traffic units differ between this class and the scenario helpers:
    ``CellularConfig.arrival_rate`` is in packets per **slot** per device, while the ``load``
    of :func:`~rrmbook.make_env`, :func:`~rrmbook.make_config` and
    :func:`~rrmbook.cellular` is in packets per **second** per device (as on the
    paper's axes); :func:`~rrmbook.make_config` multiplies it by ``slot_s``, so
    ``load=20.0`` gives ``arrival_rate = 0.4`` with 20 ms slots.

    Attributes
    ----------
    layout : rrmbook.topology.Layout
        The deployment: AP and device positions (m) and each device's serving AP
        (:func:`~rrmbook.topology.hex_layout`, :func:`~rrmbook.topology.random_layout`).
        The path gains of (Z-11) follow from it.  Required, no default.
    arrival_rate : float or sequence of float
        Mean Poisson arrivals in **packets per slot** per device: one number for every
        device or one per device (N).  Default 0.4, i.e. 20 packets/s with 20 ms slots.
        Not packets per second: ``make_env``/``cellular()`` take their ``load`` in
        packets/s and convert it (see above).
    n_subbands : int
        H, the number of subbands; every AP picks one device (or none) and one power level
        per subband.  Default 3.
    slot_s : float
        Slot duration T in seconds.  Default 0.02 (20 ms).  It converts delays (slots to
        ms), sets the fading correlation with ``doppler_hz`` and, with ``bandwidth_hz``, the
        bits a link carries per slot.
    bandwidth_hz : float
        Bandwidth W of each subband in Hz: a link on subband h carries
        ``slot_s * bandwidth_hz * log2(1 + SINR)`` bits in a slot (Z-12, Z-15).  Default
        10e6 (10 MHz, not Table I's 20 MHz: see above).
    noise_dbm : float
        Noise power sigma^2 on a subband in dBm (a power, not a density).  Default -114.
    p_min_dbm : float
        Lowest transmit power level on a subband, in dBm.  Default 0.
    p_max_dbm : float
        Highest transmit power level P_max on a subband, in dBm.  Default 23.
    n_power_levels : int
        The number of power levels (the size of the set P of (Z-14)), evenly spaced in dBm
        from ``p_min_dbm`` to ``p_max_dbm``; 1 leaves only ``p_max_dbm``.  Default 6.
    packet_bits : float
        Packet size L in bits.  Queues are kept in bits; observations, rewards and
        ``max_queue`` count packets of this size.  Default 0.5e6.
    doppler_hz : float
        Maximum Doppler frequency f_d in Hz of the Gauss-Markov fading (Z-11): the lag-one
        correlation is rho = J0(2 pi f_d T), about 0.64 at the defaults; 0 freezes the
        fading.  Default 10.
    sinr_cap_db : float or None
        The SINR is capped at this many dB before ``log2(1 + SINR)``, so a link carries at
        most about 9.97 bit/s/Hz at the default 30 dB; ``None`` removes the cap.
    neighbour_threshold_db : float
        APs k and a are neighbours (in each other's C(k)) when a device of either receives
        the other AP within this many dB of its own AP's path gain (no fading).  C(k) sets
        what agent k observes and the queues its reward counts.  Default 8 dB.
    episode_slots : int
        Training episodes are truncated after this many slots (evaluation ignores
        truncation).  Default 2000.
    max_queue : float or None
        A training episode of a copy is also truncated once any device's queue exceeds this
        many packets; ``None`` disables it.  Default 50.
    max_devices : int or None
        Devices per agent in the action and observation layout; ``None`` (the default)
        means the largest cell's.  A larger value pads with silent dummy devices (so one
        policy fits several layouts); a smaller one than the largest cell is an error.
    max_neighbours : int or None
        Neighbours per agent in the observation; ``None`` (the default) means the widest
        neighbourhood's.  A value below that needs ``truncate_neighbours=True``.
    truncate_neighbours : bool
        When a neighbourhood is wider than ``max_neighbours``: ``True`` observes only the
        ``max_neighbours`` most strongly coupled neighbours (rewards still count the whole
        C(k)); ``False`` (the default) refuses such a layout.
    name : str
        Scenario name, recorded in results.  Default ``"cellular"``
        (:func:`~rrmbook.make_config` sets the preset's name).
    rates : numpy.ndarray
        Derived, not a constructor argument: ``arrival_rate`` as one rate per device,
        shape (N,), in packets per slot.
    """

    layout: Layout
    arrival_rate: float | tuple[float, ...] = 0.4
    n_subbands: int = 3
    slot_s: float = 0.02
    bandwidth_hz: float = 10e6
    noise_dbm: float = -114.0
    p_min_dbm: float = 0.0
    p_max_dbm: float = 23.0
    n_power_levels: int = 6
    packet_bits: float = 0.5e6
    doppler_hz: float = 10.0
    sinr_cap_db: float | None = 30.0
    neighbour_threshold_db: float = 8.0
    episode_slots: int = 2000
    max_queue: float | None = 50.0
    max_devices: int | None = None
    max_neighbours: int | None = None
    truncate_neighbours: bool = False
    name: str = "cellular"
    rates: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.layout, Layout):
            raise TypeError(f"layout must be a rrmbook.topology.Layout, got {type(self.layout).__name__}")
        n = self.layout.n_devices
        rates = np.asarray(self.arrival_rate, dtype=float)
        rates = np.full(n, float(rates)) if rates.ndim == 0 else rates
        if rates.shape != (n,) or not np.all(np.isfinite(rates)) or np.any(rates < 0):
            raise ValueError(f"arrival_rate must be >= 0 packets/slot, one number or one per device "
                             f"({n}); got {self.arrival_rate!r}")
        self.rates = rates
        counts = {"n_subbands": self.n_subbands, "n_power_levels": self.n_power_levels,
                  "episode_slots": self.episode_slots}
        for name, value in counts.items():
            checks.positive_int(name, value)
        if not isinstance(self.truncate_neighbours, bool):
            raise ValueError(f"truncate_neighbours must be True or False, "
                             f"got {self.truncate_neighbours!r}")
        for name in ("max_devices", "max_neighbours"):
            value = getattr(self, name)
            if value is not None and (int(value) != value or value < 0):
                raise ValueError(f"{name} must be a non-negative integer or None, got {value}")
        positive = {"slot_s": self.slot_s, "bandwidth_hz": self.bandwidth_hz,
                    "packet_bits": self.packet_bits}
        for name, value in positive.items():
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be finite and > 0, got {value}")
        for name in ("noise_dbm", "p_min_dbm", "p_max_dbm"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number of dBm, got {getattr(self, name)}")
        if self.p_min_dbm > self.p_max_dbm:
            raise ValueError(f"p_min_dbm ({self.p_min_dbm}) must not exceed p_max_dbm ({self.p_max_dbm})")
        if self.doppler_hz < 0:
            raise ValueError(f"doppler_hz must be >= 0, got {self.doppler_hz}")
        if self.max_queue is not None and not self.max_queue >= 0:  # nan too
            raise ValueError(f"max_queue must be >= 0 packets or None, got {self.max_queue}")


@dataclass
class CellularState:
    """Global state (Z-17): queues in bits and the current slot's gains ``(B, H, K, N)``."""

    zeta: np.ndarray
    q: np.ndarray
    gain: np.ndarray
    t: int


class CellularEnv(BatchedQueueEnv):
    """Batched multi-cell downlink environment; see the module docstring."""

    family = "cellular"
    within_slot = True
    delay_unit = "ms"

    def __init__(self, config: CellularConfig, batch: int = 1, seed: int = 0) -> None:
        checks.instance_of("config", config, CellularConfig)
        c = config
        self.config, self.batch = c, checks.positive_int("batch", batch)
        # per copy: complex fading and float gains from every AP to every device per subband
        checks.fits_in_memory(self.batch * c.n_subbands * c.layout.n_aps * c.layout.n_devices
                              * 48.0, f"{self.batch:,} copies of {c.name}", "lower batch")
        self.layout = c.layout
        self.n_agents, self.n_devices, self.n_subbands = c.layout.n_aps, c.layout.n_devices, int(c.n_subbands)
        self.serving = c.layout.serving
        self.owner = self.serving
        self.alpha = c.layout.path_gains()  # (K, N)
        self._alpha32 = self.alpha.astype(np.float32)
        self.rho = doppler_correlation(c.doppler_hz, c.slot_s)
        self.levels = power_levels(c.p_min_dbm, c.p_max_dbm, c.n_power_levels)
        self.p_max = float(self.levels[-1])
        self.noise_w = float(dbm_to_watt(c.noise_dbm))
        self.packet_size = float(c.packet_bits)
        self.delay_scale = 1000.0 * c.slot_s  # slots -> ms
        self.bits_per_unit_rate = c.slot_s * c.bandwidth_hz  # bits per (bit/s/Hz) per slot

        counts = np.bincount(self.serving, minlength=self.n_agents)
        self.max_devices = int(c.max_devices if c.max_devices is not None else counts.max())
        if counts.max() > self.max_devices:
            raise ValueError(f"max_devices={self.max_devices} is smaller than the largest cell "
                             f"({counts.max()} devices): a policy trained for at most "
                             f"{self.max_devices} devices per cell cannot serve it; train one with "
                             f"env_kwargs={{'max_devices': {counts.max()}}} (or more)")
        self.agent_devices = -np.ones((self.n_agents, self.max_devices), dtype=np.int64)
        for k in range(self.n_agents):
            mine = np.flatnonzero(self.serving == k)
            self.agent_devices[k, : len(mine)] = mine
        self.local_index = np.zeros(self.n_devices, dtype=np.int64)
        rows, cols = np.nonzero(self.agent_devices >= 0)
        self.local_index[self.agent_devices[rows, cols]] = cols + 1
        self.device_of = np.concatenate([-np.ones((self.n_agents, 1), dtype=np.int64),
                                         self.agent_devices], axis=1)

        self.neighbourhoods = neighbourhoods_by_gain(self.alpha, self.serving, c.neighbour_threshold_db)
        widest = max(len(n) for n in self.neighbourhoods) - 1
        self.max_neighbours = int(c.max_neighbours if c.max_neighbours is not None else widest)
        if widest > self.max_neighbours and not c.truncate_neighbours:
            raise ValueError(f"max_neighbours={self.max_neighbours} is smaller than the largest "
                             f"neighbourhood ({widest} neighbours); set truncate_neighbours=True "
                             f"to observe only the strongest neighbours")
        blocks = -np.ones((self.n_agents, 1 + self.max_neighbours), dtype=np.int64)
        for k, nb in enumerate(self.observed_neighbourhoods()):
            blocks[k, : len(nb)] = nb
        dev = np.where(blocks[:, :, None] >= 0, self.agent_devices[np.maximum(blocks, 0)], -1)
        self.obs_index = np.where(dev >= 0, dev, self.n_devices).reshape(self.n_agents, -1)
        self.device_features = 1 + len(_PER_SUBBAND) * self.n_subbands
        self.obs_dim = self.obs_index.shape[1] * self.device_features
        self.neighbour_matrix = np.zeros((self.n_agents, self.n_agents))
        for k, nb in enumerate(self.neighbourhoods):
            self.neighbour_matrix[nb, k] = 1.0
        self._of_ap = np.eye(self.n_agents)[self.serving]  # (N, K)
        # precomputed once, so that a slot costs arithmetic rather than Python calls
        self._devices = np.arange(self.n_devices)
        self._reward_matrix = -(self._of_ap @ self.neighbour_matrix) / self.packet_size  # (N, K)
        self._device_slot = np.where(self.device_of >= 0, self.device_of, self.n_devices)
        self._agent_ix = np.arange(self.n_agents)[None, :, None]
        self._batch_ix = np.arange(self.batch)[:, None, None]
        self._subband_ix = np.arange(self.n_subbands)[None, None, :]
        self._rate_grid = np.broadcast_to(c.rates, (self.batch, self.n_devices))
        self._snr_scale = self.p_max / self.noise_w
        self._sinr_cap = None if c.sinr_cap_db is None else float(db_to_linear(c.sinr_cap_db))
        self._max_rate = float(spectral_efficiency(np.inf, c.sinr_cap_db)) \
            if c.sinr_cap_db is not None else 10.0
        self._queue_limit = None if c.max_queue is None else c.max_queue * self.packet_size
        self._pad = np.zeros((self.batch, self.n_devices + 1, self.device_features), dtype=np.float32)
        self.ledger: PacketLedger | None = None
        self.reset(seed)

    # ------------------------------------------------------------------ structure
    @property
    def n_actions(self) -> tuple[int, int]:
        """The choices per subband, as the pair (silent + devices, power levels)."""
        return self.max_devices + 1, len(self.levels)

    def queue_packets(self) -> np.ndarray:
        """Queues at the end of the last slot, in packets (``(B, N)``)."""
        return self.q / self.packet_size

    def _check_actions(self, actions) -> np.ndarray:
        actions = np.asarray(actions)
        expected = (self.batch, self.n_agents, self.n_subbands, 2)
        if actions.shape != expected:
            raise ValueError(f"actions must have shape (batch, agents, subbands, 2) = {expected}, "
                             f"got {actions.shape}")
        if actions.dtype.kind not in "iu":
            raise TypeError(f"actions must be integers, got dtype {actions.dtype}")
        d, p = actions[..., 0], actions[..., 1]
        if actions.min() < 0 or d.max() > self.max_devices or p.max() >= len(self.levels):
            if d.min() < 0 or d.max() > self.max_devices:
                raise ValueError(f"device choices must lie in 0..{self.max_devices} (0 = silent), "
                                 f"got {d.min()}..{d.max()}")
            raise ValueError(f"power levels must lie in 0..{len(self.levels) - 1}, "
                             f"got {p.min()}..{p.max()}")
        return actions

    def link_power(self, actions) -> np.ndarray:
        """Power on every link, ``(B, H, N)`` watts, from agent actions ``(B, K, H, 2)`` or
        from :class:`LinkPowers` (checked: right shape, finite, within [0, P_max])."""
        if isinstance(actions, LinkPowers):
            p = np.asarray(actions.power, dtype=float)
            expected = (self.batch, self.n_subbands, self.n_devices)
            if p.shape != expected:
                raise ValueError(f"LinkPowers.power must have shape (batch, subbands, devices) = "
                                 f"{expected}, got {p.shape}")
            if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > self.p_max * (1 + 1e-9):
                raise ValueError(f"LinkPowers.power must lie in [0, P_max = {self.p_max:.4g} W]")
            return np.minimum(p, self.p_max)
        actions = self._check_actions(actions)
        # the device each AP serves on each subband, (B, K, H); silence (and padding) points
        # at a spare column N that is dropped at the end
        dev = self._device_slot[self._agent_ix, actions[..., 0]]
        out = np.zeros((self.batch, self.n_subbands, self.n_devices + 1))
        out[self._batch_ix, self._subband_ix, dev] = self.levels[actions[..., 1]]
        return out[..., : self.n_devices]

    def actions_from_link_power(self, link_power: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`link_power` for schedules that use the power levels: the device
        with the largest power of each AP and subband, at the nearest level (log scale)."""
        lp = np.asarray(link_power, dtype=float)
        per_ap = np.where(lp[:, :, None, :] > 0, lp[:, :, None, :] * self._of_ap.T[None, None], 0.0)
        best = per_ap.argmax(axis=-1)  # (B, H, K) device index
        top = np.take_along_axis(per_ap, best[..., None], axis=-1)[..., 0]
        level = np.abs(np.log(np.maximum(top, 1e-30))[..., None] - np.log(self.levels)).argmin(-1)
        choice = np.where(top > 0, self.local_index[best], 0)
        return np.stack([choice, np.where(top > 0, level, 0)], axis=-1).transpose(0, 2, 1, 3)

    # ------------------------------------------------------------------ dynamics
    def observed_neighbourhoods(self) -> list[list[int]]:
        """The agents whose devices each agent k observes: C(k) itself, or, when C(k) has
        more than ``max_neighbours`` neighbours and ``truncate_neighbours`` is set, k and its
        ``max_neighbours`` most strongly coupled neighbours (coupling of k and a: the
        largest path gain of one AP at a device of the other, relative to that device's own
        AP).  Truncation lets a policy trained on one network run on a larger one whose
        neighbourhoods are wider; rewards still count the whole C(k)."""
        if all(len(nb) - 1 <= self.max_neighbours for nb in self.neighbourhoods):
            return self.neighbourhoods
        own = self.alpha[self.serving, np.arange(self.n_devices)]
        rel = self.alpha / own[None, :]  # (K, N): AP k at device n, relative to n's own AP
        heard = np.zeros((self.n_agents, self.n_agents))  # heard[k, a]: AP k at devices of a
        np.maximum.at(heard.T, self.serving, rel.T)
        coupling = np.maximum(heard, heard.T)
        out = []
        for k, nb in enumerate(self.neighbourhoods):
            others = sorted(nb[1:], key=lambda a: -coupling[k, a])[: self.max_neighbours]
            out.append([k, *sorted(others)])
        return out

    def reset(self, seed: int | None = None) -> Observation:
        """Empty queues, restart the clock; with a seed, restart the traffic and fading
        streams (same seed, same arrivals and channels); with ``None`` carry on."""
        if seed is not None or not hasattr(self, "_traffic"):
            s = int(seed or 0)
            self._traffic = seeding.rng(s, Stream.TRAFFIC)
            self._fading = seeding.torch_generator(s, Stream.FADING)
        shape = (self.batch, self.n_subbands, self.n_agents, self.n_devices)
        before = rayleigh(self._fading, shape)  # slot -1: what the first observation measured
        self.beta = gauss_markov_step(before, self.rho, self._fading)
        self.gain = self._gain(self.beta)
        self.t = 0
        self.slot_in_episode = np.zeros(self.batch, dtype=np.int64)
        self.q = np.zeros((self.batch, self.n_devices))
        self.arrivals = poisson_arrivals(self._traffic, self.config.rates, self.batch)
        self._refresh_zeta()
        silent = np.zeros((self.batch, self.n_subbands, self.n_devices))
        direct = self._gain(before)[..., self.serving, self._devices]
        self._last = self._measure(direct, silent, np.full_like(silent, self.noise_w), silent)
        return self.observe()

    def _gain(self, beta: np.ndarray) -> np.ndarray:
        """g = alpha |beta|^2 (Z-11), ``(B, H, K, N)`` float32 (fading precision is ample)."""
        power = beta.real ** 2
        power += beta.imag ** 2
        power *= self._alpha32
        return power

    def _measure(self, direct, link_power, ipn, rate) -> np.ndarray:
        """The per-subband features of o_n (Z-18), scaled to O(1): SNR at P_max (dB/10),
        power / P_max, interference-plus-noise over noise (dB/10), rate / max rate, from the
        gains of the serving links ``direct (B, H, N)``.  Returns ``(B, N, H*4)`` float32,
        subband-major within a device."""
        feats = np.empty((self.batch, self.n_devices, self.n_subbands, len(_PER_SUBBAND)),
                         dtype=np.float32)
        by_device = feats.transpose(0, 2, 1, 3)  # (B, H, N, 4) view
        by_device[..., 0] = np.log10(direct * self._snr_scale)
        by_device[..., 1] = link_power / self.p_max
        by_device[..., 2] = np.log10(ipn / self.noise_w)
        by_device[..., 3] = rate / self._max_rate
        return feats.reshape(self.batch, self.n_devices, -1)

    def observe(self) -> Observation:
        pad = self._pad  # row N stays zero: the padding of absent devices
        pad[:, :-1, 0] = self.zeta / self.packet_size
        pad[:, :-1, 1:] = self._last
        X = pad[:, self.obs_index].reshape(self.batch, self.n_agents, -1)  # a fresh array
        return Observation(X=X, t=self.t)

    def state(self) -> CellularState:
        return CellularState(zeta=self.zeta.copy(), q=self.q.copy(), gain=self.gain.copy(), t=self.t)

    def rewards(self, q_bits: np.ndarray) -> np.ndarray:
        """R_k = -(queued packets of the devices of C(k)) (Z-9, Z-10 with bits / L)."""
        return q_bits @ self._reward_matrix

    def rates(self, gain: np.ndarray, link_power: np.ndarray):
        """Spectral efficiency ``(B, H, N)`` of every link and the I+N it sees (Z-12)."""
        se, ipn, _ = self._rates(np.asarray(gain), np.asarray(link_power, dtype=float))
        return se, ipn

    def _rates(self, gain: np.ndarray, power: np.ndarray):
        """:meth:`rates` and the serving links' gains ``(B, H, N)``: the arithmetic of
        :func:`~rrmbook.channel.downlink_sinr` (a test checks that they agree) with the
        products it needs built once per environment instead of once per call."""
        direct = gain[..., self.serving, self._devices]  # (B, H, N)
        received = ((power @ self._of_ap)[..., None] * gain).sum(axis=-2)  # sum_k P_k g_kn
        signal = direct * power
        ipn = np.maximum(received - signal, 0.0)
        ipn += self.noise_w
        sinr = signal / ipn
        if self._sinr_cap is not None:
            np.minimum(sinr, self._sinr_cap, out=sinr)
        se = np.log2(1.0 + sinr)
        se *= power > 0
        return se, ipn, direct

    def step(self, actions) -> StepResult:
        power = self.link_power(actions)
        se, ipn, direct = self._rates(self.gain, power)
        capacity = self.bits_per_unit_rate * se.sum(axis=1)  # bits each link could carry
        zeta, q, served = queue_step(self.q, self.arrivals * self.packet_size, capacity)
        if self.ledger is not None:
            self.ledger.record(self.arrivals, served, capacity)
        rewards = self.rewards(q)
        self._last = self._measure(direct, power, ipn, se)
        self.q = q
        self.t += 1
        self.slot_in_episode += 1
        truncated = self.slot_in_episode >= self.config.episode_slots
        if self._queue_limit is not None:
            truncated |= q.max(axis=1) > self._queue_limit
        info = {"link_power": power, "rate": se, "served_bits": served, "capacity_bits": capacity,
                "arrivals": self.arrivals, "zeta": zeta}
        self.beta = gauss_markov_step(self.beta, self.rho, self._fading)
        self.gain = self._gain(self.beta)
        self.arrivals = self._traffic.poisson(self._rate_grid)  # = poisson_arrivals(...)
        self._refresh_zeta()
        return StepResult(obs=self.observe(), rewards=rewards, truncated=truncated, info=info)

    def _refresh_zeta(self) -> None:
        self.zeta = self.q + self.arrivals * self.packet_size

    def __repr__(self) -> str:
        return (f"CellularEnv({self.config.name!r}, aps={self.n_agents}, devices={self.n_devices}, "
                f"subbands={self.n_subbands}, batch={self.batch})")
