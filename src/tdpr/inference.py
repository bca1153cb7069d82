"""Test-set inference: TD-CNN outputs and their phase-repaired variants, per manifest.

Each function reads a manifest (CSV with ``clip_id, path``, paths relative to the manifest),
writes one 16-bit PCM WAV per clip into ``out_dir`` and a manifest of the same shape, atomically.
The steps are separate workflow rules, so every phase variant reuses the stored TD-CNN outputs
(16-bit, like every other stored waveform) instead of recomputing them:

- :func:`enhance_testset`: ``y = TD-CNN(x)``, chunked by :class:`tdpr.enhance.Enhancer`; or the
  output of a baseline that needs no learning (:mod:`tdpr.baselines`), by the same path.
- :func:`repair_testset`: ``y``'s magnitude with the phase of a registered phase source in the
  full band or above the cutoff (:func:`tdpr.phase.repair.repair`), on the whole clip: the
  vocoder's (TD-PR, spec A6), the ground truth's (GT-phase, paper Sec. 4.2), Griffin-Lim's,
  PGHI's, a random one. Its manifest also records each clip's ``consistency_db``.
- :func:`keep_band_testset`: the given band put back into any system's outputs (the degraded
  input below the cutoff, the output above it; :func:`tdpr.dsp.crossover.keep_band`).
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from tdpr.audio import read_audio, to_mono, write_pcm16
from tdpr.baselines.base import load_baseline
from tdpr.baselines.spectrum import read_spectrum
from tdpr.data.manifest import read_manifest, relative_path, write_manifest
from tdpr.dsp.crossover import keep_band
from tdpr.enhance import Enhancer
from tdpr.phase.repair import repair
from tdpr.registry import BASELINE, PHASE_SOURCES, models_of_kind
from tdpr.train.checkpoint import load_model
from tdpr.train.device import resolve_device

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000


def _read_clip(path: Path) -> np.ndarray:
    audio, rate = read_audio(path)
    if rate != SAMPLE_RATE:
        raise ValueError(f"{path} is at {rate} Hz; test-set clips must be at {SAMPLE_RATE} Hz")
    return to_mono(audio)


def _map_manifest(
    in_manifest: str | os.PathLike,
    out_manifest: str | os.PathLike,
    out_dir: str | os.PathLike,
    transform: Callable[[str, np.ndarray], np.ndarray | tuple[np.ndarray, dict]],
) -> pd.DataFrame:
    """Apply ``transform(clip_id, audio)`` to every clip; write WAVs and a manifest.

    ``transform`` returns the new audio, or ``(audio, values)`` whose values become manifest
    columns of that clip.
    """
    clips = read_manifest(in_manifest)
    out_dir, out_manifest = Path(out_dir), Path(out_manifest)
    rows = []
    for i, (clip_id, path) in enumerate(sorted(clips.items()), 1):
        result = transform(clip_id, _read_clip(path))
        result, values = result if isinstance(result, tuple) else (result, {})
        target = out_dir / f"{clip_id}.wav"
        write_pcm16(target, result, SAMPLE_RATE)
        rows.append({"clip_id": clip_id, "path": relative_path(target, out_manifest), **values})
        logger.info("[%d/%d] %s", i, len(clips), clip_id)
    write_manifest(pd.DataFrame(rows, columns=["clip_id", "path", *values]), out_manifest)
    return pd.read_csv(out_manifest, dtype={"clip_id": str})


def enhance_testset(
    model_path: str | os.PathLike,
    in_manifest: str | os.PathLike,
    out_manifest: str | os.PathLike,
    out_dir: str | os.PathLike,
    device: str | None = None,
    chunk_seconds: float = 10.0,
    context_seconds: float = 1.0,
    crossfade_seconds: float = 0.25,
    *,
    cutoff_hz: float | None = None,
    spectrum_path: str | os.PathLike | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """TD-CNN outputs of every degraded test clip (no phase repair).

    Args:
        model_path: a TD-CNN's model file, or the name of a baseline (``noisefill``,
            ``replicate``: :func:`load_system`).
        cutoff_hz: the test set's cutoff (the baselines need it).
        spectrum_path: the mean spectrum a baseline uses (default: the shipped one).
        seed: a baseline's seed; each clip draws with the seed and its id.
    """
    device = resolve_device(device)
    model = load_system(model_path, spectrum_path=spectrum_path, map_location=device)
    enhancer = Enhancer(
        model, None, device, chunk_seconds, context_seconds, crossfade_seconds,
        cutoff_hz=cutoff_hz,
    )  # fmt: skip

    def transform(clip_id: str, x: np.ndarray) -> np.ndarray:
        if hasattr(model, "seed"):
            model.seed = seed + zlib.crc32(clip_id.encode())
        return enhancer.enhance(x)

    return _map_manifest(in_manifest, out_manifest, out_dir, transform)


def load_system(
    model: str | os.PathLike,
    *,
    spectrum_path: str | os.PathLike | None = None,
    seed: int = 0,
    map_location: str | torch.device = "cpu",
) -> torch.nn.Module:
    """A waveform model: the baseline of that name, or else the model file at that path.

    A registered baseline's name always means the baseline (to load a file of that name, write
    ``./noisefill``). ``spectrum_path`` (a baseline's mean spectrum) is refused with a model
    file, which carries everything it needs.

    Raises:
        ValueError: a spectrum given with a model file; an unreadable spectrum or model file.
    """
    if str(model) in models_of_kind(BASELINE):
        spectrum = read_spectrum(spectrum_path) if spectrum_path is not None else None
        return load_baseline(str(model), spectrum=spectrum, seed=seed)
    if spectrum_path is not None:
        raise ValueError(
            f"a spectrum is for the baselines ({', '.join(models_of_kind(BASELINE))})"
            f", not for the model file {model}"
        )
    return load_model(model, map_location=map_location)


def repair_testset(
    in_manifest: str | os.PathLike,
    out_manifest: str | os.PathLike,
    out_dir: str | os.PathLike,
    source: str,
    band: str = "full",
    cutoff_hz: float | None = None,
    *,
    vocoder_path: str | os.PathLike | None = None,
    reference_manifest: str | os.PathLike | None = None,
    settings: Mapping[str, Any] | None = None,
    seed: int = 0,
    device: str | None = None,
) -> pd.DataFrame:
    """Phase repair of every TD-CNN output clip with ``source`` in ``band``.

    Args:
        in_manifest: the TD-CNN outputs.
        out_manifest, out_dir: where the repaired clips and their manifest (with a
            ``consistency_db`` column) go.
        source: a key of :data:`tdpr.registry.PHASE_SOURCES`.
        band: ``full`` or ``hf``; cutoff_hz: the test set's cutoff (needed for ``hf``).
        vocoder_path: the vocoder model file, for sources that need one.
        reference_manifest: the clean clips, for oracle sources.
        settings: the source's settings (``phase_repair.<source>``).
        seed: seed of any random draw (per clip: the seed and the clip id).
        device: ``cuda``, ``cpu``; None picks CUDA when available.
    """
    entry = PHASE_SOURCES.get(source)
    if entry is None:
        raise ValueError(f"unknown phase source {source!r}; registered: {', '.join(PHASE_SOURCES)}")
    device = resolve_device(device)
    vocoder = None
    if "vocoder" in entry.needs:
        if vocoder_path is None:
            raise ValueError(f"phase source {source!r} needs a vocoder model file")
        vocoder = load_model(vocoder_path, map_location=device)
        if not hasattr(vocoder, "vocode"):
            raise ValueError(f"{vocoder_path} holds a {type(vocoder).__name__}, not a vocoder")
    references = {}
    if "reference" in entry.needs:
        if reference_manifest is None:
            raise ValueError(f"phase source {source!r} needs the reference clips")
        references = read_manifest(reference_manifest)

    def transform(clip_id: str, y: np.ndarray) -> tuple[np.ndarray, dict]:
        reference = None
        if references:
            if clip_id not in references:
                raise ValueError(f"clip {clip_id} has no reference in {reference_manifest}")
            ref = _read_clip(references[clip_id])
            if len(ref) != len(y):
                raise ValueError(f"clip {clip_id}: {len(y)} samples, reference {len(ref)}")
            reference = torch.from_numpy(ref).to(device)
        with torch.inference_mode():
            z, consistency = repair(
                torch.from_numpy(y).to(device), source, band, cutoff_hz, SAMPLE_RATE,
                vocoder=vocoder, reference=reference, settings=settings,
                seed=seed + zlib.crc32(clip_id.encode()),
            )  # fmt: skip
        return z.cpu().numpy(), {"consistency_db": round(float(consistency), 4)}

    return _map_manifest(in_manifest, out_manifest, out_dir, transform)


def keep_band_testset(
    given_manifest: str | os.PathLike,
    in_manifest: str | os.PathLike,
    out_manifest: str | os.PathLike,
    out_dir: str | os.PathLike,
    cutoff_hz: float,
) -> pd.DataFrame:
    """Every output clip with the given band put back: the input below ``cutoff_hz``.

    Args:
        given_manifest: the degraded test set (the band to keep).
        in_manifest: a system's outputs for that test set (same clip ids and lengths).
        out_manifest, out_dir: where the mixed clips and their manifest go.
        cutoff_hz: the test set's cutoff.
    """
    given = read_manifest(given_manifest)

    def transform(clip_id: str, y: np.ndarray) -> np.ndarray:
        if clip_id not in given:
            raise ValueError(f"clip {clip_id} of {in_manifest} is not in {given_manifest}")
        x = _read_clip(given[clip_id])
        if len(x) != len(y):
            raise ValueError(f"clip {clip_id}: {len(y)} samples, its input {len(x)}")
        return keep_band(torch.from_numpy(x), torch.from_numpy(y), cutoff_hz).numpy()

    return _map_manifest(in_manifest, out_manifest, out_dir, transform)
