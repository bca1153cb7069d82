"""The LSD conventions' plumbing: the band split at every rate and FFT size, the rate and cutoff
reaching each convention, the shared STFTs, and file means of an entry given as an object."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tdpr.metrics import conventions
from tdpr.metrics.context import MetricInputError
from tdpr.metrics.conventions import (
    convention_entry,
    convention_lsd,
    convention_names,
    convention_values,
    file_mean,
    split_bin,
)
from tdpr.registry import LSDConvention


def test_the_split_uses_the_conventions_own_fft_size_at_the_rate_given():
    own = LSDConvention("t", "test", 512, 128, split="cutoff")
    assert split_bin(own, 4000, 16000) == 128  # 4000 * 512 / 16000; 256 at n_fft 1024
    assert split_bin(convention_entry("tdpr"), 4000, 16000) == 256
    odd = LSDConvention("t", "test", 743, 160, split="nuwave2")  # ssr_eval's FFT at 16 kHz
    assert split_bin(odd, 7992, 16000) == int(372 * 0.999) == 371  # 743 // 2 + 1 = 372 bins
    scaled = LSDConvention("t", "test", 1024, 256, rate=32000, split="nuwave2")
    assert split_bin(scaled, 4000, 16000) == int(257 * 0.5) == 128  # n_fft 512 at 16 kHz


def test_nuwave2s_split_at_its_edges():
    entry = convention_entry("apbwe")  # n_fft 2048: 1025 bins
    assert split_bin(entry, 4000, 16000) == int(1025 * 0.5) == 512
    assert split_bin(entry, 8.0, 16000) == 1  # int(1025 * 0.001): the lowest usable cutoff
    for bad in (7.0, 0.0, -5.0, 8000.0, 9000.0):
        with pytest.raises(MetricInputError, match="cutoff"):
            split_bin(entry, bad, 16000)


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = 0.1 * rng.standard_normal(22050)
    y = np.convolve(x, np.ones(5) / 5, mode="same") + 1e-3 * rng.standard_normal(x.size)
    return x, y


def test_each_convention_gets_the_rate_and_cutoff_and_shares_stfts(pair, monkeypatch):
    calls = []
    real = conventions.magnitude
    monkeypatch.setattr(conventions, "magnitude", lambda *a: calls.append(a[1]) or real(*a))
    values = convention_values(*pair, ["all"], 22050, 3000.0)
    names = convention_names(["all"])
    assert list(values) == names
    # tdpr and dB share one STFT, AP-BWE and AERO another: two STFTs (of two signals) fewer
    assert len(calls) == 2 * (len(names) - 2)
    monkeypatch.setattr(conventions, "magnitude", real)
    for name in names:
        alone = convention_lsd(*pair, name, 22050, 3000.0)
        assert values[name] == {k: pytest.approx(float(v), rel=1e-12) for k, v in alone.items()}
    assert "lsd_hf" in values["tdpr"] and "lsd_hf" in values["apbwe"]
    assert values["ssr_eval"]["lsd"] != pytest.approx(
        convention_lsd(*pair, "ssr_eval", 16000)["lsd"].item(), rel=1e-3
    )  # ssr_eval's STFT scales with the rate


def test_file_mean_takes_an_entry_or_a_name():
    entry = convention_entry("aero")  # leaves out files scoring exactly 0
    assert file_mean(entry, [1.0, 0.0, 3.0, math.nan]) == 2.0
    assert file_mean("aero", [1.0, 0.0, 3.0]) == 2.0
    assert file_mean(convention_entry("tdpr"), [1.0, 0.0, 2.0]) == 1.0
    assert math.isnan(file_mean("tdpr", [math.nan]))
