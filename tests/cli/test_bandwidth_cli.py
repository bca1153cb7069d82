"""The ``tdpr bandwidth`` command: text and JSON output, stereo files, one-line errors."""

import json

import numpy as np
import soundfile as sf

from tdpr.audio import write_pcm16
from tdpr.cli import main
from tdpr.dsp.filters import lowpass

FS = 16000


def white(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    return 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * FS))


def test_text_and_json_output(tmp_path, capsys):
    write_pcm16(tmp_path / "low.wav", lowpass(white(), FS, "butter", 3000, 8), FS)
    write_pcm16(tmp_path / "full.wav", white(seed=1), FS)
    files = [str(tmp_path / "low.wav"), str(tmp_path / "full.wav")]
    assert main(["bandwidth", *files]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == files
    assert abs(float(lines[0].split("\t")[1]) - 3000) <= 150
    assert float(lines[1].split("\t")[1]) == 8000
    assert main(["bandwidth", "--json", *files]) == 0
    rows = json.loads(capsys.readouterr().out)["files"]
    assert [r["sample_rate"] for r in rows] == [FS, FS]
    assert abs(rows[0]["cutoff_hz"] - 3000) <= 150


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
