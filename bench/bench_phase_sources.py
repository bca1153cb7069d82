"""Time per 30-s clip of the magnitude-only phase sources: PGHI and fast Griffin-Lim.

Run: ``python bench/bench_phase_sources.py``. A 30-s, 16-kHz demo piece (FluidSynth) at n_fft
1024 / hop 256; PGHI (whole band, and with the band below 2.5 kHz known) and Griffin-Lim at
32 and 100 iterations on 1 and 2 CPU threads. Prints wall seconds (best of 2) and the
consistency error each reaches.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from tdpr.audio import quantize_pcm16, read_audio, to_mono
from tdpr.data.demo import find_soundfont, render_piece, select_pieces
from tdpr.dsp.stft import stft
from tdpr.metrics.plausibility import consistency_db
from tdpr.phase.griffinlim import griffin_lim
from tdpr.phase.pghi import pghi

RATE, SECONDS, CUTOFF_BIN = 16000, 30, 160


def clip() -> torch.Tensor:
    piece = select_pieces(["chopin/mazurka06-2"], SECONDS + 2)[0]
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "p.wav"
        render_piece(piece, wav, Path(tmp) / "p.midi", find_soundfont(), RATE, seed=0)
        audio, _ = read_audio(wav)
    return torch.from_numpy(quantize_pcm16(to_mono(audio)[: SECONDS * RATE]))


def timed(fn) -> tuple[float, torch.Tensor]:
    best, out = float("inf"), None
    for _ in range(2):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    spec = stft(clip())
    mag, phase = spec.abs(), spec.angle()
    rand = (torch.rand(mag.shape, generator=torch.Generator().manual_seed(0)) * 2 - 1) * torch.pi
    print(f"{SECONDS} s at {RATE} Hz, STFT {tuple(mag.shape)}; torch {torch.__version__}")
    print("| phase source | threads | seconds | consistency (dB) |\n|---|---|---|---|")
    cases = {
        "PGHI, whole band": lambda: pghi(mag),
        "PGHI, band below 2.5 kHz known": lambda: pghi(
            mag, fixed_below=CUTOFF_BIN, known_phase=phase
        ),
        "FGLA 32 it., random start": lambda: griffin_lim(mag, rand, 32),
        "FGLA 100 it., random start": lambda: griffin_lim(mag, rand, 100),
        "FGLA 100 it., hf band, own-phase start": lambda: griffin_lim(
            mag, phase, 100, band="hf", fixed_below=CUTOFF_BIN
        ),
    }
    for name, fn in cases.items():
        for threads in (1, 2) if name.startswith("FGLA") else (1,):
            torch.set_num_threads(threads)
            seconds, out = timed(fn)
            cons = consistency_db(torch.polar(mag, out)).item()
            print(f"| {name} | {threads} | {seconds:.2f} | {cons:.1f} |", flush=True)


if __name__ == "__main__":
    main()
