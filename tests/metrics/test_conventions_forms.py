"""The general forms behind the LSD conventions, beyond the registered entries: another log
base, another framing, batches, and the ratio form on identical signals (written out)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tdpr.metrics.conventions import convention_lsd
from tdpr.registry import LSDConvention

RATE = 16_000


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = 0.1 * rng.standard_normal((2, 12000))
    return x, np.roll(x, 3, axis=-1) * np.array([[0.5], [2.0]]) + 1e-3 * rng.standard_normal(
        x.shape
    )


def test_a_log_base_other_than_10_or_e_scales_the_lsd(pair):
    base10 = LSDConvention("t", "test", 1024, 256)
    base2 = LSDConvention("t", "test", 1024, 256, log_base=2.0)
    got, ten = (convention_lsd(*pair, c, RATE)["lsd"] for c in (base2, base10))
    torch.testing.assert_close(got, ten * math.log2(10), rtol=1e-9, atol=0)


BINS_FIRST = LSDConvention("t", "test", 1024, 256, average="bins", split="cutoff")


@pytest.mark.parametrize("entry", ["tdpr", BINS_FIRST], ids=["frames", "bins"])
def test_a_batch_gives_each_items_own_lsd(pair, entry):
    together = convention_lsd(*pair, entry, RATE, 3000.0)
    for i in range(2):
        alone = convention_lsd(pair[0][i], pair[1][i], entry, RATE, 3000.0)
        for metric, value in alone.items():
            assert together[metric][i].item() == pytest.approx(value.item(), rel=1e-12)


def test_the_ratio_form_is_its_formula(pair):
    """log10(|R|² / (|E| + floor)² + floor), ssr_eval's form, written out (with a floor large
    enough to matter: ssr_eval's own 1e-12 is below float64 rounding of values near 1)."""
    entry = LSDConvention("t", "test", 1024, 256, floor_mode="ratio", floor=1e-3)
    x, y = pair[0][0], pair[1][0]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(1024) / 1024)

    def mag(s):  # (F, N), zero-padded centring
        padded = np.pad(s, 512)
        frames = [padded[i * 256 : i * 256 + 1024] * window for i in range(1 + len(s) // 256)]
        return np.abs(np.fft.rfft(frames, axis=1)).T

    d = np.log10(mag(x) ** 2 / (mag(y) + 1e-3) ** 2 + 1e-3)
    expected = np.sqrt((d**2).mean(axis=0)).mean()
    got = convention_lsd(x, y, entry, RATE)["lsd"].item()
    assert got == pytest.approx(expected, rel=1e-9, abs=0)


def test_uncentred_frames_are_another_convention(pair):
    centred = LSDConvention("t", "test", 1024, 256)
    uncentred = LSDConvention("t", "test", 1024, 256, center=False)
    a, b = (convention_lsd(*pair, c, RATE)["lsd"] for c in (centred, uncentred))
    assert not torch.equal(a, b)
