"""Baselines through the test-set inference of the workflow: the same path as the TD-CNNs."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from material import degraded, train_spectrum
from rendered import needs_fluidsynth

from tdpr.audio import write_pcm16
from tdpr.baselines import Baseline
from tdpr.baselines.noisefill import NoiseFill
from tdpr.baselines.spectrum import write_spectrum
from tdpr.inference import enhance_testset, load_system

pytestmark = [needs_fluidsynth, pytest.mark.usefixtures("one_thread")]


@pytest.fixture
def testset(tmp_path):
    x = degraded(3000)
    for clip, part in (("a", x[: 3 * 16000]), ("b", x[3 * 16000 : 6 * 16000])):
        write_pcm16(tmp_path / "in" / f"{clip}.wav", part, 16000)
    (tmp_path / "in.csv").write_text("clip_id,path\na,in/a.wav\nb,in/b.wav\n")
    return tmp_path / "in.csv"


def test_enhance_testset_runs_a_baseline_seeded_per_clip(tmp_path, testset):
    spectrum = write_spectrum(train_spectrum(), tmp_path / "spectrum.json")
    kwargs = {"chunk_seconds": 1.0, "context_seconds": 0.25, "cutoff_hz": 3000.0, "seed": 5}
    out = enhance_testset("noisefill", testset, tmp_path / "o.csv", tmp_path / "o",
                          spectrum_path=spectrum, **kwargs)  # fmt: skip
    assert list(out["clip_id"]) == ["a", "b"]
    got, rate = sf.read(tmp_path / "o" / "a.wav", dtype="float32")
    assert rate == 16000 and len(got) == 3 * 16000
    # clip a draws with seed 5 + crc32("a"): the model's own output, chunked the same way
    from tdpr.enhance import Enhancer

    model = NoiseFill(train_spectrum(), seed=5 + zlib.crc32(b"a"))
    x, _ = sf.read(tmp_path / "in" / "a.wav", dtype="float32")
    want = Enhancer(model, cutoff_hz=3000.0, chunk_seconds=1.0, context_seconds=0.25).enhance(x)
    np.testing.assert_allclose(got, np.clip(want, -1, 1), atol=1.01 / 32768)
    again = enhance_testset("noisefill", testset, tmp_path / "p.csv", tmp_path / "p",
                            spectrum_path=spectrum, **kwargs)  # fmt: skip
    assert len(again) == 2
    for clip in ("a", "b"):
        assert (tmp_path / "p" / f"{clip}.wav").read_bytes() == (
            tmp_path / "o" / f"{clip}.wav"
        ).read_bytes()
    # the two clips draw different noise: their seeds differ
    assert pd.read_csv(tmp_path / "o.csv")["path"].tolist() == ["o/a.wav", "o/b.wav"]


def test_load_system_tells_names_from_files(tmp_path):
    assert isinstance(load_system("replicate"), Baseline)
    with pytest.raises(ValueError, match="for the baselines"):
        load_system(tmp_path / "model.pt", spectrum_path=tmp_path / "s.json")
    with pytest.raises(ValueError, match="needs the input's bandwidth"):
        from tdpr.enhance import Enhancer

        Enhancer(load_system("noisefill")).enhance(np.zeros(4000, dtype=np.float32))
    assert torch.is_tensor(load_system("noisefill")(torch.zeros(1, 1, 4000), cutoff_hz=3000))
