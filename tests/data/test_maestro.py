"""MAESTRO metadata and dataset access: the real v3 metadata, zips, directories, unsafe paths."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import SHARED, zip_dataset

from tdpr.data.maestro import COLUMNS, MaestroError, MaestroSource, read_metadata

REAL = SHARED / "data" / "maestro-v3.0.0"


@pytest.mark.skipif(not REAL.exists(), reason="../shared/data/maestro-v3.0.0 is absent")
@pytest.mark.parametrize("name", ["maestro-v3.0.0.csv", "maestro-v3.0.0.json"])
def test_real_metadata_has_official_split_sizes(name: str, tmp_path: Path) -> None:
    src = tmp_path / "maestro-v3.0.0"
    src.mkdir()
    shutil.copy(REAL / name, src / name)
    meta = read_metadata(src)
    assert list(meta.columns) == list(COLUMNS)
    assert meta["split"].value_counts().to_dict() == {"train": 962, "validation": 137, "test": 177}
    assert len(meta) == 1276
    assert meta["duration"].sum() / 3600 == pytest.approx(198.65, abs=0.01)


@pytest.mark.skipif(not REAL.exists(), reason="../shared/data/maestro-v3.0.0 is absent")
def test_real_metadata_csv_and_json_agree() -> None:
    csv = read_metadata(REAL / "maestro-v3.0.0.csv")
    json = read_metadata(REAL / "maestro-v3.0.0.json")
    # The official CSV quotes a few titles ('"La Campanella"') that the JSON does not.
    columns = [c for c in csv.columns if c != "canonical_title"]
    pd.testing.assert_frame_equal(csv[columns], json[columns])
    a, b = csv["canonical_title"], json["canonical_title"]
    assert ((a == b) | (a.str.strip('"') == b)).all()


def test_zip_and_directory_give_same_metadata_and_audio(small_dataset: Path, tmp_path) -> None:
    archive = zip_dataset(small_dataset, tmp_path / "maestro.zip")
    with MaestroSource(archive) as zsrc, MaestroSource(small_dataset) as dsrc:
        pd.testing.assert_frame_equal(zsrc.metadata(), dsrc.metadata())
        name = dsrc.metadata()["audio_filename"][0]
        with zsrc.open(name) as a, dsrc.open(name) as b:
            assert a.read() == b.read()


@pytest.mark.parametrize("bad", ["../evil.wav", "/etc/passwd", "maestro-v3.0.0/../../x.wav"])
def test_zip_with_unsafe_member_is_refused(small_dataset: Path, tmp_path: Path, bad: str) -> None:
    archive = zip_dataset(small_dataset, tmp_path / "maestro.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(bad, b"payload")
    with pytest.raises(MaestroError, match="unsafe path"):
        MaestroSource(archive)


def test_metadata_with_traversal_path_is_refused(small_dataset: Path) -> None:
    meta = pd.read_csv(small_dataset / "maestro-v3.0.0.csv")
    meta.loc[0, "audio_filename"] = "../outside.wav"
    meta.to_csv(small_dataset / "maestro-v3.0.0.csv", index=False)
    with pytest.raises(MaestroError, match="unsafe path"):
        read_metadata(small_dataset)


def test_missing_column_and_bad_split_are_named(small_dataset: Path) -> None:
    csv = small_dataset / "maestro-v3.0.0.csv"
    meta = pd.read_csv(csv)
    meta.drop(columns="duration").to_csv(csv, index=False)
    with pytest.raises(MaestroError, match="duration"):
        read_metadata(small_dataset)
    meta.loc[0, "split"] = "holdout"
    meta.to_csv(csv, index=False)
    with pytest.raises(MaestroError, match="holdout"):
        read_metadata(small_dataset)


def test_missing_dataset_and_missing_member(tmp_path: Path, small_dataset: Path) -> None:
    with pytest.raises(MaestroError, match="not found"):
        MaestroSource(tmp_path / "nowhere.zip")
    with (
        MaestroSource(small_dataset) as src,
        pytest.raises(MaestroError, match="not found"),
        src.open("2018/missing.wav"),
    ):
        pass
