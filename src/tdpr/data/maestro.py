"""MAESTRO v3 metadata and recordings, read from the official zip or an unpacked directory.

The zip is 101 GB and unpacks to about 120 GB, so recordings are read straight out of it: a
member is a seekable stream that soundfile decodes without touching the disk. An unpacked copy
(common on clusters) is used in place, without copying. The embedded demo data has the same
layout, so it goes through the same reader.

Layout (both forms): ``maestro-v3.0.0.csv`` (and ``.json``) at the root, recordings at
``<year>/<name>.wav``; in the official zip everything sits under a ``maestro-v3.0.0/`` prefix.
"""

from __future__ import annotations

import io
import json
import logging
import os
import posixpath
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import pandas as pd

logger = logging.getLogger(__name__)

METADATA_NAME = "maestro-v3.0.0.csv"
#: The columns of MAESTRO v3's metadata, in file order.
COLUMNS = (
    "canonical_composer",
    "canonical_title",
    "split",
    "year",
    "midi_filename",
    "audio_filename",
    "duration",
)
SPLITS = ("train", "validation", "test")


class MaestroError(ValueError):
    """The dataset or its metadata cannot be used as it is."""


def check_member_name(name: str) -> str:
    """Return ``name`` if it is a safe relative POSIX path, else raise :class:`MaestroError`.

    Zip members and metadata paths are refused when absolute, drive-qualified or containing
    ``..``: reading them could escape the dataset root (the "zip slip" problem).
    """
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise MaestroError(f"refusing unsafe path {name!r}: absolute or contains '..'")
    return name


def parse_metadata(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Check a metadata table's columns, splits and paths; return it with clean dtypes."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise MaestroError(f"{origin}: metadata lacks columns {missing}")
    bad = sorted(set(frame["split"]) - set(SPLITS))
    if bad:
        raise MaestroError(f"{origin}: unknown split values {bad}; expected {list(SPLITS)}")
    for name in frame["audio_filename"]:
        check_member_name(name)
    if frame["audio_filename"].duplicated().any():
        raise MaestroError(f"{origin}: duplicate audio_filename entries")
    frame = frame.loc[:, list(COLUMNS)].copy()
    frame["year"] = frame["year"].astype(int)
    frame["duration"] = frame["duration"].astype(float)
    return frame.reset_index(drop=True)


def _read_table(stream: BinaryIO, name: str) -> pd.DataFrame:
    if name.endswith(".json"):
        # MAESTRO's JSON is column-oriented: {column: {row index: value}}.
        columns = json.load(stream)
        frame = pd.DataFrame({k: pd.Series(v) for k, v in columns.items()})
        frame.index = frame.index.astype(int)
        return frame.sort_index()
    return pd.read_csv(stream)


class MaestroSource:
    """Access to a MAESTRO-shaped dataset stored as a zip file or a directory.

    Args:
        location: the zip file, the dataset directory, or the metadata CSV/JSON inside a directory.
    """

    def __init__(self, location: str | os.PathLike) -> None:
        path = Path(location)
        if not path.exists():
            raise MaestroError(f"MAESTRO data not found at {path}")
        self.location = path
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        if path.is_file() and zipfile.is_zipfile(path):
            self._zip = zipfile.ZipFile(path)
            self._prefix, self._metadata_name = self._find_zip_metadata()
        elif path.is_file():
            self._root, self._metadata_name = path.parent, path.name
        else:
            self._root, self._metadata_name = path, self._find_dir_metadata(path)

    def _find_zip_metadata(self) -> tuple[str, str]:
        assert self._zip is not None
        names = self._zip.namelist()
        for name in names:
            check_member_name(name)
        for wanted in (METADATA_NAME, METADATA_NAME.replace(".csv", ".json")):
            hits = sorted((n for n in names if posixpath.basename(n) == wanted), key=len)
            if hits:
                prefix = posixpath.dirname(hits[0])
                return (prefix + "/" if prefix else ""), wanted
        raise MaestroError(f"{self.location}: no {METADATA_NAME} inside the zip")

    @staticmethod
    def _find_dir_metadata(root: Path) -> str:
        for wanted in (METADATA_NAME, METADATA_NAME.replace(".csv", ".json")):
            if (root / wanted).is_file():
                return wanted
        raise MaestroError(f"{root}: no {METADATA_NAME} in this directory")

    @contextmanager
    def open(self, relative: str) -> Iterator[BinaryIO]:
        """Open a file of the dataset (a path relative to its root) as a binary stream."""
        check_member_name(relative)
        if self._zip is not None:
            try:
                with self._zip.open(self._prefix + relative) as member:
                    yield member
            except KeyError as err:
                raise MaestroError(f"{self.location}: no member {relative!r}") from err
            return
        path = self._root / relative
        if not path.is_file():
            raise MaestroError(f"recording not found: {path}")
        with open(path, "rb") as stream:
            yield stream

    def metadata(self) -> pd.DataFrame:
        """The metadata table (columns :data:`COLUMNS`), checked."""
        with self.open(self._metadata_name) as stream:
            data = io.BytesIO(stream.read())
        return parse_metadata(_read_table(data, self._metadata_name), str(self.location))

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> MaestroSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_metadata(location: str | os.PathLike) -> pd.DataFrame:
    """Read and check MAESTRO metadata from a zip, a directory or a CSV/JSON file."""
    with MaestroSource(location) as source:
        return source.metadata()
