"""Band replication: consistent frequency shifts of the band below the cutoff, piano-shaped."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from material import RATE, clean, degraded, train_spectrum
from rendered import needs_fluidsynth

from tdpr.baselines.replicate import Replicate, shift_bins, source_bins
from tdpr.baselines.spectrum import MeanSpectrum
from tdpr.dsp.stft import stft
from tdpr.metrics import compute_all

BIN = RATE / 1024


def run(x: np.ndarray, cutoff: float, spectrum: MeanSpectrum | None = None) -> np.ndarray:
    model = Replicate(spectrum or train_spectrum())
    return model(torch.from_numpy(x).float().view(1, 1, -1), cutoff_hz=cutoff)[0, 0].numpy()


@pytest.mark.parametrize("cutoff", [2000, 2500, 2700, 3000, 3333, 3500, 4000, 7500])
def test_shifts_are_consistent_multiples_of_four_bins(cutoff):
    shift = shift_bins(cutoff)
    assert shift % 4 == 0 and abs(shift * BIN - cutoff / 2) <= 2 * BIN
    src = source_bins(152, shift, 513)
    assert src.min() == 152 - shift and src.max() == 151
    assert ((np.arange(152, 513) - src) % shift == 0).all()


def test_a_partial_is_copied_up_by_whole_shifts_and_stays_a_partial():
    """A steady 2-kHz tone under a 2.5-kHz cutoff reappears at 2 kHz + j x 1250 Hz, each copy as
    narrow as the tone (a shift by a multiple of 4 bins keeps the phase advance per hop), with
    the level ratio of the mean spectrum."""
    t = np.arange(4 * RATE) / RATE
    x = 0.3 * np.sin(2 * np.pi * 2000.0 * t)
    power = np.full(513, 1e-4)
    power[278:299] = 1e-6  # the spectrum says: 20 dB down around the second copy
    y = run(x, 2500, MeanSpectrum(power))
    Y = stft(torch.from_numpy(y.astype(np.float64))).abs().numpy()[:, 8:-8]  # (F, N)
    k0, shift = 128, shift_bins(2500)
    assert shift == 80
    peaks = [k0 + j * shift for j in range(1, 5)]
    assert all(np.argmax(Y[k - 6 : k + 7, 20]) == 6 for k in peaks)
    for k in peaks:
        # a consistent shift: the copy's energy stays in the tone's own main lobe (±2 bins)
        lobe, around = Y[k - 2 : k + 3].__pow__(2).sum(0), Y[k - 10 : k + 11].__pow__(2).sum(0)
        assert (lobe / around > 0.99).all()
        assert Y[k].std() < 0.02 * Y[k].mean()  # steady in time: no beating or phase mess
    ratio = 20 * np.log10(Y[peaks[0]].mean() / Y[peaks[1]].mean())
    assert abs(ratio - 20.0) < 0.5


@needs_fluidsynth
@pytest.mark.parametrize("cutoff", [2500, 3000, 3500, 4000])
def test_beats_the_input_and_keeps_its_band(cutoff):
    x = degraded(cutoff)
    names = ["lsd", "lsd_lf"]
    ref = torch.from_numpy(clean())
    given = compute_all(ref, torch.from_numpy(x), cutoff, names=names)
    copied = compute_all(ref, torch.from_numpy(run(x, cutoff).astype(np.float64)), cutoff,
                         names=names)  # fmt: skip
    assert copied["lsd"] < given["lsd"] - 0.6  # measured: 1.1-1.3 against 2.2-2.7
    assert copied["lsd_lf"] <= given["lsd_lf"] + 0.03
