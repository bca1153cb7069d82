"""Bandwidth (cutoff) estimation for band-limited recordings, at any sample rate.

A recording that went through a low-pass filter shows, in its long-term average spectrum (LTAS),
the filter's attenuation on top of a smooth source spectrum, down to the recording's noise floor.
A fixed "X dB below the passband" rule cannot find the nominal cutoff of every filter: a
Chebyshev II is 120 dB down (zero-phase) at its cutoff and a phase-normalised Bessel only about
20 dB (Part B §1.2 of the reference spec). So the cutoff is found by **fitting filter models**:

1. LTAS in dB (Welch, Hann, about 8 Hz per bin), smoothed by a running median (harmonic peaks
   and gaps are not edges).
2. Floor: the 20th percentile of the level over the upper half of the band.
3. For every model (Butterworth, Chebyshev I/II, elliptic, Bessel of each order in ``orders``,
   applied zero-phase as the project's degradations are, plus a brick wall for resampling and
   STFT cuts) and every candidate cutoff on a grid: the predicted LTAS is
   ``power_sum(S(f) + A(f; fc), floor)``, with ``A`` the model's attenuation (exact digital
   response by the bilinear warping ``Ω = tan(πf/fs)/tan(πfc/fs)``) and ``S`` a straight line in
   dB fitted by least squares to the bins where the signal dominates. The model and cutoff of
   least squared error over the analysis region win.

The analysis region spans from 0.4 to 2.2 times a rough edge (the highest frequency more than
15 dB above the floor), so a source spectrum that bends far from the edge does not matter. A
recording with no edge (content up to Nyquist) gets ``fs / 2``. The estimate is the **nominal
design cutoff** of the best-fitting model, which is what the test sets record; on the project's
degradations its error is within 150 Hz (``bench/bench_bandwidth.py``).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import signal
from scipy.ndimage import maximum_filter, median_filter

#: Filter families fitted, with their analogue prototypes (ripple/attenuation as in filters.py).
FAMILIES = ("butter", "cheby1", "cheby2", "ellip", "bessel", "subsampling", "brick")
#: IIR orders fitted by default: those of the project's degradations (Part A2).
ORDERS = tuple(range(6, 11))
#: Resampling filters have no order: their family is fitted once.
NO_ORDER = ("subsampling", "brick")
EDGE_MARGIN_DB = 15.0
SIGNAL_MARGIN_DB = 10.0
BRICK_DB = -200.0
#: Width of the running median over the LTAS: wider than the gaps between partials.
SMOOTH_HZ = 150.0
CLIP_DB = 10.0


def ltas_db(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Long-term average spectrum (Welch, Hann, about 8 Hz per bin), smoothed, in dB.

    Args:
        x: mono signal ``(T,)``.
        fs: sample rate in Hz.

    Returns:
        ``(freqs, level_db)``, each ``(F,)``.
    """
    nperseg = int(2 ** np.ceil(np.log2(fs / 8)))  # about 8 Hz per bin at any rate
    nperseg = min(nperseg, int(2 ** np.floor(np.log2(len(x)))))
    freqs, power = signal.welch(x, fs, window="hann", nperseg=nperseg)
    level = 10 * np.log10(np.maximum(power, 1e-30))
    width = max(3, int(round(SMOOTH_HZ / (freqs[1] - freqs[0]))) | 1)
    # Upper envelope first: above a few kHz the spectrum of music is a comb of partials, and
    # their peaks, not the gaps between them, follow the filter's response.
    envelope = maximum_filter(level, size=width, mode="nearest")
    return freqs, median_filter(envelope, size=width, mode="nearest")


#: Prototype responses are tabulated on this grid of log10(Ω) (Ω = 1 at the cutoff).
LOG_OMEGA = np.linspace(-3.0, 3.0, 6001)


@functools.lru_cache(maxsize=128)
def _prototype_db(family: str, order: int) -> np.ndarray:
    """``|H(jΩ)|²`` in dB of the analogue prototype (cutoff 1 rad/s) on :data:`LOG_OMEGA`."""
    if family == "butter":
        zpk = signal.buttap(order)
    elif family == "cheby1":
        zpk = signal.cheb1ap(order, 0.1)
    elif family == "cheby2":
        zpk = signal.cheb2ap(order, 60.0)
    elif family == "ellip":
        zpk = signal.ellipap(order, 0.1, 60.0)
    elif family == "bessel":
        zpk = signal.besselap(order, norm="phase")
    else:  # subsampling: resample_poly's Kaiser FIR (β 5); its shape in f/fc is rate-free
        fir = signal.firwin(321, 1 / 16, window=("kaiser", 5.0))
        ratio = np.minimum(10**LOG_OMEGA, 15.9)
        _, h = signal.freqz(fir, worN=ratio / 16 * np.pi)
        return 20 * np.log10(np.maximum(np.abs(h), 1e-10))
    _, h = signal.freqs_zpk(*zpk, worN=10**LOG_OMEGA)
    return 20 * np.log10(np.maximum(np.abs(h), 1e-10))


