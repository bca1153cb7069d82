"""Data loading against training: loader batches/s per worker count beside the model's steps/s.

In one run on one device: the training loader (random 5-s crops of 30-s 16-bit clips, each
degraded on the fly and rounded to 16 bits, exactly as ``tdpr train`` loads them) is timed
for each worker count, and a training step of each model (forward, TD-CNN loss, backward,
Adam; ``bench_train.py``) at the same batch. The ratio loader batches/s ÷ model steps/s says
how far loading is from being the bottleneck: at 2 or more the loader keeps up with room to
spare. Clips are synthetic piano-like tones written to a temporary folder (``--clips``).

Run: ``python bench/bench_loader.py [--device cuda] [--workers 0 1 2 4 8] [--small]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import MODES, SMALL, steps_per_second  # noqa: E402

from tdpr.train.data import TrainCropDataset, make_loader  # noqa: E402

RATE = 16_000


def write_clips(folder: Path, n: int, seconds: float) -> list[Path]:
    """``n`` piano-like 16-bit clips of ``seconds`` each."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * RATE)) / RATE
    paths = []
    for i in range(n):
        f0 = 110.0 * 2 ** (rng.integers(0, 36) / 12)
        audio = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 12))
        audio = 0.3 * audio / np.abs(audio).max() * np.exp(-0.1 * (t % 5))
        paths.append(folder / f"clip_{i}.wav")
        sf.write(paths[-1], audio.astype(np.float32), RATE, subtype="PCM_16")
    return paths


def batches_per_second(data: TrainCropDataset, batch: int, workers: int, n: int, pin: bool):
    """Batches/s of an epoch's loader, the first batch (worker start-up) not counted."""
    data.set_epoch(1)
    loader = iter(make_loader(data, batch, workers, pin))
    next(loader)
    start = time.perf_counter()
    for _ in range(n):
        next(loader)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=5.0, help="crop length")
    parser.add_argument("--clip-seconds", type=float, default=30.0)
    parser.add_argument(
        "--clips", type=int, default=0, help="synthetic clips (at least the timed batches')"
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2, 4])
    parser.add_argument("--batches", type=int, default=8, help="timed batches per count")
    parser.add_argument("--steps", type=int, default=5, help="timed training steps")
    parser.add_argument("--mode", default="fp32", choices=list(MODES))
    parser.add_argument("--small", action="store_true", help="the demo's small models")
    parser.add_argument("--models", nargs="+", default=list(SMALL))
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    device = torch.device(args.device)
    pin = device.type == "cuda"
    name = torch.cuda.get_device_name(device) if pin else f"CPU ({os.cpu_count()} cores)"
    with tempfile.TemporaryDirectory() as tmp:
        n_clips = max(args.clips, args.batch * (args.batches + 1))  # one epoch covers the run
        clips = write_clips(Path(tmp), n_clips, args.clip_seconds)
        data = TrainCropDataset(clips, int(args.seconds * RATE), seed=0)
        loader = {
            w: batches_per_second(data, args.batch, w, args.batches, pin) for w in args.workers
        }
    bf16, compile_ = MODES[args.mode]
    crop = int(args.seconds * RATE)
    model = {
        m: steps_per_second(m, SMALL[m] if args.small else {}, device, args.batch, crop,
                            args.steps, bf16, compile_)
        for m in args.models
    }  # fmt: skip
    print(f"# {name}, torch {torch.__version__}, batch {args.batch} x {args.seconds:g} s crops")
    print(f"# model steps/s in mode {args.mode}; ratio = loader batches/s / model steps/s")
    print("| workers | loader batches/s | " + " | ".join(f"ratio {m}" for m in model) + " |")
    print("|---|---|" + "---|" * len(model))
    for w, rate in loader.items():
        ratios = " | ".join(f"{rate / s:.1f}" for s in model.values())
        print(f"| {w} | {rate:.2f} | {ratios} |")
    print("| model steps/s | | " + " | ".join(f"{s:.2f}" for s in model.values()) + " |")
    if args.json:
        out = {"device": name, "loader": loader, "model": model, "mode": args.mode}
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
