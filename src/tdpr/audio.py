"""Audio input and output: reading any format soundfile knows, mono mixing, resampling, and
16-bit PCM storage.

Every stored waveform of the project is 16-bit PCM WAV (Part A1 of the reference spec): the LSD of
a low-passed signal depends on the noise floor of its storage, so the project stores what it
measures. Arrays are ``float32`` of shape ``(T,)`` (mono) or ``(T, C)`` (as read).
"""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

from tdpr.fsio import atomic_path

logger = logging.getLogger(__name__)

#: Recorded in manifests so a reader knows how the rate conversion was done.
RESAMPLER = "scipy.signal.resample_poly(kaiser beta=5.0, exact rational ratio)"


class AudioError(ValueError):
    """An audio file cannot be used: unreadable, empty, non-finite or of the wrong shape."""


def read_audio(path: str | os.PathLike, *, always_2d: bool = False) -> tuple[np.ndarray, int]:
    """Read an audio file as float32.

    Args:
        path: any file or file-like object soundfile can read (WAV, FLAC, OGG, MP3 with
            libsndfile >= 1.1).
        always_2d: return ``(T, C)`` even for mono files.

    Returns:
        ``(audio, sample_rate)``; audio is ``(T,)`` for mono files unless ``always_2d``,
        else ``(T, C)``.

    Raises:
        AudioError: the file is missing, not audio, or holds no samples.
    """
    is_path = isinstance(path, (str, os.PathLike))
    name = str(path) if is_path else getattr(path, "name", "<stream>")
    if is_path and not Path(path).is_file():
        raise AudioError(f"audio file not found: {name}")
    try:
        audio, rate = sf.read(path, dtype="float32", always_2d=always_2d)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError(f"cannot read audio file {name}: {err}") from err
    if audio.shape[0] == 0:
        raise AudioError(f"audio file {name} holds no samples")
    return audio, int(rate)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Mix ``(T, C)`` to ``(T,)`` by the mean of the channels; ``(T,)`` passes through."""
    if audio.ndim == 1:
        return audio
    if audio.ndim != 2:
        raise AudioError(f"expected audio of shape (T,) or (T, C), got {audio.shape}")
    return audio.mean(axis=1, dtype=np.float64).astype(np.float32)


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample along axis 0 by the exact rational ratio ``rate_out / rate_in``.

    ``resample_poly`` is a polyphase Kaiser-windowed sinc: high quality, and exact for every
    rational ratio (44.1 kHz -> 16 kHz is 160/441). Output length is ``ceil(T * up / down)``.

    Args:
        audio: ``(T,)`` or ``(T, C)``.
        rate_in, rate_out: sample rates in Hz.

    Returns:
        float32 array with the same trailing shape.
    """
    if rate_in <= 0 or rate_out <= 0:
        raise AudioError(f"sample rates must be positive, got {rate_in} -> {rate_out}")
    if rate_in == rate_out:
        return audio.astype(np.float32, copy=False)
    ratio = Fraction(rate_out, rate_in)
    from scipy.signal import resample_poly  # lazy: 1 s of import the metrics jobs skip

    out = resample_poly(audio, ratio.numerator, ratio.denominator, axis=0)
    return out.astype(np.float32)


def check_finite(audio: np.ndarray, name: str = "audio") -> None:
    """Raise :class:`AudioError` if ``audio`` holds NaN or infinite samples."""
    if not np.all(np.isfinite(audio)):
        raise AudioError(f"{name} holds NaN or infinite samples")


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] to int16 samples, rounding to the nearest step of 2**-15.

    The project converts itself rather than letting libsndfile do it: libsndfile 1.2 truncates
    towards minus infinity, which adds a DC offset of half a step and makes the stored noise
    floor depend on the library version.
    """
    scaled = np.round(np.asarray(audio, dtype=np.float64) * 32768.0)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def quantize_pcm16(audio: np.ndarray) -> np.ndarray:
    """Round-trip float audio through 16-bit PCM exactly as :func:`write_pcm16` stores it."""
    return (to_pcm16(audio) / 32768.0).astype(np.float32)


def write_pcm16(path: str | os.PathLike, audio: np.ndarray, rate: int) -> Path:
    """Write ``audio`` (``(T,)`` or ``(T, C)``, float in [-1, 1]) as 16-bit PCM WAV, atomically.

    Samples outside [-1, 1] are clipped (and logged), never wrapped.

    Returns:
        The path written.
    """
    audio = np.asarray(audio)
    check_finite(audio, f"audio for {path}")
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 1.0:
        logger.warning("clipping %s: peak %.3f exceeds full scale", path, peak)
        audio = np.clip(audio, -1.0, 1.0)
    path = Path(path)
    with atomic_path(path) as tmp:
        sf.write(tmp, to_pcm16(audio), rate, subtype="PCM_16", format="WAV")
    return path