def attenuation_db(family: str, order: int, freqs: np.ndarray, cutoff_hz, fs: float) -> np.ndarray:
    """Zero-phase (``|H|²``) gain in dB of a digital low-pass at ``freqs``.

    Args:
        family: one of :data:`FAMILIES`.
        order: filter order (ignored by ``"brick"``).
        freqs: ``(F,)`` in Hz, below ``fs / 2``.
        cutoff_hz: scalar or ``(C, 1)`` candidate cutoffs.
        fs: sample rate.

    Returns:
        ``(F,)`` or ``(C, F)`` in dB (``≤ 0`` up to passband ripple).
    """
    if family == "subsampling":  # an FIR at the full rate: no bilinear warping
        warped = np.asarray(freqs) / np.asarray(cutoff_hz)
    else:
        warped = np.tan(np.pi * np.asarray(freqs) / fs) / np.tan(np.pi * np.asarray(cutoff_hz) / fs)
    if family == "brick":
        return np.where(warped < 1.0, 0.0, BRICK_DB)
    if family not in FAMILIES:
        raise ValueError(f"unknown filter family {family!r}; choose one of {', '.join(FAMILIES)}")
    log_w = np.log10(np.maximum(warped, 1e-300))
    return 2 * np.interp(log_w, LOG_OMEGA, _prototype_db(family, order))


def _fit_family(obs, freqs, floor_db, atten) -> np.ndarray:
    """Squared error ``(C,)`` of each candidate attenuation ``(C, F)`` against ``obs (F,)``.

    The source line ``S`` is fitted on the candidate's own passband (gain above -1 dB) only:
    fitted over the transition too, a free slope would trade against the filter's roll-off
    and make a gentle filter with a high cutoff look like a steep one with a low cutoff.
    """
    w = ((obs > floor_db + SIGNAL_MARGIN_DB)[None] & (atten > -1.0)).astype(float)
    r = obs[None] - atten
    f = freqs[None] / 1000.0
    # Weighted least squares for S(f) = a + b·f, closed form per candidate.
    sw, sf, sr = w.sum(1), (w * f).sum(1), (w * r).sum(1)
    sff, sfr = (w * f * f).sum(1), (w * f * r).sum(1)
    det = sw * sff - sf**2
    ok = (sw >= 8) & (det > 1e-9)
    det = np.where(ok, det, 1.0)
    b = np.where(ok, (sw * sfr - sf * sr) / det, 0.0)
    a = np.where(ok, (sr - b * sf) / np.maximum(sw, 1.0), 0.0)
    source = np.minimum(a[:, None] + b[:, None] * f + atten, 0.0)  # no overflow for bad fits
    pred = 10 * np.log10(10 ** (source / 10) + 10 ** (floor_db / 10))
    # Clipped at (10 dB)²: a spurious bump (an alias, a loud partial) must not decide the fit.
    err = np.minimum((obs[None] - pred) ** 2, CLIP_DB**2).mean(1)
    return np.where(ok, err, np.inf)


def _best(obs, f, floor_db, cands, fs, orders) -> tuple[float, float]:
    """``(error, cutoff)`` of the best model over the candidate cutoffs ``(C, 1)``."""
    best_err, best_fc = np.inf, float("nan")
    for family in FAMILIES:
        for order in (0,) if family in NO_ORDER else orders:
            err = _fit_family(obs, f, floor_db, attenuation_db(family, order, f, cands, fs))
            i = int(np.argmin(err))
            if err[i] < best_err:
                best_err, best_fc = float(err[i]), float(cands[i, 0])
    return best_err, best_fc


def estimate_cutoff(
    x: np.ndarray, fs: float, orders: tuple[int, ...] = ORDERS, step_hz: float | None = None
) -> float:
    """Estimate the low-pass cutoff of a recording, in Hz.

    Args:
        x: mono signal ``(T,)``, at least 0.25 s.
        fs: sample rate in Hz.
        orders: IIR orders fitted.
        step_hz: final cutoff resolution; ``None`` gives ``fs / 3200`` (5 Hz at 16 kHz). A
            coarse grid eight times wider is searched first.

    Returns:
        The nominal cutoff of the best-fitting filter model; ``fs / 2`` if there is no edge.

    Raises:
        ValueError: not 1-D, too short, non-finite or silent.
    """
    x = _check_signal(x, fs)
    freqs, level = ltas_db(x, fs)
    nyq = fs / 2
    # A low percentile of the upper half, not its top end: resampling leaves images near
    # Nyquist, and the floor only needs a fifth of the upper half to be reached.
    floor_db = float(np.percentile(level[(freqs >= 0.5 * nyq) & (freqs <= 0.98 * nyq)], 20))
    loud = np.nonzero(level > floor_db + EDGE_MARGIN_DB)[0]
    if not len(loud) or freqs[loud[-1]] >= 0.9 * nyq:
        return float(nyq)
    edge = freqs[loud[-1]]
    region = (freqs >= 0.4 * edge) & (freqs <= min(0.98 * nyq, 2.2 * edge))
    f, obs = freqs[region], level[region]
    fine = fs / 3200 if step_hz is None else float(step_hz)
    coarse = 8 * fine
    grid = np.arange(max(0.3 * edge, coarse), min(0.98 * nyq, 2.0 * edge), coarse)
    _, fc = _best(obs, f, floor_db, grid[:, None], fs, orders)
    grid = np.arange(max(fc - 2 * coarse, fine), min(fc + 2 * coarse, 0.98 * nyq), fine)
    return _best(obs, f, floor_db, grid[:, None], fs, orders)[1]


def _check_signal(x: np.ndarray, fs: float) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"estimate_cutoff expects a mono signal (T,), got shape {x.shape}")
    if not fs > 0:
        raise ValueError(f"sample rate must be positive, got {fs}")
    if len(x) < fs / 4:
        raise ValueError(f"signal of {len(x)} samples is shorter than 0.25 s at {fs:g} Hz")
    if not np.all(np.isfinite(x)):
        raise ValueError("signal holds NaN or infinite samples")
    if not np.any(x):
        raise ValueError("signal is digital silence: it has no bandwidth")
    return x
