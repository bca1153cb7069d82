"""Phase plausibility without sample alignment: STFT consistency and IF-deviation statistics.

AP-BWE's phase distances (:mod:`tdpr.metrics.apbwe`) compare a phase with the ground truth's, bin
by bin; a phase that is plausible but different (Griffin-Lim's, a vocoder's) scores almost as
badly as a random one. The two measures here judge the phase on its own terms:

* :func:`consistency_db`: ``20·log10(‖C - P(C)‖_F / ‖C‖_F)`` with ``P(C) = STFT(iSTFT(C))``, as
  LTFAT phaseret's ``consistencyerrdb``. A spectrogram that is the STFT of some signal gives
  float round-off (below -100 dB in float32); magnitude with random phase gives about -1 dB.
  It needs no reference at all, so it applies to a built spectrogram such as "TD-CNN magnitude
  with vocoder phase". STFT conventions are those of phase repair (:mod:`tdpr.dsp.phase`:
  n_fft 1024, hop 256, periodic Hann, centred, reflect padding).
* :func:`if_deviation_distance`: the Wasserstein-1 distance between the distributions of
  instantaneous-frequency deviation (the anti-wrapped phase advance from one frame to the next,
  minus the bin's nominal advance ``2π·k·hop/n_fft``) of the estimate and of the reference, over
  the high band. It compares statistics, not bins, so a phase that is locally right (each partial
  advancing at its own frequency) scores well even when it is not aligned with the ground truth.
"""

from __future__ import annotations

import math

import torch

from tdpr.dsp.phase import HOP, N_FFT
from tdpr.dsp.stft import istft, stft
from tdpr.metrics.apbwe import anti_wrap, check_pair
from tdpr.metrics.context import MetricContext, cutoff_bin

#: Bins more than this far below the clip's loudest bin are left out of the IF statistics.
RANGE_DB = 60.0


def consistency_db(C: torch.Tensor, n_fft: int = N_FFT, hop: int = HOP) -> torch.Tensor:
    """STFT consistency error of a complex spectrogram, in dB (lower is more consistent).

    The re-synthesis has ``(N - 1)·hop`` samples, the shortest signal whose STFT has ``N``
    frames, so the STFT of a signal of that length is consistent to float round-off (a longer
    signal's last few samples are not in ``C``'s frames and cannot be recovered).

    Args:
        C: complex ``(F, N)`` or ``(B, F, N)``, ``F = n_fft // 2 + 1``.
        n_fft, hop: the STFT that made ``C`` (1024, 256); ``n_fft`` even.

    Returns:
        ``()`` or ``(B,)`` real, on ``C``'s device; ``-inf`` for an exactly consistent ``C``.
    """
    if not torch.is_tensor(C) or not C.is_complex():
        raise ValueError("consistency_db expects a complex spectrogram tensor")
    if n_fft % 2:
        # A centred iSTFT of an odd size does not invert its STFT (about -18 dB at 511).
        raise ValueError(f"consistency_db needs an even n_fft, got {n_fft}")
    if C.ndim not in (2, 3) or C.shape[-2] != n_fft // 2 + 1:
        raise ValueError(
            f"consistency_db expects (F, N) or (B, F, N) with F = {n_fft // 2 + 1}, "
            f"got {tuple(C.shape)}"
        )
    length = (C.shape[-1] - 1) * hop
    if length <= n_fft // 2:
        raise ValueError(f"{C.shape[-1]} frames are too few for a reflect-padded re-analysis")
    projected = stft(istft(C, n_fft, hop, length=length), n_fft, hop)
    norm = C.abs().square().sum(dim=(-2, -1))
    if (norm == 0).any():
        raise ValueError("consistency_db of an all-zero spectrogram is undefined")
    error = (C - projected).abs().square().sum(dim=(-2, -1))
    return 10 * torch.log10(error / norm)


