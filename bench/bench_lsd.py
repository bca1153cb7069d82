"""Throughput of the metrics as a multiple of real time on one CPU core.

Run: ``python bench/bench_lsd.py``. Batches of 5-s, 16-kHz clips (float32); the estimate is the
reference minus half its 5-tap moving average, so every code path (floor, band split, phase mask)
has work to do. "x real time" is audio seconds processed per wall-clock second.
"""

from __future__ import annotations

import time

import torch

from tdpr.metrics import compute_batch, lsd

SAMPLE_RATE = 16000
SECONDS = 5.0
BATCHES = (1, 8, 32)


def _timed(fn, repeats: int) -> float:
    fn()  # warm-up: first calls allocate and plan the FFT
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    length = int(SECONDS * SAMPLE_RATE)
    print(f"torch {torch.__version__}, 1 thread, clips of {SECONDS:g} s at {SAMPLE_RATE} Hz")
    print(f"{'batch':>5}  {'function':<22}  {'ms/call':>9}  {'x real time':>11}")
    for batch in BATCHES:
        ref = 0.1 * torch.randn(batch, length, generator=gen)
        est = ref - 0.5 * torch.nn.functional.avg_pool1d(ref[:, None], 5, 1, 2)[:, 0]
        repeats = max(3, 40 // batch)
        cases = {
            "lsd": lambda r=ref, e=est: lsd(r, e),
            "compute_batch (cutoff)": lambda r=ref, e=est: compute_batch(r, e, 2500, SAMPLE_RATE),
        }
        for name, fn in cases.items():
            seconds = _timed(fn, repeats)
            speed = batch * SECONDS / seconds
            print(f"{batch:>5}  {name:<22}  {1000 * seconds:>9.1f}  {speed:>11.0f}")


if __name__ == "__main__":
    main()
