"""AP-BWE's published evaluation metrics: LSD and the three anti-wrapped phase distances.

Definitions as in yxlu-0102/AP-BWE ``cal_metrics.py`` (MIT), written anew on the project's STFT:

* STFT: n_fft 2048, hop 512, periodic Hann window of 2048, centred with reflect padding, whole
  band (all 1025 bins). Reference and estimate are cut to the shorter length first.
* Anti-wrapping: ``f(x) = x - 2π·round(x / 2π)`` (signed, in ``[-π, π]``).
* **LSD**: ``L = log10(max(|X|², 1e-8))`` (no factor 10); per frame the square root of the mean
  over frequency of ``(L_ref - L_est)²``, then the mean over frames.
* **APD-IP** (instantaneous phase): ``f(φ̂ - φ)``; RMS over frequency per frame, mean over frames.
* **APD-IAF** (instantaneous angular frequency): the same on the phase difference along time,
  ``φ[n-1] - φ[n]`` with ``-φ[0]`` for the first frame (AP-BWE builds it with a difference
  matrix, so the first column is kept); RMS over frequency per frame, mean over frames.
* **APD-GD** (group delay): the same on the phase difference along frequency,
  ``φ[k-1] - φ[k]`` with ``-φ[0]`` for bin 0; here the RMS is taken **over time for each bin**,
  then the mean over bins. This axis order is AP-BWE's own (it transposes the phase to
  frames × bins before the difference and averages over dim 1): it is kept, not "fixed".

All three phase distances need a sample-exact alignment with the reference: they are not
meaningful for an estimate that is delayed, or whose phase is plausible but different (see
:mod:`tdpr.metrics.plausibility` for that). A random phase scores ``π/√3 ≈ 1.81`` on APD-IP
(a uniform wrapped error) and about 1.4-1.5 on APD-IAF and APD-GD (the frames overlap, so the
differences of two random phases are not uniform); a delayed copy or a Griffin-Lim phase of the
right magnitude also scores about 1.8 on APD-IP, while its IAF and GD errors fall. ``-x``, an
exact solution of phase retrieval from ``|STFT(x)|``, scores π, worse than random: APD-IP can
rank a phase estimate only when the estimate is anchored to the reference (a known band, a
warm start), never a retrieval from the magnitude alone.

Inputs are float tensors ``(T,)`` or ``(B, T)`` on any device; the outputs are ``()`` or ``(B,)``
on the same device. AP-BWE hard-codes 1025 bins; ``n_fft`` and ``hop`` are arguments here, with
AP-BWE's values as defaults. Identical inputs give exactly 0 on every metric.
"""

from __future__ import annotations

import math

import torch

from tdpr.dsp.stft import stft
from tdpr.metrics.context import MetricContext

N_FFT = 2048
HOP = 512
FLOOR = 1e-8


def anti_wrap(x: torch.Tensor) -> torch.Tensor:
    """Signed anti-wrapping ``x - 2π·round(x / 2π)``; values in ``[-π, π]``, same shape as ``x``."""
    return x - 2 * math.pi * torch.round(x / (2 * math.pi))


