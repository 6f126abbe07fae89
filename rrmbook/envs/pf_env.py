"""Proportional-fair downlink scheduling with mobile users (Eldeeb & Alves, Sec. II–III) as
a batched multi-agent environment.

I access points (the agents) serve J mobile UEs in an L x L square.  B independent copies
step together; every array has a leading batch axis, nothing loops over UEs or APs in
Python.  Chapter 9 explains the model; the pure functions live in :mod:`rrmbook.pf`.

An episode (T steps) starts with a fresh drop: AP positions at least ``min_ap_distance``
apart (E-1), UEs at least ``min_ue_distance`` from every AP (E-2), a log-normal shadowing
value per AP-UE link and a random heading per UE; every UE joins the AP with the largest
RSRP (E-5) for the whole episode.  Timing of step t:

1. UEs report their SINR with every AP transmitting (E-7) on this step's channel (path loss
   at the current positions, the episode's shadowing, fresh Rayleigh fading); with the PF
   weights w this gives every UE's PF ratio (E-14) and every AP's top-N UEs;
2. each AP observes o_i = ((SINR_dB, w) of its top-N UEs) and picks one of them or
   silence;
3. the served UEs get C_j = log2(1 + SINR_j) with interference from the APs that
   transmit (E-6, E-7); the others get 0;
4. the team reward r = sum_j w_j^lambda C_j (E-16) uses the weights of step 1;
5. the PF recursion (E-13) updates C~ and w; UEs move, bouncing off the borders.

After T steps the copies report every UE's average rate (E-8) and start a new episode.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import checks, pf, seeding
from ..channel import dbm_to_watt
from ..seeding import Stream

__all__ = ["PFConfig", "PFEnv", "PFObservation", "PFState", "PFStep"]

@dataclass(eq=False)
class PFConfig:
    """Every parameter of the PF scheduling model (defaults: Eldeeb & Alves, Table III;
    the ones the paper does not give are marked *assumption*).

    Units: metres, seconds, dB/dBm, hertz; rates in bit/s/Hz.  The model has full buffers,
    so there is no traffic load (``make_env("pf-4x20")`` takes none).

    Attributes
    ----------
    n_aps : int
        I, the number of APs (the agents).  Default 4.
    n_ues : int
        J, the number of mobile UEs.  Default 20.
    top_n : int
        N, the UEs each AP may choose from (its top N associated UEs by PF ratio, (E-14));
        an AP has N + 1 actions (one of them, or silence).  Default 3.
    side_m : float
        L, the side of the square area, in metres.  Default 100.
    min_ap_distance_m : float
        d_0 of (E-1): APs are dropped at least this many metres apart.  Default 10.
    min_ue_distance_m : float
        d_1 of (E-2): UEs are dropped at least this many metres from every AP.  Default 1.
    speed_mps : float
        UE speed in m/s; each UE keeps one random heading per episode and bounces off the
        borders.  Default 1.
    step_s : float
        Duration of one step in seconds (*assumption*: 0.1 s, so a UE moves 20 m in an
        episode and the association made at its start stays meaningful).
    episode_steps : int
        T, the steps of an episode; every episode starts with a fresh drop.  Default 200.
    penetration_db : float
        PL_o of the indoor path loss (E-4), in dB.  Default 10.
    shadowing_db : float
        Standard deviation of the log-normal shadowing in dB (*assumption*: 7 dB), drawn
        once per AP-UE link and episode.
    tx_power_dbm : float
        p_t, every AP's transmit power in dBm.  Default 10.
    noise_dbm_per_hz : float
        N_0, the noise power spectral density in dBm/Hz (*assumption*: -174); the noise
        power is sigma^2 = N_0 B (``noise_w``).
    bandwidth_hz : float
        B in Hz (*assumption*: 10 MHz).  It only sets the noise power: rates are in
        bit/s/Hz.
    eta : float
        The PF averaging factor of (E-13), in (0, 1] (*assumption*: 0.1).  C~(0) is the
        rate of the UE's average channel (no fading) with every AP on (*assumption*: the
        paper's C_j(0) is not defined before the first decision).
    weight_floor : float
        C~ is floored here, in bit/s/Hz, when computing w = 1 / C~, so a starved UE's
        weight stays finite (at most 1 / 0.01 = 100 with the default 1e-2).
    lam : float
        lambda of the reward (E-16), in [0, 1].  Default 0.8.
    mu1 : float or None
        The sum-rate weight of the score (E-11) that :func:`~rrmbook.evaluate` reports;
        ``None`` (the default) means 1 / J.
    mu2 : float
        The 5th-percentile-rate weight of the score (E-11).  Default 3.
    silent_aps_interfere : bool
        (E-7) as printed sums the interference over *every* other AP; with ``False`` (the
        default, SPEC: physics) only the APs that transmit in the step interfere, with
        ``True`` a silent AP interferes as if it transmitted (so silence never helps a
        neighbour: the literal reading, a switch of the calibration study).
    reward : str
        ``"pf"`` (the default: the team reward (E-16)) or ``"utility"``: each step's
        increase of the PF utility sum_j log C~_j of the moving-average rates (an
        ablation, not the paper's: its sum over an episode is the utility's total change,
        so a policy cannot raise it by letting weights grow and then serving the starved
        UEs).
    name : str
        Scenario name, recorded in results.  Default ``"pf"``.
    noise_w : float
        Derived, not a constructor argument: the noise power N_0 B in watts.
    """

    n_aps: int = 4
    n_ues: int = 20
    top_n: int = 3
    side_m: float = 100.0
    min_ap_distance_m: float = 10.0
    min_ue_distance_m: float = 1.0
    speed_mps: float = 1.0
    step_s: float = 0.1
    episode_steps: int = 200
    penetration_db: float = 10.0
    shadowing_db: float = 7.0
    tx_power_dbm: float = 10.0
    noise_dbm_per_hz: float = -174.0
    bandwidth_hz: float = 10e6
    eta: float = 0.1
    weight_floor: float = 1e-2
    lam: float = 0.8
    mu1: float | None = None
    mu2: float = 3.0
    silent_aps_interfere: bool = False
    reward: str = "pf"
    name: str = "pf"
    noise_w: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("n_aps", "n_ues", "top_n", "episode_steps"):
            setattr(self, name, checks.positive_int(name, getattr(self, name)))
        positive = ("side_m", "step_s", "bandwidth_hz", "weight_floor")
        for name in positive:
            if not np.isfinite(getattr(self, name)) or getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("min_ap_distance_m", "min_ue_distance_m", "speed_mps", "shadowing_db",
                     "penetration_db", "mu2"):
            if not np.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0 < self.eta <= 1:
            raise ValueError(f"eta must be in (0, 1], got {self.eta!r}")
        if not 0 <= self.lam <= 1:
            raise ValueError(f"lam must be in [0, 1], got {self.lam!r}")
        checks.boolean("silent_aps_interfere", self.silent_aps_interfere)
        checks.one_of("reward", self.reward, ("pf", "utility"))
        if self.mu1 is not None and not self.mu1 >= 0:
            raise ValueError(f"mu1 must be >= 0 or None (1 / n_ues), got {self.mu1!r}")
        if self.min_ap_distance_m * np.sqrt(self.n_aps) >= self.side_m:
            raise ValueError(f"min_ap_distance_m={self.min_ap_distance_m} is too large for "
                             f"{self.n_aps} APs in a {self.side_m} m square")
        self.noise_w = float(dbm_to_watt(self.noise_dbm_per_hz) * self.bandwidth_hz)

    @property
    def power_w(self) -> float:
        """The transmit power p_t in watts."""
        return float(dbm_to_watt(self.tx_power_dbm))

    @property
    def score_mu1(self) -> float:
        """The sum-rate weight of the score (E-11), ``mu1``, or 1 / J when it is None."""
        return 1.0 / self.n_ues if self.mu1 is None else float(self.mu1)


@dataclass
class PFObservation:
    """What the APs see at the start of a step.

    ``X`` (B, I, 2N) float32: per top-n UE (SINR in dB, PF weight w), zeros for a missing
    UE (an AP with fewer than N UEs); ``top`` (B, I, N) the UE index behind each action
    (-1: none); ``slot`` (B,) the step within the episode.  An AP knows its own top list
    and its associated UEs (``serving``, (B, J)); a local policy uses nothing else."""

    X: np.ndarray
    top: np.ndarray
    serving: np.ndarray
    slot: np.ndarray


@dataclass
class PFState:
    """The global state, for genie-aided baselines (ITLinQ) and centralised learners:
    ``zeta`` (B, I * 2N) all observations side by side (the paper's S), ``gain`` (B, I, J)
    this step's channel power gains, ``sinr`` (B, J) full-interference SINR (linear),
    ``weight`` (B, J) PF weights, ``power_w`` and ``noise_w`` in watts."""

    zeta: np.ndarray
    gain: np.ndarray
    sinr: np.ndarray
    weight: np.ndarray
    power_w: float
    noise_w: float


@dataclass
class PFStep:
    """One step's outcome: next ``obs``; team ``reward`` (B,) and the same value per agent
    in ``rewards`` (B, I); ``rate`` (B, J) bit/s/Hz achieved; ``served`` (B, I) the UE each
    AP served (-1: silent); ``truncated`` (B,) true when an episode ended here, with
    ``episode_rates`` (B, J) its per-UE average rates (E-8) and ``final_obs`` the
    observation that would have come next (for bootstrapping the truncated episode: ``obs``
    is already the first observation of the next episode); both None otherwise."""

    obs: PFObservation
    reward: np.ndarray
    rewards: np.ndarray
    rate: np.ndarray
    served: np.ndarray
    truncated: np.ndarray
    episode_rates: np.ndarray | None = None
    final_obs: PFObservation | None = None


class PFEnv:
    """B copies of the PF scheduling model.  Actions: (B, I) integers, ``a < N`` serves the
    AP's (a+1)-th UE by PF ratio, ``a = N`` keeps it silent (an action that points at a
    missing UE also means silence)."""

    family = "pf"
    n_subbands = 1

    def __init__(self, config: PFConfig | None = None, batch: int = 1, seed: int = 0) -> None:
        self.batch = checks.positive_int("batch", batch)
        self.config = checks.instance_of("config", PFConfig() if config is None else config,
                                         PFConfig)
        c = self.config
        # per copy: fading, shadowing and rates between every AP and UE, and the UEs' state
        checks.fits_in_memory(self.batch * (c.n_aps + 8) * c.n_ues * 64.0,
                              f"{self.batch:,} copies of {c.name}", "lower batch")
        self.n_agents, self.n_devices, self.top_n = c.n_aps, c.n_ues, c.top_n
        self.n_actions = c.top_n + 1
        self.obs_dim = 2 * c.top_n
        self.silent = c.top_n
        self.reset(seed)

    # ------------------------------------------------------------------ episodes
    def reset(self, seed: int | None = None) -> PFObservation:
        """Start new episodes in every copy; with a seed, restart the layout and fading
        streams (same seed: same drops, same channels, whatever the policy does)."""
        if seed is not None:
            self._layout_rng = seeding.rng(seed, Stream.PF_LAYOUT)
            self._fading_rng = seeding.rng(seed, Stream.PF_FADING)
        self._new_episode()
        return self.observe()

    def _new_episode(self) -> None:
        c, B, rng = self.config, self.batch, self._layout_rng
        self.ap_xy = pf.sample_points(rng, (B, c.n_aps), c.side_m,
                                      min_distance=c.min_ap_distance_m, pairwise=True)
        self.ue_xy = pf.sample_points(rng, (B, c.n_ues), c.side_m, far_from=self.ap_xy,
                                      min_distance=c.min_ue_distance_m)
        heading = rng.uniform(0, 2 * np.pi, size=(B, c.n_ues))
        self.ue_velocity = c.speed_mps * np.stack([np.cos(heading), np.sin(heading)], -1)
        self.shadowing_db = rng.normal(0.0, c.shadowing_db, size=(B, c.n_aps, c.n_ues))
        self.serving = pf.rsrp_association(self._large_scale_db())
        self.slot = np.zeros(B, dtype=np.int64)
        self.rate_sum = np.zeros((B, c.n_ues))
        # C~(0): the rate each UE would get on its average channel (no fading), so that the
        # first step already ranks UEs by how good their channel is relative to usual
        mean_gain = 10.0 ** (-self._large_scale_db() / 10.0)
        every_ap = np.ones((B, c.n_aps), dtype=bool)
        self.avg_rate = pf.spectral_efficiency(
            pf.sinr(mean_gain, self.serving, every_ap, c.power_w, c.noise_w))
        self.weight = 1.0 / np.maximum(self.avg_rate, c.weight_floor)
        self._draw_channel()

    def _large_scale_db(self) -> np.ndarray:
        d = np.linalg.norm(self.ap_xy[:, :, None, :] - self.ue_xy[:, None, :, :], axis=-1)
        return pf.indoor_path_loss_db(np.maximum(d, 1e-3), self.config.penetration_db) \
            + self.shadowing_db

    def _draw_channel(self) -> None:
        c = self.config
        fading = self._fading_rng.exponential(1.0, size=(self.batch, c.n_aps, c.n_ues))
        self.gain = 10.0 ** (-self._large_scale_db() / 10.0) * fading
        self.report_sinr = pf.sinr(self.gain, self.serving, np.ones((self.batch, c.n_aps), bool),
                                   c.power_w, c.noise_w)
        ratio = pf.pf_ratio(self.weight, pf.spectral_efficiency(self.report_sinr))
        self.top = pf.top_n(ratio, self.serving, c.n_aps, c.top_n)

    # ------------------------------------------------------------------ observing
    def observe(self) -> PFObservation:
        sinr_db = 10.0 * np.log10(np.maximum(self.report_sinr, 1e-30))
        idx = np.maximum(self.top, 0)
        have = self.top >= 0
        s = np.where(have, np.take_along_axis(sinr_db[:, None, :].repeat(self.n_agents, 1),
                                              idx, axis=-1), 0.0)
        w = np.where(have, np.take_along_axis(self.weight[:, None, :].repeat(self.n_agents, 1),
                                              idx, axis=-1), 0.0)
        X = np.stack([s, w], axis=-1).reshape(self.batch, self.n_agents, self.obs_dim)
        return PFObservation(X=X.astype(np.float32), top=self.top.copy(),
                             serving=self.serving.copy(), slot=self.slot.copy())

    def state(self) -> PFState:
        X = self.observe().X
        return PFState(zeta=X.reshape(self.batch, -1), gain=self.gain.copy(),
                       sinr=self.report_sinr.copy(), weight=self.weight.copy(),
                       power_w=self.config.power_w, noise_w=self.config.noise_w)

    # ------------------------------------------------------------------ acting
    def _check_actions(self, actions) -> np.ndarray:
        a = np.asarray(actions)
        shape = (self.batch, self.n_agents)
        if a.shape != shape:
            raise ValueError(f"actions must have shape (batch, n_aps) = {shape}, got {a.shape}")
        if not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() > self.silent:
            raise ValueError(f"actions must be integers in 0..{self.silent} (0..N-1: serve the "
                             f"(a+1)-th UE by PF ratio, {self.silent}: silent)")
        return a.astype(np.int64)

    def actions_to_ues(self, actions) -> np.ndarray:
        """The UE each AP serves for top-N actions (B, I); -1 for silence."""
        a = self._check_actions(actions)
        picked = np.take_along_axis(self.top, np.minimum(a, self.top_n - 1)[..., None], -1)[..., 0]
        return np.where(a < self.silent, picked, -1)

    def step(self, actions) -> PFStep:
        """Advance every copy one step with top-N actions (B, I)."""
        return self.step_ues(self.actions_to_ues(actions))

    def step_ues(self, ues) -> PFStep:
        """Advance one step with the UE each AP serves given directly (B, I), -1 for
        silence; every served UE must be associated with its AP.  Baselines that schedule
        outside the top-N list (TDM) use this."""
        c = self.config
        ues = np.asarray(ues)
        if ues.shape != (self.batch, self.n_agents) or not np.issubdtype(ues.dtype, np.integer):
            raise ValueError(f"ues must be integers of shape (batch, n_aps) = "
                             f"{(self.batch, self.n_agents)}, got {ues.dtype} {ues.shape}")
        on = ues >= 0
        if np.any(ues >= self.n_devices) or np.any(
                on & (np.take_along_axis(self.serving, np.maximum(ues, 0), -1)
                      != np.arange(self.n_agents))):
            raise ValueError("each AP may serve only a UE associated with it (or -1: silent)")
        interferers = np.ones_like(on) if c.silent_aps_interfere else on
        sinr = pf.sinr(self.gain, self.serving, interferers, c.power_w, c.noise_w)
        served = np.zeros((self.batch, self.n_devices), dtype=bool)
        b, i = np.nonzero(on)
        served[b, ues[b, i]] = True
        rate = np.where(served, pf.spectral_efficiency(sinr), 0.0)
        reward = pf.team_reward(self.weight, rate, c.lam)
        old = self.avg_rate
        self.avg_rate, self.weight = pf.pf_update(self.avg_rate, rate, c.eta, c.weight_floor)
        if c.reward == "utility":
            reward = pf.utility_gain(old, self.avg_rate, c.weight_floor)
        self.rate_sum += rate
        self.slot += 1
        self.ue_xy, self.ue_velocity = pf.bounce(self.ue_xy, self.ue_velocity, c.side_m, c.step_s)
        done = self.slot >= c.episode_steps  # all copies start together, so all end together
        self._draw_channel()
        episode_rates = final_obs = None
        if done.all():
            episode_rates = self.rate_sum / c.episode_steps
            final_obs = self.observe()
            self._new_episode()
        return PFStep(obs=self.observe(), reward=reward,
                      rewards=np.repeat(reward[:, None], self.n_agents, 1), rate=rate,
                      served=np.where(on, ues, -1), truncated=done, episode_rates=episode_rates,
                      final_obs=final_obs)

    # ------------------------------------------------------------------ snapshots
    _STATE = ("ap_xy", "ue_xy", "ue_velocity", "shadowing_db", "serving", "slot", "rate_sum",
              "avg_rate", "weight", "gain", "report_sinr", "top")

    def snapshot(self) -> dict:
        """Everything that changes while the env runs (arrays and random streams), as plain
        values a checkpoint can hold; :meth:`restore` continues exactly from it."""
        return {"arrays": {k: np.array(getattr(self, k)) for k in self._STATE},
                "layout_rng": self._layout_rng.bit_generator.state,
                "fading_rng": self._fading_rng.bit_generator.state}

    def restore(self, snap: dict) -> None:
        for k in self._STATE:
            setattr(self, k, np.array(snap["arrays"][k]))
        self._layout_rng.bit_generator.state = snap["layout_rng"]
        self._fading_rng.bit_generator.state = snap["fading_rng"]

    def __repr__(self) -> str:
        c = self.config
        return (f"<PFEnv {c.name}: {c.n_aps} APs, {c.n_ues} UEs, top-{c.top_n}, "
                f"batch={self.batch}>")
