"""``tdpr degrade``: files and folders at their own rate, and no output at all on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tdpr.cli import main
from tdpr.dsp.filters import Degradation, apply_degradation

PCM_STEP = 1.01 / 32768


def tone_noise(rate: int, seconds: float, channels: int, seed: int = 0) -> np.ndarray:
    """A 300-Hz tone plus white noise: ``(T, channels)`` float32."""
    n = int(rate * seconds)
    rng = np.random.default_rng(seed)
    tone = 0.3 * np.sin(2 * np.pi * 300 * np.arange(n) / rate)
    return (tone[:, None] + 0.05 * rng.standard_normal((n, channels))).astype(np.float32)


def write(path: Path, audio: np.ndarray, rate: int, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, rate, subtype=subtype)
    return path


def test_file_at_its_own_rate_per_channel(tmp_path):
    audio = tone_noise(44_100, 0.5, channels=2)
    src = write(tmp_path / "in.wav", audio, 44_100)
    stored, _ = sf.read(src, dtype="float32")
    out = tmp_path / "out" / "low.wav"
    assert main(["degrade", str(src), str(out), "--cutoff", "6000", "--filter", "cheby1"]) == 0
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype) == (44_100, 2, "PCM_16")
    got, _ = sf.read(out, dtype="float32")
    for c in range(2):  # each channel filtered on its own, with the default order 8
        want = apply_degradation(stored[:, c], Degradation("cheby1", 6000.0, 8), 44_100)
        np.testing.assert_allclose(got[:, c], want, rtol=0, atol=PCM_STEP)


def test_folder_random_is_reproducible_per_file(tmp_path, caplog):
    for i in range(3):
        write(tmp_path / "in" / f"clip{i}.wav", tone_noise(16_000, 0.5, 1, seed=i), 16_000)
    (tmp_path / "in" / "notes.txt").write_text("not audio")
    args = ["--cutoff", "3000", "--filter", "random", "--seed", "4"]
    assert main(["degrade", str(tmp_path / "in"), str(tmp_path / "a"), *args]) == 0
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [f"clip{i}.wav" for i in range(3)]
    # One file alone gets the draw it got in the folder.
    single = tmp_path / "b" / "clip1.wav"
    assert main(["degrade", str(tmp_path / "in" / "clip1.wav"), str(single), *args]) == 0
    assert single.read_bytes() == (tmp_path / "a" / "clip1.wav").read_bytes()
    other = ["--cutoff", "3000", "--filter", "random", "--seed", "5"]
    assert main(["degrade", str(tmp_path / "in"), str(tmp_path / "c"), *other]) == 0
    differ = [(tmp_path / d / f"clip{i}.wav").read_bytes() for d in "ac" for i in range(3)]
    assert differ[:3] != differ[3:]


def make_bad(tmp_path: Path, case: str) -> tuple[Path, list[str]]:
    """Input tree and extra arguments for one failure case; one good file always comes first."""
    folder = tmp_path / "in"
    write(folder / "a_good.wav", tone_noise(16_000, 0.5, 1), 16_000)
    args = ["--cutoff", "3000", "--filter", "butter"]
    if case == "unknown filter":
        args[-1] = "cheby3"
    elif case == "cutoff at Nyquist":  # fine for the 16-kHz file, not for the 6-kHz one
        write(folder / "b_low_rate.wav", tone_noise(6_000, 0.5, 1), 6_000)
    elif case == "unreadable":
        (folder / "b_broken.wav").write_bytes(b"RIFF not really a wav file")
    elif case == "non-finite":
        audio = tone_noise(16_000, 0.5, 1)
        audio[100] = np.nan
        write(folder / "b_nan.wav", audio, 16_000, subtype="FLOAT")
    elif case == "too short":
        write(folder / "b_short.wav", tone_noise(16_000, 0.05, 1), 16_000)
        args[-1] = "stft"
    elif case == "empty folder":
        (folder / "a_good.wav").unlink()
    elif case == "bad order":
        args += ["--order", "0"]
    return folder, args


CASES = {
    "unknown filter": "valid types: butter",
    "cutoff at Nyquist": "Nyquist",
    "unreadable": "b_broken.wav",
    "non-finite": "NaN",
    "too short": "at least 1025 samples",
    "empty folder": "no .wav files",
    "bad order": "1..20",
}


@pytest.mark.parametrize("case", CASES)
def test_errors_write_nothing(tmp_path, capsys, case):
    folder, args = make_bad(tmp_path, case)
    out = tmp_path / "out"
    assert main(["degrade", str(folder), str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tdpr degrade: error:") and CASES[case] in err and "\n" not in err
    assert not out.exists()


def test_missing_input_and_file_onto_folder(tmp_path, capsys):
    assert main(["degrade", str(tmp_path / "nope.wav"), str(tmp_path / "o.wav"),
                 "--cutoff", "3000", "--filter", "stft"]) == 2  # fmt: skip
    assert "input not found" in capsys.readouterr().err
    src = write(tmp_path / "x.wav", tone_noise(16_000, 0.2, 1), 16_000)
    (tmp_path / "into").mkdir()
    assert main(["degrade", str(src), str(tmp_path / "into"), "--cutoff", "3000",
                 "--filter", "subsampling"]) == 0  # fmt: skip
    assert sf.info(tmp_path / "into" / "x.wav").frames == sf.info(src).frames


def test_an_os_error_is_one_line_and_exit_status_2(tmp_path, capsys):
    """`tdpr degrade in.wav afile/out.wav`, a path through a regular file: a one-line error
    naming the path, exit status 2, no traceback, no output."""
    src = write(tmp_path / "x.wav", tone_noise(16_000, 0.2, 1), 16_000)
    (tmp_path / "afile").write_text("not a folder")
    target = tmp_path / "afile" / "out.wav"
    args = ["degrade", str(src), str(target), "--cutoff", "3000", "--filter", "butter"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("tdpr degrade: error: ") and err.count("\n") == 1
    assert str(tmp_path / "afile") in err
    assert (tmp_path / "afile").read_text() == "not a folder"
