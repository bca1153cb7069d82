"""Test-set inference: TD-CNN outputs, TD-PR outputs and GT-phase oracle outputs, per manifest.

Each function reads a manifest (CSV with ``clip_id, path``, paths relative to the manifest),
writes one 16-bit PCM WAV per clip into ``out_dir`` and a manifest of the same shape, atomically.
The three steps are separate workflow rules, so TD-PR and the oracle reuse the stored TD-CNN
outputs (16-bit, like every other stored waveform) instead of recomputing them:

- :func:`enhance_testset`: ``y = TD-CNN(x)``, chunked by :class:`tdpr.enhance.Enhancer`.
- :func:`repair_testset`: ``iSTFT(|Y| · exp(i·angle(V)))`` with ``v = vocoder(mel(y))``, on the
  whole clip (spec A6).
- :func:`oracle_testset`: the same with the phase of the ground truth (paper Sec. 4.2).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from tdpr.audio import read_audio, to_mono, write_pcm16
from tdpr.data.manifest import read_manifest, relative_path, write_manifest
from tdpr.dsp.phase import oracle_phase, td_pr
from tdpr.enhance import Enhancer
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
    transform: Callable[[str, np.ndarray], np.ndarray],
) -> pd.DataFrame:
    """Apply ``transform(clip_id, audio) -> audio`` to every clip; write WAVs and a manifest."""
    clips = read_manifest(in_manifest)
    out_dir, out_manifest = Path(out_dir), Path(out_manifest)
    rows = []
    for i, (clip_id, path) in enumerate(sorted(clips.items()), 1):
        result = transform(clip_id, _read_clip(path))
        target = out_dir / f"{clip_id}.wav"
        write_pcm16(target, result, SAMPLE_RATE)
        rows.append({"clip_id": clip_id, "path": relative_path(target, out_manifest)})
        logger.info("[%d/%d] %s", i, len(clips), clip_id)
    frame = pd.DataFrame(rows, columns=["clip_id", "path"])
    write_manifest(frame, out_manifest)
    return frame


def enhance_testset(
    model_path: str | os.PathLike,
    in_manifest: str | os.PathLike,
    out_manifest: str | os.PathLike,
    out_dir: str | os.PathLike,
    device: str | None = None,
    chunk_seconds: float = 10.0,
    context_seconds: float = 1.0,
    crossfade_seconds: float = 0.25,
) -> pd.DataFrame:
    """TD-CNN outputs of every degraded test clip (no phase repair)."""
    device = resolve_device(device)
    model = load_model(model_path, map_location=device)
    enhancer = Enhancer(model, None, device, chunk_seconds, context_seconds, crossfade_seconds)
    return _map_manifest(in_manifest, out_manifest, out_dir, lambda _, x: enhancer.enhance(x))


def repair_testset(
    vocoder_path: str | os.PathLike,
    in_manifest: str | os.PathLike,
    out_manifest: str | os.PathLike,
    out_dir: str | os.PathLike,
    device: str | None = None,
) -> pd.DataFrame:
    """TD-PR of every TD-CNN output clip: its magnitude with the vocoder's phase."""
    device = resolve_device(device)
    vocoder = load_model(vocoder_path, map_location=device)
    if not hasattr(vocoder, "vocode"):
        raise ValueError(f"{vocoder_path} holds a {type(vocoder).__name__}, not a vocoder")

    def repair(_: str, y: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            z = td_pr(torch.from_numpy(y).to(device).view(1, 1, -1), vocoder)
        return z.view(-1).cpu().numpy()

    return _map_manifest(in_manifest, out_manifest, out_dir, repair)


def oracle_testset(
    in_manifest: str | os.PathLike,
    reference_manifest: str | os.PathLike,
    out_manifest: str | os.PathLike,
    out_dir: str | os.PathLike,
) -> pd.DataFrame:
    """GT-phase oracle of every TD-CNN output clip: its magnitude with the clean clip's phase."""
    references = read_manifest(reference_manifest)

    def oracle(clip_id: str, y: np.ndarray) -> np.ndarray:
        if clip_id not in references:
            raise ValueError(f"clip {clip_id} has no reference in {reference_manifest}")
        ref = _read_clip(references[clip_id])
        if len(ref) != len(y):
            raise ValueError(f"clip {clip_id}: {len(y)} samples, reference {len(ref)}")
        return oracle_phase(torch.from_numpy(y), torch.from_numpy(ref)).numpy()

    return _map_manifest(in_manifest, out_manifest, out_dir, oracle)
