"""``tdpr enhance --phase/--band``: every phase source on a real-rate stereo 1-minute file in
ten chunks, without seams; the bandwidth estimate is logged and checked against the trained
range."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import piano_like
from scipy import signal

from tdpr.cli import main
from tdpr.enhance import Enhancer
from tdpr.models import build_model
from tdpr.train.checkpoint import save_model

SEANET = {"base_channels": 4, "strides": [2, 4], "latent_dim": 8}
TFGAN = {"mult": 8, "n_residual_layers": 2}
RATE_IN = 44_100


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    return {
        name: save_model(folder / f"{name}.pt", name, kw, build_model(name, **kw), {})
        for name, kw in (("seanet", SEANET), ("tfgan", TFGAN))
    }


def lowpassed(seconds: float, cutoff: float, rate: int = RATE_IN, channels: int = 2):
    """Piano-like stereo audio low-passed at ``cutoff``: a narrow-band recording."""
    sos = signal.butter(10, cutoff, fs=rate, output="sos")
    audio = signal.sosfiltfilt(sos, piano_like(seconds, rate, channels=channels), axis=0)
    return (0.8 * audio / np.abs(audio).max()).astype(np.float32)


@pytest.fixture(scope="module")
def one_minute(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("in") / "old.wav"
    sf.write(path, lowpassed(60.0, 3000.0), RATE_IN, subtype="PCM_16")
    return path


def seam_ratio(audio: np.ndarray, boundaries: list[int], width: int = 320) -> float:
    """Largest first-difference energy near a chunk boundary over the median of all windows."""
    diff = np.diff(audio, axis=0) ** 2
    energy = np.convolve(diff.sum(axis=1), np.ones(width) / width, mode="same")
    near = max(energy[max(0, b - width) : b + width].max() for b in boundaries)
    return float(near / np.median(energy[width:-width]))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("phase", "band"),
    [
        ("vocoder", "full"), ("vocoder", "hf"), ("griffinlim", "full"), ("griffinlim", "hf"),
        ("pghi", "full"), ("pghi", "hf"), ("none", "full"),
    ],
)  # fmt: skip
def test_every_phase_and_band_on_a_long_stereo_file(
    tmp_path, checkpoints, one_minute, phase, band, caplog
):
    caplog.set_level(logging.INFO, logger="tdpr")
    out = tmp_path / "new.wav"
    args = ["enhance", str(one_minute), str(out), "--model", str(checkpoints["seanet"])]
    args += ["--phase", phase, "--band", band, "--chunk-seconds", "6", "--iterations", "8"]
    if phase == "vocoder":
        args += ["--vocoder", str(checkpoints["tfgan"])]
    assert main(args) == 0
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.frames) == (16_000, 2, 60 * 16_000)
    audio, _ = sf.read(out, dtype="float32")
    assert np.isfinite(audio).all() and audio.std() > 1e-3
    enhancer = Enhancer(build_model("seanet", **SEANET), chunk_seconds=6)
    boundaries = [c.out_start for c in enhancer.plan(info.frames)[1:]]
    assert len(boundaries) >= 8
    assert seam_ratio(audio, boundaries) < 4.0  # no click or dip where chunks join
    estimate = next(r for r in caplog.records if "estimated bandwidth" in r.message)
    hz = float(estimate.message.split("estimated bandwidth ")[1].split(" Hz")[0])
    assert abs(hz - 3000) < 400
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "outside" in r.msg]


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["griffinlim", "pghi"])
def test_whole_signal_sources_give_the_same_output_chunked_or_not(phase):
    audio = lowpassed(12.0, 3000.0, rate=16_000, channels=1)[:, 0]
    torch.manual_seed(0)
    model = build_model("seanet", **SEANET)
    kw = {"phase": phase, "band": "hf", "cutoff_hz": 3000.0, "phase_settings": {"iterations": 8}}
    chunked = Enhancer(model, chunk_seconds=2.0, context_seconds=0.5, **kw).enhance(audio)
    whole = Enhancer(model, chunk_seconds=30.0, **kw).enhance(audio)
    error = np.sqrt(np.mean((chunked - whole) ** 2) / np.mean(whole**2))
    assert error < 1e-3, error


def test_a_bandwidth_outside_the_trained_range_is_warned_about(tmp_path, checkpoints, caplog):
    caplog.set_level(logging.INFO, logger="tdpr")
    src = tmp_path / "wide.wav"
    sf.write(src, lowpassed(6.0, 6000.0), RATE_IN, subtype="PCM_16")
    args = ["enhance", str(src), str(tmp_path / "o.wav"), "--model", str(checkpoints["seanet"])]
    assert main([*args, "--phase", "griffinlim", "--band", "hf", "--iterations", "2"]) == 0
    warned = [r.message for r in caplog.records if r.levelno == logging.WARNING]
    assert any("outside the 2.5-4.0 kHz the models were trained for" in m for m in warned)
    assert main([*args, "--phase", "vocoder"]) == 2  # TD-PR needs --vocoder
    assert main([*args, "--phase", "pghi", "--cutoff", "9000"]) == 2
