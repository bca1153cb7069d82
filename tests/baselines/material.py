"""Shared material of the baseline tests: real piano (a FluidSynth render) and its spectrum."""

from __future__ import annotations

import functools

import numpy as np
from rendered import piano

from tdpr.audio import quantize_pcm16
from tdpr.baselines.spectrum import MeanSpectrum, accumulate
from tdpr.dsp.filters import lowpass

RATE = 16_000
#: one filter per cutoff, as the test sets draw them
FILTERS = {2500: "butter", 3000: "cheby1", 3500: "ellip", 4000: "bessel"}


@functools.cache
def train_spectrum() -> MeanSpectrum:
    """The mean spectrum of a training piece, not the one tested (as in the workflow)."""
    total, frames = accumulate(piano(12.0, "bach/bwv846"))
    return MeanSpectrum(total / frames)


@functools.cache
def clean() -> np.ndarray:
    """Eight seconds of a piece the spectrum did not see, ``(T,)`` float64."""
    return piano(8.0, "chopin/mazurka06-2")


def degraded(cutoff: int) -> np.ndarray:
    """``clean()`` low-passed at ``cutoff`` and stored as 16 bit, ``(T,)`` float64."""
    return quantize_pcm16(lowpass(clean(), RATE, FILTERS[cutoff], cutoff)).astype(np.float64)
