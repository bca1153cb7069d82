"""Bandwidth estimation: the nominal cutoff of the project's degradations, at any rate."""

import numpy as np
import pytest
from rendered import needs_fluidsynth, piano
from scipy.signal import sosfreqz

from tdpr.audio import quantize_pcm16
from tdpr.dsp.bandwidth import (
    SMOOTH_HZ,
    attenuation_db,
    envelope_shift_hz,
    estimate_cutoff,
    ltas_db,
)
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
        ("cheby2", 3500, 9),
        ("bessel", 3000, 10),
    ],
)
def test_piano_cutoff_within_150_hz(ftype, cutoff, order):
    low = quantize_pcm16(lowpass(piano(8.0), FS, ftype, cutoff, order))
    assert abs(estimate_cutoff(low, FS) - cutoff) <= TOLERANCE_HZ


def noisy_lowpass(ftype, cutoff, order, rate=FS, seconds=4.0, seed=0):
    """Low-passed white noise over a white floor 90 dB down (a clean-tilt-free source)."""
    rng = np.random.default_rng(seed)
    low = lowpass(white(seconds, rate, seed), rate, ftype, cutoff, order).astype(np.float64)
    return low + 10 ** (-90 / 20) * 0.1 * rng.standard_normal(len(low))


@pytest.mark.parametrize("ftype", ["butter", "cheby1", "cheby2", "ellip", "bessel"])
def test_estimate_does_not_depend_on_the_level(ftype):
    x = noisy_lowpass(ftype, 3000, 8)
    assert abs(estimate_cutoff(x, FS) - estimate_cutoff(0.05 * x, FS)) <= 5


@pytest.mark.parametrize("ftype", ["butter", "cheby2", "bessel", "stft", "subsampling"])
def test_estimate_rises_with_the_cutoff(ftype):
    estimates = [estimate_cutoff(noisy_lowpass(ftype, fc, 8), FS) for fc in (2500, 3000, 3500)]
    assert estimates[0] < estimates[1] < estimates[2]


@pytest.mark.parametrize("ftype", ["butter", "ellip", "cheby2"])
def test_estimate_scales_with_the_sample_rate(ftype):
    base = estimate_cutoff(noisy_lowpass(ftype, 3000, 8), FS)
    double = estimate_cutoff(noisy_lowpass(ftype, 6000, 8, rate=2 * FS), 2 * FS)
    assert abs(double / 2 - base) <= TOLERANCE_HZ


@pytest.mark.parametrize("ftype", ["butter", "cheby1", "cheby2", "ellip", "bessel"])
def test_white_source_cutoff_within_150_hz(ftype):
    assert abs(estimate_cutoff(noisy_lowpass(ftype, 3000, 8), FS) - 3000) <= TOLERANCE_HZ


def test_envelope_shift_is_part_of_the_half_width():
    freqs, _ = ltas_db(white(1, FS), FS)
    assert 0 < envelope_shift_hz(freqs) <= SMOOTH_HZ / 2


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
