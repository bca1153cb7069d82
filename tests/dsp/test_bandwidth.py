"""Bandwidth estimation: the nominal cutoff of the project's degradations, at any rate."""

import numpy as np
import pytest
from rendered import needs_fluidsynth, piano
from scipy.signal import sosfreqz

from tdpr.audio import quantize_pcm16
from tdpr.dsp.bandwidth import attenuation_db, estimate_cutoff
from tdpr.dsp.filters import design_sos, lowpass

FS = 16000
TOLERANCE_HZ = 150


def white(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    return 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * rate))


@pytest.mark.parametrize("ftype", ["butter", "cheby1", "cheby2", "ellip", "bessel"])
def test_model_gain_is_the_designed_filter_applied_twice(ftype):
    freqs = np.linspace(100, 7900, 200)
    _, h = sosfreqz(design_sos(ftype, 8, 3000, FS), worN=freqs, fs=FS)
    expected = 2 * 20 * np.log10(np.maximum(np.abs(h), 1e-10))
    got = attenuation_db(ftype, 8, freqs, 3000.0, FS)
    visible = expected > -120  # deeper, near the stopband zeros, the table interpolates
    np.testing.assert_allclose(got[visible], expected[visible], atol=0.5)


@needs_fluidsynth
@pytest.mark.parametrize(
    ("ftype", "cutoff", "order"),
    [
        ("stft", 2500, None),
        ("subsampling", 3000, None),
        ("butter", 3000, 8),
        ("cheby1", 4000, 10),
        ("ellip", 3500, 8),
    ],
)
def test_piano_cutoff_within_150_hz(ftype, cutoff, order):
    low = quantize_pcm16(lowpass(piano(8.0), FS, ftype, cutoff, order))
    assert abs(estimate_cutoff(low, FS) - cutoff) <= TOLERANCE_HZ


def test_other_rates_and_full_band():
    rate = 44100
    low = quantize_pcm16(lowpass(white(3, rate), rate, "butter", 10000, 8))
    assert abs(estimate_cutoff(low, rate) - 10000) <= TOLERANCE_HZ
    assert estimate_cutoff(quantize_pcm16(white(2, 48000)), 48000) == 24000


def test_bad_input_names_the_problem():
    x = white(1, FS)
    with pytest.raises(ValueError, match="mono"):
        estimate_cutoff(np.stack([x, x]), FS)
    with pytest.raises(ValueError, match="shorter than 0.25 s"):
        estimate_cutoff(x[:1000], FS)
    with pytest.raises(ValueError, match="silence"):
        estimate_cutoff(np.zeros(FS), FS)
    with pytest.raises(ValueError, match="NaN"):
        estimate_cutoff(np.full(FS, np.nan), FS)
    with pytest.raises(ValueError, match="sample rate"):
        estimate_cutoff(x, 0)
    with pytest.raises(ValueError, match="family"):
        attenuation_db("chebyshev", 8, np.array([100.0]), 3000.0, FS)
