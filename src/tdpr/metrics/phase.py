"""Phase distances above the cutoff (AP-BWE's IP, GD and IF errors, masked), in radians.

Each is the mean anti-wrapped error over bins at and above the cutoff bin whose reference power
exceeds both the LSD floor and the clip's loudest bin minus ``phase_range_db``: the phase of a
near-silent bin is noise, and a mask keeps "π/2 = random" as the reading of every value. A clip
whose reference has no such bin in the band gets NaN.
"""

from __future__ import annotations

import math

import torch

from tdpr.metrics.context import MetricContext, Signal, power


def anti_wrap(x: torch.Tensor) -> torch.Tensor:
    """``|x - 2π·round(x / 2π)|``: the distance of a phase difference from 0 on the circle."""
    return (x - 2 * math.pi * torch.round(x / (2 * math.pi))).abs()


def _masked_mean(err: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    # 0/0 gives NaN on purpose: no reference energy in the band means no phase to judge.
    return (err * mask).sum(dim=(-2, -1)) / mask.sum(dim=(-2, -1))


def _high_band(ctx: MetricContext) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mask and phases of the high band ``(..., F - k, frames)``, computed once per context."""
    cached = ctx.__dict__.get("_phase_high_band")
    if cached is None:
        ref_spec, est_spec = ctx.spectra
        k = ctx.cut
        p = power(ref_spec)
        # Relative to the whole clip's loudest bin, so the mask tracks the recording's noise floor.
        threshold = p.amax(dim=(-2, -1), keepdim=True) * 10 ** (-ctx.phase_range_db / 10)
        mask = (p > threshold.clamp_min(ctx.floor))[..., k:, :]
        cached = (mask, ref_spec[..., k:, :].angle(), est_spec[..., k:, :].angle())
        ctx.__dict__["_phase_high_band"] = cached
    return cached


def ip_hf_metric(ctx: MetricContext) -> torch.Tensor:
    """Instantaneous-phase error, ``(...)``."""
    mask, phi_ref, phi_est = _high_band(ctx)
    return _masked_mean(anti_wrap(phi_ref - phi_est), mask)


def gd_hf_metric(ctx: MetricContext) -> torch.Tensor:
    """Group-delay error (phase difference between neighbouring bins), ``(...)``."""
    mask, phi_ref, phi_est = _high_band(ctx)
    gd = phi_ref.diff(dim=-2) - phi_est.diff(dim=-2)
    return _masked_mean(anti_wrap(gd), mask[..., 1:, :] & mask[..., :-1, :])


def if_hf_metric(ctx: MetricContext) -> torch.Tensor:
    """Instantaneous-frequency error (phase difference between neighbouring frames), ``(...)``."""
    mask, phi_ref, phi_est = _high_band(ctx)
    inst_freq = phi_ref.diff(dim=-1) - phi_est.diff(dim=-1)
    return _masked_mean(anti_wrap(inst_freq), mask[..., 1:] & mask[..., :-1])


def phase_distances(
    ref: Signal,
    est: Signal,
    cutoff_hz: float,
    sample_rate: int = 16000,
    n_fft: int = 1024,
    hop: int = 256,
    floor: float = 1e-8,
    phase_range_db: float = 80.0,
) -> dict[str, torch.Tensor]:
    """AP-BWE phase errors in the band above the cutoff, in radians; each value ``(...)``.

    Keys: ``phase_ip_hf`` (instantaneous phase), ``phase_gd_hf`` (group delay),
    ``phase_if_hf`` (instantaneous frequency). See the module docstring for the mask.
    """
    ctx = MetricContext(ref, est, cutoff_hz, sample_rate, n_fft, hop, floor, phase_range_db)
    return {
        "phase_ip_hf": ip_hf_metric(ctx),
        "phase_gd_hf": gd_hf_metric(ctx),
        "phase_if_hf": if_hf_metric(ctx),
    }
