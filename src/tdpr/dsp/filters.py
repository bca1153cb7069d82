"""The seven low-pass degradations of the paper (Sec. 3.2; reference spec A2 and Part B §1).

Five IIR designs applied zero-phase (effective magnitude |H|², no delay), a polyphase
down-and-up resampling, and a brick-wall cut of STFT bins. Every degradation works at any sample
rate, keeps the signal's length and acts along the last axis: input ``(T,)`` or ``(..., T)``,
output float32 of the same shape.

Each degradation is an object with ``design(cutoff_hz, order, fs)`` (what is computed once:
second-order sections, a resampling ratio, a cut bin), ``min_length(design)`` and
``apply(x, design, fs)``, registered by name in :data:`tdpr.registry.DEGRADATIONS`; design is
kept apart from application so filters can be inspected and tested on their own.
:func:`apply_degradation` looks a :class:`Degradation` up in the registry and applies it.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import torch
from scipy import signal

from tdpr.dsp.stft import istft, stft
from tdpr.registry import DEGRADATIONS, MAX_ORDER, degradation_entry, resolve

#: Registered degradations, and those taking an order (the IIR designs), in registry order.
FILTER_TYPES = tuple(DEGRADATIONS)
IIR_TYPES = tuple(name for name, entry in DEGRADATIONS.items() if entry.has_order)
PASSBAND_RIPPLE_DB = 0.1  # cheby1, ellip
STOPBAND_ATTEN_DB = 60.0  # cheby2, ellip
# The STFT cut uses fixed 44.1-kHz-style settings at every rate, like the reference code.
STFT_N_FFT = 2048
STFT_HOP = 441
# 2·cutoff/fs is reduced to a fraction with denominator <= 1000: the effective cutoff is within
# 2 Hz of the request at 16 kHz over 2.5–4 kHz (a quarter of an LSD bin), and the polyphase
# filters stay below ~20k taps, so a 5-s clip takes a few milliseconds.
SUBSAMPLING_MAX_DENOMINATOR = 1000


@dataclass(frozen=True)
class Degradation:
    """One low-pass degradation: filter type, cutoff in Hz and IIR order.

    ``order`` is checked (integer in 1..20) for the IIR types and set to ``None`` for
    ``subsampling`` and ``stft``, which have no order: two degradations that differ only in an
    ignored order compare equal.
    """

    ftype: str
    cutoff_hz: float
    order: int | None = None

    def __post_init__(self) -> None:
        has_order = degradation_entry(self.ftype).has_order
        cutoff = float(self.cutoff_hz)
        if not math.isfinite(cutoff) or cutoff <= 0:
            raise ValueError(f"cutoff must be a positive frequency in Hz, got {self.cutoff_hz}")
        object.__setattr__(self, "cutoff_hz", cutoff)
        if not has_order:
            object.__setattr__(self, "order", None)
            return
        order = self.order
        if not isinstance(order, numbers.Integral) or isinstance(order, bool):
            raise ValueError(
                f"{self.ftype} needs an integer order in 1..{MAX_ORDER}, got {order!r}"
            )
        if not 1 <= order <= MAX_ORDER:
            raise ValueError(f"{self.ftype} order must be in 1..{MAX_ORDER}, got {order}")
        object.__setattr__(self, "order", int(order))


def _check_type(ftype: str, valid: tuple[str, ...]) -> None:
    if ftype not in valid:
        raise ValueError(f"unknown filter type {ftype!r}; valid types: {', '.join(valid)}")


def _check_cutoff(cutoff_hz: float, fs: float) -> None:
    if fs <= 0:
        raise ValueError(f"sample rate must be positive, got {fs}")
    if not 0 < cutoff_hz < fs / 2:
        raise ValueError(
            f"cutoff {cutoff_hz:g} Hz must lie strictly between 0 and the Nyquist frequency "
            f"{fs / 2:g} Hz (sample rate {fs:g} Hz)"
        )


def design_sos(ftype: str, order: int, cutoff_hz: float, fs: float) -> np.ndarray:
    """Design one of the IIR low-pass filters as second-order sections.

    Args:
        ftype: one of :data:`IIR_TYPES`.
        order: filter order, 1..20.
        cutoff_hz: the design frequency ``Wn`` in Hz. Its meaning differs per type (Part B §1.2):
            the -3 dB point for butter, the passband edge for cheby1/ellip, the stopband edge for
            cheby2, the phase-normalised frequency for bessel.
        fs: sample rate in Hz.

    Returns:
        float64 array ``(n_sections, 6)``; applied once its magnitude is |H|, applied with
        ``sosfiltfilt`` it is |H|².
    """
    _check_type(ftype, IIR_TYPES)
    Degradation(ftype, cutoff_hz, order)  # validates order and cutoff sign
    _check_cutoff(cutoff_hz, fs)
    kw = {"btype": "low", "output": "sos", "fs": fs}
    if ftype == "butter":
        return signal.butter(order, cutoff_hz, **kw)
    if ftype == "cheby1":
        return signal.cheby1(order, PASSBAND_RIPPLE_DB, cutoff_hz, **kw)
    if ftype == "cheby2":
        return signal.cheby2(order, STOPBAND_ATTEN_DB, cutoff_hz, **kw)
    if ftype == "ellip":
        return signal.ellip(order, PASSBAND_RIPPLE_DB, STOPBAND_ATTEN_DB, cutoff_hz, **kw)
    return signal.bessel(order, cutoff_hz, **kw)  # scipy's default norm='phase'


def _sosfiltfilt_padlen(sos: np.ndarray) -> int:
    # scipy's documented default padlen for sosfiltfilt; the input must be strictly longer.
    zeros = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * (2 * len(sos) + 1 - zeros)


def _subsampling_ratio(cutoff_hz: float, fs: float) -> Fraction:
    ratio = Fraction(2 * cutoff_hz / fs).limit_denominator(SUBSAMPLING_MAX_DENOMINATOR)
    if ratio == 0:
        raise ValueError(f"cutoff {cutoff_hz:g} Hz is too low for subsampling at {fs:g} Hz")
    return ratio


def implementation(ftype: str) -> Any:
    """The registered object behind a filter type (``design``, ``min_length``, ``apply``)."""
    return resolve(degradation_entry(ftype).target)


def min_length(degradation: Degradation, fs: float) -> int:
    """The fewest samples a signal needs for ``degradation`` at rate ``fs``."""
    impl = implementation(degradation.ftype)
    return impl.min_length(impl.design(degradation.cutoff_hz, degradation.order, fs))


def _require_length(n_samples: int, needed: int, degradation: Degradation, fs: float) -> None:
    if n_samples < needed:
        raise ValueError(
            f"signal of {n_samples} samples is too short for {degradation.ftype} "
            f"(order {degradation.order}) at {fs:g} Hz: it needs at least {needed} samples"
        )


def check_degradation(degradation: Degradation, fs: float, n_samples: int) -> None:
    """Raise ValueError if ``degradation`` cannot be applied to ``n_samples`` samples at ``fs``."""
    _require_length(n_samples, min_length(degradation, fs), degradation, fs)


def stft_cut_bin(cutoff_hz: float, fs: float) -> int:
    """First zeroed bin of the 2048-point STFT cut: ``int(1025 * cutoff / (fs / 2))``.

    Evaluated in exact rational arithmetic on the given float, so the bin never depends on the
    rounding of an intermediate product (e.g. 2500 Hz at 16 kHz is bin 320, whose centre is
    exactly 2500 Hz and which is itself zeroed).
    """
    _check_cutoff(cutoff_hz, fs)
    return math.floor(Fraction(STFT_N_FFT // 2 + 1) * Fraction(cutoff_hz) / (Fraction(fs) / 2))


@functools.lru_cache(maxsize=64)
def _polyphase_fir(max_rate: int) -> np.ndarray:
    # resample_poly's own default design (Kaiser β = 5, half-length 10·max(up, down), cutoff at
    # the lower Nyquist). It is the same for the down and the up step, and firwin dominates the
    # cost of a call, so it is built once per ratio.
    fir = signal.firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))
    fir.flags.writeable = False
    return fir


def _stft_cut(x: np.ndarray, cut: int) -> np.ndarray:
    batch = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32).reshape(-1, x.shape[-1]))
    spec = stft(batch, STFT_N_FFT, STFT_HOP, pad_mode="reflect")
    spec[:, cut:, :] = 0
    y = istft(spec, STFT_N_FFT, STFT_HOP, length=x.shape[-1])
    return y.numpy().reshape(x.shape)


class IIRLowpass:
    """An IIR low-pass (:func:`design_sos`) applied forward and backward (``sosfiltfilt``)."""

    def __init__(self, ftype: str) -> None:
        self.ftype = ftype

    def design(self, cutoff_hz: float, order: int | None, fs: float) -> np.ndarray:
        return design_sos(self.ftype, order, cutoff_hz, fs)

    def min_length(self, sos: np.ndarray) -> int:
        return _sosfiltfilt_padlen(sos) + 1

    def apply(self, x: np.ndarray, sos: np.ndarray, fs: float) -> np.ndarray:
        return signal.sosfiltfilt(sos, x, axis=-1)


class Subsampling:
    """Polyphase resampling down to ``2·cutoff`` and back up (the band above is gone)."""

    def design(self, cutoff_hz: float, order: int | None, fs: float) -> Fraction:
        _check_cutoff(cutoff_hz, fs)
        return _subsampling_ratio(cutoff_hz, fs)

    def min_length(self, ratio: Fraction) -> int:
        return 1

    def apply(self, x: np.ndarray, ratio: Fraction, fs: float) -> np.ndarray:
        if ratio >= 1:  # within about 1/1000 of Nyquist: nothing to remove
            return x.copy()
        up, down = ratio.numerator, ratio.denominator
        fir = _polyphase_fir(down)
        low = signal.resample_poly(x, up, down, axis=-1, window=fir)
        # ceil(ceil(T·up/down)·down/up) >= T: the round trip is never short, only a few samples.
        return signal.resample_poly(low, down, up, axis=-1, window=fir)[..., : x.shape[-1]]


class StftCut:
    """Brick-wall cut: zero every STFT bin from :func:`stft_cut_bin` up, then inverse STFT."""

    def design(self, cutoff_hz: float, order: int | None, fs: float) -> int:
        return stft_cut_bin(cutoff_hz, fs)

    def min_length(self, cut: int) -> int:
        return STFT_N_FFT // 2 + 1  # reflect padding of n_fft/2 needs a longer signal

    def apply(self, x: np.ndarray, cut: int, fs: float) -> np.ndarray:
        return _stft_cut(x, cut)


BUTTER, CHEBY1, CHEBY2 = IIRLowpass("butter"), IIRLowpass("cheby1"), IIRLowpass("cheby2")
ELLIP, BESSEL = IIRLowpass("ellip"), IIRLowpass("bessel")
SUBSAMPLING, STFT_CUT = Subsampling(), StftCut()


def apply_degradation(x: np.ndarray, degradation: Degradation, fs: float) -> np.ndarray:
    """Low-pass ``x`` along its last axis with ``degradation`` at sample rate ``fs``.

    Args:
        x: float array ``(T,)`` or ``(..., T)``.
        degradation: what to apply.
        fs: sample rate in Hz.

    Returns:
        float32 array with the shape of ``x``.

    Raises:
        ValueError: cutoff at or above Nyquist, a signal too short for the filter's padding,
            or non-finite samples.
    """
    x = np.asarray(x, dtype=np.float64)  # float64 keeps high-order IIR sections stable
    if x.ndim == 0:
        raise ValueError("expected a signal of shape (T,) or (..., T), got a scalar")
    if not np.all(np.isfinite(x)):
        raise ValueError("signal holds NaN or infinite samples")
    impl = implementation(degradation.ftype)
    # designed once: a Bessel design costs as much as filtering 5 s
    design = impl.design(degradation.cutoff_hz, degradation.order, fs)
    _require_length(x.shape[-1], impl.min_length(design), degradation, fs)
    return impl.apply(x, design, fs).astype(np.float32, copy=False)


def lowpass(
    x: np.ndarray, fs: float, ftype: str, cutoff_hz: float, order: int | None = 8
) -> np.ndarray:
    """Convenience form of :func:`apply_degradation`: ``(..., T)`` in, float32 ``(..., T)`` out."""
    return apply_degradation(x, Degradation(ftype, cutoff_hz, order), fs)


def sample_degradation(
    rng: np.random.Generator,
    cutoff_range: tuple[float, float] = (2500.0, 4000.0),
    types: tuple[str, ...] = FILTER_TYPES,
    order_range: tuple[int, int] = (6, 10),
) -> Degradation:
    """Draw a random degradation as in the paper's training (Sec. 3.2).

    Cutoff uniform in ``cutoff_range``, type uniform over ``types``, order a uniform integer in
    ``order_range`` (inclusive). The three numbers are always drawn, in that order, whatever the
    type, so a generator's stream stays aligned across examples.
    """
    types = tuple(types)
    if not types:
        raise ValueError("types must name at least one filter type")
    for ftype in types:
        degradation_entry(ftype)
    lo, hi = (float(v) for v in cutoff_range)
    if not 0 < lo <= hi:
        raise ValueError(f"cutoff_range must satisfy 0 < low <= high, got {cutoff_range}")
    olo, ohi = (int(v) for v in order_range)
    if not 1 <= olo <= ohi <= MAX_ORDER:
        raise ValueError(
            f"order_range must satisfy 1 <= low <= high <= {MAX_ORDER}, got {order_range}"
        )
    cutoff = float(rng.uniform(lo, hi))
    ftype = types[int(rng.integers(len(types)))]
    order = int(rng.integers(olo, ohi + 1))
    return Degradation(ftype, cutoff, order)
