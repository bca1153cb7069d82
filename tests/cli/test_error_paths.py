"""The CLI's error branches: each gives its own one-line message, exit status 2, and leaves
no output behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tdpr.cli import main


def wav(path: Path, seconds: float = 0.5) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * 16_000)) / 16_000
    sf.write(path, 0.3 * np.sin(2 * np.pi * 440 * t), 16_000, subtype="PCM_16")
    return path


def setup(tmp: Path) -> None:
    """What the cases point at: a file, two folders, an empty folder, a kit without configs."""
    wav(tmp / "ref.wav")
    wav(tmp / "refs" / "a.wav")
    wav(tmp / "ests" / "b.wav")
    (tmp / "empty").mkdir()
    (tmp / "blank").mkdir()
    (tmp / "blank" / "x.csv").write_text("listener,test,trial,condition,rating\n")  # no rows
    (tmp / "odd").mkdir()
    (tmp / "odd" / "x.csv").write_text("session,page\n1,2\n")
    (tmp / "kit").mkdir()
    (tmp / "webmushra").mkdir()
    (tmp / "config.yaml").write_text("models: {seanet: {}}\n")
    (tmp / "clips.csv").write_text("clip_id,path\n")


CASES = {
    "ratings: missing path": (["ratings", "{t}/nope"], "no such file or folder: {t}/nope", "out"),
    "ratings: no result files": (["ratings", "{t}/empty"], "no result files", "out"),
    "ratings: no choices": (["ratings", "{t}/blank"], "no AB choices and no MOS ratings", "out"),
    "ratings: unknown layout": (["ratings", "{t}/odd"], "match no known ratings layout", "out"),
    "metrics: file and folder": (["metrics", "{t}/ref.wav", "{t}/refs"], "both be files", None),
    "metrics: missing": (
        ["metrics", "{t}/nope.wav", "{t}/ref.wav"], "no such file or folder", None),
    "metrics: unmatched": (["metrics", "{t}/refs", "{t}/ests"], "files not in both folders", None),
    "metrics: empty folder": (["metrics", "{t}/empty", "{t}/empty"], "no audio files in", None),
    "metrics: bad n_fft": (
        ["metrics", "{t}/ref.wav", "{t}/ref.wav", "--n-fft", "1"], "need n_fft >= 2", None),
    "train: missing manifest": (
        ["train", "--config", "{t}/config.yaml", "--model", "seanet", "--out", "{t}/out",
         "--train-manifest", "{t}/nope.csv", "--valid-manifest", "{t}/clips.csv"],
        "no such file: {t}/nope.csv", "out"),
    "train: --nproc 0": (
        ["train", "--config", "{t}/config.yaml", "--model", "seanet", "--out", "{t}/out",
         "--train-manifest", "{t}/clips.csv", "--valid-manifest", "{t}/clips.csv", "--nproc", "0"],
        "--nproc and --threads must be >= 1", "out"),
    "train: --workers -1": (
        ["train", "--config", "{t}/config.yaml", "--model", "seanet", "--out", "{t}/out",
         "--train-manifest", "{t}/clips.csv", "--valid-manifest", "{t}/clips.csv",
         "--workers", "-1"],
        "--workers must be >= 0", "out"),
    "listen: not webMUSHRA": (
        ["listen", "{t}/kit", "--webmushra", "{t}/webmushra"], "is not a webMUSHRA folder",
        "kit/results"),
    "enhance: unknown device": (
        ["enhance", "{t}/ref.wav", "{t}/out.wav", "--model", "noisefill", "--device", "nonsense"],
        "unknown --device 'nonsense'", "out.wav"),
    "enhance: folder into a file": (
        ["enhance", "{t}/refs", "{t}/ref.wav", "--model", "noisefill"],
        "is a folder, so output {t}/ref.wav must be one too", None),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_error_branch(tmp_path, capsys, case):
    setup(tmp_path)
    args, message, output = CASES[case]
    args = [a.format(t=tmp_path) for a in args]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main(args) == 2
    err = capsys.readouterr().err
    command = args[0]
    assert err.startswith(f"tdpr {command}: error: ") and err.count("\n") == 1, err
    assert message.format(t=tmp_path) in err
    if output is not None:
        assert not (tmp_path / output).exists()
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
