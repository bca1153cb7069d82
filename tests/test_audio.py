"""Audio I/O: 16-bit storage is rounded and matches quantize_pcm16; errors are clear."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tdpr.audio import AudioError, quantize_pcm16, read_audio, resample, to_mono, write_pcm16


def test_stored_pcm16_equals_quantize_and_is_rounded(tmp_path) -> None:
    x = np.random.default_rng(0).uniform(-1, 1, 4000).astype(np.float32)
    x[:4] = [0.3 / 32768, -0.3 / 32768, 0.7 / 32768, -0.7 / 32768]
    write_pcm16(tmp_path / "a.wav", x, 16000)
    y, rate = read_audio(tmp_path / "a.wav")
    assert rate == 16000 and sf.info(tmp_path / "a.wav").subtype == "PCM_16"
    np.testing.assert_array_equal(y, quantize_pcm16(x))
    np.testing.assert_array_equal(y[:4] * 32768, [0, 0, 1, -1])  # rounded, no DC offset
    assert np.max(np.abs(y - x)) <= 0.5 / 32768 + 1e-9


def test_write_clips_and_refuses_nan_without_leaving_a_file(tmp_path) -> None:
    write_pcm16(tmp_path / "loud.wav", np.array([2.0, -3.0, 0.5], dtype=np.float32), 8000)
    y, _ = read_audio(tmp_path / "loud.wav")
    assert y[0] == pytest.approx(32767 / 32768) and y[1] == -1.0
    with pytest.raises(AudioError, match="NaN"):
        write_pcm16(tmp_path / "bad.wav", np.array([0.0, np.nan], dtype=np.float32), 8000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loud.wav"]


def test_read_errors_name_the_file(tmp_path) -> None:
    (tmp_path / "x.wav").write_bytes(b"not audio")
    with pytest.raises(AudioError, match="x.wav"):
        read_audio(tmp_path / "x.wav")
    with pytest.raises(AudioError, match="not found"):
        read_audio(tmp_path / "missing.wav")
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 8000)
    with pytest.raises(AudioError, match="no samples"):
        read_audio(tmp_path / "empty.wav")


def test_resample_exact_ratio_and_mono_mean() -> None:
    t = np.arange(44100) / 44100
    x = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    y = resample(x, 44100, 16000)
    assert y.shape == (16000,) and y.dtype == np.float32
    ref = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    assert np.max(np.abs(y[200:-200] - ref[200:-200])) < 1e-3
    stereo = np.stack([x, -x * 0.5], axis=1)
    np.testing.assert_allclose(to_mono(stereo), 0.25 * x, atol=1e-7)
