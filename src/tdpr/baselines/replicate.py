"""Spectral band replication: the half-band below the cutoff copied upward, again and again.

No learning; in the STFT domain (1024-point Hann, hop 256, bins of 15.625 Hz):

1. The source is the band ``[t - D, t)`` just below ``t = 0.95 c`` (under the input filter's
   transition band, where the input is still at full level), ``D`` about half the cutoff,
   rounded to a multiple of 4 bins (2.5 kHz: 80 bins, 1250 Hz).
2. Each bin ``k ≥ t`` takes the bin ``k - jD`` of the source band (j = 1, 2, ... until it lands
   in it), phase included. Shifting a spectrogram by ``D`` bins is the STFT of the signal
   modulated by ``exp(2πi D t / 1024)`` only when the modulation turns by a whole number of
   cycles per hop, ``D · 256 / 1024`` an integer: so ``D`` is a multiple of 4, and every copy
   is a consistent (single-sideband) frequency shift, not a phase-scrambled one.
3. Each copied bin is scaled by ``sqrt(S(k) / S(k - jD))``, the ratio of the mean piano
   spectrum's powers (:mod:`tdpr.baselines.spectrum`): the copies fall off as piano does,
   while their fine structure and their time envelope are the input's own.
4. Only bins from the cutoff up are kept (the input keeps its own transition band), and
   ``y = x + highpass(ISTFT(Z))`` (:mod:`tdpr.baselines.base`).

The seed is unused (nothing is random).
"""

from __future__ import annotations

import numpy as np

from tdpr.baselines.base import BIN_HZ, Baseline, bin_of

#: The top of the source band, as a fraction of the cutoff.
SOURCE_TOP = 0.95
#: The source band's width, as a fraction of the cutoff (rounded to a multiple of 4 bins).
SOURCE_WIDTH = 0.5
#: Shifts by a multiple of this many bins are consistent at hop 256 (n_fft / hop).
SHIFT_STEP = 4


def shift_bins(cutoff_hz: float) -> int:
    """The source band's width D in bins: ``SOURCE_WIDTH · c``, a multiple of 4, at least 4."""
    return max(SHIFT_STEP, SHIFT_STEP * round(SOURCE_WIDTH * cutoff_hz / BIN_HZ / SHIFT_STEP))


def source_bins(top: int, shift: int, n_bins: int) -> np.ndarray:
    """For each bin ``k`` of ``[top, n_bins)``, the source bin ``k - jD`` in ``[top - D, top)``."""
    k = np.arange(top, n_bins)
    return top - shift + (k - top) % shift


class Replicate(Baseline):
    """The band below the cutoff replicated upward, shaped by the mean spectrum (module
    docstring)."""

    def high_band(self, x: np.ndarray, X: np.ndarray, cutoff_hz: float, start: int) -> np.ndarray:
        power = self.spectrum.power
        top, shift = bin_of(SOURCE_TOP * cutoff_hz), shift_bins(cutoff_hz)
        src = source_bins(top, shift, len(power))
        Z = np.zeros_like(X)
        Z[top:] = X[src] * np.sqrt(power[top:] / power[src])[:, None]
        Z[: bin_of(cutoff_hz)] = 0  # the input keeps its own transition band
        return Z
