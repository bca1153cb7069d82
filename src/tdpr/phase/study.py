"""The phase-source study: what each phase estimator does when the magnitude is right.

For every clean test clip ``x`` and each phase source, in each band, the study builds
``iSTFT(|X| · exp(i·φ))`` from the ground truth's own magnitude ``|X|`` and the source's phase
``φ`` and scores it against ``x`` with every metric (:mod:`tdpr.metrics`), plus the consistency
error of the spectrogram it built. A source never sees the true phase except where a real
system knows it: in band ``hf``, below the cutoff (there a real input has, nearly, the true
phase). Iterative sources start from a random phase (seeded per clip) elsewhere; ``vocoder``
takes the phase of the vocoder's re-synthesis of ``x``; ``random`` is the floor. Rows are
tidy metrics (:data:`tdpr.evaluate.COLUMNS`) with model ``reference`` and the variant of the
source and band, so :func:`tdpr.report.tables.extended_table` tabulates them.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch

from tdpr.audio import read_audio, to_mono
from tdpr.data.manifest import read_manifest
from tdpr.dsp.stft import stft
from tdpr.evaluate import COLUMNS
from tdpr.fsio import atomic_path
from tdpr.metrics import compute_all
from tdpr.phase.repair import cut_bin, repair, uniform_phase
from tdpr.registry import PHASE_SOURCES, REFERENCE, variant_key
from tdpr.train.checkpoint import load_model
from tdpr.train.device import resolve_device

logger = logging.getLogger(__name__)


def study_clip_at(
    x: torch.Tensor,
    cutoffs: Sequence[float],
    sources: Sequence[str],
    bands: Sequence[str],
    *,
    sample_rate: int = 16_000,
    vocoder: Any = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    seed: int = 0,
) -> dict[float, list[tuple[str, str, dict[str, float]]]]:
    """``{cutoff: [(source, band, metrics)]}`` of one clean clip ``x`` ``(T,)`` at every cutoff.

    A full-band reconstruction does not depend on the cutoff (no bin is kept, and the random
    start is seeded per clip): it is built once and scored at every cutoff, the same numbers as
    building it per cutoff at a fraction of the cost (Griffin-Lim's iterations dominate the
    study). A ``hf`` reconstruction keeps the true phase below its cutoff: one per cutoff.
    """
    spec = stft(x)
    noise = uniform_phase(spec.shape, seed).to(spec.real.dtype)
    cutoffs = list(dict.fromkeys(float(c) for c in cutoffs))
    out: dict[float, list[tuple[str, str, dict[str, float]]]] = {c: [] for c in cutoffs}
    for band in bands:
        # (the cutoff a reconstruction is built for, the cutoffs it is scored at)
        builds = [(None, cutoffs)] if band == "full" else [(c, [c]) for c in cutoffs]
        for built_for, scored_at in builds:
            init = noise.clone()
            if built_for is not None:
                k = cut_bin(built_for, sample_rate)
                init[:k] = torch.angle(spec[:k])
            for source in sources:
                z, consistency = repair(
                    x, source, band, built_for, sample_rate,
                    vocoder=vocoder, settings=(settings or {}).get(source), init_phase=init,
                    seed=seed,
                )  # fmt: skip
                extra = {"consistency_db": float(consistency)}
                for cutoff in scored_at:
                    values = compute_all(x, z, cutoff, sample_rate, extra=extra)
                    out[cutoff].append((source, band, values))
    return out


def study_clip(
    x: torch.Tensor,
    cutoff_hz: float,
    sources: Sequence[str],
    bands: Sequence[str],
    **kwargs: Any,
) -> list[tuple[str, str, dict[str, float]]]:
    """``[(source, band, metrics)]`` of one clean clip ``x`` ``(T,)`` at one cutoff (see the
    module docstring; keyword arguments as :func:`study_clip_at`)."""
    return study_clip_at(x, [cutoff_hz], sources, bands, **kwargs)[float(cutoff_hz)]


def phase_study(
    reference_manifest: str | os.PathLike,
    out_csvs: Mapping[float, str | os.PathLike],
    sources: Sequence[str],
    bands: Sequence[str],
    *,
    vocoder_path: str | os.PathLike | None = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    seed: int = 0,
    device: str | None = None,
) -> pd.DataFrame:
    """The study over every clip of a manifest at every cutoff of ``out_csvs`` (cutoff in Hz ->
    the tidy CSV of that cutoff's rows, each written atomically); returns all rows.

    ``sources`` may not hold an oracle; ``random`` is always added as the floor.
    """
    oracles = [s for s in sources if PHASE_SOURCES[s].oracle]
    if oracles:
        raise ValueError(f"the study gives sources the true magnitude; {oracles} would be exact")
    sources = list(dict.fromkeys([*sources, "random"]))
    device = resolve_device(device)
    vocoder = None
    if any("vocoder" in PHASE_SOURCES[s].needs for s in sources):
        if vocoder_path is None:
            raise ValueError("the vocoder source needs the vocoder model file")
        vocoder = load_model(vocoder_path, map_location=device)
    outputs = {float(cutoff): path for cutoff, path in out_csvs.items()}
    if not outputs:
        raise ValueError("the study needs at least one cutoff")
    rows: dict[float, list[tuple]] = {cutoff: [] for cutoff in outputs}
    clips = read_manifest(reference_manifest)
    for i, (clip, path) in enumerate(sorted(clips.items()), 1):
        audio, rate = read_audio(path)
        x = torch.from_numpy(to_mono(audio)).to(device)
        clip_seed = seed + zlib.crc32(clip.encode())
        with torch.inference_mode():
            results = study_clip_at(
                x, list(outputs), sources, bands, sample_rate=rate, vocoder=vocoder,
                settings=settings, seed=clip_seed,
            )  # fmt: skip
        for cutoff, found in results.items():
            for source, band, values in found:
                key = (REFERENCE, variant_key(source, band), cutoff, clip)
                rows[cutoff] += [(*key, metric, v) for metric, v in values.items()]
        logger.info("[%d/%d] %s at %s Hz", i, len(clips), clip, ", ".join(map(str, outputs)))
    tables = {cutoff: pd.DataFrame(found, columns=list(COLUMNS)) for cutoff, found in rows.items()}
    for cutoff, table in tables.items():
        with atomic_path(outputs[cutoff]) as tmp:
            table.to_csv(tmp, index=False)
    return pd.concat(tables.values(), ignore_index=True)
