"""Log-spectral distance (Eq. 5 of the paper), its high/low-band split, and SI-SDR.

The plain functions take waveforms ``(..., T)`` and return ``(...)``; the ``*_metric``
functions are the entries of :data:`tdpr.registry.METRICS` and read a
:class:`~tdpr.metrics.context.MetricContext`, whose spectra they share.
"""

from __future__ import annotations

import torch

from tdpr.metrics.context import SI_SDR_LIMIT_DB, MetricContext, Signal, prepare


def _lsd_bins(d2: torch.Tensor, bins: slice = slice(None)) -> torch.Tensor:
    """LSD from squared log differences ``(..., F, frames)`` restricted to ``bins``."""
    return d2[..., bins, :].mean(dim=-2).sqrt().mean(dim=-1)


def lsd_metric(ctx: MetricContext) -> torch.Tensor:
    """LSD over all bins, ``(...)``."""
    return _lsd_bins(ctx.squared_log_diff)


def lsd_hf_metric(ctx: MetricContext) -> torch.Tensor:
    """LSD over bins at and above the cutoff bin, ``(...)``."""
    return _lsd_bins(ctx.squared_log_diff, slice(ctx.cut, None))


def lsd_lf_metric(ctx: MetricContext) -> torch.Tensor:
    """LSD over bins below the cutoff bin, ``(...)``."""
    return _lsd_bins(ctx.squared_log_diff, slice(None, ctx.cut))


def si_sdr_metric(ctx: MetricContext) -> torch.Tensor:
    """SI-SDR in dB of the checked pair, ``(...)``."""
    return si_sdr(*ctx.signals)


def lsd(
    ref: Signal, est: Signal, n_fft: int = 1024, hop: int = 256, floor: float = 1e-8
) -> torch.Tensor:
    """Log-spectral distance over all bins (Eq. 5). ``(..., T)`` inputs give ``(...)``."""
    return lsd_metric(MetricContext(ref, est, n_fft=n_fft, hop=hop, floor=floor))


def lsd_hf_lf(
    ref: Signal,
    est: Signal,
    cutoff_hz: float,
    sample_rate: int = 16000,
    n_fft: int = 1024,
    hop: int = 256,
    floor: float = 1e-8,
) -> tuple[torch.Tensor, torch.Tensor]:
    """LSD over bins at and above the cutoff bin (HF) and below it (LF); each ``(...)``."""
    ctx = MetricContext(ref, est, cutoff_hz, sample_rate, n_fft, hop, floor)
    return lsd_hf_metric(ctx), lsd_lf_metric(ctx)


def si_sdr(ref: Signal, est: Signal) -> torch.Tensor:
    """Scale-invariant signal-to-distortion ratio in dB, clipped to ±100 dB; float64 ``(...)``."""
    ref, est = prepare(ref, est, n_fft=1)
    ref = ref.double() - ref.double().mean(dim=-1, keepdim=True)
    est = est.double() - est.double().mean(dim=-1, keepdim=True)
    alpha = (est * ref).sum(-1, keepdim=True) / ref.square().sum(-1, keepdim=True)
    target = alpha * ref
    ratio = target.square().sum(-1) / (est - target).square().sum(-1)
    # float64 so that identical float32 signals leave an exactly zero residual (-> +100 dB).
    return (10 * torch.log10(ratio)).clamp(-SI_SDR_LIMIT_DB, SI_SDR_LIMIT_DB)
