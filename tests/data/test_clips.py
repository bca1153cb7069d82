"""Clipping recordings: counts, lengths, rate, bit depth, manifests, tails, shards, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import write_dataset, zip_dataset

from tdpr.audio import AudioError
from tdpr.data.clips import (
    MANIFEST_COLUMNS,
    ClipSettings,
    clip_shard,
    cut_clips,
    merge_manifests,
    select_shard,
)
from tdpr.data.maestro import MaestroError


@pytest.fixture
def long_recording(tmp_path: Path) -> Path:
    """One 71-s 44.1-kHz stereo test recording in a MAESTRO-shaped tree."""
    root = tmp_path / "maestro"
    write_dataset(root, [{"name": "long", "split": "test", "seconds": 71.0, "title": "Long"}])
    return root


@pytest.mark.parametrize("zipped", [False, True], ids=["directory", "zip"])
def test_71s_stereo_recording_gives_two_30s_clips(long_recording, tmp_path, zipped) -> None:
    dataset = zip_dataset(long_recording, tmp_path / "m.zip") if zipped else long_recording
    out = tmp_path / "clips"
    manifest = clip_shard(dataset, "test", 0, 1, out)

    # 71 s -> clips at 0 s and 30 s; the 11-s tail is dropped.
    assert len(manifest) == 2
    assert list(manifest.columns) == list(MANIFEST_COLUMNS)
    assert manifest["offset_s"].tolist() == [0.0, 30.0]
    assert (manifest["duration_s"] == 30.0).all()
    assert (manifest["split"] == "test").all() and (manifest["title"] == "Long").all()
    assert (manifest["source_file"] == "2018/long.wav").all()
    for path in manifest["path"]:
        info = sf.info(out / path)
        assert (info.samplerate, info.channels, info.frames) == (16000, 1, 480000)
        assert info.subtype == "PCM_16" and info.format == "WAV"
    on_disk = pd.read_csv(out / "manifest.csv")
    assert on_disk["clip_id"].tolist() == manifest["clip_id"].tolist()
    assert sorted(p.name for p in out.glob("*.wav")) == sorted(manifest["path"])


def test_clip_content_is_mono_mean_resampled(long_recording, tmp_path) -> None:
    stereo, rate = sf.read(long_recording / "2018/long.wav", dtype="float32")
    clip_shard(long_recording, "test", 0, 1, tmp_path / "c")
    clip, _ = sf.read(sorted((tmp_path / "c").glob("*c001.wav"))[0], dtype="float32")
    # The second clip starts at 30 s: compare with a plain reference resampling of the mean.
    from scipy.signal import resample_poly

    ref = resample_poly(stereo.mean(axis=1), 160, 441)[480000:960000]
    assert np.max(np.abs(clip - ref)) < 2.0 / 32768  # equal up to 16-bit rounding


def test_silent_clips_are_skipped_but_keep_their_index() -> None:
    settings = ClipSettings(sample_rate=100, clip_seconds=1.0)
    audio = np.concatenate([np.full(100, 0.1), np.zeros(100), np.full(150, 0.1)]).astype("f4")
    clips = cut_clips(audio, settings)
    assert [i for i, _ in clips] == [0, 2]  # the silent second is skipped, the tail dropped
    assert all(len(c) == 100 for _, c in clips)


def test_shards_partition_a_split(small_dataset: Path) -> None:
    from tdpr.data.maestro import read_metadata

    meta = read_metadata(small_dataset)
    shards = [select_shard(meta, "train", k, 2) for k in range(2)]
    names = sorted(n for s in shards for n in s["audio_filename"])
    assert names == sorted(meta.loc[meta.split == "train", "audio_filename"])
    assert all(len(s) == 1 for s in shards)
    assert len(select_shard(meta, "train", 0, 1, limit=1)) == 1
    with pytest.raises(ValueError, match="out of range"):
        select_shard(meta, "train", 2, 2)


def test_merge_rewrites_paths_and_refuses_duplicates(small_dataset: Path, tmp_path) -> None:
    dirs = [tmp_path / "clips" / "train" / f"shard-{k}" for k in range(2)]
    for k, d in enumerate(dirs):
        clip_shard(small_dataset, "train", k, 2, d, ClipSettings(clip_seconds=3.0))
    merged = merge_manifests([d / "manifest.csv" for d in dirs], tmp_path / "clips" / "train.csv")
    assert len(merged) == 3 + 2  # 3-s clips: 9.5 s gives 3, 7.0 s gives 2
    for path in merged["path"]:
        assert (tmp_path / "clips" / path).is_file()
    assert merged["clip_id"].is_monotonic_increasing
    with pytest.raises(MaestroError, match="more than one shard"):
        merge_manifests([dirs[0] / "manifest.csv"] * 2, tmp_path / "dup.csv")


def test_unreadable_audio_names_the_file(small_dataset: Path, tmp_path) -> None:
    (small_dataset / "2018" / "test_a.wav").write_bytes(b"RIFF0000WAVEnot really audio")
    with pytest.raises(AudioError, match="test_a.wav"):
        clip_shard(small_dataset, "test", 0, 1, tmp_path / "out")
    assert not (tmp_path / "out" / "manifest.csv").exists()
