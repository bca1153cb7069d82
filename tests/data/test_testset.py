"""Degraded test sets: deterministic per-clip draws, byte-identical reruns, a truthful manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from tdpr.audio import read_audio
from tdpr.data.testset import TESTSET_COLUMNS, clip_degradation, make_testset
from tdpr.dsp.filters import FILTER_TYPES, IIR_TYPES, Degradation, apply_degradation

RATE = 16_000
CLIP_IDS = [f"piece_{i:02d}_c000" for i in range(8)]


def write_clips(root: Path, clip_ids: list[str]) -> Path:
    """Write 1-s 16-bit mono noise-plus-tone clips under ``root/wav`` and a manifest."""
    (root / "wav").mkdir(parents=True)
    t = np.arange(RATE) / RATE
    for i, clip_id in enumerate(clip_ids):
        rng = np.random.default_rng(i)
        audio = 0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t) + 0.05 * rng.standard_normal(RATE)
        sf.write(root / "wav" / f"{clip_id}.wav", audio, RATE, subtype="PCM_16")
    frame = pd.DataFrame({"clip_id": clip_ids, "path": [f"wav/{c}.wav" for c in clip_ids]})
    frame.to_csv(root / "clips.csv", index=False)
    return root / "clips.csv"


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    return write_clips(tmp_path / "clips", CLIP_IDS)


def test_rerun_is_byte_identical(clips, tmp_path):
    runs = []
    for name in ("a", "b", "a"):  # a second place, then the first place again
        out = tmp_path / name
        make_testset(clips, out / "wav", out / "manifest.csv", 3000.0, seed=11)
        runs.append(tree_bytes(out))
    assert len(runs[0]) == len(CLIP_IDS) + 1
    assert runs[0] == runs[1] == runs[2]


def test_manifest_records_what_was_applied(clips, tmp_path):
    out = tmp_path / "test" / "c2500"
    frame = make_testset(clips, out / "wav", out / "manifest.csv", 2500.0, seed=3)
    written = pd.read_csv(out / "manifest.csv", dtype={"clip_id": str})
    assert tuple(written.columns) == TESTSET_COLUMNS
    assert list(written["clip_id"]) == CLIP_IDS == list(frame["clip_id"])
    assert (written["cutoff_hz"] == 2500.0).all() and (written["seed"] == 3).all()
    for row in written.itertuples():
        order = None if pd.isna(row.order) else int(row.order)
        assert (order is None) == (row.ftype not in IIR_TYPES)
        if order is not None:
            assert 6 <= order <= 10
        degraded, rate = read_audio(out / row.path)
        source, _ = read_audio(clips.parent / "wav" / f"{row.clip_id}.wav")
        expected = apply_degradation(source, Degradation(row.ftype, 2500.0, order), rate)
        assert rate == RATE and degraded.shape == source.shape
        # Within one 16-bit step: PCM rounding differs between libsndfile builds.
        np.testing.assert_allclose(degraded, expected, rtol=0, atol=1.01 / 32768)


def test_draws_depend_only_on_seed_cutoff_and_clip_id(tmp_path):
    subset = CLIP_IDS[5:2:-1]  # other clips, other order
    full = make_testset(
        write_clips(tmp_path / "f", CLIP_IDS), tmp_path / "o1", tmp_path / "m1.csv", 3500.0, 5
    )
    part = make_testset(
        write_clips(tmp_path / "p", subset), tmp_path / "o2", tmp_path / "m2.csv", 3500.0, 5
    )
    key = ["clip_id", "ftype", "order"]
    merged = part[key].merge(full[key], on="clip_id", suffixes=("_part", "_full"))
    assert len(merged) == len(subset)
    assert (merged["ftype_part"] == merged["ftype_full"]).all()
    assert merged["order_part"].equals(merged["order_full"])


def test_draws_cover_types_and_change_with_seed():
    ids = [f"clip{i}" for i in range(200)]
    first = [clip_degradation(c, 3000.0, 0) for c in ids]
    assert first == [clip_degradation(c, 3000.0, 0) for c in ids]
    assert {d.ftype for d in first} == set(FILTER_TYPES)
    assert all(d.cutoff_hz == 3000.0 for d in first)
    other = [clip_degradation(c, 3000.0, 1) for c in ids]
    assert sum(a != b for a, b in zip(first, other, strict=True)) > 100
    narrow = [clip_degradation(c, 3000.0, 0, types=("butter",), order_range=(7, 7)) for c in ids]
    assert set(narrow) == {Degradation("butter", 3000.0, 7)}


@pytest.mark.parametrize(
    ("edit", "cutoff", "message"),
    [
        (lambda f: f.drop(columns="path"), 3000.0, "lacks column"),
        (lambda f: pd.concat([f, f.iloc[:1]]), 3000.0, "more than once"),
        (lambda f: f.assign(clip_id=["../escape"] + list(f["clip_id"][1:])), 3000.0, "file name"),
        (lambda f: f, 8000.0, "Nyquist"),
        (lambda f: f, -5.0, "positive"),
    ],
)
def test_bad_input_writes_no_manifest(clips, tmp_path, edit, cutoff, message):
    bad = clips.parent / "bad.csv"  # beside the clips: manifest paths are relative to it
    edit(pd.read_csv(clips)).to_csv(bad, index=False)
    with pytest.raises(ValueError, match=message):
        make_testset(bad, tmp_path / "out", tmp_path / "out.csv", cutoff, seed=0)
    assert not (tmp_path / "out.csv").exists()
