"""Tests of the shared STFT helpers: shapes, the window convention, padding and the round trip."""

import numpy as np
import pytest
import torch

from tdpr.dsp.stft import istft, n_frames, stft


@pytest.mark.parametrize("shape", [(4001,), (3, 4001), (2, 3, 4001)])
def test_shape_is_bins_by_centred_frames(shape):
    x = torch.randn(shape)
    spec = stft(x, n_fft=1024, hop=256)
    assert spec.shape == (*shape[:-1], 513, n_frames(4001, 256))
    assert n_frames(4001, 256) == 1 + 4001 // 256
    assert spec.is_complex()


def test_frame_matches_numpy_periodic_hann():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(5000)
    spec = stft(torch.from_numpy(x), n_fft=512, hop=128, pad_mode="constant").numpy()
    n = np.arange(512)
    periodic_hann = 0.5 - 0.5 * np.cos(2 * np.pi * n / 512)
    # Frame 10 is centred on sample 1280 and lies fully inside the signal.
    frame = x[1280 - 256 : 1280 + 256] * periodic_hann
    np.testing.assert_allclose(spec[:, 10], np.fft.rfft(frame), rtol=1e-10, atol=1e-10)
    # Frame 0 is centred on sample 0: with zero padding it sees the first 256 samples only.
    first = np.concatenate([np.zeros(256), x[:256]]) * periodic_hann
    np.testing.assert_allclose(spec[:, 0], np.fft.rfft(first), rtol=1e-10, atol=1e-10)


def test_pad_mode_changes_only_the_edge_frames():
    x = torch.randn(8000, dtype=torch.float64)
    reflect, zeros = stft(x, pad_mode="reflect"), stft(x, pad_mode="constant")
    assert not torch.allclose(reflect[:, 0], zeros[:, 0])
    torch.testing.assert_close(reflect[:, 2:-2], zeros[:, 2:-2])


@pytest.mark.parametrize("pad_mode", ["reflect", "constant"])
@pytest.mark.parametrize("length", [4001, 4096])
def test_round_trip_restores_odd_and_even_lengths(pad_mode, length):
    x = torch.randn(2, length, dtype=torch.float64)
    y = istft(stft(x, 1024, 256, pad_mode), 1024, 256, length=length)
    assert y.shape == x.shape
    torch.testing.assert_close(y, x, rtol=0, atol=1e-10)


def test_dtype_follows_the_input():
    assert stft(torch.randn(2048, dtype=torch.float64)).dtype == torch.complex128
    assert stft(torch.randn(2048)).dtype == torch.complex64
    assert stft(torch.randn(2048).half()).dtype == torch.complex64


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match="pad_mode"):
        stft(torch.randn(2048), pad_mode="mirror")
    with pytest.raises(ValueError, match="complex"):
        istft(torch.randn(513, 9))
    with pytest.raises(ValueError, match="513"):
        istft(torch.randn(512, 9, dtype=torch.complex64), n_fft=1024)
