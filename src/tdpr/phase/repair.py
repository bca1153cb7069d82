"""Phase repair with any registered phase source, in the full band or above the cutoff only.

Given a TD-CNN output ``y``::

    Y = STFT(y)                                  # n_fft 1024, hop 256, periodic Hann, reflect
    φ = source(PhaseRequest(Y, y, ...))          # a phase (..., F, N) from a registered source
    φ[k < cut] = angle(Y[k < cut])               # band "hf" only: the known band keeps its phase
    C = |Y| · exp(i·φ)
    z = iSTFT(C, length = len(y))

``band="full"`` with the ``vocoder`` source is the paper's TD-PR and with ``gt`` its GT-phase
oracle (:mod:`tdpr.dsp.phase` computes the same). ``C`` is in general not the STFT of any
signal; its consistency error (:func:`tdpr.metrics.plausibility.consistency_db`) is returned
with ``z``, as a reference-free measure of how plausible the phase is.

``torch.polar(|Y|, φ)`` guards ``|V| = 0`` in a source's spectrogram: the angle of 0 is 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from tdpr.dsp.phase import HOP, N_FFT
from tdpr.dsp.stft import istft, stft
from tdpr.metrics.plausibility import consistency_db
from tdpr.registry import BANDS, PHASE_SOURCES, resolve


@dataclass
class PhaseRequest:
    """What a phase source gets.

    Attributes:
        spec: complex STFT ``(..., F, N)`` of the signal whose magnitude is kept.
        signal: that signal, ``(..., T)``.
        init_phase: where iterative sources start (default ``angle(spec)``: the TD-CNN
            output's own phase), ``(..., F, N)``.
        band: ``full`` or ``hf``; ``fixed_below``: with ``hf``, bins below it are known (their
            phase is kept whatever the source returns there).
        vocoder: a model with ``vocode((B, 1, T))`` (sources that need one).
        reference: the clean signal ``(..., T)`` (oracle sources).
        settings: the source's own settings (``phase_repair.<source>`` in the config).
        n_fft, hop, seed: STFT and seed of any random draw.
    """

    spec: torch.Tensor
    signal: torch.Tensor
    init_phase: torch.Tensor | None = None
    band: str = "full"
    fixed_below: int | None = None
    vocoder: Any = None
    reference: torch.Tensor | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    n_fft: int = N_FFT
    hop: int = HOP
    seed: int = 0

    def __post_init__(self) -> None:
        if self.init_phase is None:
            self.init_phase = torch.angle(self.spec)


def uniform_phase(shape: torch.Size | tuple[int, ...], seed: int) -> torch.Tensor:
    """Seeded uniform phase in [-π, π), ``shape``, float64 on the CPU (the same on every device)."""
    gen = torch.Generator().manual_seed(int(seed))
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * math.pi


def cut_bin(cutoff_hz: float, sample_rate: int, n_fft: int = N_FFT) -> int:
    """First bin at or above the cutoff: ``int(cutoff·n_fft / rate)`` (the metrics' convention)."""
    if not 0 < cutoff_hz < sample_rate / 2:
        raise ValueError(f"cutoff {cutoff_hz} Hz is not inside (0, {sample_rate / 2}) Hz")
    return max(1, int(cutoff_hz * n_fft / sample_rate))


def repair(
    y: torch.Tensor,
    source: str,
    band: str = "full",
    cutoff_hz: float | None = None,
    sample_rate: int = 16_000,
    *,
    vocoder: Any = None,
    reference: torch.Tensor | None = None,
    settings: Mapping[str, Any] | None = None,
    init_phase: torch.Tensor | None = None,
    seed: int = 0,
    n_fft: int = N_FFT,
    hop: int = HOP,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``y``'s STFT magnitude with the phase of ``source`` in ``band``.

    Args:
        y: signal ``(..., T)``, ``T > n_fft // 2``.
        source: a key of :data:`tdpr.registry.PHASE_SOURCES`.
        band: ``full`` or ``hf`` (needs ``cutoff_hz``).
        cutoff_hz: the input's bandwidth; bins below it are the known band.
        sample_rate: of ``y``.
        vocoder, reference, settings, init_phase, seed: see :class:`PhaseRequest`.

    Returns:
        ``(z, consistency)``: ``z`` with ``y``'s shape, and the consistency error in dB of the
        spectrogram it was made from, ``(...)``.
    """
    if source not in PHASE_SOURCES:
        known = ", ".join(PHASE_SOURCES)
        raise ValueError(f"unknown phase source {source!r}; registered: {known}")
    if band not in BANDS:
        raise ValueError(f"unknown band {band!r}; choose one of {', '.join(BANDS)}")
    if y.dim() == 0 or y.shape[-1] <= n_fft // 2:
        raise ValueError(f"phase repair needs more than {n_fft // 2} samples, got {y.shape}")
    entry = PHASE_SOURCES[source]
    if "vocoder" in entry.needs and vocoder is None:
        raise ValueError(f"phase source {source!r} needs a vocoder")
    if "reference" in entry.needs and (reference is None or reference.shape != y.shape):
        raise ValueError(f"phase source {source!r} needs a reference of shape {tuple(y.shape)}")
    fixed = None
    if band == "hf":
        if cutoff_hz is None:
            raise ValueError("band 'hf' needs the cutoff (the input's bandwidth)")
        fixed = cut_bin(cutoff_hz, sample_rate, n_fft)
    spec = stft(y, n_fft, hop)
    request = PhaseRequest(
        spec, y, init_phase, band, fixed, vocoder, reference, settings or {}, n_fft, hop, seed
    )
    phase = resolve(entry.target)(request)
    if fixed is not None:
        phase = phase.clone()
        phase[..., :fixed, :] = torch.angle(spec[..., :fixed, :])
    C = torch.polar(spec.abs(), phase.to(spec.real.dtype))
    z = istft(C, n_fft, hop, length=y.shape[-1])
    flat = C.reshape(-1, *C.shape[-2:])
    consistency = consistency_db(flat, n_fft, hop).reshape(C.shape[:-2])
    return z.to(y.dtype), consistency
