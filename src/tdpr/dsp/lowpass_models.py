"""What each of the project's low-pass degradations does to a long-term spectrum, as a model.

:func:`attenuation_db` gives the zero-phase gain ``|H|²`` in dB of a filter family at any
cutoff and rate (the five IIR designs of :mod:`tdpr.dsp.filters` from their analogue
prototypes, warped as the bilinear transform warps them; the polyphase resampler's FIR; a brick
wall for the STFT cut), and :func:`image_db` the image a down-and-up resampling leaves above its
cutoff. :mod:`tdpr.dsp.bandwidth` fits them to recordings. The cutoff of each model is the
nominal one of its design (Part B §1.2 of the reference spec): the -3 dB point of one pass of a
Butterworth, the passband edge of a Chebyshev I or elliptic filter, the stopband edge of a
Chebyshev II, the phase-normalised frequency of a Bessel, half the intermediate rate of a
resampling, the first zeroed bin of the STFT cut.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import signal

#: Filter families, with their analogue prototypes (ripple/attenuation as in filters.py).
FAMILIES = ("butter", "cheby1", "cheby2", "ellip", "bessel", "subsampling", "brick")
#: IIR orders fitted by default: those of the project's degradations (Part A2).
ORDERS = tuple(range(6, 11))
#: Resampling filters have no order: their family is fitted once.
NO_ORDER = ("subsampling", "brick")
BRICK_DB = -200.0
#: Prototype responses are tabulated on this grid of log10(Ω) (Ω = 1 at the cutoff).
LOG_OMEGA = np.linspace(-3.0, 3.0, 6001)


def models(orders: tuple[int, ...] = ORDERS) -> list[tuple[str, int | None]]:
    """Every ``(family, order)`` fitted: each IIR family at each order, the others once."""
    return [(f, None) if f in NO_ORDER else (f, o) for f in FAMILIES for o in
            ((None,) if f in NO_ORDER else orders)]  # fmt: skip


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
    else:
        return _resampling_power()[0] / 2
    _, h = signal.freqs_zpk(*zpk, worN=10**LOG_OMEGA)
    return 20 * np.log10(np.maximum(np.abs(h), 1e-10))


@functools.lru_cache(maxsize=1)
def _resampling_power() -> tuple[np.ndarray, np.ndarray]:
    """``(direct, image)`` power gains in dB of a down-and-up resampling, on ``r = f / fc``.

    resample_poly's Kaiser FIR (β 5, 10 taps per phase, ``P = |H|²``) has the same shape in
    ``f / fc`` at every ratio. The output at ``f`` holds the input at ``f`` filtered twice,
    ``P(r)²``, plus the image of the input at ``|2·fc - f|`` (folded by the down step, imaged
    by the up step, or both), ``P(r)·P(|2 - r|)``: a copy of the passband mirrored about
    ``2·fc``, 50 dB down, which is far above the floor of a 16-bit recording.
    """
    fir = signal.firwin(321, 1 / 16, window=("kaiser", 5.0))

    def power(r: np.ndarray) -> np.ndarray:
        _, h = signal.freqz(fir, worN=np.minimum(r, 15.9) / 16 * np.pi)
        return np.maximum(np.abs(h) ** 2, 1e-20)

    r = 10**LOG_OMEGA
    return 20 * np.log10(power(r)), 10 * np.log10(power(r) * power(np.abs(2 - r)))


def image_db(
    freqs: np.ndarray, cutoff_hz: np.ndarray, ltas: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """Level in dB of the resampling image at ``freqs`` for candidate cutoffs ``(C, 1)``.

    The mirrored source ``|2·fc - f|`` is read off the observed spectrum ``ltas`` itself (it is
    the passband there, where the recording shows the source as it is).

    Returns:
        ``(C, F)`` in dB.
    """
    log_r = np.log10(np.maximum(np.asarray(freqs) / cutoff_hz, 1e-300))
    gain = np.interp(log_r, LOG_OMEGA, _resampling_power()[1])
    return gain + np.interp(np.abs(2 * cutoff_hz - freqs), *ltas)


def attenuation_db(
    family: str, order: int | None, freqs: np.ndarray, cutoff_hz, fs: float
) -> np.ndarray:
    """Zero-phase (``|H|²``) gain in dB of a digital low-pass at ``freqs``.

    Args:
        family: one of :data:`FAMILIES`.
        order: filter order (ignored by ``subsampling`` and ``brick``).
        freqs: ``(F,)`` in Hz, below ``fs / 2``.
        cutoff_hz: scalar or ``(C, 1)`` candidate cutoffs.
        fs: sample rate.

    Returns:
        ``(F,)`` or ``(C, F)`` in dB (``≤ 0`` up to passband ripple).

    Raises:
        ValueError: an unknown family.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown filter family {family!r}; choose one of {', '.join(FAMILIES)}")
    if family == "subsampling":  # an FIR at the full rate: no bilinear warping
        warped = np.asarray(freqs) / np.asarray(cutoff_hz)
    else:
        warped = np.tan(np.pi * np.asarray(freqs) / fs) / np.tan(np.pi * np.asarray(cutoff_hz) / fs)
    if family == "brick":
        return np.where(warped < 1.0, 0.0, BRICK_DB)
    log_w = np.log10(np.maximum(warped, 1e-300))
    return 2 * np.interp(log_w, LOG_OMEGA, _prototype_db(family, order or 0))


def filtered_envelope_power(
    family: str, order: int | None, freqs: np.ndarray, cutoff_hz: float, fs: float,
    source_db: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Power of a source envelope through a model, as the estimator models it: the model's gain
    and, for a resampling, its image (for synthetic checks of the estimator).

    Args:
        family, order: the model (:func:`models`).
        freqs: ``(F,)`` in Hz, an even grid from 0.
        cutoff_hz: its nominal cutoff.
        fs: sample rate.
        source_db: the source's level in dB on ``freqs``, ``(F,)``.

    Returns:
        ``(F,)`` linear power.
    """
    power = 10 ** ((source_db + attenuation_db(family, order, freqs, cutoff_hz, fs)) / 10)
    if family == "subsampling":
        image = image_db(freqs, np.array([[float(cutoff_hz)]]), (freqs, source_db))[0]
        power = power + 10 ** (image / 10)
    return power
