"""LSD under each convention of the field: one code path for every entry of the registry.

Papers in audio super-resolution compute LSD with different STFTs, floors and averages
(:data:`tdpr.registry.CONVENTIONS` holds each as data: ``tdpr``, ``apbwe``, ``ssr_eval``...).
:func:`convention_lsd` evaluates any entry: the STFT magnitude of both signals, the per-bin log
difference with the entry's floor, the RMS and mean in the entry's order, and, given a cutoff,
the entry's high/low band split. :func:`file_mean` averages per-file values over files as the
entry's own evaluation does. Inputs are checked like every metric's
(:func:`tdpr.metrics.context.prepare`: shapes, a few samples of length difference, NaN,
digital silence, at least ``n_fft`` samples).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from tdpr.dsp.stft import stft
from tdpr.metrics.context import MetricInputError, Signal, cutoff_bin, prepare
from tdpr.registry import LSDConvention, convention_entry, convention_names

#: What a convention yields: the whole band, and with a split and a cutoff the two bands.
BAND_NAMES = ("lsd", "lsd_hf", "lsd_lf")


def window(convention: LSDConvention, n_fft: int) -> torch.Tensor:
    """The convention's analysis window ``(n_fft,)`` in float64."""
    if convention.window == "hann":
        return torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    # Kaiser-Bessel-derived: the square root of the running sum of a Kaiser window of n/2 + 1
    # points, mirrored (symmetric, as the MDCT's Princen-Bradley condition needs).
    kaiser = torch.kaiser_window(
        n_fft // 2 + 1, periodic=False, beta=convention.window_beta, dtype=torch.float64
    )
    half = (kaiser.cumsum(0) / kaiser.sum()).sqrt()[:-1]
    return torch.cat([half, half.flip(0)])


def magnitude(x: torch.Tensor, convention: LSDConvention, sample_rate: int) -> torch.Tensor:
    """``|STFT(x)|`` under the convention: ``(..., T)`` -> ``(..., n_fft // 2 + 1, frames)``."""
    n_fft, hop = convention.sizes(sample_rate)
    spec = stft(
        x,
        n_fft,
        hop,
        pad_mode=convention.pad_mode,
        window=window(convention, n_fft),
        center=convention.center,
    )
    return spec.abs()


def _log(x: torch.Tensor, base: float) -> torch.Tensor:
    if base == 10:
        return x.log10()
    return x.log() if base == math.e else x.log() / math.log(base)


def log_difference(
    ref_mag: torch.Tensor, est_mag: torch.Tensor, convention: LSDConvention
) -> torch.Tensor:
    """Per-bin log difference of two magnitudes ``(..., F, N)`` with the convention's floor."""
    p = 2 if convention.quantity == "power" else 1
    floor, base = convention.floor, convention.log_base
    if convention.floor_mode == "ratio":
        diff = _log(ref_mag**p / (est_mag + floor) ** p + floor, base)
    elif convention.floor_mode == "clamp":
        diff = _log((ref_mag**p).clamp_min(floor), base) - _log((est_mag**p).clamp_min(floor), base)
    else:  # additive
        diff = _log(ref_mag**p + floor, base) - _log(est_mag**p + floor, base)
    return convention.factor * diff


def _reduce(d2: torch.Tensor, convention: LSDConvention, bins: slice) -> torch.Tensor:
    """``(..., F, N)`` squared differences -> ``(...)``, in the convention's order."""
    d2 = d2[..., bins, :]
    if convention.average == "frames":
        return d2.mean(dim=-2).sqrt().mean(dim=-1)
    return d2.mean(dim=-1).sqrt().mean(dim=-1)


