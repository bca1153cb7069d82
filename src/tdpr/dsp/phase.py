"""Time-Domain Phase Repair (TD-PR; paper Sec. 3.1, reference spec A6 and Part B §8).

Given a TD-CNN output ``y`` and a waveform ``v`` whose phase is trusted (the vocoder's
re-synthesis of ``y``, or the ground truth for the oracle of Sec. 4.2)::

    Y = STFT(y),  V = STFT(v)           # n_fft 1024, hop 256, periodic Hann, centred, reflect
    z = iSTFT(|Y| · exp(i · angle(V)), length = len(y))

The whole band gets the new phase. ``torch.polar(|Y|, angle(V))`` guards ``|V| = 0``: the angle
of 0 is 0, so such bins keep ``|Y|`` with zero phase instead of dividing by zero. ``Z`` is in
general not a consistent STFT, so ``|STFT(z)|`` is close to ``|Y|`` but not equal to it.

Signals are ``(T,)`` or ``(B, 1, T)`` (any ``(..., T)`` works); ``T`` must exceed ``n_fft // 2``
(reflect padding). Pure functions: no I/O, no state.
"""

from __future__ import annotations

from typing import Protocol

import torch

from tdpr.dsp.stft import istft, stft

N_FFT = 1024
HOP = 256


class Vocoder(Protocol):
    """Anything with ``vocode((B, 1, T)) -> (B, 1, T)``, e.g. :class:`TFGANGenerator`."""

    def vocode(self, audio: torch.Tensor) -> torch.Tensor: ...


def _check(y: torch.Tensor, other: torch.Tensor, n_fft: int, what: str) -> None:
    if y.shape != other.shape:
        raise ValueError(
            f"phase repair needs y and the {what} of the same shape, got "
            f"{tuple(y.shape)} and {tuple(other.shape)}"
        )
    if y.dim() == 0 or y.shape[-1] <= n_fft // 2:
        raise ValueError(
            f"phase repair needs more than {n_fft // 2} samples (reflect padding of the "
            f"{n_fft}-point STFT), got shape {tuple(y.shape)}"
        )


def repair_phase(
    y: torch.Tensor, v: torch.Tensor, n_fft: int = N_FFT, hop: int = HOP
) -> torch.Tensor:
    """Keep the STFT magnitude of ``y`` and take the STFT phase of ``v``.

    Args:
        y: signal whose magnitude is kept, ``(..., T)``, ``T > n_fft // 2``.
        v: signal whose phase is used, same shape as ``y``.
        n_fft: FFT size and window length (1024).
        hop: hop length (256).

    Returns:
        ``z`` with ``y``'s shape and dtype (float32 or float64).
    """
    _check(y, v, n_fft, "phase source")
    mag = stft(y, n_fft, hop).abs()
    phase = torch.angle(stft(v.to(y.dtype), n_fft, hop))
    z = istft(torch.polar(mag, phase), n_fft, hop, length=y.shape[-1])
    return z.to(y.dtype) if y.is_floating_point() else z


def oracle_phase(
    y: torch.Tensor, reference: torch.Tensor, n_fft: int = N_FFT, hop: int = HOP
) -> torch.Tensor:
    """The "GT phase" oracle: ``y``'s magnitude with the reference's (ground truth's) phase.

    Args:
        y: enhanced signal, ``(..., T)``.
        reference: ground-truth signal of the same shape.
        n_fft: FFT size (1024).
        hop: hop length (256).

    Returns:
        ``(..., T)``; ``oracle_phase(reference, reference)`` gives ``reference`` back (up to
        float error).
    """
    _check(y, reference, n_fft, "reference")
    return repair_phase(y, reference, n_fft, hop)


def td_pr(y: torch.Tensor, vocoder: Vocoder, n_fft: int = N_FFT, hop: int = HOP) -> torch.Tensor:
    """TD-PR: ``repair_phase(y, vocoder.vocode(y))``.

    The vocoder sees ``clip(y, -1, 1)`` (its ``vocode`` clips); the magnitude kept is that of
    the unclipped ``y``. The vocoder's waveform itself is never returned.

    Args:
        y: TD-CNN output, ``(T,)`` or ``(B, 1, T)``, ``T > n_fft // 2``.
        vocoder: e.g. a :class:`~tdpr.models.tfgan.TFGANGenerator` in eval mode, on ``y``'s
            device.
        n_fft: FFT size of the phase exchange (1024, the vocoder's own framing).
        hop: hop length (256).

    Returns:
        Phase-repaired signal with ``y``'s shape.
    """
    if y.dim() == 1:
        return td_pr(y[None, None], vocoder, n_fft, hop)[0, 0]
    if y.dim() != 3 or y.shape[1] != 1:
        raise ValueError(f"td_pr expects (T,) or (B, 1, T), got {tuple(y.shape)}")
    v = vocoder.vocode(y)
    return repair_phase(y, v, n_fft, hop)
