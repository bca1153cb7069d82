"""Manifests: one reader and one writer for every stage's clip lists."""

from __future__ import annotations

import pandas as pd
import pytest

from tdpr.data.manifest import (
    clip_paths,
    read_frame,
    read_manifest,
    relative_path,
    write_manifest,
)


def test_round_trip_keeps_columns_ids_and_relative_paths(tmp_path):
    frame = pd.DataFrame(
        {"clip_id": ["007", "b"], "path": ["a/007.wav", "b.wav"], "order": [8, None]}
    )
    write_manifest(frame, tmp_path / "sub" / "m.csv")
    back = read_frame(tmp_path / "sub" / "m.csv")
    assert list(back.columns) == ["clip_id", "path", "order"]
    assert list(back["clip_id"]) == ["007", "b"]  # ids stay strings: no 7
    assert read_manifest(tmp_path / "sub" / "m.csv") == {
        "007": tmp_path / "sub" / "a/007.wav",
        "b": tmp_path / "sub" / "b.wav",
    }
    assert clip_paths(tmp_path / "sub" / "m.csv")[0] == tmp_path / "sub" / "a/007.wav"
    assert not [p for p in (tmp_path / "sub").iterdir() if p.name.startswith(".")]


def test_relative_paths_are_relative_to_the_manifest_folder(tmp_path):
    target = tmp_path / "results" / "x" / "c.wav"
    assert relative_path(target, tmp_path / "results" / "m.csv") == "x/c.wav"
    assert relative_path(target, tmp_path / "other" / "m.csv") == "../results/x/c.wav"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"clip_id": ["a"]}, "lacks column"),
        ({"clip_id": ["a", "a"], "path": ["1", "2"]}, "more than once"),
        ({"clip_id": ["../x"], "path": ["1"]}, "file name"),
    ],
)
def test_bad_manifests_are_refused_with_the_reason(tmp_path, rows, message):
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(ValueError, match=message):
        read_manifest(tmp_path / "m.csv")


def test_missing_and_empty_manifests(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest not found"):
        read_manifest(tmp_path / "nope.csv")
    pd.DataFrame({"clip_id": [], "path": []}).to_csv(tmp_path / "e.csv", index=False)
    assert read_manifest(tmp_path / "e.csv") == {}
    with pytest.raises(ValueError, match="lists no clips"):
        clip_paths(tmp_path / "e.csv")
    with pytest.raises(ValueError, match="needs the column"):
        write_manifest(pd.DataFrame({"clip_id": ["a"]}), tmp_path / "w.csv")
    assert not (tmp_path / "w.csv").exists()