def split_bin(convention: LSDConvention, cutoff_hz: float, sample_rate: int) -> int:
    """First bin of the high band (LSD-HF); MetricInputError where the split is empty."""
    n_fft, _ = convention.sizes(sample_rate)
    if convention.split == "cutoff":
        return cutoff_bin(cutoff_hz, sample_rate, n_fft)
    if not 0 < cutoff_hz < sample_rate / 2:
        raise MetricInputError(f"cutoff {cutoff_hz} Hz is not inside (0, {sample_rate / 2}) Hz")
    # NU-Wave 2: int(1025 * (sr_low / sr_high)), its input's Nyquist being the cutoff
    k = int((n_fft // 2 + 1) * (2 * cutoff_hz / sample_rate))
    if k < 1:
        raise MetricInputError(f"cutoff {cutoff_hz} Hz falls in bin 0 at n_fft={n_fft}")
    return k


#: What makes two conventions' STFT magnitudes the same (the cache key of :func:`_magnitudes`).
_SpectrumKey = tuple[int, int, str, float | None, bool, str]


def _magnitudes(
    ref: torch.Tensor,
    est: torch.Tensor,
    entry: LSDConvention,
    sample_rate: int,
    cache: dict[_SpectrumKey, tuple[torch.Tensor, torch.Tensor]] | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Both magnitudes under ``entry``, computed once per STFT setting when given a ``cache``
    (AP-BWE's and AERO's entries share one STFT, tdpr's and the dB form another)."""
    n_fft, hop = entry.sizes(sample_rate)
    key = (n_fft, hop, entry.window, entry.window_beta, entry.center, entry.pad_mode)
    if cache is not None and key in cache:
        return cache[key]
    pair = magnitude(ref, entry, sample_rate), magnitude(est, entry, sample_rate)
    if cache is not None:
        cache[key] = pair
    return pair


def convention_lsd(
    ref: Signal,
    est: Signal,
    convention: str | LSDConvention,
    sample_rate: int,
    cutoff_hz: float | None = None,
    cache: dict | None = None,
) -> dict[str, torch.Tensor]:
    """LSD of ``est`` against ``ref`` under one convention.

    Args:
        ref, est: ``(..., T)`` waveforms at ``sample_rate`` (tensors or arrays); the STFT runs
            in their float dtype (float32 or float64).
        convention: a registered name or an entry.
        cutoff_hz: the degradation's cutoff; with it, a convention with a split also gives
            ``lsd_hf`` and ``lsd_lf``.
        cache: a dict shared by calls on the same pair (and only on it): magnitudes of the
            same STFT setting are computed once.

    Returns:
        ``{"lsd": (...)}`` plus ``lsd_hf`` and ``lsd_lf`` where split.

    Raises:
        MetricInputError: inputs that cannot be compared, a cutoff outside the band.
        ValueError: an unknown convention, a rate too low for its STFT.
    """
    entry = convention_entry(convention) if isinstance(convention, str) else convention
    n_fft, _ = entry.sizes(sample_rate)
    ref, est = prepare(ref, est, n_fft)
    d2 = log_difference(*_magnitudes(ref, est, entry, sample_rate, cache), entry).square()
    out = {"lsd": _reduce(d2, entry, slice(None))}
    if entry.split is not None and cutoff_hz is not None:
        k = split_bin(entry, cutoff_hz, sample_rate)
        out["lsd_hf"] = _reduce(d2, entry, slice(k, None))
        out["lsd_lf"] = _reduce(d2, entry, slice(None, k))
    return out


def convention_values(
    ref: Signal,
    est: Signal,
    names: Iterable[str],
    sample_rate: int,
    cutoff_hz: float | None = None,
) -> dict[str, dict[str, float]]:
    """:func:`convention_lsd` of one clip ``(T,)`` under each of ``names`` (``all`` allowed).

    Returns:
        ``{convention: {"lsd": value, ...}}`` as plain floats, in registry order.
    """
    out, cache = {}, {}
    for name in convention_names(names):
        values = convention_lsd(ref, est, name, sample_rate, cutoff_hz, cache)
        out[name] = {metric: float(value) for metric, value in values.items()}
    return out


def file_mean(convention: str | LSDConvention, values: Iterable[float]) -> float:
    """Mean over files as the convention's evaluation takes it (NaN values left out;
    ``nonzero``: files scoring exactly 0 left out too). NaN when nothing is left."""
    entry = convention_entry(convention) if isinstance(convention, str) else convention
    kept = [
        v for v in values if not math.isnan(v) and not (entry.file_mean == "nonzero" and v == 0.0)
    ]
    return sum(kept) / len(kept) if kept else math.nan
