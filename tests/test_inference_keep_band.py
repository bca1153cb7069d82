"""Test-set inference steps that need no model: the given band put back into a system's outputs."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import piano_like

from tdpr.audio import write_pcm16
from tdpr.dsp.crossover import keep_band
from tdpr.dsp.filters import Degradation, apply_degradation
from tdpr.inference import keep_band_testset
from tdpr.metrics import lsd_hf_lf

RATE, CUTOFF = 16_000, 3000.0


@pytest.fixture
def material(tmp_path):
    """Two degraded clips, and 'outputs' that are the clean clips with the band below the
    cutoff ruined (scaled by 0.3 and given noise) and the band above it right."""
    rng = np.random.default_rng(0)
    rows_in, rows_out, clean = ["clip_id,path"], ["clip_id,path"], {}
    for clip in ("a", "b"):
        y = piano_like(2.0, RATE, 1, seed=ord(clip))[:, 0].astype(np.float64)
        x = apply_degradation(y, Degradation("butter", CUTOFF, 8), RATE)
        out = y - 0.7 * x + 0.01 * rng.standard_normal(len(y))
        write_pcm16(tmp_path / "in" / f"{clip}.wav", x, RATE)
        write_pcm16(tmp_path / "out" / f"{clip}.wav", out, RATE)
        rows_in.append(f"{clip},in/{clip}.wav")
        rows_out.append(f"{clip},out/{clip}.wav")
        clean[clip] = y
    (tmp_path / "in.csv").write_text("\n".join(rows_in) + "\n")
    (tmp_path / "out.csv").write_text("\n".join(rows_out) + "\n")
    return tmp_path, clean


def test_keep_band_testset_takes_the_input_below_the_cutoff_and_the_output_above(material):
    root, clean = material
    table = keep_band_testset(root / "in.csv", root / "out.csv", root / "k.csv", root / "k", CUTOFF)
    assert list(table["clip_id"]) == ["a", "b"]
    for clip, y in clean.items():
        kept, rate = sf.read(root / "k" / f"{clip}.wav", dtype="float64")
        given, _ = sf.read(root / "in" / f"{clip}.wav", dtype="float64")
        out, _ = sf.read(root / "out" / f"{clip}.wav", dtype="float64")
        assert rate == RATE and len(kept) == len(y)
        ref = torch.from_numpy(y)
        hf_kept, lf_kept = lsd_hf_lf(ref, torch.from_numpy(kept), CUTOFF)
        hf_out, lf_out = lsd_hf_lf(ref, torch.from_numpy(out), CUTOFF)
        _, lf_given = lsd_hf_lf(ref, torch.from_numpy(given), CUTOFF)
        # the crossover of this clip's own input and output, to 16-bit rounding
        mix = keep_band(torch.from_numpy(given), torch.from_numpy(out), CUTOFF).numpy()
        np.testing.assert_allclose(kept, mix, atol=1.5 / 32768)
        # below the cutoff near the input's (the ruined output's LF is far worse); above, the
        # output's
        assert float(lf_kept) < float(lf_given) + 0.1 < float(lf_out) - 1.0
        assert float(hf_kept) == pytest.approx(float(hf_out), abs=0.05)


def test_keep_band_testset_refuses_clips_that_do_not_pair(material):
    root, _ = material
    (root / "other.csv").write_text("clip_id,path\nz,in/a.wav\n")
    with pytest.raises(ValueError, match="clip a of .* is not in"):
        keep_band_testset(root / "other.csv", root / "out.csv", root / "k.csv", root / "k", 3000)
    assert not (root / "k.csv").exists()
