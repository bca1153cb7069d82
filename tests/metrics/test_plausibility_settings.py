"""The reference-free phase measures at settings other than the defaults, written out in NumPy:
each setting given (rate, cutoff, FFT size, hop, dynamic range) reaches the computation, the
nominal advance is that of each bin's own index, and the items of a batch stay apart."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tdpr import metrics
from tdpr.dsp.stft import stft
from tdpr.metrics.plausibility import consistency_db, if_deviation_distance, wasserstein_1d


def spec_numpy(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """``(F, N)``: periodic Hann, reflect-padded centring (the phase conventions)."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    padded = np.pad(x, n_fft // 2, mode="reflect")
    frames = [padded[i * hop : i * hop + n_fft] * window for i in range(1 + len(x) // hop)]
    return np.fft.rfft(frames, axis=1).T


def wrap(x: np.ndarray) -> np.ndarray:
    return x - 2 * np.pi * np.round(x / (2 * np.pi))


def ifd_numpy(ref, est, rate, cutoff, n_fft, hop, range_db) -> float:
    """W1 of IF deviations (Δφ minus 2π·k·hop/n_fft, bin k absolute) at loud HF points."""
    k0 = int(cutoff * n_fft / rate)
    r, e = spec_numpy(ref, n_fft, hop), spec_numpy(est, n_fft, hop)
    peak = np.abs(r).max()
    r, e = r[k0:], e[k0:]
    loud = np.abs(r) > peak * 10 ** (-range_db / 20)
    mask = loud[:, 1:] & loud[:, :-1]
    nominal = 2 * np.pi * hop / n_fft * np.arange(k0, k0 + r.shape[0])[:, None]
    dev_r = wrap(np.diff(np.angle(r), axis=1) - nominal)[mask]
    dev_e = wrap(np.diff(np.angle(e), axis=1) - nominal)[mask]
    return float(np.abs(np.sort(dev_r) - np.sort(dev_e)).mean())


@pytest.fixture(scope="module")
def pair() -> tuple[torch.Tensor, torch.Tensor]:
    """``(2, T)`` float64: tones between 2 and 6 kHz with noise, and a delayed, noisier copy."""
    g = torch.Generator().manual_seed(0)
    t = torch.arange(9000, dtype=torch.float64) / 22050
    tones = [sum(torch.sin(2 * math.pi * f * t + f) for f in fs) for fs in ((2210, 4400), (3333,))]
    ref = torch.stack(tones) + 0.05 * torch.randn(2, t.numel(), generator=g, dtype=torch.float64)
    est = ref.roll(3, -1) + 0.2 * torch.randn(2, t.numel(), generator=g, dtype=torch.float64)
    return ref, est


@pytest.mark.parametrize(
    "rate, cutoff, n_fft, hop, range_db",
    [
        (22050, 3100.0, 512, 128, 40.0),
        (16000, 2500.0, 1024, 256, 60.0),
        (22050, 2000.0, 256, 100, 30.0),
    ],
)
def test_if_deviation_distance_is_its_definition(pair, rate, cutoff, n_fft, hop, range_db):
    ref, est = pair
    got = if_deviation_distance(ref, est, rate, cutoff, n_fft, hop, range_db)
    assert got.shape == (2,)
    for i in range(2):
        expected = ifd_numpy(ref[i].numpy(), est[i].numpy(), rate, cutoff, n_fft, hop, range_db)
        assert got[i].item() == pytest.approx(expected, rel=1e-9, abs=1e-12), i
        alone = if_deviation_distance(ref[i], est[i], rate, cutoff, n_fft, hop, range_db)
        assert alone.item() == got[i].item()


def test_the_registered_metric_passes_the_contexts_settings(pair):
    ref, est = pair
    got = metrics.compute_batch(
        ref, est, 3100.0, sample_rate=22050, n_fft=512, hop=128, names=["ifd_w1_hf"]
    )["ifd_w1_hf"]
    for i in range(2):
        r, e = (x[i].float().double().numpy() for x in (ref, est))
        expected = ifd_numpy(r, e, 22050, 3100.0, 512, 128, 60.0)
        assert got[i].item() == pytest.approx(expected, rel=1e-4), i


def consistency_numpy(C: torch.Tensor, n_fft: int, hop: int) -> float:
    """``10·log10(‖C - STFT(iSTFT(C))‖² / ‖C‖²)``, the re-synthesis (N - 1)·hop samples long."""
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    length = (C.shape[-1] - 1) * hop
    y = torch.istft(C, n_fft, hop, window=window, center=True, length=length)
    P = torch.stft(y, n_fft, hop, window=window, center=True, pad_mode="reflect",
                   return_complex=True)  # fmt: skip
    return float(10 * torch.log10((C - P).abs().square().sum() / C.abs().square().sum()))


def test_consistency_is_its_definition_at_other_settings_and_per_item(pair):
    ref, _ = pair
    g = torch.Generator().manual_seed(1)
    for n_fft, hop in ((512, 128), (256, 100)):
        spec = stft(ref[..., : ref.shape[-1] // hop * hop], n_fft, hop)  # whole hops
        half = torch.polar(
            spec.abs(),
            spec.angle() + 0.5 * torch.rand(spec.shape, generator=g, dtype=torch.float64),
        )
        batch = torch.stack([half[0], spec[1] * 1e-3])  # one inconsistent, one consistent item
        got = consistency_db(batch, n_fft, hop)
        assert got.shape == (2,)
        assert got[0].item() == pytest.approx(consistency_numpy(batch[0], n_fft, hop), abs=1e-9)
        assert got[1].item() < -100  # an STFT at these settings is consistent ...
        assert consistency_db(batch[1], n_fft, hop).item() == got[1].item()
    with pytest.raises(ValueError, match="complex"):
        consistency_db(ref, 512, 128)


def test_wasserstein_refuses_every_bad_shape():
    a = torch.tensor([0.0, 1.0, 2.0])
    assert wasserstein_1d(a[:1], a[1:2]).item() == 1.0  # one point each is enough
    for x, y in ((a, a[:2]), (a[None], a[None]), (a[:0], a[:0]), (a.reshape(3, 1), a)):
        with pytest.raises(ValueError, match="non-empty 1-D samples of one size"):
            wasserstein_1d(x, y)


def test_odd_fft_sizes_and_the_dtype_of_every_result(pair):
    ref, _ = pair
    x = ref[0, : 60 * 128]
    with pytest.raises(ValueError, match="even n_fft, got 511"):
        consistency_db(stft(x, 511, 128), 511, 128)
    silent_band = torch.sin(torch.arange(9000, dtype=torch.float64) * 0.05)  # all below 200 Hz
    nan = if_deviation_distance(silent_band, silent_band, 22050, 6000.0)
    assert nan.isnan() and nan.dtype == torch.float64
    recorded = metrics.compute_batch(
        x, x, 3000, names=["consistency"], extra={"consistency_db": -7.0}
    )
    assert recorded["consistency"].dtype == torch.float64 and recorded["consistency"].item() == -7.0
