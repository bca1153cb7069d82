"""Band-limited ×2 resampling (windowed sinc), for Demucs and the TD-CNN loss.

The kernel is a Hann-windowed sinc designed at the high rate, with ``zeros`` zero crossings on
each side and its cutoff at ``rolloff`` of the low-rate Nyquist frequency (24 and 0.945, as the
Demucs family uses). julius's ``resample_frac`` implements the same idea with a different
window span: on white noise it differs from these by up to -49 dB (×2 down) and -43 dB (×2 up),
which would change every trained Demucs and every loss value, so the project keeps its own.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def sinc_lowpass_kernel(zeros: int = 24, rolloff: float = 0.945) -> torch.Tensor:
    """Hann-windowed sinc low-pass for ×2 resampling, designed at the high rate.

    Args:
        zeros: zero crossings of the sinc kept on each side.
        rolloff: cutoff as a fraction of the low-rate Nyquist frequency.

    Returns:
        ``(2M + 1,)`` float64 taps with unit sum (DC gain 1), centred at index M.
    """
    cutoff = rolloff / 4  # cycles per high-rate sample: the low-rate Nyquist is 1/4
    half = math.ceil(zeros / (2 * cutoff))
    n = torch.arange(-half, half + 1, dtype=torch.float64)
    window = torch.cos(math.pi * n / (2 * (half + 1))) ** 2
    taps = 2 * cutoff * torch.sinc(2 * cutoff * n) * window
    return taps / taps.sum()


def upsample2(x: torch.Tensor, zeros: int = 24, rolloff: float = 0.945) -> torch.Tensor:
    """Band-limited ×2 up-sampling along the last axis, ``(..., L) -> (..., 2L)``."""
    taps = sinc_lowpass_kernel(zeros, rolloff).to(x)
    half = (taps.numel() - 1) // 2
    pad = half // 2 + 1  # low-rate samples of context on each side
    shape, length = x.shape[:-1], x.shape[-1]
    flat = F.pad(x.reshape(-1, 1, length), (pad, pad), mode="replicate")
    # Zero-stuffing then filtering with gain 2, done as one transposed convolution.
    y = F.conv_transpose1d(flat, (2 * taps).view(1, 1, -1), stride=2)
    start = half + 2 * pad
    return y[..., start : start + 2 * length].reshape(*shape, 2 * length)


def downsample2(x: torch.Tensor, zeros: int = 24, rolloff: float = 0.945) -> torch.Tensor:
    """Anti-aliased ×2 down-sampling along the last axis, ``(..., L) -> (..., L // 2)``."""
    taps = sinc_lowpass_kernel(zeros, rolloff).to(x)
    half = (taps.numel() - 1) // 2
    shape, length = x.shape[:-1], x.shape[-1]
    flat = F.pad(x.reshape(-1, 1, length), (half, half), mode="replicate")
    y = F.conv1d(flat, taps.view(1, 1, -1), stride=2)  # output n is centred on input 2n
    return y[..., : length // 2].reshape(*shape, length // 2)
