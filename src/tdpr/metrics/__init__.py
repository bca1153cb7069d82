"""Objective metrics: LSD (Eq. 5 of the paper), its high/low-band split, SI-SDR and phase distances.

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

import math

import numpy as np
import torch

from tdpr.dsp.stft import stft

#: Largest length difference (samples) that is silently truncated away.
LENGTH_TOLERANCE = 16
#: SI-SDR is clipped to ±this many dB (identical signals would otherwise give +inf).
SI_SDR_LIMIT_DB = 100.0
#: Waveforms may be torch tensors (any device) or numpy arrays.
Signal = torch.Tensor | np.ndarray
#: Metrics needing a cutoff, and all metrics, in report order.
BAND_METRICS = ("lsd_hf", "lsd_lf", "phase_ip_hf", "phase_gd_hf", "phase_if_hf")
ALL_METRICS = ("lsd", "lsd_hf", "lsd_lf", "si_sdr", "phase_ip_hf", "phase_gd_hf", "phase_if_hf")


class MetricInputError(ValueError):
    """Reference and estimate cannot be compared (shape, length, NaN, silence, too short)."""


def prepare(ref: Signal, est: Signal, n_fft: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """Check a reference/estimate pair and cut both to the shorter length.

    Returns:
        ``(ref, est)`` as tensors of the same shape ``(..., T)``.

    Raises:
        MetricInputError: see the module docstring.
    """
    # ascontiguousarray: scipy's filtfilt returns negative strides, which torch refuses.
    ref, est = (
        x if torch.is_tensor(x) else torch.from_numpy(np.ascontiguousarray(x)) for x in (ref, est)
    )
    if ref.ndim == 0 or ref.shape[:-1] != est.shape[:-1]:
        raise MetricInputError(
            f"shapes do not match: ref {tuple(ref.shape)}, est {tuple(est.shape)}"
        )
    gap = abs(ref.shape[-1] - est.shape[-1])
    if gap > LENGTH_TOLERANCE:
        raise MetricInputError(
            f"lengths differ by {gap} samples (ref {ref.shape[-1]}, est {est.shape[-1]}); "
            f"at most {LENGTH_TOLERANCE} are tolerated"
        )
    length = min(ref.shape[-1], est.shape[-1])
    if length < n_fft:
        raise MetricInputError(f"signals of {length} samples are shorter than n_fft={n_fft}")
    ref, est = ref[..., :length], est[..., :length]
    for name, x in (("reference", ref), ("estimate", est)):
        if not torch.isfinite(x).all():
            raise MetricInputError(f"{name} holds NaN or infinite samples")
        silent = (x == 0).all(dim=-1)
        if silent.any():
            where = "" if x.ndim == 1 else f" (items {silent.nonzero().flatten().tolist()})"
            raise MetricInputError(f"{name} is digital silence{where}")
    return ref, est


def cutoff_bin(cutoff_hz: float, sample_rate: int, n_fft: int = 1024) -> int:
    """The first high-band bin, ``int(cutoff_hz * n_fft / sample_rate)``."""
    if not 0 < cutoff_hz < sample_rate / 2:
        raise MetricInputError(f"cutoff {cutoff_hz} Hz is not inside (0, {sample_rate / 2}) Hz")
    k = int(cutoff_hz * n_fft / sample_rate)
    if k < 1:
        raise MetricInputError(f"cutoff {cutoff_hz} Hz falls in bin 0 at n_fft={n_fft}")
    return k


def _power(spec: torch.Tensor) -> torch.Tensor:
    return spec.real.square() + spec.imag.square()


def _lsd_bins(d2: torch.Tensor, bins: slice = slice(None)) -> torch.Tensor:
    """LSD from squared log differences ``(..., F, frames)`` restricted to ``bins``."""
    return d2[..., bins, :].mean(dim=-2).sqrt().mean(dim=-1)


def _squared_log_diff(ref_spec: torch.Tensor, est_spec: torch.Tensor, floor: float) -> torch.Tensor:
    log_ref = _power(ref_spec).clamp_min(floor).log10()
    log_est = _power(est_spec).clamp_min(floor).log10()
    return (log_ref - log_est).square()


def lsd(
    ref: Signal, est: Signal, n_fft: int = 1024, hop: int = 256, floor: float = 1e-8
) -> torch.Tensor:
    """Log-spectral distance over all bins (Eq. 5). ``(..., T)`` inputs give ``(...)``."""
    ref, est = prepare(ref, est, n_fft)
    spectra = (stft(x, n_fft, hop, pad_mode="constant") for x in (ref, est))
    return _lsd_bins(_squared_log_diff(*spectra, floor))


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
    k = cutoff_bin(cutoff_hz, sample_rate, n_fft)
    ref, est = prepare(ref, est, n_fft)
    d2 = _squared_log_diff(*(stft(x, n_fft, hop, pad_mode="constant") for x in (ref, est)), floor)
    return _lsd_bins(d2, slice(k, None)), _lsd_bins(d2, slice(None, k))


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


def anti_wrap(x: torch.Tensor) -> torch.Tensor:
    """``|x - 2π·round(x / 2π)|``: the distance of a phase difference from 0 on the circle."""
    return (x - 2 * math.pi * torch.round(x / (2 * math.pi))).abs()


def _masked_mean(err: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    # 0/0 gives NaN on purpose: no reference energy in the band means no phase to judge.
    return (err * mask).sum(dim=(-2, -1)) / mask.sum(dim=(-2, -1))


def _phase_from_spec(ref_spec, est_spec, k: int, floor: float, range_db: float) -> dict:
    power = _power(ref_spec)
    # Relative to the whole clip's loudest bin, so the mask tracks the recording's noise floor.
    threshold = power.amax(dim=(-2, -1), keepdim=True) * 10 ** (-range_db / 10)
    mask = (power > threshold.clamp_min(floor))[..., k:, :]
    ref_spec, est_spec = ref_spec[..., k:, :], est_spec[..., k:, :]
    phi_ref, phi_est = ref_spec.angle(), est_spec.angle()
    gd = phi_ref.diff(dim=-2) - phi_est.diff(dim=-2)
    inst_freq = phi_ref.diff(dim=-1) - phi_est.diff(dim=-1)
    return {
        "phase_ip_hf": _masked_mean(anti_wrap(phi_ref - phi_est), mask),
        "phase_gd_hf": _masked_mean(anti_wrap(gd), mask[..., 1:, :] & mask[..., :-1, :]),
        "phase_if_hf": _masked_mean(anti_wrap(inst_freq), mask[..., 1:] & mask[..., :-1]),
    }


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
    k = cutoff_bin(cutoff_hz, sample_rate, n_fft)
    ref, est = prepare(ref, est, n_fft)
    spectra = (stft(x, n_fft, hop, pad_mode="constant") for x in (ref, est))
    return _phase_from_spec(*spectra, k, floor, phase_range_db)


def compute_batch(
    ref: Signal,
    est: Signal,
    cutoff_hz: float | None = None,
    sample_rate: int = 16000,
    n_fft: int = 1024,
    hop: int = 256,
    floor: float = 1e-8,
    phase_range_db: float = 80.0,
) -> dict[str, torch.Tensor]:
    """Every metric from one pair of STFTs.

    Args:
        ref, est: ``(..., T)`` waveforms at ``sample_rate``.
        cutoff_hz: the degradation's cutoff; ``None`` computes only ``lsd`` and ``si_sdr``.

    Returns:
        ``{name: (...)}`` in the order of :data:`ALL_METRICS`.
    """
    k = None if cutoff_hz is None else cutoff_bin(cutoff_hz, sample_rate, n_fft)
    ref, est = prepare(ref, est, n_fft)
    ref_spec, est_spec = (stft(x, n_fft, hop, pad_mode="constant") for x in (ref, est))
    d2 = _squared_log_diff(ref_spec, est_spec, floor)
    out = {"lsd": _lsd_bins(d2)}
    if k is not None:
        out["lsd_hf"], out["lsd_lf"] = _lsd_bins(d2, slice(k, None)), _lsd_bins(d2, slice(None, k))
    out["si_sdr"] = si_sdr(ref, est)
    if k is not None:
        out.update(_phase_from_spec(ref_spec, est_spec, k, floor, phase_range_db))
    return out


def compute_all(
    ref: Signal,
    est: Signal,
    cutoff_hz: float | None = None,
    sample_rate: int = 16000,
    n_fft: int = 1024,
    hop: int = 256,
    floor: float = 1e-8,
    phase_range_db: float = 80.0,
) -> dict[str, float]:
    """:func:`compute_batch` for one clip ``(T,)``, as plain floats (NaN where undefined)."""
    if ref.ndim != 1:
        raise MetricInputError("compute_all takes one clip of shape (T,); use compute_batch")
    values = compute_batch(ref, est, cutoff_hz, sample_rate, n_fft, hop, floor, phase_range_db)
    return {name: float(value) for name, value in values.items()}


def visqol(ref: Signal, est: Signal, sample_rate: int) -> float:
    """ViSQOL v3 MOS-LQO in audio mode (1-5), from the optional ``visqol-python`` package.

    Audio mode works at 48 kHz, so both ``(T,)`` signals are resampled to it first.

    Raises:
        ImportError: ``visqol-python`` is not installed.
    """
    try:
        from visqol import VisqolApi
    except ImportError as err:
        raise ImportError(
            "ViSQOL needs the optional package visqol-python: pip install visqol-python "
            "(or pip install 'tdpr[visqol]')"
        ) from err
    from tdpr.audio import resample

    ref, est = (x.detach().cpu().double().numpy() for x in prepare(ref, est))
    if ref.ndim != 1:
        raise MetricInputError("visqol takes one clip of shape (T,)")
    api = VisqolApi()
    api.create(mode="audio")
    ref48, est48 = (resample(x, sample_rate, 48000).astype(np.float64) for x in (ref, est))
    return float(api.measure_from_arrays(ref48, est48, sample_rate=48000).moslqo)
