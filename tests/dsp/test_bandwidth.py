"""Bandwidth estimation: the nominal cutoff of each degradation, at any rate, with a confidence."""

import numpy as np
import pytest
from rendered import needs_fluidsynth, piano
from scipy.signal import sosfreqz

from tdpr.audio import quantize_pcm16
from tdpr.dsp.bandwidth import (
    LOW_CONFIDENCE,
    SMOOTH_HZ,
    Bandwidth,
    attenuation_db,
    envelope_db,
    envelope_shift_hz,
    estimate_bandwidth,
    estimate_from_envelope,
    ltas_db,
    pooled_cutoff,
    posterior,
)
from tdpr.dsp.filters import FILTER_TYPES, design_sos, lowpass
from tdpr.dsp.lowpass_models import filtered_envelope_power

FS = 16000
TOLERANCE_HZ = 150


def white(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    return 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * rate))


def noisy_lowpass(ftype, cutoff, order=8, rate=FS, seconds=3.0, seed=0, floor_db=-90.0):
    """Low-passed white noise over a white floor ``floor_db`` below it (a flat source)."""
    rng = np.random.default_rng(seed)
    low = lowpass(white(seconds, rate, seed), rate, ftype, cutoff, order).astype(np.float64)
    return low + 10 ** (floor_db / 20) * 0.1 * rng.standard_normal(len(low))


def cutoff(x: np.ndarray, rate: int = FS) -> float:
    found = estimate_bandwidth(x, rate)
    assert found.cutoff_hz is not None, "no cutoff found in a band-limited signal"
    return found.cutoff_hz


@pytest.mark.parametrize("ftype", ["butter", "cheby1", "cheby2", "ellip", "bessel"])
def test_model_gain_is_the_designed_filter_applied_twice(ftype):
    freqs = np.linspace(100, 7900, 200)
    _, h = sosfreqz(design_sos(ftype, 8, 3000, FS), worN=freqs, fs=FS)
    expected = 2 * 20 * np.log10(np.maximum(np.abs(h), 1e-10))
    got = attenuation_db(ftype, 8, freqs, 3000.0, FS)
    visible = expected > -120  # deeper, near the stopband zeros, the table interpolates
    np.testing.assert_allclose(got[visible], expected[visible], atol=0.5)


@pytest.mark.parametrize("ftype", FILTER_TYPES)
def test_each_filter_type_is_read_at_its_own_nominal_cutoff(ftype):
    """Each type's cutoff as its design defines it: a Chebyshev II's or Bessel's content ends
    far from its nominal cutoff (at 3 kHz, order 8: -6 dB near 2.1 and 1.75 kHz), so an
    estimator that reads every edge the same way fails here. (Steep ones may be told apart
    less surely: an STFT cut and an elliptic filter of order 10 look alike; and neighbouring
    Bessel orders differ little, so a Bessel's confidence may be low even here.)"""
    found = estimate_bandwidth(noisy_lowpass(ftype, 3000), FS)
    assert found.cutoff_hz is not None and abs(found.cutoff_hz - 3000) <= TOLERANCE_HZ
    if ftype in ("cheby2", "bessel"):
        assert found.family == ftype
    if ftype == "cheby2":
        assert not found.low_confidence


@needs_fluidsynth
@pytest.mark.parametrize(
    ("ftype", "fc", "order"),
    [
        ("stft", 2500, None),
        ("subsampling", 3000, None),
        ("butter", 3000, 8),
        ("cheby1", 4000, 10),
        ("ellip", 3500, 8),
        ("cheby2", 3000, 8),
        ("bessel", 4000, 8),
    ],
)
def test_piano_cutoff_within_150_hz(ftype, fc, order):
    low = quantize_pcm16(lowpass(piano(8.0), FS, ftype, fc, order))
    assert abs(cutoff(low) - fc) <= TOLERANCE_HZ


@pytest.mark.parametrize("ftype", ["butter", "cheby2", "bessel"])
def test_estimate_does_not_depend_on_the_level(ftype):
    x = noisy_lowpass(ftype, 3000)
    assert abs(cutoff(x) - cutoff(0.05 * x)) <= 5


@pytest.mark.parametrize("ftype", ["butter", "cheby2", "bessel", "stft", "subsampling"])
def test_estimate_rises_with_the_cutoff(ftype):
    estimates = [cutoff(noisy_lowpass(ftype, fc, seconds=2.0)) for fc in (2500, 3000, 3500)]
    assert estimates[0] < estimates[1] < estimates[2]


@pytest.mark.parametrize("ftype", ["ellip", "cheby2"])
def test_estimate_scales_with_the_sample_rate(ftype):
    base = cutoff(noisy_lowpass(ftype, 3000))
    double = cutoff(noisy_lowpass(ftype, 6000, rate=2 * FS), 2 * FS)
    assert abs(double / 2 - base) <= TOLERANCE_HZ


def test_a_shallow_edge_is_read_with_low_confidence():
    """Over 40 dB a Butterworth of order 8 and a Chebyshev II of order 6 at 1.5 times its
    cutoff differ by a fraction of a dB: the estimate cannot be sure, and says so. Over 90 dB
    they differ and it is."""
    deep = estimate_bandwidth(noisy_lowpass("butter", 3000), FS)
    shallow = estimate_bandwidth(noisy_lowpass("butter", 3000, floor_db=-40.0), FS)
    assert deep.confidence >= LOW_CONFIDENCE > shallow.confidence
    assert shallow.low_confidence and not deep.low_confidence
    assert shallow.cutoff_hz is not None  # still an estimate, only a doubtful one


