"""Throughput of the seven degradations, as a multiple of real time on one core.

Each type low-passes a 5-s, 16-kHz clip of white noise at a round cutoff (3000 Hz) and at an
awkward one (3141.59 Hz, whose subsampling ratio has a large denominator); the median of
several repetitions is reported after one warm-up call (the subsampling filter cache is cleared
before each repetition so its design cost is included). Run: ``python bench/bench_degrade.py``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch
from scipy.signal import resample_poly

from tdpr.dsp import filters
from tdpr.dsp.filters import FILTER_TYPES, lowpass

RATE = 16_000
SECONDS = 5.0
CUTOFFS = (3000.0, 3141.59)
ORDER = 8


def time_one(x: np.ndarray, ftype: str, cutoff: float, repeats: int) -> float:
    """Median seconds of ``repeats`` calls."""
    lowpass(x, RATE, ftype, cutoff, ORDER)  # warm-up: imports, torch's FFT plans
    times = []
    for _ in range(repeats):
        filters._polyphase_fir.cache_clear()
        start = time.perf_counter()
        lowpass(x, RATE, ftype, cutoff, ORDER)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def reference_subsampling(x: np.ndarray, cutoff: float) -> np.ndarray:
    """The public reference's subsampling: the ratio taken at a hard-coded 44.1 kHz."""
    down = int(cutoff / (RATE // 2) * 44100)
    return resample_poly(resample_poly(x, down, 44100), 44100, down)[: len(x)]


def compare_subsampling(x: np.ndarray, repeats: int) -> None:
    """Side by side: our exact-ratio subsampling against the reference's 44.1-kHz ratio."""
    print("\n| cutoff | ours | reference (ratio at 44.1 kHz) | speed-up |")
    print("|---|---|---|---|")
    for cutoff in CUTOFFS:
        ours = time_one(x, "subsampling", cutoff, repeats)
        reference_subsampling(x, cutoff)
        ref_times = []
        for _ in range(max(3, repeats // 5)):
            start = time.perf_counter()
            reference_subsampling(x, cutoff)
            ref_times.append(time.perf_counter() - start)
        ref = statistics.median(ref_times)
        print(
            f"| {cutoff:g} Hz | {1000 * ours:.2f} ms | {1000 * ref:.1f} ms | {ref / ours:,.0f}x |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed calls per cell")
    args = parser.parse_args()
    torch.set_num_threads(1)
    x = (0.1 * np.random.default_rng(0).standard_normal(int(RATE * SECONDS))).astype(np.float32)
    print(f"# {SECONDS:g}-s clips at {RATE} Hz, order {ORDER}, 1 thread, median of {args.repeats}")
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}")
    header = "| type | " + " | ".join(f"{c:g} Hz: ms / x real time" for c in CUTOFFS) + " |"
    print(header)
    print("|" + "---|" * (1 + len(CUTOFFS)))
    for ftype in FILTER_TYPES:
        cells = []
        for cutoff in CUTOFFS:
            seconds = time_one(x, ftype, cutoff, args.repeats)
            cells.append(f"{1000 * seconds:.2f} ms / {SECONDS / seconds:,.0f}x")
        print(f"| {ftype} | " + " | ".join(cells) + " |")
    compare_subsampling(x, args.repeats)


if __name__ == "__main__":
    main()
