"""Auditory attention decoding: stimulus reconstruction, decision windows and the MESD.

A backward TRF (:class:`TemporalReceptiveField` with ``direction="backward"``)
reconstructs the attended speech envelope from the EEG (O'Sullivan et al. 2015, Cereb
Cortex 25(7)); in each decision window the speaker whose envelope correlates better with
the reconstruction is decided attended. Accuracy grows with the window length; the
minimal expected switch duration (MESD; Geirnaert, Francart & Bertrand 2020, IEEE TNSRE
28(1), "An interpretable performance metric for auditory attention decoding algorithms
in a context of neuro-steered gain control") summarises that trade-off in seconds: the
expected time a gain-control Markov chain, optimised per window length, needs to move
the gain to the newly attended speaker.

Example
-------
>>> import numpy as np
>>> from neurodecode.encoding import minimal_expected_switch_duration
>>> res = minimal_expected_switch_duration([1, 5, 10, 30], [0.55, 0.8, 0.88, 0.95])
>>> 5 < res.mesd < 30
True
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .._validation import check_positive
from .trf import TemporalReceptiveField


def check_two_speaker(eeg: Any, attended: Any, unattended: Any) -> tuple[list, list, list]:
    """Trials of a two-speaker study as lists, each trial's three signals of one length.

    Parameters
    ----------
    eeg : array of shape (n_times, n_channels) or list of them (one per trial)
    attended, unattended : array of shape (n_times,) or list of them
        Envelopes of the attended and the ignored speaker on the EEG's clock.

    Returns
    -------
    eeg, attended, unattended : lists of 2-D arrays (n_times, n_columns)
    """
    def as_list(x: Any) -> list:
        items = [x] if isinstance(x, np.ndarray) else list(x)
        return [np.asarray(a, dtype=np.float64).reshape(len(a), -1) for a in items]

    e, a, u = as_list(eeg), as_list(attended), as_list(unattended)
    if not len(e) == len(a) == len(u) or not e:
        raise ValueError(f"eeg, attended and unattended must hold the same number (>= 1) of "
                         f"trials; got {len(e)}, {len(a)} and {len(u)}.")
    for i, (ei, ai, ui) in enumerate(zip(e, a, u)):
        if not len(ei) == len(ai) == len(ui):
            raise ValueError(
                f"trial {i}: the EEG and both speakers' envelopes must have the same length "
                f"(on the EEG's clock); got eeg {len(ei)}, attended {len(ai)} and unattended "
                f"{len(ui)} samples. Crop or pad the envelopes to the trial first."
            )
    return e, a, u


def window_decisions(
    reconstruction: np.ndarray, attended: np.ndarray, unattended: np.ndarray, n_window: int
) -> np.ndarray:
    """Correct (True) or wrong decision in each non-overlapping window of ``n_window`` samples.

    Parameters
    ----------
    reconstruction, attended, unattended : array of shape (n_times,)
        Reconstructed envelope and the two speakers' envelopes, on one clock.
    n_window : int
        Samples per decision window (``round(window_s * sfreq)`` for a window of
        ``window_s`` seconds); the trailing ``n_times % n_window`` samples are dropped.

    Returns
    -------
    correct : bool array of shape (n_times // n_window,)
        ``corr(reconstruction, attended) > corr(reconstruction, unattended)`` per window.
    """
    n = len(reconstruction) // n_window
    if n == 0:
        return np.zeros(0, bool)

    def windowed(x: np.ndarray) -> np.ndarray:
        w = np.asarray(x, dtype=np.float64).ravel()[: n * n_window].reshape(n, n_window)
        w = w - w.mean(1, keepdims=True)
        return w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)

    rec = windowed(reconstruction)
    return (rec * windowed(attended)).sum(1) > (rec * windowed(unattended)).sum(1)


@dataclass(frozen=True)
class AttentionResult:
    """Result of :func:`decode_attention`.

    Parameters
    ----------
    window_s : array of shape (n_windows,)
        Decision window lengths in seconds.
    accuracy : array of shape (n_windows,)
        Fraction of correct decisions over all held-out windows (NaN for a window
        longer than every trial).
    n_decisions : array of int, shape (n_windows,)
        Number of held-out decision windows at each length, summed over trials.
    chance_upper : array of shape (n_windows,)
        Upper 95 % bound of the accuracy of a coin flip with as many decisions (binomial).
    reconstruction_r : array of shape (n_trials,)
        Held-out correlation of the reconstruction with the attended envelope per trial.
    mesd : MESDResult or None
        The minimal expected switch duration over the windows whose accuracy exceeds
        0.5 (None when none does).
    """

    window_s: np.ndarray
    accuracy: np.ndarray
    n_decisions: np.ndarray
    chance_upper: np.ndarray
    reconstruction_r: np.ndarray
    mesd: Any


def decode_attention(
    eeg: Any,
    attended: Any,
    unattended: Any,
    sfreq: float,
    *,
    window_s: Any = (1.0, 5.0, 10.0, 30.0),
    tmin: float = 0.0,
    tmax: float = 0.25,
    alphas: Any = (1e-1, 1e1, 1e3, 1e5),
    progress: bool = False,
) -> AttentionResult:
    """Leave-one-trial-out attention decoding with a backward TRF.

    For each trial, a backward TRF fit on the other trials (the attended envelope from
    the EEG at lags ``tmin..tmax``; alpha chosen by CV over those trials) reconstructs
    the envelope, and each decision window is classified.

    Parameters
    ----------
    eeg : list of arrays of shape (n_times, n_channels)
        One per trial (>= 3 trials).
    attended, unattended : list of arrays of shape (n_times,)
        The two speakers' envelopes per trial, on the EEG's clock.
    sfreq : float
        Sampling rate in Hz.
    window_s : sequence of float
        Decision window lengths in seconds.
    tmin, tmax : float
        Lags in seconds (the response follows the stimulus by ``tmin..tmax``).
    alphas : sequence of float
        Ridge penalties for the TRF.
    progress : bool

    Returns
    -------
    result : AttentionResult
    """
    check_positive("sfreq", sfreq)
    e, a, u = check_two_speaker(eeg, attended, unattended)
    if len(e) < 3:
        raise ValueError(f"decode_attention needs >= 3 trials (leave one out, CV over the "
                         f"rest); got {len(e)}.")
    windows = np.asarray(window_s, dtype=np.float64)
    for w in windows:
        check_positive("window_s", float(w))
    correct: list[list[np.ndarray]] = [[] for _ in windows]
    rs = []
    for k in tqdm(range(len(e)), disable=not progress, desc="attention folds"):
        train = [i for i in range(len(e)) if i != k]
        trf = TemporalReceptiveField(tmin, tmax, sfreq, alphas=alphas, direction="backward",
                                     cv=min(5, len(train)))
        trf.fit([a[i] for i in train], [e[i] for i in train])
        rec = np.asarray(trf.predict(e[k]))[:, 0]
        rs.append(np.corrcoef(rec, a[k][:, 0])[0, 1])
        for j, w in enumerate(windows):
            n_win = max(2, int(round(w * sfreq)))
            correct[j].append(window_decisions(rec, a[k][:, 0], u[k][:, 0], n_win))
    flat = [np.concatenate(c) for c in correct]
    n_dec = np.array([c.size for c in flat])
    acc = np.array([c.mean() if c.size else np.nan for c in flat])
    chance = np.array([_binomial_upper(n) for n in n_dec])
    ok = np.isfinite(acc) & (acc > 0.5)
    mesd = minimal_expected_switch_duration(windows[ok], acc[ok]) if ok.any() else None
    return AttentionResult(windows, acc, n_dec, chance, np.asarray(rs), mesd)


def _binomial_upper(n: int, level: float = 0.95) -> float:
    from scipy.stats import binom

    return float(binom.ppf(level, n, 0.5) / n) if n else np.nan


@dataclass(frozen=True)
class MESDResult:
    """Result of :func:`minimal_expected_switch_duration`.

    Parameters
    ----------
    mesd : float
        Minimal expected switch duration in seconds.
    window_s : float
        The decision window length achieving it, in seconds.
    accuracy : float
        The (interpolated) accuracy at that window.
    n_states : int
        States of the optimised gain-control Markov chain.
    """

    mesd: float
    window_s: float
    accuracy: float
    n_states: int


def optimal_n_states(p: float, n_min: int = 5, p0: float = 0.8, comfort: float = 0.65) -> int:
    """Fewest states ``N >= n_min`` whose chain stays in the comfort region with prob. ``p0``.

    The chain moves one state towards the attended speaker with probability ``p`` and
    back with ``1 - p`` (its stationary law is ``pi_i ~ (p / (1 - p))^i``). ``N`` is
    the smallest number of states for which the highest state ``k`` with
    ``P(state >= k) >= p0`` satisfies ``(k - 1) / (N - 1) >= comfort``.

    Parameters
    ----------
    p : float
        Decision accuracy (probability of a correct decision), in (0.5, 1).
    n_min : int
        Fewest states considered (>= 2).
    p0 : float
        Required probability, in (0, 1], of being in the comfort region (states
        ``>= k``) in the stationary regime.
    comfort : float
        Lower bound of the comfort region as a fraction of the chain, in [0, 1].

    Returns
    -------
    n_states : int
        The number of states ``N`` (``n_min <= N < 10000``).

    Raises
    ------
    ValueError
        When no chain of fewer than 10000 states reaches the comfort region (``p`` too
        close to 0.5).
    """
    r = p / (1 - p)
    n = n_min
    while n < 10_000:
        log_pi = np.arange(1, n + 1) * np.log(r)
        pi = np.exp(log_pi - log_pi.max())
        tail = np.cumsum(pi[::-1])[::-1] / pi.sum()  # P(state >= i)
        k = int(np.flatnonzero(tail >= p0 - 1e-12)[-1]) + 1
        if (k - 1) / (n - 1) >= comfort:
            return n
        n += 1
    raise ValueError(f"no Markov chain of < 10000 states reaches the comfort region for "
                     f"accuracy p={p!r}; it is too close to 0.5.")


def expected_switch_duration(window_s: float, p: float, n_states: int,
                             comfort: float = 0.65) -> float:
    """Expected time to reach the comfort state ``k_c = ceil(comfort (N - 1) + 1)``.

    Starting states ``1..k_c - 1`` are drawn from the stationary law of the chain before
    the switch (``~ r^-i`` with ``r = p / (1 - p)``); mean hitting times solve the
    chain's linear system with a reflecting lowest state; each step lasts one decision
    window.

    Parameters
    ----------
    window_s : float
        Decision window length in seconds (the duration of one step of the chain).
    p : float
        Decision accuracy at that window, in (0.5, 1).
    n_states : int
        States ``N`` of the gain-control Markov chain (e.g. from :func:`optimal_n_states`).
    comfort : float
        Lower bound of the comfort region as a fraction of the chain, in [0, 1].

    Returns
    -------
    esd : float
        Expected switch duration in seconds (0 when ``k_c = 1``).
    """
    k = int(np.ceil(comfort * (n_states - 1) + 1))
    if k == 1:
        return 0.0
    m = k - 1  # transient states 1..k-1; state k absorbs
    system = np.eye(m)
    for i in range(m):
        if i + 1 < m:
            system[i, i + 1] -= p
        system[i, max(i - 1, 0)] -= 1 - p  # state 1 stays put on a wrong decision
    hitting = np.linalg.solve(system, np.ones(m))
    r = p / (1 - p)
    start = r ** -np.arange(1.0, k)
    return float(window_s * (start / start.sum()) @ hitting)


def minimal_expected_switch_duration(
    window_s: Any, accuracy: Any, *, n_min: int = 5, p0: float = 0.8, comfort: float = 0.65,
) -> MESDResult:
    """The MESD of an accuracy-vs-window-length curve (Geirnaert et al. 2020).

    The curve is linearly interpolated at 1000 window lengths between the shortest and
    the longest; at each, the Markov chain is optimised (:func:`optimal_n_states`) and
    its expected switch duration computed (:func:`expected_switch_duration`); the MESD is
    the minimum. Equal to the authors' MESD toolbox with its defaults
    (``n_min=5, p0=0.8, comfort=0.65``).

    Parameters
    ----------
    window_s : array of shape (n_windows,)
        Decision window lengths in seconds (> 0).
    accuracy : array of shape (n_windows,)
        Accuracy at each window, in [0, 1]; points at or below 0.5 are left out (warned).
    n_min : int
        Fewest states of the Markov chain (see :func:`optimal_n_states`).
    p0 : float
        Required probability of being in the comfort region (see :func:`optimal_n_states`).
    comfort : float
        Lower bound of the comfort region as a fraction of the chain, in [0, 1].

    Returns
    -------
    result : MESDResult
    """
    tau, acc = np.asarray(window_s, dtype=float).ravel(), np.asarray(accuracy, dtype=float).ravel()
    if tau.shape != acc.shape or tau.size == 0:
        raise ValueError(f"window_s and accuracy must be 1-D of the same length >= 1; got "
                         f"{tau.shape} and {acc.shape}.")
    if np.any(~np.isfinite(tau) | (tau <= 0)) or np.any(~np.isfinite(acc) | (acc < 0) | (acc > 1)):
        raise ValueError(f"window_s must be > 0 and accuracy in [0, 1]; got {tau.tolist()} and "
                         f"{acc.tolist()}.")
    if np.any(acc <= 0.5):
        if np.all(acc <= 0.5):
            raise ValueError(f"every accuracy is at or below chance (0.5): {acc.tolist()}; the "
                             "MESD is infinite.")
        warnings.warn(f"{int(np.sum(acc <= 0.5))} accuracies at or below 0.5 are left out of "
                      "the MESD.", UserWarning, stacklevel=2)
        tau, acc = tau[acc > 0.5], acc[acc > 0.5]
    order = np.argsort(tau)
    tau, acc = tau[order], np.minimum(acc[order], 1 - 1e-9)
    grid = np.linspace(tau[0], tau[-1], 1000) if tau.size > 1 else tau
    p_grid = np.interp(grid, tau, acc)
    states = [optimal_n_states(p, n_min, p0, comfort) for p in p_grid]
    esd = np.array([expected_switch_duration(t, p, n, comfort)
                    for t, p, n in zip(grid, p_grid, states)])
    best = int(np.argmin(esd))
    if grid.size > 1 and best in (0, grid.size - 1):
        warnings.warn(f"the MESD is reached at the {'shortest' if best == 0 else 'longest'} "
                      f"window ({grid[best]:g} s): evaluate a wider range of windows.",
                      UserWarning, stacklevel=2)
    return MESDResult(float(esd[best]), float(grid[best]), float(p_grid[best]), int(states[best]))


def simulate_two_speaker(
    envelopes: list,
    sfreq: float,
    *,
    n_channels: int = 16,
    snr: float = 0.05,
    unattended_gain: float = 0.3,
    latency_s: float = 0.1,
    seed: int | None = 0,
) -> tuple[list, list, list]:
    """A simulated two-speaker study from single-speaker envelopes.

    Trial ``i`` pairs envelope ``i`` (attended) with envelope ``i + 1`` (ignored, cyclic),
    both cropped to the shorter; the EEG is a spatially mixed, smoothed and delayed
    copy of the attended envelope plus ``unattended_gain`` times that of the ignored
    one, in white noise with signal-to-noise power ratio ``snr`` per channel.

    Parameters
    ----------
    envelopes : list of arrays of shape (n_times,)
        At least 2 speech envelopes at ``sfreq``.
    sfreq : float
    n_channels, snr, unattended_gain, latency_s, seed
        Simulation parameters.

    Returns
    -------
    eeg : list of arrays of shape (n_times_i, n_channels)
    attended, unattended : lists of arrays of shape (n_times_i,)
    """
    if len(envelopes) < 2:
        raise ValueError(f"envelopes must hold >= 2 speech envelopes; got {len(envelopes)}.")
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal(n_channels)
    lags = np.arange(int(0.3 * sfreq))
    kernel = np.exp(-0.5 * ((lags / sfreq - latency_s) / 0.03) ** 2)
    eeg, att, unatt = [], [], []
    for i, env in enumerate(envelopes):
        other = envelopes[(i + 1) % len(envelopes)]
        n = min(len(env), len(other))
        a = np.asarray(env, float)[:n] - np.mean(env[:n])
        b = np.asarray(other, float)[:n] - np.mean(other[:n])
        drive = np.convolve(a, kernel)[:n] + unattended_gain * np.convolve(b, kernel)[:n]
        signal = drive[:, None] * mixing[None]
        noise_sd = np.sqrt(signal.var(0).mean() / snr)
        eeg.append(signal + noise_sd * rng.standard_normal(signal.shape))
        att.append(a)
        unatt.append(b)
    return eeg, att, unatt


__all__ = ["AttentionResult", "MESDResult", "check_two_speaker", "decode_attention",
           "expected_switch_duration", "minimal_expected_switch_duration", "optimal_n_states",
           "simulate_two_speaker", "window_decisions"]
