"""Real-time factor of ``Enhancer.enhance`` per TD-CNN, with and without TD-PR phase repair.

Models are built at paper size (seanet 11.0 M, audiounet 56.4 M, demucs 131.4 M parameters, the
TFGAN vocoder 5.9 M) with random weights: the cost of a forward pass does not depend on the
weights. Each cell enhances ``--seconds`` of 16-kHz piano-like audio with the default chunking
(10-s chunks, 1 s of context on each side, 0.25-s cross-fades) after one warm-up call, and
reports the median over ``--repeats`` runs as the real-time factor RTF = processing time /
audio duration (below 1: faster than real time). CPU runs use ``--threads`` torch threads (2);
CUDA runs are added when a GPU is present. Run: ``python bench/bench_enhance.py``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

from tdpr.enhance import Enhancer
from tdpr.models import build_model, count_parameters

RATE = 16_000
TD_CNNS = ("seanet", "audiounet", "demucs")


def music(seconds: float) -> np.ndarray:
    """Decaying harmonic notes, one per second: ``(T,)`` float32 in [-0.5, 0.5]."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * RATE)) / RATE
    out = np.zeros_like(t)
    for start in range(int(seconds)):
        f0 = 110.0 * 2 ** (rng.integers(0, 36) / 12)
        tt = np.clip(t - start, 0, None)
        note = sum(np.sin(2 * np.pi * k * f0 * tt) / k for k in range(1, int(8000 / f0)))
        out += (t >= start) * note * np.exp(-3 * tt)
    return (0.5 * out / np.abs(out).max()).astype(np.float32)


def rtf(enhancer: Enhancer, audio: np.ndarray, repeats: int) -> float:
    """Median processing time over audio duration."""
    enhancer.enhance(audio[: 3 * RATE])  # warm-up: allocator, oneDNN/cuDNN plans
    times = []
    for _ in range(repeats):
        if enhancer.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        enhancer.enhance(audio)
        times.append(time.perf_counter() - start)
    return statistics.median(times) / (len(audio) / RATE)


def devices() -> list[str]:
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per run (20)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per cell (3)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (2)")
    parser.add_argument("--models", nargs="+", default=list(TD_CNNS), choices=TD_CNNS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    audio = music(args.seconds)
    vocoder = build_model("tfgan")
    print(f"# {args.seconds:g} s of 16-kHz audio, 10-s chunks, median of {args.repeats}")
    machine = platform.processor() or platform.machine()
    vocoder_size = count_parameters(vocoder) / 1e6
    print(f"# {machine}, torch {torch.__version__}, {args.threads} CPU threads")
    print(f"# vocoder: tfgan, {vocoder_size:.1f} M parameters")
    print("| model | params | device | RTF, no phase repair | RTF, with TD-PR | TD-PR share |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        model = build_model(name)
        for device in devices():
            with torch.inference_mode():
                plain = rtf(Enhancer(model, None, device), audio, args.repeats)
                repaired = rtf(Enhancer(model, vocoder, device), audio, args.repeats)
            print(
                f"| {name} | {count_parameters(model) / 1e6:.1f} M | {device} | {plain:.3f} "
                f"| {repaired:.3f} | {100 * (repaired - plain) / repaired:.0f} % |"
            )
        del model


if __name__ == "__main__":
    main()
