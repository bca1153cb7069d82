"""The spectral metrics at settings other than the defaults, on batches, and at the edges of
their inputs: each setting given reaches the computation (checked against Eq. 5 written out
in NumPy), and each boundary of the input checks sits where its message says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tdpr import metrics
from tdpr.metrics.context import SI_SDR_LIMIT_DB, MetricContext, MetricInputError, cutoff_bin

FS = 16000


def log_power(x: np.ndarray, n_fft: int, hop: int, floor: float) -> np.ndarray:
    """``log10 max(|X|², floor)`` (frames, bins), periodic Hann, zero-padded centring."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    padded = np.pad(x, n_fft // 2)
    frames = [padded[i * hop : i * hop + n_fft] * window for i in range(1 + len(x) // hop)]
    return np.log10(np.maximum(np.abs(np.fft.rfft(frames, axis=1)) ** 2, floor))


def lsd_numpy(ref, est, n_fft, hop, floor, bins=slice(None)) -> float:
    d2 = (log_power(ref, n_fft, hop, floor) - log_power(est, n_fft, hop, floor))[:, bins] ** 2
    return float(np.sqrt(d2.mean(axis=1)).mean())


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    """Two items ``(2, T)``: tones with noise, and a quieter, filtered, shifted copy (some bins
    fall below the floors used here, so the floor matters)."""
    rng = np.random.default_rng(0)
    t = np.arange(12000) / FS
    ref = np.stack(
        [np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(t.size),
         0.3 * np.sin(2 * np.pi * 3100 * t) + 1e-4 * rng.standard_normal(t.size)]
    )  # fmt: skip
    est = 0.5 * np.roll(ref, 7, axis=-1) + 1e-3 * rng.standard_normal(ref.shape) + 0.2
    return ref, est


@pytest.mark.parametrize("n_fft, hop, floor", [(512, 128, 1e-6), (1024, 200, 1e-3)])
def test_lsd_takes_its_stft_and_floor_and_keeps_items_apart(pair, n_fft, hop, floor):
    ref, est = pair
    got = metrics.lsd(ref, est, n_fft=n_fft, hop=hop, floor=floor)
    expected = [lsd_numpy(r, e, n_fft, hop, floor) for r, e in zip(ref, est, strict=True)]
    assert got.shape == (2,)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


def test_band_split_takes_rate_stft_and_floor(pair):
    ref, est = pair
    for rate, n_fft, hop, floor in ((16000, 1024, 256, 1e-8), (22050, 512, 100, 1e-4)):
        kwargs = {} if rate == 16000 else {"sample_rate": rate, "n_fft": n_fft, "hop": hop}
        kwargs |= {} if floor == 1e-8 else {"floor": floor}
        hf, lf = metrics.lsd_hf_lf(ref, est, 4000, **kwargs)
        cut = int(4000 * n_fft / rate)  # 256 at the defaults: bin 256 is high band
        for i in range(2):
            high = lsd_numpy(ref[i], est[i], n_fft, hop, floor, slice(cut, None))
            low = lsd_numpy(ref[i], est[i], n_fft, hop, floor, slice(None, cut))
            assert hf[i].item() == pytest.approx(high, rel=1e-6), (rate, i)
            assert lf[i].item() == pytest.approx(low, rel=1e-6), (rate, i)


def si_sdr_numpy(ref: np.ndarray, est: np.ndarray) -> float:
    ref, est = ref - ref.mean(), est - est.mean()
    target = (est @ ref) / (ref @ ref) * ref
    return float(10 * np.log10((target @ target) / ((est - target) @ (est - target))))


def test_si_sdr_removes_each_items_own_mean_and_takes_short_signals(pair):
    ref, est = pair
    got = metrics.si_sdr(ref, est)
    expected = [si_sdr_numpy(r, e) for r, e in zip(ref, est, strict=True)]
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-9)
    short = metrics.si_sdr(ref[0, :5], est[0, :5])  # no STFT: a few samples are enough
    assert short.item() == pytest.approx(si_sdr_numpy(ref[0, :5], est[0, :5]), abs=1e-9)


def test_si_sdr_is_clipped_at_both_limits():
    t = np.arange(16000) / FS
    sine, cosine = np.sin(2 * np.pi * 100 * t), np.cos(2 * np.pi * 100 * t)
    assert metrics.si_sdr(sine, sine).item() == SI_SDR_LIMIT_DB
    assert metrics.si_sdr(sine, cosine).item() == -SI_SDR_LIMIT_DB  # orthogonal: no target


def test_cutoff_bin_edges():
    assert cutoff_bin(4000, FS) == 256 and cutoff_bin(7999, FS) == 511  # default n_fft 1024
    assert cutoff_bin(16.0, FS, 1024) == 1  # the lowest cutoff with a low band
    assert cutoff_bin(0.5, FS, 32000) == 1
    assert cutoff_bin(7999.0, FS, 1024) == 511
    for bad in (0.0, -1.0, 8000.0, 15.0):
        with pytest.raises(MetricInputError, match="cutoff"):
            cutoff_bin(bad, FS, 1024)


def test_the_context_checks_length_against_its_own_n_fft(pair):
    ref, est = pair
    short = (ref[:, :600], est[:, :600])
    assert MetricContext(*short, n_fft=512, hop=128).signals[0].shape == (2, 600)
    with pytest.raises(MetricInputError, match="shorter than n_fft=1024"):
        MetricContext(*short)


def test_compute_batch_computes_only_the_names_asked_in_registry_order(pair):
    ref, est = pair
    asked = metrics.compute_batch(ref, est, 3000, names=("si_sdr", "lsd"))
    assert list(asked) == ["lsd", "si_sdr"]
    every = metrics.compute_batch(ref, est, 3000)
    assert list(every) == metrics.metric_names(True) and len(every) > 2
    assert torch.equal(asked["lsd"], every["lsd"])
    with pytest.raises(ValueError, match=r"unknown metric\(s\) \['nope'\]"):
        metrics.compute_batch(ref, est, 3000, names=["lsd", "nope"])
    one = metrics.compute_all(ref[0], est[0], 3000, names=["lsd_hf"])
    assert list(one) == ["lsd_hf"]


def test_a_pair_of_exactly_n_fft_samples_is_taken_and_silence_is_named(pair):
    ref, est = pair
    assert MetricContext(ref[:, :512], est[:, :512], n_fft=512).signals[0].shape == (2, 512)
    with pytest.raises(MetricInputError, match="^reference is digital silence$"):
        metrics.lsd(np.zeros(4096), est[0, :4096])
    with pytest.raises(MetricInputError, match="^estimate is digital silence$"):
        metrics.lsd(ref[0, :4096], np.zeros(4096))
    silent = est[:, :4096].copy()
    silent[1] = 0
    with pytest.raises(MetricInputError, match=r"^estimate is digital silence \(items \[1\]\)$"):
        metrics.lsd(ref[:, :4096], silent)