def check_pair(
    ref: torch.Tensor, est: torch.Tensor, n_fft: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Check ``(T,)``/``(B, T)`` float inputs and cut both to the shorter length.

    Raises:
        ValueError: not float tensors, wrong rank, shapes that differ, NaN, too short.
    """
    for name, x in (("reference", ref), ("estimate", est)):
        if not torch.is_tensor(x) or not x.is_floating_point():
            raise ValueError(f"{name} must be a float tensor, got {type(x).__name__}")
        if x.ndim not in (1, 2):
            raise ValueError(f"{name} must have shape (T,) or (B, T), got {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} holds NaN or infinite samples")
    if ref.ndim != est.ndim or ref.shape[:-1] != est.shape[:-1]:
        raise ValueError(
            f"reference and estimate shapes do not match: {tuple(ref.shape)}, {tuple(est.shape)}"
        )
    length = min(ref.shape[-1], est.shape[-1])
    if length <= n_fft // 2:
        raise ValueError(f"signals of {length} samples are too short for n_fft={n_fft}")
    dtype = torch.promote_types(ref.dtype, est.dtype)
    return ref[..., :length].to(dtype), est[..., :length].to(dtype)


def _spectra(ref, est, n_fft, hop):
    ref, est = check_pair(ref, est, n_fft)
    return stft(ref, n_fft, hop), stft(est, n_fft, hop)


def lsd(ref: torch.Tensor, est: torch.Tensor, n_fft: int = N_FFT, hop: int = HOP) -> torch.Tensor:
    """AP-BWE's LSD (whole band, log10 of power clamped at 1e-8).

    Args:
        ref, est: ``(T,)`` or ``(B, T)``; cut to the shorter length.
        n_fft, hop: STFT size and hop (2048, 512).

    Returns:
        ``()`` or ``(B,)``.
    """
    ref_spec, est_spec = _spectra(ref, est, n_fft, hop)
    log_ref, log_est = (s.abs().square().clamp_min(FLOOR).log10() for s in (ref_spec, est_spec))
    return (log_ref - log_est).square().mean(dim=-2).sqrt().mean(dim=-1)


def _diff_with_first(phase: torch.Tensor, dim: int) -> torch.Tensor:
    """``φ[i-1] - φ[i]`` along ``dim``, with ``-φ[0]`` first (AP-BWE's difference matrix)."""
    shifted = torch.cat(
        [torch.zeros_like(phase.narrow(dim, 0, 1)), phase.narrow(dim, 0, phase.shape[dim] - 1)], dim
    )
    return shifted - phase


def _rms(x: torch.Tensor, dim: int) -> torch.Tensor:
    return anti_wrap(x).square().mean(dim=dim).sqrt()


def phase_distances(
    ref: torch.Tensor, est: torch.Tensor, n_fft: int = N_FFT, hop: int = HOP
) -> dict[str, torch.Tensor]:
    """APD-IP, APD-IAF and APD-GD in radians from one pair of STFTs.

    Args:
        ref, est: ``(T,)`` or ``(B, T)``; cut to the shorter length.
        n_fft, hop: STFT size and hop (2048, 512).

    Returns:
        ``{"apd_ip", "apd_iaf", "apd_gd"}``, each ``()`` or ``(B,)``.
    """
    ref_spec, est_spec = _spectra(ref, est, n_fft, hop)
    phi_ref, phi_est = ref_spec.angle(), est_spec.angle()  # (..., F, N)
    freq, time = -2, -1
    ip = _rms(phi_ref - phi_est, freq).mean(dim=-1)
    iaf_ref, iaf_est = (_diff_with_first(p, time) for p in (phi_ref, phi_est))
    iaf = _rms(iaf_ref - iaf_est, freq).mean(dim=-1)
    gd_ref, gd_est = (_diff_with_first(p, freq) for p in (phi_ref, phi_est))
    gd = _rms(gd_ref - gd_est, time).mean(dim=-1)  # RMS over time per bin: AP-BWE's order
    return {"apd_ip": ip, "apd_iaf": iaf, "apd_gd": gd}


def apd_ip(
    ref: torch.Tensor, est: torch.Tensor, n_fft: int = N_FFT, hop: int = HOP
) -> torch.Tensor:
    """APD-IP alone: ``()`` or ``(B,)``. See :func:`phase_distances`."""
    return phase_distances(ref, est, n_fft, hop)["apd_ip"]


def apd_iaf(
    ref: torch.Tensor, est: torch.Tensor, n_fft: int = N_FFT, hop: int = HOP
) -> torch.Tensor:
    """APD-IAF alone: ``()`` or ``(B,)``. See :func:`phase_distances`."""
    return phase_distances(ref, est, n_fft, hop)["apd_iaf"]


def apd_gd(
    ref: torch.Tensor, est: torch.Tensor, n_fft: int = N_FFT, hop: int = HOP
) -> torch.Tensor:
    """APD-GD alone: ``()`` or ``(B,)``. See :func:`phase_distances`."""
    return phase_distances(ref, est, n_fft, hop)["apd_gd"]


# ---- entries of tdpr.registry.METRICS --------------------------------------------------------


def lsd_metric(ctx: MetricContext) -> torch.Tensor:
    """AP-BWE's LSD of the context's pair, ``(...)``."""
    return lsd(*_flat_pair(ctx)).reshape(ctx.signals[0].shape[:-1])


def _phase(ctx: MetricContext, name: str) -> torch.Tensor:
    cached = ctx.__dict__.get("_apbwe_phase")
    if cached is None:
        cached = phase_distances(*_flat_pair(ctx))
        ctx.__dict__["_apbwe_phase"] = cached
    return cached[name].reshape(ctx.signals[0].shape[:-1])


def _flat_pair(ctx: MetricContext) -> tuple[torch.Tensor, torch.Tensor]:
    ref, est = ctx.signals
    return ref.reshape(-1, ref.shape[-1]).float(), est.reshape(-1, est.shape[-1]).float()


def apd_ip_metric(ctx: MetricContext) -> torch.Tensor:
    """APD-IP, ``(...)``."""
    return _phase(ctx, "apd_ip")


def apd_iaf_metric(ctx: MetricContext) -> torch.Tensor:
    """APD-IAF, ``(...)``."""
    return _phase(ctx, "apd_iaf")


def apd_gd_metric(ctx: MetricContext) -> torch.Tensor:
    """APD-GD, ``(...)``."""
    return _phase(ctx, "apd_gd")
