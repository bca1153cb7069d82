"""The seven degradations: responses against reference spec Part B §1.2, leakage, length, speed."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction

import numpy as np
import pytest
from scipy import signal

from tdpr.dsp.filters import (
    FILTER_TYPES,
    IIR_TYPES,
    Degradation,
    IIRLowpass,
    apply_degradation,
    check_degradation,
    design_sos,
    lowpass,
    min_length,
    sample_degradation,
    stft_cut_bin,
)

FS = 16_000

# Part B §1.2: zero-phase |H|² in dB at fc/2, fc and 1.25·fc, fs = 16 kHz.
RESPONSE_TABLE = [
    ("butter", 6, 2500, 0.0, -6.0, -29),
    ("butter", 10, 4000, 0.0, -6.0, -70),
    ("cheby1", 6, 2500, -0.2, -0.2, -36),
    ("cheby1", 10, 4000, 0.0, -0.2, -122),
    ("cheby2", 6, 2500, -1.8, -120, -134),
    ("cheby2", 10, 4000, 0.0, -120, -132),
    ("ellip", 6, 2500, -0.2, -0.2, -59),
    ("ellip", 10, 4000, -0.2, -0.2, -126),
    ("bessel", 6, 2500, -3.9, -20, -38),
    ("bessel", 10, 4000, -4.6, -30, -77),
]
STOPBAND_FLOOR_DB = -120.0  # 2 × 60 dB for cheby2/ellip, whose stopbands ripple up to it


def zero_phase_db(sos: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """|H|² of a forward-backward application, in dB."""
    _, h = signal.sosfreqz(sos, worN=freqs, fs=FS)
    return 20 * np.log10(np.maximum(np.abs(h) ** 2, 1e-30))


def band_ratio_db(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> float:
    """Energy of ``y`` over energy of ``x`` in [lo, hi) Hz, Hann-windowed periodograms.

    The window matters: a rectangular periodogram leaks the clip-edge discontinuity at about
    -50 dB into every band and would hide the filters' real stopbands.
    """
    win = np.hanning(x.shape[-1])
    freqs = np.fft.rfftfreq(x.shape[-1], 1 / FS)
    band = (freqs >= lo) & (freqs < hi)
    ex = np.sum(np.abs(np.fft.rfft(x * win)[band]) ** 2)
    ey = np.sum(np.abs(np.fft.rfft(y * win)[band]) ** 2)
    return float(10 * np.log10(ey / ex))


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    """5 s of white noise at 16 kHz, -20 dBFS RMS: ``(80000,)``."""
    return (0.1 * np.random.default_rng(0).standard_normal(5 * FS)).astype(np.float32)


@pytest.mark.parametrize(("ftype", "order", "fc", "half", "at_fc", "above"), RESPONSE_TABLE)
def test_iir_zero_phase_response_matches_table(ftype, order, fc, half, at_fc, above):
    sos = design_sos(ftype, order, fc, FS)
    got = zero_phase_db(sos, np.array([fc / 2, fc, 1.25 * fc]))
    np.testing.assert_allclose(got, [half, at_fc, above], atol=1.0)
    stop = zero_phase_db(sos, np.linspace(1.25 * fc, FS / 2, 4000))
    assert stop.max() <= max(above, STOPBAND_FLOOR_DB) + 1.0


@pytest.mark.parametrize(("ftype", "order", "fc", "half", "at_fc", "above"), RESPONSE_TABLE)
def test_iir_applied_gain_is_zero_phase_squared(ftype, order, fc, half, at_fc, above):
    # A tone at fc/2 comes out in phase, scaled by |H|²: no delay, and filtered twice.
    t = np.arange(2 * FS) / FS
    tone = 0.5 * np.sin(2 * np.pi * (fc / 2) * t)
    out = lowpass(tone, FS, ftype, fc, order).astype(np.float64)
    mid = slice(FS // 2, 3 * FS // 2)  # away from the filtfilt edge transients
    gain = np.dot(out[mid], tone[mid]) / np.dot(tone[mid], tone[mid])
    quad = np.dot(out[mid], np.cos(2 * np.pi * (fc / 2) * t[mid])) / np.dot(tone[mid], tone[mid])
    assert 20 * np.log10(gain) == pytest.approx(half, abs=0.3)
    assert abs(quad) < 1e-3  # no phase shift


def test_stft_cut_bins_and_leakage(noise):
    """Measured leakage of white noise at 2.5/3/4 kHz (3 seeds): -47 to -56 dB over the whole
    band above the cut bin (all of it within 4 bins of the cut, from overlap-add smearing),
    -93 to -96 dB beyond cut + 4 bins, about -140 dB beyond cut + 500 Hz."""
    assert [stft_cut_bin(c, FS) for c in (2500, 3000, 4000)] == [320, 384, 512]
    assert stft_cut_bin(4000, 44_100) == int(1025 * 4000 / 22_050)
    bin_hz = FS / 2048
    for cutoff in (2500.0, 4000.0):
        out = lowpass(noise, FS, "stft", cutoff)
        edge = stft_cut_bin(cutoff, FS) * bin_hz
        assert band_ratio_db(noise, out, edge, FS / 2 + 1) < -40
        assert band_ratio_db(noise, out, edge + 4 * bin_hz, FS / 2 + 1) < -85
        assert abs(band_ratio_db(noise, out, 0, edge - 4 * bin_hz)) < 0.01


def test_subsampling_removes_content_above_cutoff(noise):
    # Measured: passband 0.0 dB, -11 dB in [fc, 1.05·fc], -65 to -70 dB above 1.25·fc.
    for cutoff in (2500.0, 3137.3, 4000.0):
        out = lowpass(noise, FS, "subsampling", cutoff)
        assert abs(band_ratio_db(noise, out, 0, 0.8 * cutoff)) < 0.05
        assert band_ratio_db(noise, out, cutoff, 1.05 * cutoff) < -8
        assert band_ratio_db(noise, out, 1.25 * cutoff, FS / 2 + 1) < -60


def test_subsampling_equals_resample_poly_at_reduced_ratio(noise):
    cutoff = 2718.28  # 2·fc/fs reduces to 158/465
    ratio = Fraction(2 * cutoff / FS).limit_denominator(1000)
    x = noise.astype(np.float64)
    ref = signal.resample_poly(signal.resample_poly(x, ratio.numerator, ratio.denominator),
                               ratio.denominator, ratio.numerator)[: len(x)]  # fmt: skip
    np.testing.assert_allclose(lowpass(noise, FS, "subsampling", cutoff), ref, atol=2e-7)


@pytest.mark.parametrize("ftype", FILTER_TYPES)
@pytest.mark.parametrize("fs", [16_000, 44_100])
def test_length_shape_dtype_preserved(ftype, fs):
    x = np.random.default_rng(1).standard_normal((2, 3, 4001))
    out = apply_degradation(x, Degradation(ftype, 3000.0, 7), fs)
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_allclose(out[1, 2], lowpass(x[1, 2], fs, ftype, 3000.0, 7), atol=1e-6)
    assert not np.allclose(out, x, atol=1e-2)  # it did filter something


def test_sample_degradation_reproducible_and_covering():
    draws = [sample_degradation(np.random.default_rng(s)) for s in range(1500)]
    assert draws[:20] == [sample_degradation(np.random.default_rng(s)) for s in range(20)]
    assert {d.ftype for d in draws} == set(FILTER_TYPES)
    assert {d.order for d in draws if d.ftype in IIR_TYPES} == {6, 7, 8, 9, 10}
    assert all(d.order is None for d in draws if d.ftype not in IIR_TYPES)
    assert all(2500 <= d.cutoff_hz <= 4000 for d in draws)


def test_sample_degradation_draws_three_numbers_whatever_the_type():
    for seed in range(50):
        rng, ref = np.random.default_rng(seed), np.random.default_rng(seed)
        sample_degradation(rng, types=("stft", "butter"))
        ref.uniform(), ref.integers(2), ref.integers(6, 11)
        assert rng.random() == ref.random()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Degradation("cheby3", 3000.0, 8), "valid types: butter, cheby1"),
        (lambda: Degradation("butter", 0.0, 8), "positive"),
        (lambda: Degradation("butter", 3000.0, 21), "1..20"),
        (lambda: Degradation("ellip", 3000.0, None), "integer order"),
        (lambda: design_sos("stft", 8, 3000.0, FS), "valid types: butter"),
        (lambda: lowpass(np.zeros(FS), FS, "butter", 8000.0), "Nyquist"),
        (lambda: lowpass(np.zeros(FS), FS, "subsampling", 9000.0), "Nyquist"),
        (lambda: lowpass(np.zeros(FS), FS, "subsampling", 3.0), "too low for subsampling"),
        (lambda: lowpass(np.zeros(33), FS, "ellip", 3000.0, 10), "at least 34 samples"),
        (lambda: lowpass(np.zeros(1024), FS, "stft", 3000.0), "at least 1025 samples"),
        (lambda: lowpass(np.full(FS, np.nan), FS, "butter", 3000.0), "NaN"),
        (lambda: sample_degradation(np.random.default_rng(0), types=("fir",)), "valid types"),
    ],
)
def test_invalid_requests_raise_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_minimum_lengths_are_enough():
    assert lowpass(np.ones(34), FS, "ellip", 3000.0, 10).shape == (34,)
    assert lowpass(np.ones(1025), FS, "stft", 3000.0).shape == (1025,)
    assert lowpass(np.ones(1), FS, "subsampling", 3000.0).shape == (1,)


def test_silence_stays_silent():
    for ftype in FILTER_TYPES:
        assert not np.any(lowpass(np.zeros(4001), FS, ftype, 3000.0, 7)), ftype


def test_output_does_not_depend_on_the_input_dtype():
    x = np.random.default_rng(3).standard_normal(4001).astype(np.float32)
    for ftype in FILTER_TYPES:
        np.testing.assert_array_equal(
            lowpass(x, FS, ftype, 3000.0, 7), lowpass(x.astype(np.float64), FS, ftype, 3000.0, 7)
        )


@pytest.mark.parametrize("ftype", IIR_TYPES)
@pytest.mark.parametrize("order", [1, 2, 7])
def test_min_length_is_what_sosfiltfilt_accepts(ftype, order):
    # odd orders end in a first-order section, which sosfiltfilt pads less
    degradation = Degradation(ftype, 3000.0, order)
    needed = min_length(degradation, FS)
    sos = design_sos(ftype, order, 3000.0, FS)
    signal.sosfiltfilt(sos, np.ones(needed))
    with pytest.raises(ValueError):
        signal.sosfiltfilt(sos, np.ones(needed - 1))
    check_degradation(degradation, FS, needed)
    with pytest.raises(ValueError, match=f"at least {needed} samples"):
        check_degradation(degradation, FS, needed - 1)


def test_check_degradation_of_the_stft_cut_and_subsampling():
    check_degradation(Degradation("stft", 3000.0), FS, 1025)
    with pytest.raises(ValueError, match="at least 1025 samples"):
        check_degradation(Degradation("stft", 3000.0), FS, 1024)
    check_degradation(Degradation("subsampling", 3000.0), FS, 1)


def test_designs_depend_only_on_cutoff_over_rate():
    # normalised frequencies work: 0.1875 at fs = 1 is 3 kHz at 16 kHz
    for ftype in IIR_TYPES:
        np.testing.assert_allclose(
            design_sos(ftype, 6, 0.1875, 1.0), design_sos(ftype, 6, 3000.0, FS), atol=1e-12
        )
        np.testing.assert_array_equal(
            IIRLowpass(ftype).design(3000.0, 6, FS), design_sos(ftype, 6, 3000.0, FS)
        )
    assert stft_cut_bin(0.1875, 1.0) == stft_cut_bin(3000.0, FS)


def test_cutoffs_up_to_nyquist_work_and_rates_must_be_positive():
    x = np.random.default_rng(2).standard_normal(4001)
    for ftype in FILTER_TYPES:
        assert np.all(np.isfinite(lowpass(x, FS, ftype, 7900.0, 6))), ftype
    with pytest.raises(ValueError, match="sample rate must be positive"):
        lowpass(x, 0, "butter", 3000.0)
    with pytest.raises(ValueError, match="Nyquist"):
        stft_cut_bin(0.0, FS)


def test_degradation_normalises_its_numbers():
    # NumPy scalars become float and int, so a degradation serialises to JSON
    degradation = Degradation("butter", np.float32(3000.0), np.int64(8))
    assert type(degradation.cutoff_hz) is float and type(degradation.order) is int
    json.dumps(dataclasses.asdict(degradation))
    assert Degradation("butter", 3000.0, 1).order == 1
    assert Degradation("butter", 3000.0, 20).order == 20


def test_lowpass_default_order_is_8():
    x = np.random.default_rng(4).standard_normal(4001)
    np.testing.assert_array_equal(
        lowpass(x, FS, "butter", 3000.0), lowpass(x, FS, "butter", 3000.0, 8)
    )


def test_sample_degradation_accepts_ranges_of_one_value():
    rng = np.random.default_rng(0)
    fixed = sample_degradation(rng, (3000.0, 3000.0), ("butter",), order_range=(1, 1))
    assert fixed == Degradation("butter", 3000.0, 1)
    low = sample_degradation(rng, (0.25, 0.25), ("butter",), order_range=(20, 20))
    assert low == Degradation("butter", 0.25, 20)
    with pytest.raises(ValueError, match="cutoff_range"):
        sample_degradation(rng, cutoff_range=(0.0, 4000.0))
