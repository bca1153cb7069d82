"""The noise fill: it fills the band above the cutoff at the input's level and leaves the rest."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from material import RATE, clean, degraded, train_spectrum
from rendered import needs_fluidsynth

from tdpr.baselines import base
from tdpr.baselines.noisefill import NoiseFill, hashed_phase, splitmix64
from tdpr.dsp.stft import stft
from tdpr.enhance import Enhancer
from tdpr.metrics import compute_all

pytestmark = [needs_fluidsynth, pytest.mark.usefixtures("one_thread")]
NAMES = ["lsd", "lsd_hf", "lsd_lf", "si_sdr"]


def run(x: np.ndarray, cutoff: float, seed: int = 1, start: int = 0) -> np.ndarray:
    model = NoiseFill(train_spectrum(), seed=seed)
    y = model(torch.from_numpy(x).float().view(1, 1, -1), cutoff_hz=cutoff, start=start)
    return y[0, 0].double().numpy()


def scores(est: np.ndarray, cutoff: int) -> dict[str, float]:
    return compute_all(torch.from_numpy(clean()), torch.from_numpy(est), cutoff, names=NAMES)


@pytest.mark.parametrize("cutoff", [2500, 3000, 3500, 4000])
def test_beats_the_input_and_keeps_its_band(cutoff):
    x = degraded(cutoff)
    given, filled = scores(x, cutoff), scores(run(x, cutoff), cutoff)
    assert filled["lsd"] < given["lsd"] - 0.8  # measured: 1.0-1.2 against 2.2-2.7
    assert filled["lsd_lf"] <= given["lsd_lf"] + 0.03  # the issue asks 0.05; measured 0.015
    # (SI-SDR is no test of the band kept: noise as loud as the missing band, uncorrelated with
    # it, doubles the error whatever happens below the cutoff; here it fell by 2.5-5 dB)


def test_nothing_reaches_below_the_cutoff():
    """What is added below 0.9 x cutoff is 100 dB under what is added above it, at the file's
    ends too (scipy's default odd padding of the high-pass left 47 dB there)."""
    cutoff = 3000
    x = degraded(cutoff)
    x32 = x.astype(np.float32).astype(np.float64)  # the model's float32 output rounds x too
    added = stft(torch.from_numpy(run(x, cutoff) - x32)).abs().square().mean(-1).numpy()
    k = int(cutoff / (RATE / 1024))
    assert added[: int(0.9 * k)].sum() < 1e-9 * added[k:].sum()


def test_the_high_pass_is_what_keeps_lsd_lf(monkeypatch):
    """Guards the guard: the noise synthesised in the STFT domain leaks below its lowest bin once
    resynthesised; at 3 kHz that leak alone raised LSD-LF by 0.05 (with the high-pass: 0.015)."""
    cutoff, x = 3000, degraded(3000)
    given = scores(x, cutoff)["lsd_lf"]
    assert scores(run(x, cutoff), cutoff)["lsd_lf"] < given + 0.025
    monkeypatch.setattr(base, "highpass", lambda z, cutoff_hz: z)
    assert scores(run(x, cutoff), cutoff)["lsd_lf"] > given + 0.04


def test_the_fill_has_the_level_of_the_mean_spectrum_scaled_to_the_input():
    """Each frame's fill has power S(k) g(n)² (the overlap-add gain included): measured over
    2-4 kHz above a 2.5-kHz cutoff, the stored output's power is within 1.5 dB of it."""
    cutoff, x = 2500, degraded(2500)
    spectrum = train_spectrum().power
    X = stft(torch.from_numpy(x)).abs().square().numpy()
    ref = slice(round(0.70 * cutoff / 15.625), round(0.95 * cutoff / 15.625) + 1)
    gain2 = X[ref].mean(0) / spectrum[ref].mean()
    band = slice(round(3000 / 15.625), round(4000 / 15.625))
    Y = stft(torch.from_numpy(run(x, cutoff))).abs().square().numpy()
    expected = spectrum[band].sum() * gain2.sum()
    assert abs(10 * np.log10(Y[band].sum() / expected)) < 1.5


def test_seeded_reproducible_and_chunks_draw_the_whole_signals_phases():
    cutoff, x = 3000, degraded(3000).astype(np.float32).astype(np.float64)
    once, again = run(x, cutoff), run(x, cutoff)
    assert once.tobytes() == again.tobytes()
    assert not np.allclose(run(x, cutoff, seed=2), once, atol=1e-3)
    model = NoiseFill(train_spectrum(), seed=1)
    whole = Enhancer(model, cutoff_hz=cutoff, chunk_seconds=100).enhance(x.astype(np.float32))
    chunked = Enhancer(
        model, cutoff_hz=cutoff, chunk_seconds=1.0, context_seconds=0.25, crossfade_seconds=0.05
    ).enhance(x.astype(np.float32))
    np.testing.assert_allclose(chunked[4096:-4096], whole[4096:-4096], atol=2e-3)
    # the segment's absolute start picks its phases: the same audio at another start differs
    shifted = run(x, cutoff, start=256)
    assert np.abs(shifted - once)[4096:-4096].max() > 1e-3


def test_hashed_phases_are_uniform_and_independent():
    phase = hashed_phase(7, np.arange(1000), np.arange(200, 300))
    assert phase.shape == (100, 1000) and phase.min() >= 0 and phase.max() < 2 * np.pi
    assert abs(np.exp(1j * phase).mean()) < 0.01
    counts, _ = np.histogram(phase, bins=16, range=(0, 2 * np.pi))
    assert counts.min() > 0.95 * counts.mean()
    # neighbours in frame and bin are uncorrelated
    assert abs(np.mean(np.exp(1j * (phase[:, 1:] - phase[:, :-1])))) < 0.01
    assert abs(np.mean(np.exp(1j * (phase[1:] - phase[:-1])))) < 0.01
    assert not np.array_equal(hashed_phase(8, np.arange(10), np.arange(5)), phase[:5, :10])
    np.testing.assert_array_equal(hashed_phase(7, np.arange(3, 9), np.arange(200, 205)),
                                  phase[:5, 3:9])  # fmt: skip


def test_bad_calls_name_the_problem():
    model = NoiseFill(train_spectrum())
    x = torch.zeros(1, 1, 4000)
    with pytest.raises(ValueError, match="needs the input's cutoff"):
        model(x)
    with pytest.raises(ValueError, match="outside the 2000-7500 Hz"):
        model(x, cutoff_hz=1000)
    with pytest.raises(ValueError, match="not a multiple of the hop"):
        model(x, cutoff_hz=3000, start=100)
    with pytest.raises(ValueError, match=r"expected \(B, 1, T\)"):
        model(torch.zeros(4000), cutoff_hz=3000)
    with pytest.raises(ValueError, match="needs the input's bandwidth"):
        Enhancer(model).enhance(np.zeros(4000, dtype=np.float32))


def test_splitmix64_is_the_published_generator():
    # SplitMix64 seeded with 0 (Vigna's splitmix64.c): its state before output n is n * golden
    keys = np.arange(3, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    first = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    np.testing.assert_array_equal(splitmix64(keys), np.array(first, dtype=np.uint64))


def test_hashed_phase_hashes_seed_and_frame_then_the_bin():
    golden, m2, mask = 0x9E3779B97F4A7C15, 0x94D049BB133111EB, 2**64 - 1

    def mix(key: int) -> int:  # scalar SplitMix64 on Python integers
        z = (key + golden) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * m2) & mask
        return z ^ (z >> 31)

    frames, bins = np.array([0, 1, 5, 70_000]), np.array([0, 3, 512])
    phase = hashed_phase(11, frames, bins)
    for i, k in enumerate(bins):
        for j, n in enumerate(frames):
            key = mix(mix((11 + golden * int(n)) & mask) ^ (int(k) * m2 & mask))
            assert phase[i, j] == (key >> 11) * (2 * np.pi / 2**53)


def test_the_reference_band_is_070_to_095_times_the_cutoff_inclusive():
    # a tone on bin k touches bins k - 1, k, k + 1 only (periodic Hann, whole cycles per frame)
    cutoff = 4000.0
    lo, hi = base.bin_of(0.70 * cutoff), base.bin_of(0.95 * cutoff)
    model = NoiseFill(train_spectrum())

    def fill(k: int) -> float:
        x = np.sin(2 * np.pi * k * base.BIN_HZ * np.arange(RATE) / RATE)
        X = stft(torch.from_numpy(x), base.N_FFT, base.HOP).numpy()
        return float(np.abs(model.high_band(x, X, cutoff, 0)[:, 8:-8]).max())

    assert fill(hi + 1) > 1e6 * fill(hi + 2)
    assert fill(lo - 1) > 1e6 * fill(lo - 2)


def test_enhance_wants_one_signal_long_enough_for_the_stft():
    model = NoiseFill(train_spectrum())
    for x in (np.zeros((4000, 2)), np.zeros(base.MIN_SAMPLES - 1)):
        with pytest.raises(ValueError, match=r"needs a \(T,\) signal"):
            model.enhance(x, 3000.0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_cuda_input_comes_back_on_cuda():
    model = NoiseFill(train_spectrum())
    x = torch.from_numpy(degraded(3000)[:8000]).float().view(1, 1, -1)
    y = model(x.cuda(), cutoff_hz=3000)
    assert y.device.type == "cuda"
    torch.testing.assert_close(y.cpu(), model(x, cutoff_hz=3000))


def test_load_baseline_defaults_and_refusals():
    from tdpr.baselines import load_baseline

    assert load_baseline("noisefill").seed == 0
    for name in ("seanet", "magic"):  # a model that is not a baseline, and no model at all
        with pytest.raises(ValueError, match="noisefill, replicate"):
            load_baseline(name)


def test_the_baselines_work_in_float64_and_answer_in_float32():
    """A float32 and a float64 copy of one input give the same float32 output, bit for bit."""
    from tdpr.baselines import load_baseline

    x = torch.from_numpy(np.random.default_rng(3).standard_normal((1, 1, 8000)) * 0.1).float()
    for name in ("noisefill", "replicate"):
        system = load_baseline(name, seed=1)
        wide, narrow = system(x.double(), 3000.0), system(x, 3000.0)
        assert wide.dtype == narrow.dtype == torch.float32
        assert torch.equal(wide, narrow), name


def test_the_baselines_edges_seed_and_sum():
    """Cutoffs from 2 to 7.5 kHz inclusive; the seed asked reaches the baseline (0 by
    default); the shortest input is taken; float32 input is filled in float64; the output is
    the input plus the high-passed band the baseline builds."""
    from tdpr.baselines import load_baseline
    from tdpr.baselines.base import HOP, MIN_SAMPLES, N_FFT, check_cutoff, highpass
    from tdpr.dsp.stft import istft

    for ok in (2000.0, 7500.0):
        check_cutoff(ok)
    for bad in (1999.9, 7500.1):
        with pytest.raises(ValueError, match="2000-7500 Hz"):
            check_cutoff(bad)
    assert load_baseline("noisefill", seed=3).seed == 3 and NoiseFill().seed == 0
    system = load_baseline("replicate")
    x = np.random.default_rng(4).standard_normal(8000).astype(np.float32) * 0.1
    system.enhance(x[:MIN_SAMPLES], 3000.0)
    assert np.array_equal(system.enhance(x, 3000.0), system.enhance(x.astype(np.float64), 3000.0))
    x64 = x.astype(np.float64)
    X = stft(torch.from_numpy(x64), N_FFT, HOP).numpy()
    band = system.high_band(x64, X, 3000.0, 0)
    z = istft(torch.from_numpy(band), N_FFT, HOP, length=len(x64)).numpy()
    np.testing.assert_allclose(system.enhance(x64, 3000.0), x64 + highpass(z, 3000.0), atol=1e-12)


def test_hashed_phase_takes_any_integer_seed():
    same = (np.arange(3), np.arange(4))
    for seed in (-1, 2**64 - 1, 2**70):
        phase = hashed_phase(seed, *same)
        assert np.isfinite(phase).all() and ((phase >= 0) & (phase < 2 * np.pi)).all()
    assert np.array_equal(hashed_phase(-1, *same), hashed_phase(2**64 - 1, *same))


def test_a_baseline_checks_the_cutoff_it_is_given():
    from tdpr.baselines import load_baseline

    system = load_baseline("noisefill")
    system.check_cutoff(3000.0)
    with pytest.raises(ValueError, match="2000-7500 Hz"):
        system.check_cutoff(1000.0)
