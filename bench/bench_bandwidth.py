"""Error of the bandwidth estimator on degraded piano, per filter type and cutoff.

Run: ``python bench/bench_bandwidth.py``. Three demo pieces (``tdpr.data.demo``, FluidSynth) are
rendered at 16 kHz, cut to 30 s and stored as 16-bit PCM, like the test clips; each is degraded
with every filter type at 2500/3000/3500/4000 Hz, the IIR types at every order 6-10 (as the test
sets draw them), re-quantised to 16 bit, and :func:`tdpr.dsp.bandwidth.estimate_cutoff` is
asked for the cutoff. Prints mean signed error, mean |error|, max |error| (Hz) and the share of
clips within 150 Hz per cell, as a Markdown table. The three pieces are not among those the
estimator's constants were checked on (see :mod:`tdpr.dsp.bandwidth`). Needs ``fluidsynth`` and
a General MIDI SoundFont.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from tdpr.audio import quantize_pcm16, read_audio, to_mono
from tdpr.data.demo import find_soundfont, render_piece, select_pieces
from tdpr.dsp.bandwidth import estimate_cutoff
from tdpr.dsp.filters import FILTER_TYPES, IIR_TYPES, Degradation, apply_degradation

RATE = 16000
SECONDS = 30
PIECES = ("chopin/mazurka06-2", "cpebach/h186", "joplin/maple_leaf_rag")
CUTOFFS = (2500, 3000, 3500, 4000)
ORDERS = (6, 7, 8, 9, 10)


def render(folder: Path) -> list[np.ndarray]:
    clips = []
    for piece in select_pieces(PIECES, SECONDS + 2):
        wav = folder / f"{piece.stem}.wav"
        render_piece(piece, wav, folder / f"{piece.stem}.midi", find_soundfont(), RATE, seed=0)
        audio, _ = read_audio(wav)
        clips.append(quantize_pcm16(to_mono(audio)[: SECONDS * RATE]).astype(np.float64))
    return clips


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clips = render(Path(tmp))
    print(
        f"{len(clips)} clips of {SECONDS} s at {RATE} Hz, 16-bit; orders {ORDERS[0]}-{ORDERS[-1]}"
    )
    print("cells: mean signed error / mean |error| / max |error| (Hz) / share within 150 Hz\n")
    print("| type | " + " | ".join(f"{fc} Hz" for fc in CUTOFFS) + " |")
    print("|---|" + "---|" * len(CUTOFFS))
    start, calls, worst, hits = time.perf_counter(), 0, 0.0, []
    for ftype in FILTER_TYPES:
        cells = []
        for fc in CUTOFFS:
            errors = []
            for order in ORDERS if ftype in IIR_TYPES else (None,):
                for clip in clips:
                    low = apply_degradation(clip, Degradation(ftype, fc, order), RATE)
                    errors.append(estimate_cutoff(quantize_pcm16(low), RATE) - fc)
                    calls += 1
            err = np.abs(errors)
            worst = max(worst, err.max())
            hits.extend(err <= 150)
            within = 100 * np.mean(err <= 150)
            cells.append(
                f"{np.mean(errors):+.0f} / {err.mean():.0f} / {err.max():.0f} / {within:.0f} %"
            )
        print(f"| {ftype} | " + " | ".join(cells) + " |", flush=True)
    clean = [estimate_cutoff(clip, RATE) for clip in clips]
    print(f"\nclean clips (full band): {', '.join(f'{c:.0f}' for c in clean)} Hz")
    seconds = (time.perf_counter() - start) / calls
    print(f"worst |error| {worst:.0f} Hz; {100 * np.mean(hits):.0f} % of clips within 150 Hz")
    print(f"{seconds:.2f} s per estimate ({calls} estimates)")


if __name__ == "__main__":
    main()
