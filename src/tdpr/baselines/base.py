"""What the no-learning baselines share: the interface, the STFT, the guard below the cutoff.

A baseline synthesises a high band ``z`` from the input ``x`` (:meth:`Baseline.high_band`);
the output is ``x + highpass(z)``. The high-pass just above the cutoff (Butterworth, applied
forward and backward: zero-phase, the squared magnitude of order :data:`HIGHPASS_ORDER`) keeps
the given band intact: a band synthesised in the STFT domain leaks below its lowest bin once
resynthesised (a random-phase spectrogram is not the STFT of any signal; its overlap-add spreads
each frame over the neighbouring bins): on piano that leak alone raised LSD-LF by 0.1-0.2.

Everything runs in float64 NumPy/torch on the CPU whatever the device of ``x`` (the work is a few
STFTs; no GPU is needed), and the result returns as float32 on ``x``'s device. Outputs depend only
on the input, the cutoff, the spectrum, the seed and the segment's absolute start, so a chunked
run (:class:`tdpr.enhance.Enhancer`) and a whole-signal run agree away from the chunk edges and
reruns give the same bytes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tdpr.baselines.spectrum import HOP, N_FFT, SAMPLE_RATE, MeanSpectrum, shipped_spectrum
from tdpr.dsp.stft import istft, stft

#: Order of the high-pass, applied forward and backward (|H|² of a 16th-order Butterworth: an
#: 8th-order one let the noise's skirt raise LSD-LF by up to 0.15 at 2.5 kHz).
HIGHPASS_ORDER = 16
#: Where the high-pass sits, as a fraction of the cutoff: just above it, so the input filter's
#: transition band keeps its own content and the noise's leak below the cutoff is gone.
HIGHPASS_AT = 1.03
#: Shortest segment: the reflect padding of the STFT and the high-pass's edge padding need it.
MIN_SAMPLES = N_FFT // 2 + 1
BIN_HZ = SAMPLE_RATE / N_FFT


class Baseline(nn.Module):
    """A system that needs no learning: ``(B, 1, T) -> (B, 1, T)``, given the input's cutoff.

    Args:
        spectrum: the mean power spectrum of clean piano (default: the one shipped,
            :func:`tdpr.baselines.spectrum.shipped_spectrum`).
        seed: seed of any random draw.
    """

    #: Tells :class:`tdpr.enhance.Enhancer` to pass ``cutoff_hz`` and the segment's ``start``.
    needs_cutoff = True
    #: Segments must start on a multiple of this (the STFT hop): frame indices are absolute.
    total_stride = HOP

    def __init__(self, spectrum: MeanSpectrum | None = None, seed: int = 0) -> None:
        super().__init__()
        self.spectrum = spectrum if spectrum is not None else shipped_spectrum()
        self.seed = int(seed)

    @staticmethod
    def check_cutoff(cutoff_hz: float) -> None:
        """ValueError unless the baselines can fill above ``cutoff_hz`` (:func:`check_cutoff`)."""
        check_cutoff(cutoff_hz)

    def high_band(self, x: np.ndarray, X: np.ndarray, cutoff_hz: float, start: int) -> np.ndarray:
        """The synthesised band above the cutoff as a spectrogram ``(F, N)`` complex128.

        Args:
            x: the input ``(T,)`` float64.
            X: its STFT ``(F, N)`` (1024-point Hann, hop 256, reflect-padded).
            cutoff_hz: the input's bandwidth.
            start: the absolute sample index of ``x[0]`` (a multiple of the hop).
        """
        raise NotImplementedError

    def enhance(self, x: np.ndarray, cutoff_hz: float, start: int = 0) -> np.ndarray:
        """``x`` ``(T,)`` plus the high-passed synthesised band, ``(T,)`` float64."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 1 or len(x) < MIN_SAMPLES:
            raise ValueError(f"a baseline needs a (T,) signal of at least {MIN_SAMPLES} samples")
        check_cutoff(cutoff_hz)
        if start % HOP:
            raise ValueError(f"segment start {start} is not a multiple of the hop ({HOP})")
        X = stft(torch.from_numpy(x), N_FFT, HOP).numpy()
        Z = self.high_band(x, X, cutoff_hz, start)
        z = istft(torch.from_numpy(Z), N_FFT, HOP, length=len(x)).numpy()
        return x + highpass(z, cutoff_hz)

    def forward(
        self, x: torch.Tensor, cutoff_hz: float | None = None, start: int = 0
    ) -> torch.Tensor:
        """``x`` ``(B, 1, T)`` at 16 kHz -> ``(B, 1, T)`` float32 on ``x``'s device."""
        if cutoff_hz is None:
            raise ValueError(f"{type(self).__name__} needs the input's cutoff (cutoff_hz)")
        if x.ndim != 3 or x.shape[1] != 1:
            raise ValueError(f"expected (B, 1, T), got {tuple(x.shape)}")
        data = x.detach().to("cpu", torch.float64).numpy()
        out = np.stack([self.enhance(item[0], cutoff_hz, start) for item in data])[:, None]
        return torch.from_numpy(out).to(x.device, torch.float32)


def check_cutoff(cutoff_hz: float) -> None:
    """A cutoff the baselines can fill above: at least 2 kHz (they copy and measure the band
    below it) and under 7.5 kHz (they need a band to fill)."""
    if not 2000.0 <= float(cutoff_hz) <= 7500.0:
        raise ValueError(f"cutoff {cutoff_hz} Hz is outside the 2000-7500 Hz the baselines handle")


def highpass(z: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """Zero-phase Butterworth high-pass at ``1.03 cutoff_hz`` (-6 dB there, |H|² of order 16)."""
    # lazy: scipy.signal (with scipy.stats) is about a second of import that every workflow job
    # importing tdpr.inference would pay, and only the baselines' jobs need it
    from scipy import signal

    edge = HIGHPASS_AT * cutoff_hz
    sos = signal.butter(HIGHPASS_ORDER, edge, "highpass", fs=SAMPLE_RATE, output="sos")
    # even (mirror) padding: scipy's default odd padding turns the band's first and last
    # frames into a low-frequency thump there (measured: 40 dB more below the cutoff)
    return signal.sosfiltfilt(sos, z, padtype="even", padlen=min(len(z) - 1, N_FFT))


def bin_of(freq_hz: float) -> int:
    """The STFT bin nearest ``freq_hz``."""
    return int(round(freq_hz / BIN_HZ))


def load_baseline(name: str, spectrum: MeanSpectrum | None = None, seed: int = 0) -> Baseline:
    """The registered baseline ``name`` (``noisefill``, ``replicate``)."""
    from tdpr.registry import BASELINE, MODELS, models_of_kind, resolve

    entry = MODELS.get(name)
    if entry is None or entry.kind != BASELINE:
        known = ", ".join(models_of_kind(BASELINE))
        raise ValueError(f"unknown baseline {name!r}; choose one of {known}")
    return resolve(entry.target)(spectrum=spectrum, seed=seed)
