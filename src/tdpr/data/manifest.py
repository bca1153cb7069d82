"""Manifests: the CSV files that list the clips of every stage (clips, test sets, outputs).

A manifest has at least the columns ``clip_id`` and ``path``; a path is relative to the
manifest's own folder, so a results folder can move as a whole. Other columns (the clip's
source recording, a test clip's filter) ride along. Every stage reads and writes them here: the
reader checks the columns, rejects a clip id listed twice or unusable as a file name, and the
writer writes atomically (a manifest exists only once every file it lists does).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from tdpr.fsio import write_text_atomic

REQUIRED = ("clip_id", "path")


def check_clip_id(clip_id: str) -> None:
    """Raise ValueError if ``clip_id`` could not be a file name in an output folder."""
    if not clip_id or clip_id in {".", ".."} or "/" in clip_id or "\\" in clip_id:
        raise ValueError(f"clip id {clip_id!r} cannot be used as a file name")


def read_frame(path: str | os.PathLike, *, allow_empty: bool = True) -> pd.DataFrame:
    """A manifest as a DataFrame (``clip_id`` and ``path`` as strings), checked.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a required column is missing, a clip id is listed twice or is not a usable
            file name, or (``allow_empty=False``) it lists no clips.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"manifest not found: {path}")
    frame = pd.read_csv(path, dtype={"clip_id": str, "path": str}, keep_default_na=False)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"manifest {path} lacks column(s) {', '.join(missing)}")
    if frame.empty and not allow_empty:
        raise ValueError(f"manifest {path} lists no clips")
    duplicated = sorted(set(frame["clip_id"][frame["clip_id"].duplicated()]))
    if duplicated:
        raise ValueError(f"manifest {path} lists clip_id(s) more than once: {duplicated[:5]}")
    for clip_id in frame["clip_id"]:
        check_clip_id(clip_id)
    return frame


def read_manifest(path: str | os.PathLike) -> dict[str, Path]:
    """``{clip_id: path}`` of a manifest, each path joined to the manifest's folder."""
    frame = read_frame(path)
    folder = Path(path).parent
    return {clip: folder / rel for clip, rel in zip(frame["clip_id"], frame["path"], strict=True)}


def clip_paths(path: str | os.PathLike) -> list[Path]:
    """The clip files of a manifest in its row order (at least one)."""
    frame = read_frame(path, allow_empty=False)
    return [Path(path).parent / rel for rel in frame["path"]]


def relative_path(target: str | os.PathLike, manifest: str | os.PathLike) -> str:
    """``target`` relative to the folder of ``manifest``, with forward slashes."""
    rel = os.path.relpath(os.path.abspath(target), os.path.abspath(Path(manifest).parent))
    return Path(rel).as_posix()


def write_manifest(
    frame: pd.DataFrame, path: str | os.PathLike, columns: Sequence[str] | None = None
) -> None:
    """Write a manifest CSV atomically (``columns`` in that order, default: all of them)."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"a manifest needs the column(s) {', '.join(missing)}")
    out = frame if columns is None else frame.loc[:, list(columns)]
    write_text_atomic(path, out.to_csv(index=False, lineterminator="\n"))
