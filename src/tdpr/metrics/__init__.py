"""Objective metrics: LSD (Eq. 5 of the paper), its high/low-band split, SI-SDR and phase distances.

Every metric is an entry of :data:`tdpr.registry.METRICS` (name, column title, decimals,
direction, function); :func:`compute_batch` computes the registered ones from one pair of STFTs.
Every metric takes a reference and an estimate of shape ``(T,)`` or ``(..., T)`` (torch tensors,
on any device, or numpy arrays) and returns one value per item, shape ``()`` or ``(...)``.

Conventions (Part A3 and A7 of the reference spec):

* STFT: n_fft 1024, hop 256, periodic Hann, centred with **zero** padding.
* LSD: ``S = |STFT|²``, ``L = log10(max(S, floor))`` with floor 1e-8; per frame the root mean
  square of ``L_ref - L_est`` over bins, then the mean over frames.
* Band split at the cutoff bin ``k = int(cutoff_hz * n_fft / sample_rate)`` (bin ``k`` has its
  centre at or just below the cutoff; 2500 Hz at 16 kHz / 1024 points is bin 160). LSD-HF uses
  bins ``k…n_fft/2``, LSD-LF bins ``0…k-1``, as NU-Wave 2 does.
* Phase distances (AP-BWE): mean anti-wrapped error of the instantaneous phase (``phase_ip_hf``),
  of the group delay (phase difference between neighbouring bins, ``phase_gd_hf``) and of the
  instantaneous frequency (phase difference between neighbouring frames, ``phase_if_hf``), in
  radians, over bins at and above the cutoff bin. An estimate with random phase scores about π/2.
* Phase errors are **masked, not weighted**: a bin counts when the reference power there exceeds
  both the LSD floor and the clip's loudest bin minus ``phase_range_db`` (80 dB). The phase of a
  near-silent bin is noise, and a mask keeps "π/2 = random" as the reading of every value. A clip
  whose reference has no such bin in the band gets NaN.
* SI-SDR in dB, zero-mean and scale invariant, computed in float64 and clipped to ±100 dB so that
  identical signals give 100 instead of infinity.

Lengths may differ by up to :data:`LENGTH_TOLERANCE` samples (a resampler or a model's framing can
add a few); both signals are then cut to the shorter. Anything else that would make a number
meaningless (different shapes, NaN, digital silence, clips shorter than n_fft) raises
:class:`MetricInputError`. File-level evaluation lives in :mod:`tdpr.evaluate`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch

from tdpr.metrics.context import (
    LENGTH_TOLERANCE,
    SI_SDR_LIMIT_DB,
    MetricContext,
    MetricInputError,
    Signal,
    cutoff_bin,
    prepare,
)
from tdpr.metrics.phase import anti_wrap, phase_distances
from tdpr.metrics.spectral import lsd, lsd_hf_lf, si_sdr
from tdpr.metrics.visqol import visqol
from tdpr.registry import METRICS, metric_names, resolve

#: Metrics needing a cutoff, and the default metrics, in report order (from the registry).
BAND_METRICS = tuple(name for name in metric_names() if METRICS[name].band)
ALL_METRICS = tuple(metric_names())

__all__ = [
    "ALL_METRICS",
    "BAND_METRICS",
    "LENGTH_TOLERANCE",
    "SI_SDR_LIMIT_DB",
    "MetricContext",
    "MetricInputError",
    "anti_wrap",
    "compute_all",
    "compute_batch",
    "cutoff_bin",
    "lsd",
    "lsd_hf_lf",
    "phase_distances",
    "prepare",
    "si_sdr",
    "visqol",
]


def compute_batch(
    ref: Signal,
    est: Signal,
    cutoff_hz: float | None = None,
    sample_rate: int = 16000,
    n_fft: int = 1024,
    hop: int = 256,
    floor: float = 1e-8,
    phase_range_db: float = 80.0,
    names: Iterable[str] | None = None,
    extra: Mapping[str, object] | None = None,
) -> dict[str, torch.Tensor]:
    """Registered metrics from one pair of STFTs.

    Args:
        ref, est: ``(..., T)`` waveforms at ``sample_rate``.
        cutoff_hz: the degradation's cutoff; ``None`` leaves out the band metrics.
        names: metrics to compute (default: :func:`tdpr.registry.metric_names`, i.e. every
            non-optional one that the cutoff allows).
        extra: values recorded with the estimate (see :class:`MetricContext`).

    Returns:
        ``{name: (...)}`` in registry order.
    """
    ctx = MetricContext(
        ref, est, cutoff_hz, sample_rate, n_fft, hop, floor, phase_range_db, dict(extra or {})
    )
    if cutoff_hz is not None:
        ctx.cut  # noqa: B018 - checks the cutoff before any metric runs
    names = metric_names(cutoff_hz is not None) if names is None else list(names)
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; registered: {', '.join(METRICS)}")
    ordered = [n for n in METRICS if n in names]
    return {name: resolve(METRICS[name].target)(ctx) for name in ordered}


def compute_all(
    ref: Signal,
    est: Signal,
    cutoff_hz: float | None = None,
    sample_rate: int = 16000,
    n_fft: int = 1024,
    hop: int = 256,
    floor: float = 1e-8,
    phase_range_db: float = 80.0,
    names: Iterable[str] | None = None,
    extra: Mapping[str, object] | None = None,
) -> dict[str, float]:
    """:func:`compute_batch` for one clip ``(T,)``, as plain floats (NaN where undefined)."""
    if ref.ndim != 1:
        raise MetricInputError("compute_all takes one clip of shape (T,); use compute_batch")
    values = compute_batch(
        ref, est, cutoff_hz, sample_rate, n_fft, hop, floor, phase_range_db, names, extra
    )
    return {name: float(value) for name, value in values.items()}