def test_full_band_reports_no_cutoff_not_nyquist():
    found = estimate_bandwidth(quantize_pcm16(white(2, 48000)).astype(np.float64), 48000)
    assert found == Bandwidth(None, found.confidence) and found.confidence > LOW_CONFIDENCE
    assert found.model == "no cutoff"


def test_a_resampling_image_near_nyquist_is_not_taken_for_content():
    """Down to 8 kHz and back at 16 kHz: the images of the low band climb above the floor
    near Nyquist; the input is band-limited all the same."""
    x = quantize_pcm16(lowpass(white(3, FS), FS, "subsampling", 4000)).astype(np.float64)
    assert abs(cutoff(x) - 4000) <= TOLERANCE_HZ


def test_other_rates():
    rate = 44100
    low = quantize_pcm16(lowpass(white(3, rate), rate, "butter", 10000, 8))
    assert abs(cutoff(low, rate) - 10000) <= TOLERANCE_HZ


def model_envelope(ftype: str, fc: float, order: int) -> tuple[np.ndarray, np.ndarray]:
    """The envelope a straight source (-9 dB/kHz) shows through a model's own gain (and a
    resampling's image), 80 dB above a floor, smoothed as a recording's."""
    freqs = np.fft.rfftfreq(2048, 1 / FS)
    source = -9.0 * freqs / 1000
    family = "brick" if ftype == "stft" else ftype
    power = filtered_envelope_power(family, order, freqs, fc, FS, source)
    floor = np.interp(fc, freqs, source) - 80
    return freqs, envelope_db(freqs, power + 10 ** (floor / 10))


@pytest.mark.parametrize("ftype", FILTER_TYPES)
@pytest.mark.parametrize(("fc", "order"), [(2500, 6), (3000, 8), (3500, 10)])
def test_a_straight_source_through_any_model_is_read_at_its_cutoff(ftype, fc, order):
    """No source roughness, no modelling error: the search, the envelope's shift, the weighing
    and the pooling must give back the nominal cutoff and the family of every model. (Within
    50 Hz, 70 for the resampling models: the envelope's shift is modelled for a comb of
    partials, which a smooth source is not, and the brick wall's for an STFT's smeared edge;
    unmodelled, the shift alone puts IIR readings 55-75 Hz high. Neighbouring Bessel orders,
    and a resampling against an IIR filter, may leave the confidence low.)"""
    found = estimate_from_envelope(*model_envelope(ftype, fc, order), FS)
    tolerance = 70 if ftype in ("stft", "subsampling") else 50
    assert found.cutoff_hz is not None and abs(found.cutoff_hz - fc) <= tolerance
    assert found.family == ("brick" if ftype == "stft" else ftype)
    if ftype not in ("bessel", "subsampling"):
        assert not found.low_confidence


def test_an_envelope_that_does_not_fit_its_grid_is_refused():
    freqs, level = model_envelope("butter", 3000, 8)
    with pytest.raises(ValueError, match="want one"):
        estimate_from_envelope(freqs, level[:-1], FS)
    with pytest.raises(ValueError, match="NaN"):
        estimate_from_envelope(freqs, np.where(freqs > 5000, np.nan, level), FS)


def test_the_prior_is_uniform_over_families_then_orders():
    """Equal errors: a family fitted at five orders weighs what a family fitted once weighs,
    so the number of orders is not evidence; a smaller error weighs more, no fit nothing."""
    fitted = [("butter", 6), ("butter", 7), ("butter", 8), ("butter", 9), ("butter", 10),
              ("brick", None), ("subsampling", None)]  # fmt: skip
    even = posterior(np.full(7, 4.0), fitted)
    np.testing.assert_allclose([even[:5].sum(), even[5], even[6]], 1 / 3)
    errors = np.array([4.0, 4.0, 4.0, 4.0, 4.0, 2.0, np.inf])
    weights = posterior(errors, fitted)
    assert weights[5] > even[5] and weights[6] == 0 and weights.sum() == pytest.approx(1)


def test_models_that_agree_pool_their_evidence():
    """Three readings near 3 kHz outweigh a likelier single one at 3.5 kHz: the cutoff is
    theirs (their weighted mean), with the likeliest of them as the model."""
    cutoffs = np.array([3000.0, 3050.0, 2950.0, 3500.0])
    weights = np.array([0.25, 0.2, 0.15, 0.4])
    cutoff, model, agree = pooled_cutoff(cutoffs, weights)
    assert cutoff == pytest.approx((0.25 * 3000 + 0.2 * 3050 + 0.15 * 2950) / 0.6)
    assert model == 0 and agree.tolist() == [True, True, True, False]
    # Alone, the likeliest reading wins.
    assert pooled_cutoff(cutoffs[[0, 3]], weights[[0, 3]])[0] == 3500.0


def test_envelope_shift_is_part_of_the_half_width():
    freqs, _ = ltas_db(white(1, FS), FS)
    assert 0 < envelope_shift_hz(freqs) <= SMOOTH_HZ / 2


def test_bad_input_names_the_problem():
    x = white(1, FS)
    with pytest.raises(ValueError, match="mono"):
        estimate_bandwidth(np.stack([x, x]), FS)
    with pytest.raises(ValueError, match="shorter than 0.25 s"):
        estimate_bandwidth(x[:1000], FS)
    with pytest.raises(ValueError, match="silence"):
        estimate_bandwidth(np.zeros(FS), FS)
    with pytest.raises(ValueError, match="NaN"):
        estimate_bandwidth(np.full(FS, np.nan), FS)
    with pytest.raises(ValueError, match="sample rate"):
        estimate_bandwidth(x, 0)
    with pytest.raises(ValueError, match="family"):
        attenuation_db("chebyshev", 8, np.array([100.0]), 3000.0, FS)
