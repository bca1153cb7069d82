"""tdpr's own phase distances above the cutoff (tdpr.metrics.phase)."""

from __future__ import annotations

import pytest
import torch

from tdpr.metrics.phase import phase_distances

pytestmark = pytest.mark.usefixtures("one_thread")
FS = 16_000


def test_the_hop_given_is_the_hop_used():
    gen = torch.Generator().manual_seed(0)
    ref = torch.randn(FS, generator=gen)
    est = ref + 0.5 * torch.randn(FS, generator=gen)
    fine = phase_distances(ref, est, 3000.0, FS, hop=128)
    coarse = phase_distances(ref, est, 3000.0, FS, hop=256)
    assert all(fine[name].item() != coarse[name].item() for name in fine)


def phase_numpy(ref, est, cutoff, rate, n_fft, hop, floor, range_db) -> dict[str, float]:
    """The masked IP, GD and IF errors written out (zero-padded centring, periodic Hann)."""
    import numpy as np

    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)

    def spec(x):  # (F, N)
        padded = np.pad(x, n_fft // 2)
        frames = [padded[i * hop : i * hop + n_fft] * window for i in range(1 + len(x) // hop)]
        return np.fft.rfft(frames, axis=1).T

    def dist(x):
        return np.abs(x - 2 * np.pi * np.round(x / (2 * np.pi)))

    r, e = spec(ref), spec(est)
    p = np.abs(r) ** 2
    mask = (p > max(p.max() * 10 ** (-range_db / 10), floor))[int(cutoff * n_fft / rate) :]
    k = int(cutoff * n_fft / rate)
    pr, pe = np.angle(r[k:]), np.angle(e[k:])
    gd_mask, if_mask = mask[1:] & mask[:-1], mask[:, 1:] & mask[:, :-1]

    def mean(x):  # NaN for an empty mask, as the metric gives, without NumPy's warning
        return x.mean() if x.size else float("nan")

    return {
        "phase_ip_hf": mean(dist(pr - pe)[mask]),
        "phase_gd_hf": mean(dist(np.diff(pr, axis=0) - np.diff(pe, axis=0))[gd_mask]),
        "phase_if_hf": mean(dist(np.diff(pr, axis=1) - np.diff(pe, axis=1))[if_mask]),
    }


def test_every_setting_reaches_the_masked_errors_and_the_defaults_are_the_papers():
    """Non-default rate, FFT, hop, floor and range against the definitions in NumPy, per item
    of a batch; called without them, the function uses 16 kHz, 1024/256, 1e-8 and 80 dB."""
    gen = torch.Generator().manual_seed(1)
    t = torch.arange(12000, dtype=torch.float64) / 22050
    # a loud low tone sets the peak; a tone 50 dB down sits in the band (inside a 60-dB mask,
    # outside a 40-dB one), over a noise floor that the mask has to leave out
    loud = torch.sin(2 * torch.pi * 500 * t)
    tones = [10**-2.5 * torch.sin(2 * torch.pi * f * t) for f in (5000, 3700)]
    ref = torch.stack([loud + tones[0], 0.5 * loud + tones[1]])
    ref = ref + 1e-5 * torch.randn(ref.shape, generator=gen, dtype=torch.float64)
    est = ref.roll(2, -1) + 1e-3 * torch.randn(ref.shape, generator=gen, dtype=torch.float64)
    for settings in ((22050, 512, 128, 1e-7, 60.0), (22050, 256, 100, 1e-9, 40.0)):
        got = phase_distances(ref, est, 3000.0, *settings)
        for i in range(2):
            expected = phase_numpy(ref[i].numpy(), est[i].numpy(), 3000.0, *settings)
            for name, value in expected.items():
                assert value == value or settings[-1] == 40.0, (settings, name, i)  # not NaN
                close = pytest.approx(value, rel=1e-9, nan_ok=True)
                assert got[name][i].item() == close, (settings, name, i)
    default = phase_distances(ref[0], est[0], 3000.0)
    explicit = phase_distances(ref[0], est[0], 3000.0, 16000, 1024, 256, 1e-8, 80.0)
    assert default == explicit


def test_the_three_errors_share_one_mask_and_one_pair_of_phases(monkeypatch):
    from tdpr.metrics import context

    calls = []
    real = context.power
    monkeypatch.setattr("tdpr.metrics.phase.power", lambda s: calls.append(1) or real(s))
    gen = torch.Generator().manual_seed(2)
    ref = torch.randn(FS, generator=gen)
    phase_distances(ref, ref + 0.1 * torch.randn(FS, generator=gen), 3000.0)
    assert len(calls) == 1
