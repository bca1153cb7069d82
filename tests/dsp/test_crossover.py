"""The crossover at the input's bandwidth: the given band kept, the enhanced band taken."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import piano_like

from tdpr.dsp.crossover import WIDTH, crossover_weight, keep_band
from tdpr.dsp.filters import lowpass
from tdpr.metrics import compute_all

RATE = 16_000


def band_noise(n: int, lo: float, hi: float, seed: int) -> torch.Tensor:
    """White noise with only the bins strictly inside (lo, hi) Hz: ``(n,)`` float64."""
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    spec[(freqs <= lo) | (freqs >= hi)] = 0
    return torch.from_numpy(0.05 * np.fft.irfft(spec, n))


def test_the_weight_rises_from_zero_to_one_above_the_cutoff() -> None:
    w = crossover_weight(3000.0)
    freqs = torch.arange(513) * RATE / 1024
    assert (w[freqs <= 3000] == 0).all()  # every bin of the given band is the input's
    assert (w[freqs >= 3000 * (1 + WIDTH)] == 1).all()
    assert (torch.diff(w) >= 0).all() and 0.4 < float(w[198]) < 0.6  # bin 198 = 3094 Hz
    with pytest.raises(ValueError, match="not inside"):
        crossover_weight(8000.0)


def test_each_side_comes_from_its_own_signal() -> None:
    x = torch.from_numpy(piano_like(2.0, RATE, 1, seed=1)[:, 0].astype(np.float64))
    low, high = band_noise(len(x), 0, 2800, 2), band_noise(len(x), 3500, 8000, 3)
    inner = slice(1024, -1024)  # the first and last frames see the reflect padding's edges

    def same(a: torch.Tensor, b: torch.Tensor) -> None:
        torch.testing.assert_close(a[inner], b[inner], atol=1e-7, rtol=0)

    # what the enhanced signal does below the transition is dropped, above it is kept
    same(keep_band(x, x + low, 3000.0), x)
    same(keep_band(x, x + high, 3000.0), x + high)
    same(keep_band(x + high, x, 3000.0), x)
    out = keep_band(x.float()[None], (x + high).float()[None], 3000.0)
    assert out.shape == (1, len(x)) and out.dtype == torch.float32
    with pytest.raises(ValueError, match="shapes differ"):
        keep_band(x, x[:-1], 3000.0)


def test_a_model_that_alters_the_band_keeps_it_after_the_crossover() -> None:
    clean = piano_like(3.0, RATE, 1, seed=4)[:, 0].astype(np.float64)
    given = lowpass(clean, RATE, "cheby1", 3000.0, 8).astype(np.float64)
    # an "enhancement" that ruins the low band and adds the true high band back
    ruined = 0.5 * given + (clean - lowpass(clean, RATE, "butter", 3300.0, 16))
    ref, g, r = (torch.from_numpy(a) for a in (clean, given, ruined))
    out = keep_band(g, r, 3000.0)
    names = ["lsd_lf", "lsd_hf"]
    m_given, m_ruined, m_out = (compute_all(ref, s, 3000.0, names=names) for s in (g, r, out))
    assert m_ruined["lsd_lf"] > m_given["lsd_lf"] + 0.1
    assert abs(m_out["lsd_lf"] - m_given["lsd_lf"]) < 0.02
    assert m_out["lsd_hf"] < m_given["lsd_hf"] - 0.5  # the high band of the model is kept
