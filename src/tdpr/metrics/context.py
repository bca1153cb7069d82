"""Checked metric inputs and the spectra they share (:class:`MetricContext`).

A :class:`MetricContext` holds one reference/estimate pair, checked and cut to the same length by
:func:`prepare`, and computes each intermediate quantity (the two STFTs, the squared log
difference, the phase mask) once, on first use, for every metric that needs it. Metric functions
of :data:`tdpr.registry.METRICS` take a context and return one value per item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch

from tdpr.dsp.stft import stft

#: Largest length difference (samples) that is silently truncated away.
LENGTH_TOLERANCE = 16
#: SI-SDR is clipped to ±this many dB (identical signals would otherwise give +inf).
SI_SDR_LIMIT_DB = 100.0
#: Waveforms may be torch tensors (any device) or numpy arrays.
Signal = torch.Tensor | np.ndarray


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


def power(spec: torch.Tensor) -> torch.Tensor:
    """``|X|²`` of a complex spectrogram."""
    return spec.real.square() + spec.imag.square()


@dataclass
class MetricContext:
    """A checked pair ``(..., T)`` and its shared spectra (STFT n_fft/hop, zero-padded centring).

    Attributes:
        ref, est: the pair as given (tensors or arrays); checked on first use.
        cutoff_hz: the degradation's cutoff, or None (band metrics then cannot be computed).
        sample_rate, n_fft, hop, floor: conventions of the module docstring of
            :mod:`tdpr.metrics`.
        phase_range_db: phase errors count bins within this many dB of the loudest one.
        extra: values recorded with the estimate rather than computed from it, e.g. the
            ``consistency_db`` that a phase-repair method records per clip.
    """

    ref: Signal
    est: Signal
    cutoff_hz: float | None = None
    sample_rate: int = 16000
    n_fft: int = 1024
    hop: int = 256
    floor: float = 1e-8
    phase_range_db: float = 80.0
    extra: dict = field(default_factory=dict)
    _pair: tuple[torch.Tensor, torch.Tensor] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._pair = prepare(self.ref, self.est, self.n_fft)

    @property
    def signals(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The checked pair, cut to the same length ``(..., T)``."""
        return self._pair

    @cached_property
    def spectra(self) -> tuple[torch.Tensor, torch.Tensor]:
        """STFTs of reference and estimate ``(..., F, frames)``."""
        ref, est = self._pair
        return tuple(stft(x, self.n_fft, self.hop, pad_mode="constant") for x in (ref, est))

    @cached_property
    def cut(self) -> int:
        """The first high-band bin (needs ``cutoff_hz``)."""
        if self.cutoff_hz is None:
            raise MetricInputError("this metric needs the cutoff frequency")
        return cutoff_bin(self.cutoff_hz, self.sample_rate, self.n_fft)

    @cached_property
    def squared_log_diff(self) -> torch.Tensor:
        """``(log10 max(|R|², floor) - log10 max(|E|², floor))²`` per bin ``(..., F, frames)``."""
        ref_spec, est_spec = self.spectra
        log_ref = power(ref_spec).clamp_min(self.floor).log10()
        log_est = power(est_spec).clamp_min(self.floor).log10()
        return (log_ref - log_est).square()
