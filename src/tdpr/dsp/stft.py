"""Short-time Fourier transform helpers: every STFT of the project goes through :func:`stft`.

Users: the metrics, phase repair, the STFT degradation, the vocoder's mel front end and its
frequency discriminator, and the figures.

One convention everywhere: periodic Hann window of length ``n_fft``, ``center=True``. The pad
mode is the only thing that differs between users. Phase repair (Part A6 of the reference spec)
uses torch's default reflect padding; the LSD metric (Part A3) pads with zeros
(``pad_mode="constant"``), as ``librosa >= 0.9`` does, so the first and last frames see the clip
and nothing invented.

Windows are built on every call on the input's device and dtype: a module-level cache would pin
memory on whichever GPU first used it and is not worth the microseconds it saves. The LSD
conventions of other papers (:mod:`tdpr.metrics.conventions`) pass their own window and centring.
"""

from __future__ import annotations

import torch

PAD_MODES = ("reflect", "constant", "replicate", "circular")


def _real_dtype(x: torch.Tensor) -> torch.dtype:
    # torch.stft needs float32/float64; half precision would also lose the LSD floor (1e-8).
    return x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32


def hann(n_fft: int, like: torch.Tensor) -> torch.Tensor:
    """Periodic Hann window of length ``n_fft`` on ``like``'s device, in a real float dtype."""
    return torch.hann_window(n_fft, periodic=True, device=like.device, dtype=_real_dtype(like))


def n_frames(length: int, hop: int = 256) -> int:
    """Number of frames of a centred STFT of a ``length``-sample signal: ``1 + length // hop``."""
    return 1 + length // hop


def stft(
    x: torch.Tensor,
    n_fft: int = 1024,
    hop: int = 256,
    pad_mode: str = "reflect",
    win_length: int | None = None,
    window: torch.Tensor | None = None,
    center: bool = True,
) -> torch.Tensor:
    """Centred STFT with a periodic Hann window.

    Args:
        x: real signal, ``(..., T)``. Reflect padding needs ``T > n_fft // 2``.
        n_fft: FFT size (and window length unless ``win_length`` is given).
        hop: hop length in samples.
        pad_mode: padding of the centred frames: ``"reflect"`` (default, as torch) or
            ``"constant"`` (zeros, the LSD convention).
        win_length: a shorter Hann window, zero-padded on both sides to ``n_fft``.
        window: another window ``(win_length,)`` in place of the Hann one.
        center: ``False`` takes frames from the signal's start without padding.

    Returns:
        Complex tensor ``(..., n_fft // 2 + 1, 1 + T // hop)`` (``1 + (T - n_fft) // hop``
        frames when not centred).
    """
    if pad_mode not in PAD_MODES:
        raise ValueError(f"unknown pad_mode {pad_mode!r}; choose one of {', '.join(PAD_MODES)}")
    if x.is_complex():
        raise ValueError("stft expects a real signal")
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(
            f"stft expects a signal of shape (..., T) with T > 0, got {tuple(x.shape)}"
        )
    lead = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1]).to(_real_dtype(x))
    win_length = n_fft if win_length is None else win_length
    window = hann(win_length, flat) if window is None else window.to(flat)
    spec = torch.stft(
        flat,
        n_fft=n_fft,
        hop_length=hop,
        win_length=win_length,
        window=window,
        center=center,
        pad_mode=pad_mode,
        return_complex=True,
    )
    return spec.reshape(*lead, *spec.shape[-2:])


def istft(
    X: torch.Tensor, n_fft: int = 1024, hop: int = 256, length: int | None = None
) -> torch.Tensor:
    """Inverse of :func:`stft` (weighted overlap-add with the same periodic Hann window).

    The pad mode of the forward transform does not matter here: the centre padding is cropped.

    Args:
        X: complex spectrogram ``(..., n_fft // 2 + 1, frames)``.
        n_fft: FFT size used by the forward transform.
        hop: hop length used by the forward transform.
        length: output length in samples; ``None`` gives ``(frames - 1) * hop``.

    Returns:
        Real signal ``(..., length)``.
    """
    if not X.is_complex():
        raise ValueError("istft expects a complex spectrogram")
    if X.ndim < 2 or X.shape[-2] != n_fft // 2 + 1:
        raise ValueError(
            f"istft expects (..., {n_fft // 2 + 1}, frames) for n_fft={n_fft}, got {tuple(X.shape)}"
        )
    lead = X.shape[:-2]
    flat = X.reshape(-1, *X.shape[-2:])
    window = hann(n_fft, flat.real)
    y = torch.istft(
        flat,
        n_fft=n_fft,
        hop_length=hop,
        win_length=n_fft,
        window=window,
        center=True,
        length=length,
    )
    return y.reshape(*lead, y.shape[-1])
