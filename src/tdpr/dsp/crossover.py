"""A crossover at the input's bandwidth: the input below it, the enhanced signal above it.

A super-resolution model is asked to add the missing band, yet a TD-CNN rewrites the whole
signal, and a small or briefly trained one alters the band it was given (LSD-LF and SI-SDR
worse than the input's). Restoration users ask to keep that band exactly (LavaSR does so with a
crossover at the cutoff). :func:`keep_band` mixes the two signals in the STFT domain
(1024-point periodic Hann, hop 256: the metrics' STFT) with a raised-cosine weight ``w(f)`` that
is 0 up to the cutoff, 1 above ``(1 + h) · cutoff`` (``h`` = :data:`WIDTH`), and rises in
between: ``Z = (1 - w) · X + w · Y``. Every bin the metrics count as the given band (below the
cutoff) is the input's. The weight does not change with time, so the
mix is a linear, time-invariant, zero-phase filter pair (``1 - w`` and ``w`` sum to 1 at every
frequency): where ``w = 0`` the output is the input up to float error, and chunks of a long
signal mixed separately join seamlessly (frames line up on the 256-sample hop).
"""

from __future__ import annotations

import torch

from tdpr.dsp.stft import istft, stft

N_FFT, HOP = 1024, 256
#: The transition's width above the cutoff, as a fraction of it: 6 % (180 Hz at 3 kHz, ~12 bins).
WIDTH = 0.06


def crossover_weight(
    cutoff_hz: float, sample_rate: int = 16_000, n_fft: int = N_FFT, width: float = WIDTH
) -> torch.Tensor:
    """The weight of the enhanced signal per STFT bin, ``(n_fft // 2 + 1,)`` float64 in [0, 1]."""
    if not 0 < cutoff_hz < sample_rate / 2:
        raise ValueError(f"cutoff {cutoff_hz} Hz is not inside (0, {sample_rate / 2}) Hz")
    freqs = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * sample_rate / n_fft
    lo, hi = cutoff_hz, (1 + width) * cutoff_hz
    t = ((freqs - lo) / (hi - lo)).clamp(0, 1)
    return 0.5 - 0.5 * torch.cos(torch.pi * t)


def keep_band(
    given: torch.Tensor, enhanced: torch.Tensor, cutoff_hz: float, sample_rate: int = 16_000
) -> torch.Tensor:
    """The ``given`` signal below ``cutoff_hz`` and the ``enhanced`` one above it.

    Args:
        given, enhanced: ``(T,)`` or ``(B, T)`` waveforms of the same shape (T > 512).
        cutoff_hz: the given signal's bandwidth.

    Returns:
        The mix, shaped and typed like ``enhanced``.
    """
    if given.shape != enhanced.shape:
        raise ValueError(f"shapes differ: {tuple(given.shape)} and {tuple(enhanced.shape)}")
    w = crossover_weight(cutoff_hz, sample_rate).to(enhanced.device)
    X, Y = stft(given.double(), N_FFT, HOP), stft(enhanced.double(), N_FFT, HOP)
    Z = X + w[:, None] * (Y - X)
    return istft(Z, N_FFT, HOP, length=enhanced.shape[-1]).to(enhanced.dtype)
