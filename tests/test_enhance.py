"""Chunked enhancement: same as whole-signal processing, seamless joins, clear errors, flat memory.

Measured tolerances (tiny models, float32, CPU):

* no phase repair: chunked and whole-signal outputs differ by at most ~2e-7 (float rounding);
* phase repair with a shift-invariant stand-in vocoder (an FIR filter): ~5e-7;
* phase repair with a tiny random TFGAN: max ~4e-4 on a peak of 0.62, RMS difference 0.05 % of
  the output RMS. Its vocoder output has STFT bins near |V| = 0 whose angle flips under the float
  rounding of inputs that agree to 1e-7, and phase repair gives those bins |Y|. That is a
  property of angle(V), not of the chunking: segments are aligned so that the STFT frames and
  the strides of the whole-signal run coincide with the chunk's.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import piano_like

from tdpr.audio import AudioError, resample
from tdpr.enhance import MIN_SAMPLES, Enhancer, enhance_file, plan_chunks
from tdpr.models import build_model

RATE = 16_000


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_seanet() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("seanet", base_channels=4, strides=(2, 4), latent_dim=8)


class FirVocoder(torch.nn.Module):
    """Stand-in vocoder: a fixed 5-tap filter (shift-invariant, so chunking cannot change it)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("taps", torch.tensor([[[0.1, 0.2, 0.4, 0.2, 0.1]]]))

    def vocode(self, audio: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.conv1d(audio, self.taps, padding=2)


class SegmentOffset(torch.nn.Module):
    """A model that is not shift-invariant: adds half of the segment's first sample everywhere."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.5 * x[..., :1]


def music(seconds: float, seed: int = 0) -> np.ndarray:
    return piano_like(seconds, RATE, channels=1, seed=seed)[:, 0]


def chunked_and_whole(model, vocoder, audio, **chunking):
    whole = Enhancer(model, vocoder, chunk_seconds=len(audio) / RATE + 1).enhance(audio)
    chunked = Enhancer(model, vocoder, **chunking).enhance(audio)
    return chunked, whole


SMALL = {"chunk_seconds": 0.8, "context_seconds": 0.3, "crossfade_seconds": 0.05}


def test_plan_covers_the_signal_with_aligned_segments():
    chunks = plan_chunks(100_000, chunk=16_000, context=3_000, fade=800, align=256)
    assert len(chunks) == 7 and chunks[0].out_start == 0 and chunks[-1].out_end == 100_000
    for a, b in zip(chunks[:-1], chunks[1:], strict=True):
        assert a.out_end - b.out_start == 800  # one cross-fade of overlap
    for c in chunks:
        assert c.seg_start % 256 == 0 and c.seg_start <= c.out_start - 3_000 or c.seg_start == 0
        assert c.seg_end == min(100_000, c.out_end + 3_000)


def test_chunked_equals_whole_without_phase_repair():
    chunked, whole = chunked_and_whole(tiny_seanet(), None, music(4.0), **SMALL)
    np.testing.assert_allclose(chunked, whole, atol=1e-5, rtol=0)


def test_chunked_equals_whole_with_phase_repair():
    chunked, whole = chunked_and_whole(tiny_seanet(), FirVocoder(), music(4.0), **SMALL)
    np.testing.assert_allclose(chunked, whole, atol=1e-4, rtol=0)


def test_chunked_is_close_to_whole_with_a_tiny_tfgan():
    torch.manual_seed(1)
    vocoder = build_model("tfgan", mult=8, n_residual_layers=2)
    chunked, whole = chunked_and_whole(tiny_seanet(), vocoder, music(3.0), **SMALL)
    rms = np.sqrt(np.mean(whole**2))
    assert np.sqrt(np.mean((chunked - whole) ** 2)) < 5e-3 * rms


class IdentityModel(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class RecordingVocoder(FirVocoder):
    """The FIR stand-in, noting the input dtype and the autocast state of every call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[torch.dtype, bool]] = []

    def vocode(self, audio: torch.Tensor) -> torch.Tensor:
        self.calls.append((audio.dtype, torch.is_autocast_enabled("cpu")))
        return super().vocode(audio)


def test_bfloat16_runs_the_td_cnn_in_bf16_and_the_vocoder_in_float32():
    audio, model = music(2.0), tiny_seanet()
    vocoder = RecordingVocoder()
    fast = Enhancer(model, vocoder, dtype="bfloat16").enhance(audio)
    assert vocoder.calls and set(vocoder.calls) == {(torch.float32, False)}
    # The same output as repairing the bf16 TD-CNN output in float32 by hand:
    plain = Enhancer(model, None, dtype="bfloat16").enhance(audio)
    assert not np.array_equal(plain, Enhancer(model, None).enhance(audio))  # bf16 did run
    by_hand = Enhancer(IdentityModel(), FirVocoder()).enhance(plain)
    np.testing.assert_allclose(fast, by_hand, atol=1e-4, rtol=0)