def if_deviation(spec: torch.Tensor, hop: int, n_fft: int, first_bin: int = 0) -> torch.Tensor:
    """IF deviation from the bin centre, ``f(φ[n] - φ[n-1] - 2π·k·hop/n_fft)``, in radians.

    Args:
        spec: complex ``(..., F, N)``, rows ``first_bin, first_bin + 1, ...`` of an STFT (the
            nominal advance is that of each row's own bin ``k``).

    Returns:
        ``(..., F, N - 1)`` in ``[-π, π]``.
    """
    k = first_bin + torch.arange(spec.shape[-2], device=spec.device, dtype=spec.real.dtype)
    nominal = (2 * math.pi * hop / n_fft) * k[:, None]
    return anti_wrap(spec.angle().diff(dim=-1) - nominal)


def wasserstein_1d(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """W1 distance between two equal-size 1-D samples: mean ``|sort(a) - sort(b)|``, ``()``."""
    if a.shape != b.shape or a.ndim != 1 or a.numel() == 0:
        raise ValueError(f"need two non-empty 1-D samples of one size, got {a.shape}, {b.shape}")
    return (a.sort().values - b.sort().values).abs().mean()


def if_deviation_distance(
    ref: torch.Tensor,
    est: torch.Tensor,
    sample_rate: int,
    cutoff_hz: float,
    n_fft: int = N_FFT,
    hop: int = HOP,
    range_db: float = RANGE_DB,
) -> torch.Tensor:
    """W1 distance of IF-deviation distributions above the cutoff (radians; 0 is best).

    The time-frequency points are bins at and above ``int(cutoff_hz·n_fft/sample_rate)`` where
    the reference magnitude, in both frames of the difference, lies within ``range_db`` of the
    clip's loudest bin; the estimate is read at the same points, so both samples have one size.
    Random phase gives a uniform deviation, far from the reference's peaked one.

    Args:
        ref, est: float ``(T,)`` or ``(B, T)``; cut to the shorter length.
        sample_rate: in Hz.
        cutoff_hz: lower edge of the band judged.
        n_fft, hop: STFT (1024, 256).
        range_db: dynamic range of the mask (60 dB).

    Returns:
        ``()`` or ``(B,)`` on ``ref``'s device; NaN for a clip with no point in the mask.
    """
    k = cutoff_bin(cutoff_hz, sample_rate, n_fft)
    ref, est = check_pair(ref, est, n_fft)
    ref_spec, est_spec = stft(ref, n_fft, hop), stft(est, n_fft, hop)
    # The peak is the whole clip's, so the mask follows the recording's level, not the band's.
    peak = ref_spec.abs().amax(dim=(-2, -1), keepdim=True)
    ref_spec, est_spec = ref_spec[..., k:, :], est_spec[..., k:, :]
    loud = ref_spec.abs() > peak * 10 ** (-range_db / 20)
    mask = loud[..., 1:] & loud[..., :-1]
    dev_ref, dev_est = (if_deviation(s, hop, n_fft, first_bin=k) for s in (ref_spec, est_spec))
    if ref.ndim == 1:
        return _masked_w1(dev_ref, dev_est, mask)
    return torch.stack(
        [_masked_w1(r, e, m) for r, e, m in zip(dev_ref, dev_est, mask, strict=True)]
    )


def _masked_w1(dev_ref: torch.Tensor, dev_est: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    if not mask.any():
        return torch.tensor(math.nan, device=dev_ref.device, dtype=dev_ref.dtype)
    return wasserstein_1d(dev_ref[mask], dev_est[mask])


# ---- entries of tdpr.registry.METRICS --------------------------------------------------------


def ifd_w1_metric(ctx: MetricContext) -> torch.Tensor:
    """IF-deviation W1 above the cutoff, ``(...)``."""
    ref, est = ctx.signals
    flat = (x.reshape(-1, x.shape[-1]).float() for x in (ref, est))
    value = if_deviation_distance(*flat, ctx.sample_rate, ctx.cutoff_hz, ctx.n_fft, ctx.hop)
    return value.reshape(ref.shape[:-1])


def consistency_metric(ctx: MetricContext) -> torch.Tensor:
    """The consistency error recorded with the estimate (phase repair), NaN where none was."""
    shape = ctx.signals[0].shape[:-1]
    value = ctx.extra.get("consistency_db", math.nan)
    return torch.as_tensor(value, dtype=torch.float64).expand(shape).clone()
