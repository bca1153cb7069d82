"""Real piano audio for the phase and bandwidth tests: a FluidSynth render of a demo excerpt.

Rendered once per test session (about 2 s) into a temporary folder and shared by every test file
that imports it. Tests that use it skip when FluidSynth or its SoundFont is missing.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tdpr.audio import quantize_pcm16, read_audio, to_mono
from tdpr.data.demo import DemoDataError, find_soundfont, render_piece, select_pieces

RATE = 16000


def have_renderer() -> bool:
    try:
        find_soundfont()
    except DemoDataError:
        return False
    return shutil.which("fluidsynth") is not None


needs_fluidsynth = pytest.mark.skipif(
    not have_renderer(), reason="FluidSynth or its SoundFont is not installed"
)


@functools.lru_cache(maxsize=4)
def piano(seconds: float = 8.0, piece: str = "chopin/mazurka06-2") -> np.ndarray:
    """Mono 16-bit-quantised piano at 16 kHz, ``(T,)`` float64, cut to ``seconds``."""
    folder = Path(tempfile.mkdtemp(prefix="tdpr-piano-"))
    spec = select_pieces([piece], seconds)[0]
    render_piece(spec, folder / "p.wav", folder / "p.midi", find_soundfont(), RATE, seed=0)
    audio, _ = read_audio(folder / "p.wav")
    shutil.rmtree(folder, ignore_errors=True)
    x = quantize_pcm16(to_mono(audio)).astype(np.float64)
    return x[: int(seconds * RATE)]