@pytest.mark.parametrize("fade", [0.05, 0.0])
def test_no_step_at_the_joins(fade):
    t = np.arange(3 * RATE) / RATE
    audio = (0.5 * np.sin(2 * np.pi * 97.0 * t)).astype(np.float32)
    enhancer = Enhancer(SegmentOffset(), None, chunk_seconds=0.5, context_seconds=0.1,
                        crossfade_seconds=fade)  # fmt: skip
    slope = np.abs(np.diff(enhancer.enhance(audio)))
    joins = [c.out_start + int(fade * RATE) // 2 for c in enhancer.plan(len(audio))[1:]]
    near = np.zeros(len(slope), dtype=bool)
    for j in joins:
        near[j - 400 : j + 400] = True
    if fade:
        assert slope[near].max() <= 1.05 * slope[~near].max()
    else:  # hard joins: the test above would catch the steps
        assert slope[near].max() > 2 * slope[~near].max()


def write(path: Path, audio: np.ndarray, rate: int = RATE, subtype: str = "PCM_16") -> Path:
    sf.write(path, audio, rate, subtype=subtype)
    return path


def test_file_at_another_rate_per_channel(tmp_path):
    stereo = piano_like(1.5, 44_100, channels=2)
    src = write(tmp_path / "in.flac", stereo, 44_100)
    enhancer = Enhancer(tiny_seanet(), FirVocoder(), **SMALL)
    out = enhance_file(src, tmp_path / "out.wav", enhancer)
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype) == (RATE, 2, "PCM_16")
    assert info.frames == -(-len(stereo) * 160 // 441)
    got, _ = sf.read(out, dtype="float32")
    left = resample(sf.read(src, dtype="float32")[0][:, 0], 44_100, RATE)
    np.testing.assert_allclose(got[:, 0], enhancer.enhance(left), atol=1.01 / 32768)
    assert not np.allclose(got[:, 0], got[:, 1], atol=1e-3)


@pytest.mark.parametrize(
    "case, message",
    [
        ("empty", "no samples"),
        ("nan", "NaN"),
        ("one_sample", f"at least {MIN_SAMPLES} samples"),
        ("not_audio", "not a supported audio format"),
        ("missing", "not found"),
    ],
)
def test_bad_inputs_give_a_clear_error_and_no_output(tmp_path, case, message):
    src = tmp_path / "in.wav"
    if case == "empty":
        write(src, np.zeros(0, dtype=np.float32))
    elif case == "nan":
        audio = music(2.0)
        audio[25_000] = np.nan  # in the second chunk: output has started when it is found
        write(src, audio, subtype="FLOAT")
    elif case == "one_sample":
        write(src, np.zeros(1, dtype=np.float32))
    elif case == "not_audio":
        src.write_text("this is not audio\n")
    out = tmp_path / "out" / "enhanced.wav"
    with pytest.raises(AudioError, match=message):
        enhance_file(src, out, Enhancer(tiny_seanet(), None, **SMALL))
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())  # no temporary left


def test_bad_chunking_is_refused():
    with pytest.raises(ValueError, match="too short"):
        Enhancer(tiny_seanet(), chunk_seconds=0.05)
    with pytest.raises(ValueError, match="non-negative"):
        Enhancer(tiny_seanet(), context_seconds=-1)
    with pytest.raises(ValueError, match="vocode"):
        Enhancer(tiny_seanet(), vocoder=torch.nn.Identity())


def _peak_traced_memory(path: Path, out: Path, enhancer: Enhancer) -> int:
    tracemalloc.start()
    try:
        enhance_file(path, out, enhancer)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _write_sine(path: Path, minutes: int) -> Path:
    n = minutes * 60 * RATE
    with sf.SoundFile(path, "w", RATE, 1, "PCM_16") as sink:
        for start in range(0, n, 10 * RATE):
            idx = np.arange(start, min(n, start + 10 * RATE))
            sink.write((0.3 * np.sin(0.01 * idx)).astype(np.float32))
    return path


def test_memory_does_not_grow_with_the_length(tmp_path):
    # Peak of the memory Python and numpy allocate (tracemalloc) while a 1-min and a 10-min
    # 16-kHz file stream through; the 10-min file alone would take 38 MB as float32.
    torch.manual_seed(0)
    enhancer = Enhancer(build_model("seanet", base_channels=2, strides=(2, 4), latent_dim=2))
    peaks = {}
    for minutes in (1, 10):
        src = _write_sine(tmp_path / f"in{minutes}.wav", minutes)
        peaks[minutes] = _peak_traced_memory(src, tmp_path / f"out{minutes}.wav", enhancer)
        assert sf.info(tmp_path / f"out{minutes}.wav").frames == minutes * 60 * RATE
    assert peaks[10] < 1.2 * peaks[1]  # measured: 6.1 MB and 6.1 MB
    assert peaks[10] < 16e6
