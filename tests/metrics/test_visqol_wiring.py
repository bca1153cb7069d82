"""How tdpr feeds ViSQOL, with the package replaced by a recorder (the real ViSQOL runs in the
slow tier, tests/test_metrics.py): audio mode, both signals resampled to 48 kHz in float64, each
item of a batch scored on its own, reference and estimate not swapped."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch

from tdpr import metrics
from tdpr.audio import resample
from tdpr.metrics.context import MetricInputError


@pytest.fixture
def recorder(monkeypatch):
    calls: list[dict] = []

    class VisqolApi:
        def create(self, mode: str) -> None:
            calls.append({"mode": mode})

        def measure_from_arrays(self, ref, est, sample_rate):
            calls[-1].update(ref=ref, est=est, sample_rate=sample_rate)
            # a score that tells the pair apart: the estimate's RMS over the reference's
            return types.SimpleNamespace(moslqo=float(np.sqrt((est**2).mean() / (ref**2).mean())))

    module = types.ModuleType("visqol")
    module.VisqolApi = VisqolApi
    monkeypatch.setitem(sys.modules, "visqol", module)
    return calls


def test_each_item_is_resampled_to_48_khz_and_scored_in_audio_mode(recorder):
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((2, 4000)) * np.array([[0.1], [0.2]])
    est = ref * np.array([[0.5], [3.0]]) + 0.001
    scores = metrics.compute_batch(ref, est, 3000, names=["visqol"])["visqol"]
    assert scores.shape == (2,) and scores.dtype == torch.float64
    assert len(recorder) == 2
    for i, call in enumerate(recorder):
        assert call["mode"] == "audio" and call["sample_rate"] == 48000
        for side, signal in (("ref", ref[i]), ("est", est[i])):
            assert call[side].dtype == np.float64 and call[side].shape == (12000,)
            np.testing.assert_allclose(call[side], resample(signal, 16000, 48000), atol=1e-9)
    rms = [np.sqrt((c["est"] ** 2).mean() / (c["ref"] ** 2).mean()) for c in recorder]
    np.testing.assert_allclose(scores.numpy(), rms)
    assert scores[0] < 1 < scores[1]  # the pairs in their own order, not swapped


def test_the_plain_function_takes_the_rate_given_and_one_clip(recorder):
    x = np.sin(np.arange(2400) / 3.0)
    assert metrics.visqol(x, 0.5 * x, 24000) == pytest.approx(0.5, rel=1e-6)
    assert recorder[0]["ref"].shape == (4800,)  # 24 kHz -> 48 kHz
    with pytest.raises(MetricInputError, match=r"one clip of shape \(T,\)"):
        metrics.visqol(np.stack([x, x]), np.stack([x, x]), 24000)


def test_items_of_any_batch_shape_and_the_shortest_clip(recorder):
    x = np.random.default_rng(1).standard_normal((2, 1, 4000)) * 0.1
    scores = metrics.compute_batch(x, 0.5 * x, 3000, names=["visqol"])["visqol"]
    assert scores.shape == (2, 1) and len(recorder) == 2
    np.testing.assert_allclose(scores.numpy(), 0.5, rtol=1e-6)
    assert metrics.visqol(x[0, 0, :1024], x[0, 0, :1024], 16000) == pytest.approx(1.0)
