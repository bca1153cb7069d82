"""Degraded test sets: every clip low-passed at one fixed cutoff (reference spec A2).

Per clip, the filter type and order are drawn from a generator seeded by ``(seed, cutoff,
crc32(clip_id))``, so a clip's degradation depends on nothing else (not on the order of the
manifest, the other clips, the machine or Python's hash seed), and the test set is byte-identical
on every rerun. The draws are written to the test-set manifest next to the degraded clips.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tdpr.audio import read_audio, to_mono, write_pcm16
from tdpr.data.manifest import read_frame, relative_path, write_manifest
from tdpr.dsp.filters import FILTER_TYPES, Degradation, apply_degradation, sample_degradation

logger = logging.getLogger(__name__)

TESTSET_COLUMNS = ("clip_id", "path", "cutoff_hz", "ftype", "order", "seed")


def stable_hash(text: str) -> int:
    """A hash of ``text`` that is the same in every process and on every machine (CRC-32)."""
    return zlib.crc32(text.encode("utf-8"))


def clip_degradation(
    clip_id: str,
    cutoff_hz: float,
    seed: int,
    types: Sequence[str] = FILTER_TYPES,
    order_range: tuple[int, int] = (6, 10),
) -> Degradation:
    """The degradation of one test clip: type and order drawn from ``(seed, cutoff, clip_id)``."""
    if int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    entropy = [int(seed), int(cutoff_hz), stable_hash(clip_id)]
    rng = np.random.default_rng(np.random.SeedSequence(entropy))
    # A one-point cutoff range keeps the draw identical to the training sampler's stream.
    return sample_degradation(rng, (cutoff_hz, cutoff_hz), tuple(types), order_range)


def degrade_clip(source: Path, target: Path, degradation: Degradation) -> None:
    """Read ``source`` (mixed to mono), low-pass it at its own rate, write 16-bit PCM ``target``."""
    audio, rate = read_audio(source)
    try:
        degraded = apply_degradation(to_mono(audio), degradation, rate)
    except ValueError as err:
        raise ValueError(f"cannot degrade {source}: {err}") from err
    write_pcm16(target, degraded, rate)


def make_testset(
    clips_manifest: str | os.PathLike,
    out_dir: str | os.PathLike,
    out_manifest: str | os.PathLike,
    cutoff_hz: float,
    seed: int,
    types: Sequence[str] = FILTER_TYPES,
    order_range: tuple[int, int] = (6, 10),
) -> pd.DataFrame:
    """Low-pass every clip of a manifest at ``cutoff_hz`` with a per-clip random filter.

    Args:
        clips_manifest: CSV with at least ``clip_id`` and ``path`` (a WAV path relative to the
            manifest's directory); 16-kHz mono 16-bit clips in this project.
        out_dir: receives ``<clip_id>.wav`` (16-bit PCM, same rate and length as the clip).
        out_manifest: the test-set manifest CSV, written last and atomically, so it exists only
            when every clip was written.
        cutoff_hz: the cutoff of every clip, in Hz.
        seed: non-negative integer; with the cutoff and clip id it fixes each clip's draw.
        types: filter types drawn from, uniformly.
        order_range: IIR orders drawn from, uniformly (inclusive).

    Returns:
        The manifest: columns :data:`TESTSET_COLUMNS`; ``order`` is empty for subsampling/stft.
    """
    clips_manifest, out_dir, out_manifest = Path(clips_manifest), Path(out_dir), Path(out_manifest)
    clips = read_frame(clips_manifest)
    Degradation("stft", cutoff_hz)  # a bad cutoff fails before any clip is read
    logger.info(
        "degrading %d clips at %g Hz (seed %d) into %s", len(clips), cutoff_hz, seed, out_dir
    )
    records = []
    for clip_id, rel in zip(clips["clip_id"], clips["path"], strict=True):
        degradation = clip_degradation(clip_id, cutoff_hz, seed, types, order_range)
        target = out_dir / f"{clip_id}.wav"
        degrade_clip(clips_manifest.parent / rel, target, degradation)
        logger.debug("%s: %s order %s", clip_id, degradation.ftype, degradation.order)
        path = relative_path(target, out_manifest)
        records.append((clip_id, path, cutoff_hz, degradation.ftype, degradation.order, seed))
    frame = pd.DataFrame.from_records(records, columns=list(TESTSET_COLUMNS))
    frame["cutoff_hz"] = frame["cutoff_hz"].astype(float)
    frame["order"] = frame["order"].astype("Int64")  # empty, not NaN-float, for non-IIR types
    write_manifest(frame, out_manifest)
    logger.info("wrote %d degraded clips and %s", len(frame), out_manifest)
    return frame
