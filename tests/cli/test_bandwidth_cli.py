"""The ``tdpr bandwidth`` command: text and JSON output with the confidence, "no cutoff found",
stereo files, one-line errors."""

import json

import numpy as np
import soundfile as sf

from tdpr.audio import write_pcm16
from tdpr.cli import main
from tdpr.dsp.filters import lowpass

FS = 16000


def white(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    return 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * FS))


def shallow(seconds: float = 2.0) -> np.ndarray:
    """A Butterworth edge only 40 dB above a white floor: read, but with low confidence."""
    floor = 10 ** (-40 / 20) * white(seconds, seed=3)
    return lowpass(white(seconds), FS, "butter", 3000, 8) + floor


def test_text_output_has_cutoff_confidence_and_model(tmp_path, capsys):
    write_pcm16(tmp_path / "low.wav", lowpass(white(), FS, "cheby2", 3000, 8), FS)
    write_pcm16(tmp_path / "full.wav", white(seed=1), FS)
    write_pcm16(tmp_path / "shallow.wav", shallow(), FS)
    files = [str(tmp_path / name) for name in ("low.wav", "full.wav", "shallow.wav")]
    assert main(["bandwidth", *files]) == 0
    low, full, doubtful = (line.split("\t") for line in capsys.readouterr().out.splitlines())
    assert low[0] == files[0] and abs(float(low[1]) - 3000) <= 150
    assert float(low[2]) >= 0.5 and low[3] == "cheby2 8" and len(low) == 4
    assert full[1:2] == ["none"] and full[3] == "no cutoff found"
    assert float(doubtful[2]) < 0.5 and doubtful[-1] == "low confidence"
    assert main(["bandwidth", "--nyquist", files[1]]) == 0
    assert capsys.readouterr().out.split("\t")[1] == "8000"


def test_json_carries_the_confidence(tmp_path, capsys):
    write_pcm16(tmp_path / "low.wav", lowpass(white(), FS, "butter", 3000, 8), FS)
    write_pcm16(tmp_path / "full.wav", white(seed=1), FS)
    write_pcm16(tmp_path / "shallow.wav", shallow(), FS)
    files = [str(tmp_path / name) for name in ("low.wav", "full.wav", "shallow.wav")]
    assert main(["bandwidth", "--json", *files]) == 0
    low, full, doubtful = json.loads(capsys.readouterr().out)["files"]
    keys = {"file", "sample_rate", "cutoff_hz", "confidence", "low_confidence", "filter", "order"}
    assert set(low) == keys and low["sample_rate"] == FS
    assert abs(low["cutoff_hz"] - 3000) <= 150 and low["filter"] == "butter"
    assert 0.5 <= low["confidence"] <= 1 and low["low_confidence"] is False
    assert full["cutoff_hz"] is None and full["filter"] is None and full["order"] is None
    assert doubtful["confidence"] < 0.5 and doubtful["low_confidence"] is True
    assert doubtful["cutoff_hz"] is not None
    assert main(["bandwidth", "--json", "--nyquist", files[1]]) == 0
    assert json.loads(capsys.readouterr().out)["files"][0]["cutoff_hz"] == 8000


def test_stereo_is_mixed_to_mono_at_its_own_rate(tmp_path, capsys):
    rate = 22050
    x = 0.1 * np.random.default_rng(2).standard_normal(2 * rate)
    left = lowpass(x, rate, "cheby1", 5000, 8)
    sf.write(tmp_path / "st.wav", np.stack([left, left], axis=1), rate, subtype="PCM_16")
    assert main(["bandwidth", "--json", str(tmp_path / "st.wav")]) == 0
    row = json.loads(capsys.readouterr().out)["files"][0]
    assert row["sample_rate"] == rate and abs(row["cutoff_hz"] - 5000) <= 150


def test_unreadable_and_missing_files_fail_in_one_line(tmp_path, capsys):
    (tmp_path / "junk.wav").write_bytes(b"not audio at all")
    assert main(["bandwidth", str(tmp_path / "junk.wav")]) == 2
    err = capsys.readouterr().err
    assert "junk.wav" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["bandwidth", str(tmp_path / "nothing.wav")]) == 2
    assert "not found" in capsys.readouterr().err
