"""PGHI: the phase gradient is right for a tone, consistency beats random phase on a chirp and on
real piano, and a known low band stays fixed and anchors the rest."""

import math

import numpy as np
import pytest
import torch
from rendered import needs_fluidsynth, piano

from tdpr.dsp.stft import istft, stft
from tdpr.metrics.apbwe import phase_distances
from tdpr.metrics.plausibility import consistency_db, if_deviation
from tdpr.phase.pghi import pghi

pytestmark = pytest.mark.usefixtures("one_thread")
FS = 16000


def random_phase(shape, seed: int = 0) -> torch.Tensor:
    return (torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1) * math.pi


def test_a_tone_gets_its_frequency_between_bins():
    # 1003 Hz lies between bins 64 (1000 Hz) and 65: the phase advance per frame carries the
    # 3-Hz offset, which only the magnitude's slope across bins can reveal.
    t = torch.arange(FS) / FS
    spec = stft(0.5 * torch.sin(2 * math.pi * 1003.0 * t))
    phase = pghi(spec.abs())
    got = if_deviation(torch.polar(spec.abs(), phase), 256, 1024)[64, 10:-10]
    expected = 2 * math.pi * 3.0 * 256 / FS
    assert got.sub(expected).abs().max() < 0.02


def test_chirp_phase_is_far_more_consistent_than_random():
    t = torch.arange(2 * FS) / FS
    spec = stft(0.5 * torch.sin(2 * math.pi * (200 * t + 1000 * t**2)))
    mag = spec.abs()
    rebuilt = consistency_db(torch.polar(mag, pghi(mag)))
    scrambled = consistency_db(torch.polar(mag, random_phase(mag.shape)))
    assert rebuilt < -14 and scrambled > -3


@needs_fluidsynth
def test_piano_phase_is_consistent_and_a_known_band_anchors_it():
    x = torch.from_numpy(piano(6.0)).float()
    spec = stft(x)
    mag, k = spec.abs(), 160
    free = pghi(mag)
    anchored = pghi(mag, fixed_below=k, known_phase=spec.angle())
    assert torch.equal(anchored[:k], spec.angle()[:k])  # bit-exact
    scores = {
        name: consistency_db(torch.polar(mag, p)).item()
        for name, p in (("random", random_phase(mag.shape)), ("free", free), ("anchored", anchored))
    }
    assert scores["random"] > -3 and scores["free"] < -12
    assert scores["anchored"] < scores["free"] - 5, scores
    # Anchored, the high band's phase follows the ground truth's, not only a plausible one.
    y = istft(torch.polar(mag, anchored), length=x.shape[-1])
    assert phase_distances(x, y)["apd_ip"] < 1.6


def test_numpy_in_numpy_out_and_batches():
    t = np.arange(FS // 2) / FS
    x = np.stack([np.sin(2 * np.pi * 500 * t), np.sin(2 * np.pi * 2000 * t)]).astype(np.float32)
    mag = stft(torch.from_numpy(x)).abs().numpy()
    out = pghi(mag)
    assert isinstance(out, np.ndarray) and out.shape == mag.shape
    np.testing.assert_array_equal(out[0], pghi(mag[0]))  # same seed, same first draws
    assert np.all(np.abs(out) <= np.pi)
    as_tensor = pghi(torch.from_numpy(mag))
    assert torch.is_tensor(as_tensor) and as_tensor.dtype == torch.float32


def test_bad_input_names_the_problem():
    mag = np.ones((513, 20))
    with pytest.raises(ValueError, match="513"):
        pghi(mag[:-1])
    with pytest.raises(ValueError, match="non-negative"):
        pghi(-mag)
    with pytest.raises(ValueError, match="known_phase"):
        pghi(mag, fixed_below=10)
    with pytest.raises(ValueError, match="fixed_below"):
        pghi(mag, fixed_below=600, known_phase=np.zeros_like(mag))
    with pytest.raises(ValueError, match="all-zero"):
        pghi(np.zeros((513, 20)))
    with pytest.raises(ValueError, match="complex"):
        pghi(mag + 0j)
    with pytest.raises(ValueError, match="tol"):
        pghi(mag, tol=0)
