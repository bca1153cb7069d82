"""Fast Griffin-Lim: warm start, fixed known band, momentum and input checks."""

import math

import pytest
import torch

from tdpr.dsp.stft import stft
from tdpr.metrics.plausibility import consistency_db
from tdpr.phase.griffinlim import griffin_lim

pytestmark = pytest.mark.usefixtures("one_thread")
FS = 16000


def chirp_spec() -> torch.Tensor:
    t = torch.arange(2 * FS, dtype=torch.float64) / FS
    x = 0.5 * torch.sin(2 * math.pi * (300 * t + 900 * t**2)) + 0.01 * torch.randn(
        t.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    return stft(x.float())


def random_phase(shape, seed: int = 0) -> torch.Tensor:
    return (torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1) * math.pi


def test_zero_iterations_return_the_start():
    spec = chirp_spec()
    start = random_phase(spec.shape)
    assert torch.equal(griffin_lim(spec.abs(), start, 0), start)


def test_iterations_make_a_random_start_consistent():
    spec = chirp_spec()
    mag, start = spec.abs(), random_phase(spec.shape)
    before = consistency_db(torch.polar(mag, start)).item()
    after = consistency_db(torch.polar(mag, griffin_lim(mag, start, 30))).item()
    assert before > -5 and after < before - 10


def test_momentum_converges_faster_than_plain_griffin_lim():
    spec = chirp_spec()
    mag, start = spec.abs(), random_phase(spec.shape)
    fast = consistency_db(torch.polar(mag, griffin_lim(mag, start, 20, alpha=0.99)))
    plain = consistency_db(torch.polar(mag, griffin_lim(mag, start, 20, alpha=0.0)))
    assert fast < plain - 2


def test_a_warm_start_at_the_true_phase_stays_there():
    spec = chirp_spec()
    phase = griffin_lim(spec.abs(), spec.angle(), 10, length=2 * FS)
    err = torch.angle(torch.exp(1j * (phase - spec.angle())))
    loud = spec.abs() > 1e-3 * spec.abs().max()
    assert err[loud].abs().max() < 1e-2


def test_fixed_band_keeps_its_bins_bit_exact():
    spec = chirp_spec()
    mag, start = spec.abs(), random_phase(spec.shape)
    phase = griffin_lim(mag, start, 8, band="hf", fixed_below=160)
    assert torch.equal(phase[:160], start[:160])
    assert not torch.equal(phase[160:], start[160:])
    batch = griffin_lim(
        torch.stack([mag, mag]), torch.stack([start, start]), 3, band="hf", fixed_below=100
    )
    assert batch.shape == (2, *mag.shape) and torch.equal(
        batch[:, :100], start[None, :100].expand(2, -1, -1)
    )


def test_bad_arguments_name_the_problem():
    spec = chirp_spec()
    mag, start = spec.abs(), random_phase(spec.shape)
    with pytest.raises(ValueError, match="bins"):
        griffin_lim(mag[:-1], start[:-1], 1)
    with pytest.raises(ValueError, match="init_phase"):
        griffin_lim(mag, start[:, :-1], 1)
    with pytest.raises(ValueError, match="alpha"):
        griffin_lim(mag, start, 1, alpha=1.0)
    with pytest.raises(ValueError, match="n_iter"):
        griffin_lim(mag, start, -1)
    with pytest.raises(ValueError, match="band"):
        griffin_lim(mag, start, 1, band="low")
    with pytest.raises(ValueError, match="fixed_below"):
        griffin_lim(mag, start, 1, band="hf")
    with pytest.raises(ValueError, match="real tensor"):
        griffin_lim(spec, start, 1)
