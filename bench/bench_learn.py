"""Learning checks at the paper's sizes, on a CPU: does each model overfit one batch of piano?

Each paper-size TD-CNN (SEANet 11.0 M, AudioUNet 56.4 M, Demucs 131.4 M parameters) trains with
the paper's loss, optimiser and learning rate (Adam 1e-4, MRSTFT + 1000 · MRwave) on one fixed
batch of renders of real MAESTRO performance MIDI, one crop per test filter and cutoff
(Butterworth 2.5 kHz, Chebyshev I 3 kHz, elliptic 3.5 kHz, Bessel 4 kHz; order 8). At fixed step
counts the script prints the batch's loss and its LSD-HF beside the noise fill's LSD-HF on the
same items (shaped by the batch's own mean spectrum) and the input's. The paper-size vocoder
(TFGAN, 5.9 M) overfits one clip with the paper's settings and prints its copy-synthesis
APD-IAF and IFD-W1-HF (the vocoder's phase on the clip's own magnitude, as in the phase study)
against a random phase. Targets: loss down by at least half; LSD-HF below the noise fill's; the
vocoder's two distances at least 25 % below random's. All of it goes through
:mod:`tdpr.train.learncheck`, i.e. the real training steps.

Run: ``python bench/bench_learn.py [--models seanet audiounet demucs vocoder]
[--steps 0 50 100 200] [--seconds 0.5] [--json out.json]`` (``--subset``: another MAESTRO MIDI
folder than the one shipped). Not in CI; figures in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import torch

from tdpr.audio import to_mono
from tdpr.data.demo import find_soundfont, render_midi
from tdpr.data.performances import shipped_subset
from tdpr.dsp.filters import Degradation
from tdpr.models import build_model, count_parameters
from tdpr.train.config import TrainConfig, VocoderConfig
from tdpr.train.learncheck import (
    PHASE_NAMES,
    batch_lsd_hf,
    fixed_batch,
    noisefill_lsd_hf,
    overfit_tdcnn,
    overfit_vocoder,
)

RATE = 16_000
#: One item per row of Table 1's cutoffs, each with its own filter type.
DEGRADATIONS = (
    Degradation("butter", 2500, 8),
    Degradation("cheby1", 3000, 8),
    Degradation("ellip", 3500, 8),
    Degradation("bessel", 4000, 8),
)
TDCNNS = ("seanet", "audiounet", "demucs")


def render_crops(subset: Path, seconds: float, offset: float, soundfont: Path) -> np.ndarray:
    """One crop ``(seconds)`` from ``offset`` s into each of the first training performances
    (sorted by file name), mono, 16 kHz: ``(len(DEGRADATIONS) + 1, T)``; the last is the
    vocoder's clip."""
    csv = next(iter(sorted(subset.glob("*.csv"))))
    rows = pd.read_csv(csv)
    names = sorted(rows.loc[rows["split"] == "train", "midi_filename"])[: len(DEGRADATIONS) + 1]
    start, length = int(offset * RATE), int(seconds * RATE)
    crops = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            out = Path(tmp) / "render.wav"
            render_midi(subset / name, soundfont, RATE, out)
            audio, _ = sf.read(out, dtype="float64", always_2d=True)
            crop = to_mono(audio)[start : start + length]
            if len(crop) < length:
                raise SystemExit(f"{name} is shorter than {offset + seconds} s")
            crops.append(crop / max(1.0, np.abs(crop).max() / 0.9))  # no clipping
    return np.stack(crops).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=Path, default=None, help="MAESTRO MIDI folder")
    parser.add_argument("--soundfont", type=Path, default=None)
    parser.add_argument("--models", nargs="+", default=[*TDCNNS, "vocoder"])
    parser.add_argument("--steps", nargs="+", type=int, default=[0, 50, 100, 200])
    parser.add_argument("--vocoder-steps", nargs="+", type=int, default=[0, 100, 250, 500])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of each crop")
    parser.add_argument("--offset", type=float, default=30.0, help="where the crops start (s)")
    parser.add_argument("--lr", type=float, default=None, help="override the paper's 1e-4")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    subset = args.subset or shipped_subset().parent
    crops = render_crops(subset, args.seconds, args.offset, find_soundfont(args.soundfont))
    batch = fixed_batch(crops[: len(DEGRADATIONS)], DEGRADATIONS, RATE)
    floor = {"noisefill": noisefill_lsd_hf(batch), "input": batch_lsd_hf(batch, batch.degraded)}
    machine = platform.processor() or platform.machine()
    print(f"# {machine}, {torch.get_num_threads()} threads, torch {torch.__version__}; batch "
          f"{len(DEGRADATIONS)} x {args.seconds:g} s; LSD-HF of the input "
          f"{floor['input']:.3f}, of the noise fill {floor['noisefill']:.3f}")  # fmt: skip
    results: dict = {"floor": floor, "models": {}}
    for name in args.models:
        torch.manual_seed(0)
        if name == "vocoder":
            cfg = VocoderConfig(steps=max(args.vocoder_steps), segment_seconds=0.5)
            rows, unchanged = overfit_vocoder(crops[-1], args.vocoder_steps, cfg=cfg)
            for row in rows:
                print(f"vocoder step {row['step']:4d} | stft {row['stft']:.3f} | "
                      + " | ".join(f"{n} {row[n]:.3f} (random {row['random_' + n]:.3f})"
                                   for n in PHASE_NAMES)
                      + f" | {row['seconds']:.0f} s", flush=True)  # fmt: skip
        else:
            model = build_model(name)
            params = count_parameters(model)
            cfg = TrainConfig(lr=args.lr) if args.lr else TrainConfig()
            start = time.perf_counter()
            rows, unchanged = overfit_tdcnn(model, batch, args.steps, cfg)
            for row in rows:
                print(f"{name} ({params / 1e6:.1f} M) step {row['step']:4d} | loss "
                      f"{row['loss']:8.3f} | LSD-HF {row['lsd_hf']:.3f} "
                      f"(noise fill {floor['noisefill']:.3f}) | {row['seconds']:.0f} s",
                      flush=True)  # fmt: skip
            rows[-1]["wall"] = time.perf_counter() - start
        if unchanged:
            print(f"{name}: parameters never changed: {unchanged}", file=sys.stderr)
        results["models"][name] = {"rows": rows, "unchanged": unchanged}
        if args.json:  # after every model, so a long run keeps what it measured
            args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
