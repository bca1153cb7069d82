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


def study_clip(
    x: torch.Tensor,
    cutoff_hz: float,
    sources: Sequence[str],
    bands: Sequence[str],
    *,
    sample_rate: int = 16_000,
    vocoder: Any = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    seed: int = 0,
) -> list[tuple[str, str, dict[str, float]]]:
    """``[(source, band, metrics)]`` of one clean clip ``x`` ``(T,)`` (see the module docstring)."""
    spec = stft(x)
    noise = uniform_phase(spec.shape, seed).to(spec.real.dtype)
    out = []
    for band in bands:
        init = noise.clone()
        if band == "hf":
            k = cut_bin(cutoff_hz, sample_rate)
            init[:k] = torch.angle(spec[:k])
        for source in sources:
            z, consistency = repair(
                x, source, band, cutoff_hz, sample_rate,
                vocoder=vocoder, settings=(settings or {}).get(source), init_phase=init,
                seed=seed,
            )  # fmt: skip
            extra = {"consistency_db": float(consistency)}
            values = compute_all(x, z, cutoff_hz, sample_rate, extra=extra)
            out.append((source, band, values))
    return out


def phase_study(
    reference_manifest: str | os.PathLike,
    cutoff_hz: float,
    out_csv: str | os.PathLike,
    sources: Sequence[str],
    bands: Sequence[str],
    *,
    vocoder_path: str | os.PathLike | None = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    seed: int = 0,
    device: str | None = None,
) -> pd.DataFrame:
    """The study over every clip of a manifest at one cutoff; writes the tidy CSV atomically.

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
    rows = []
    clips = read_manifest(reference_manifest)
    for i, (clip, path) in enumerate(sorted(clips.items()), 1):
        audio, rate = read_audio(path)
        x = torch.from_numpy(to_mono(audio)).to(device)
        clip_seed = seed + zlib.crc32(clip.encode())
        with torch.inference_mode():
            results = study_clip(
                x, cutoff_hz, sources, bands, sample_rate=rate, vocoder=vocoder,
                settings=settings, seed=clip_seed,
            )  # fmt: skip
        for source, band, values in results:
            variant = variant_key(source, band)
            rows += [(REFERENCE, variant, cutoff_hz, clip, m, v) for m, v in values.items()]
        logger.info("[%d/%d] %s at %g Hz", i, len(clips), clip, cutoff_hz)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    return table
