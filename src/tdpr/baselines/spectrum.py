"""The mean power spectrum of clean piano that the no-learning baselines shape their bands by.

A :class:`MeanSpectrum` is the mean over frames of ``|STFT|²`` (1024-point periodic Hann, hop
256, 16 kHz: the metrics' STFT) of clean recordings, stored in dB with where it came from. The
workflow computes it once from the training clips (rule ``compute_mean_spectrum``); outside the
workflow the one that ships with the package (:func:`shipped_spectrum`, its provenance in
``data/README.md``) is used.

File format (JSON, written atomically, byte-identical for the same clips)::

    {"format": "tdpr-mean-spectrum", "version": 1, "sample_rate": 16000, "n_fft": 1024,
     "hop": 256, "power_db": [513 values], "provenance": {...}}
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tdpr.audio import read_audio, to_mono
from tdpr.data.download import sha256_file
from tdpr.dsp.stft import stft
from tdpr.fsio import write_text_atomic

FORMAT, VERSION = "tdpr-mean-spectrum", 1
SAMPLE_RATE, N_FFT, HOP = 16_000, 1024, 256
#: Frames whose mean power lies below this (about -100 dBFS) are silence, not piano: left out.
SILENT_FRAME_POWER = 1e-10
#: dB decimals stored: far below any audible or LSD-visible step, and keeps the file stable.
DECIMALS = 4
SHIPPED = "piano_mean_spectrum.json"


class SpectrumError(ValueError):
    """A spectrum file that is missing, malformed or made with another STFT."""


@dataclass(frozen=True)
class MeanSpectrum:
    """Mean power per STFT bin, ``power`` ``(n_fft // 2 + 1,)`` (linear, not dB)."""

    power: np.ndarray
    sample_rate: int = SAMPLE_RATE
    n_fft: int = N_FFT
    hop: int = HOP
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        power = np.asarray(self.power, dtype=np.float64)
        if power.shape != (self.n_fft // 2 + 1,):
            raise SpectrumError(
                f"a mean spectrum for n_fft {self.n_fft} needs {self.n_fft // 2 + 1} bins, "
                f"got shape {power.shape}"
            )
        if not np.all(np.isfinite(power)) or np.any(power <= 0):
            raise SpectrumError("a mean spectrum must be finite and positive in every bin")
        object.__setattr__(self, "power", power)

    def to_json(self) -> str:
        """The file's text (see the module docstring)."""
        db = np.round(10 * np.log10(self.power), DECIMALS)
        body = {
            "format": FORMAT,
            "version": VERSION,
            "sample_rate": self.sample_rate,
            "n_fft": self.n_fft,
            "hop": self.hop,
            "window": "periodic Hann, centred",
            "power_db": [float(v) for v in db],
            "provenance": dict(self.provenance),
        }
        return json.dumps(body, indent=1) + "\n"


def read_spectrum(path: str | os.PathLike) -> MeanSpectrum:
    """Read a spectrum file; :class:`SpectrumError` naming the problem otherwise."""
    path = Path(path)
    try:
        body = json.loads(path.read_text())
    except FileNotFoundError:
        raise SpectrumError(f"spectrum file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SpectrumError(f"cannot read {path} as a mean spectrum: {err}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise SpectrumError(f"{path} is not a tdpr mean-spectrum file (format {FORMAT!r})")
    if body.get("version") != VERSION:
        raise SpectrumError(f"{path}: unsupported version {body.get('version')!r}")
    setting = {k: body.get(k) for k in ("sample_rate", "n_fft", "hop")}
    if setting != {"sample_rate": SAMPLE_RATE, "n_fft": N_FFT, "hop": HOP}:
        raise SpectrumError(
            f"{path} was made with {setting}; the baselines need sample_rate {SAMPLE_RATE}, "
            f"n_fft {N_FFT}, hop {HOP}"
        )
    try:
        power = 10 ** (np.asarray(body["power_db"], dtype=np.float64) / 10)
    except (KeyError, TypeError, ValueError) as err:
        raise SpectrumError(f"{path}: no valid power_db list ({err})") from None
    try:
        return MeanSpectrum(power, provenance=body.get("provenance", {}))
    except SpectrumError as err:
        raise SpectrumError(f"{path}: {err}") from None


def shipped_spectrum() -> MeanSpectrum:
    """The mean piano spectrum that ships with the package (``data/README.md``: provenance)."""
    with resources.as_file(resources.files(__package__) / "data" / SHIPPED) as path:
        return read_spectrum(path)


def accumulate(x: np.ndarray) -> tuple[np.ndarray, int]:
    """Sum of ``|STFT|²`` over the non-silent frames of ``x`` ``(T,)``, and their count."""
    spec = stft(torch.from_numpy(np.asarray(x, dtype=np.float64)), N_FFT, HOP)
    power = spec.abs().square().numpy()  # (F, N), float64
    keep = power.mean(axis=0) > SILENT_FRAME_POWER
    return power[:, keep].sum(axis=1), int(keep.sum())


def mean_of(
    signals: Iterable[np.ndarray], provenance: Mapping[str, Any] | None = None
) -> MeanSpectrum:
    """The mean power spectrum over every non-silent frame of mono 16-kHz signals ``(T,)``.

    The sum runs in float64 in the given order, so the same signals in the same order give the
    same bytes. ``provenance`` is stored with the counts (clips, frames, seconds) added.

    Raises:
        SpectrumError: no signals, or nothing but silence.
    """
    total, clips, frames, seconds = np.zeros(N_FFT // 2 + 1), 0, 0, 0.0
    for x in signals:
        part, count = accumulate(x)
        total += part
        clips, frames, seconds = clips + 1, frames + count, seconds + len(x) / SAMPLE_RATE
    if clips == 0:
        raise SpectrumError("no clips to compute a mean spectrum from")
    if frames == 0:
        raise SpectrumError(f"the {clips} clip(s) hold only silent frames")
    info = dict(provenance or {})
    info.update({"clips": clips, "frames": frames, "seconds": round(seconds, 3)})
    return MeanSpectrum(total / frames, provenance=info)


def mean_spectrum(
    paths: Sequence[str | os.PathLike], provenance: Mapping[str, Any] | None = None
) -> MeanSpectrum:
    """:func:`mean_of` the given 16-kHz files, each mixed to mono, read one at a time.

    Raises:
        SpectrumError: no files, a file at another rate, or nothing but silence.
    """

    def signals() -> Iterator[np.ndarray]:
        for path in paths:
            audio, rate = read_audio(path)
            if rate != SAMPLE_RATE:
                raise SpectrumError(
                    f"{path} is at {rate} Hz; the mean spectrum needs {SAMPLE_RATE}"
                )
            yield to_mono(audio)

    return mean_of(signals(), provenance)


def write_spectrum(spectrum: MeanSpectrum, path: str | os.PathLike) -> Path:
    """Write a spectrum file atomically."""
    write_text_atomic(path, spectrum.to_json())
    return Path(path)


def manifest_spectrum(manifest: str | os.PathLike) -> MeanSpectrum:
    """The mean spectrum of every clip of a manifest (in clip-id order), with its provenance:
    the manifest's name and SHA-256, the number of clips, frames and seconds."""
    from tdpr.data.manifest import read_manifest

    clips = read_manifest(manifest)
    paths = [clips[clip_id] for clip_id in sorted(clips)]
    provenance = {"manifest": Path(manifest).name, "manifest_sha256": sha256_file(manifest)}
    return mean_spectrum(paths, provenance)
