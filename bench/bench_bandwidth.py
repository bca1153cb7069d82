"""Bandwidth estimator on renders closer to real recordings: error in Hz and effect on the output.

Run: ``python bench/bench_bandwidth.py`` (about 10-15 min on 2 cores; ``--quick``: one piano
per part and 10-s clips; ``--parts held-out`` for one part). Clips (``bandwidth_corpus.py``):
MAESTRO performance MIDI from the subset that ships with tdpr, rendered through several sampled
pianos, each with one effect real recordings carry (dry, room reverberation, tape hiss, surface
noise, MP3 and Vorbis at low bit rates, soft dynamics, low register, and a chain of reverb, hiss
and MP3). Every clip is low-passed with each of the seven degradations at 2.5, 3, 3.5 and 4 kHz
(order 8, or ``--orders 6-10``: one order per clip drawn from a fixed seed), kept at 16 bit, and
:func:`tdpr.dsp.bandwidth.estimate_bandwidth` asked for the cutoff.

Judged by the output too: each low-passed clip is enhanced as ``tdpr enhance`` does with the
shipped Demucs, ``--no-phase-repair --keep-band`` (the crossover is where the default path uses
the cutoff), once with the estimated cutoff and once with the true one, and the LSD of each
against the clip before the low-pass compared (``--enhance noisefill`` uses the noise-fill
baseline instead, ``none`` skips it). With no cutoff found the input is taken as full band, as
``tdpr enhance`` takes it.

Prints Markdown tables per part: share within 150 Hz per filter × cutoff, per effect (with the
median error, the LSD criterion and the mean confidence), the confidence against the error, and
what the unfiltered clips read. Needs fluidsynth and the Debian SoundFonts; lame, oggenc and
oggdec for the coded effects (their effects are dropped, with a message, if missing).
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
import zlib
from dataclasses import dataclass

import numpy as np
import torch
from bandwidth_corpus import EFFECTS, PARTS, RATE, Clip, build_clips, missing_tools

from tdpr.audio import quantize_pcm16
from tdpr.dsp.bandwidth import estimate_bandwidth
from tdpr.dsp.crossover import keep_band
from tdpr.dsp.filters import FILTER_TYPES, IIR_TYPES, Degradation, apply_degradation

CUTOFFS = (2500, 3000, 3500, 4000)
TOLERANCE_HZ = 150.0
LSD_TOLERANCE = 0.02


@dataclass
class Result:
    """One low-passed clip: what was read and what it did to the output."""

    part: str
    effect: str
    ftype: str
    cutoff: float
    estimate: float | None
    confidence: float
    delta_lsd: float | None

    @property
    def error(self) -> float:
        return np.inf if self.estimate is None else self.estimate - self.cutoff

    @property
    def within(self) -> bool:
        return abs(self.error) <= TOLERANCE_HZ


class Judge:
    """LSD (reference spec A3: 1024/256, periodic Hann, zero-padded centre, floor 1e-8) of the
    enhanced clip against the clean one, with the estimated and the true cutoff."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        if kind == "demucs":
            from tdpr.enhance import Enhancer
            from tdpr.inference import load_system
            from tdpr.pretrained import shipped_file

            model = load_system(shipped_file("demucs"))
            self.enhancer = Enhancer(model, None, phase=None)
        elif kind == "noisefill":
            from tdpr.baselines.base import load_baseline

            self.baseline = load_baseline("noisefill")

    @staticmethod
    def log_power(x: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.asarray(x, dtype=np.float32))
        spec = torch.stft(x, 1024, 256, window=torch.hann_window(1024), center=True,
                          pad_mode="constant", return_complex=True)  # fmt: skip
        return spec.abs().square().clamp_min(1e-8).log10()

    def lsd(self, ref: torch.Tensor, y: np.ndarray) -> float:
        return float((ref - self.log_power(y)).square().mean(0).sqrt().mean())

    def delta(self, clean: np.ndarray, low: np.ndarray, estimate: float | None, true: float):
        """LSD with the estimate minus LSD with the true cutoff (None: the path failed)."""
        ref = self.log_power(clean)
        nyquist = RATE / 2 - 1
        used = nyquist if estimate is None else min(estimate, nyquist)
        if self.kind == "demucs":
            blocks = iter([low[:, None].astype(np.float32)])
            out = np.concatenate(list(self.enhancer.stream(blocks, len(low), False)))[:, 0]
            x, y = torch.from_numpy(low.astype(np.float32)), torch.from_numpy(out)
            mixed = [keep_band(x, y, c, RATE).numpy() for c in (used, true)]
        else:
            if not 2000 <= used <= 7500:  # what the baseline refuses, tdpr enhance refuses
                return None
            mixed = [self.baseline.enhance(low.astype(np.float32), c) for c in (used, true)]
        return self.lsd(ref, mixed[0]) - self.lsd(ref, mixed[1])


def degrade(clip: Clip, ftype: str, cutoff: float, order: int, seed: int) -> np.ndarray:
    """The clip low-passed, at 16 bit, then through its medium (codec, surface noise)."""
    low = apply_degradation(clip.audio, Degradation(ftype, cutoff, order), RATE)
    low = quantize_pcm16(low).astype(np.float64)
    return quantize_pcm16(clip.after(low, np.random.default_rng(seed))).astype(np.float64)


def run_part(part, args, judge) -> tuple[list[Result], list[tuple[str, object]], int]:
    clips = build_clips(PARTS[part], args.effects, args.seconds, args.pianos)
    results, unfiltered, calls = [], [], 0
    for k, clip in enumerate(clips):
        for ftype in FILTER_TYPES:
            for cutoff in CUTOFFS:
                seed = zlib.crc32(f"{part}{k}{ftype}{cutoff}".encode())
                order = args.orders[seed % len(args.orders)] if ftype in IIR_TYPES else None
                low = degrade(clip, ftype, cutoff, order, seed)
                found = estimate_bandwidth(low, RATE)
                calls += 1
                delta = judge.delta(clip.audio, low, found.cutoff_hz, cutoff) if judge else None
                results.append(Result(part, clip.effect, ftype, cutoff, found.cutoff_hz,
                                      found.confidence, delta))  # fmt: skip
        plain = quantize_pcm16(clip.after(clip.audio, np.random.default_rng(k)))
        unfiltered.append((clip.effect, estimate_bandwidth(plain.astype(np.float64), RATE)))
        print(f"  {part}: clip {k + 1}/{len(clips)} ({clip.piano}, {clip.effect})",
              file=sys.stderr, flush=True)  # fmt: skip
    return results, unfiltered, calls


def _share(flags) -> str:
    return f"{100 * np.mean(flags):.0f} %" if len(flags) else "-"


def _lsd_ok(rs: list[Result]) -> list[bool]:
    return [r.delta_lsd is not None and abs(r.delta_lsd) <= LSD_TOLERANCE for r in rs]


def report(name: str, rs: list[Result], unfiltered, judge: bool) -> None:
    print(f"\n### {name}: {len(rs)} low-passed clips\n")
    print("Share within 150 Hz (LSD within 0.02 of the true cutoff's) per filter × cutoff:\n")
    print("| type | " + " | ".join(f"{fc} Hz" for fc in CUTOFFS) + " |")
    print("|---|" + "---|" * len(CUTOFFS))
    cells = collections.defaultdict(list)
    for r in rs:
        cells[(r.ftype, r.cutoff)].append(r)
    for ftype in FILTER_TYPES:
        row = []
        for fc in CUTOFFS:
            cell = cells[(ftype, fc)]
            lsd = f" ({_share(_lsd_ok(cell))})" if judge else ""
            row.append(_share([r.within for r in cell]) + lsd)
        print(f"| {ftype} | " + " | ".join(row) + " |")
    print(
        "\n| effect | within 150 Hz | median \\|error\\| (Hz) | worst (Hz) | LSD within 0.02 "
        "| mean confidence |\n|---|---|---|---|---|---|"
    )
    by_effect = collections.defaultdict(list)
    for r in rs:
        by_effect[r.effect].append(r)
    for effect, group in by_effect.items():
        err = np.abs([r.error for r in group])
        print(f"| {effect} | {_share([r.within for r in group])} | {np.median(err):.0f} | "
              f"{np.max(err):.0f} | {_share(_lsd_ok(group)) if judge else '-'} | "
              f"{np.mean([r.confidence for r in group]):.2f} |")  # fmt: skip
    within = [r.within for r in rs]
    worst = min(np.mean([r.within for r in cell]) for cell in cells.values())
    full = sum(r.estimate is None for r in rs if r.cutoff < 0.6 * RATE / 2)
    sure = [r for r in rs if r.confidence >= 0.5]
    print(
        f"\n- within 150 Hz: {_share(within)} of {len(rs)}; worst cell {100 * worst:.0f} %; "
        f"median |error| {np.median(np.abs([r.error for r in rs])):.0f} Hz"
    )
    print(f"- reported as full band (no cutoff found): {full} (all were cut below 0.6 × Nyquist)")
    if judge:
        deltas = [r.delta_lsd for r in rs]
        worse = [d is None or d > LSD_TOLERANCE for d in deltas]
        better = [d is not None and d < -LSD_TOLERANCE for d in deltas]
        print(
            f"- LSD with the estimate within 0.02 of the true cutoff's: {_share(_lsd_ok(rs))}; "
            f"more than 0.02 worse: {_share(worse)}; more than 0.02 better: {_share(better)}"
        )
    print(
        f"- confidence ≥ 0.5: {_share([r.confidence >= 0.5 for r in rs])} of the clips, "
        f"{_share([r.within for r in sure])} of them within 150 Hz; below 0.5: "
        f"{_share([r.within for r in rs if r.confidence < 0.5])} within 150 Hz"
    )
    reads = ", ".join(
        f"{effect} {'none' if b.cutoff_hz is None else f'{b.cutoff_hz:.0f}'}"
        for effect, b in unfiltered
    )
    print(f"- unfiltered clips read (Hz): {reads}")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS))
    parser.add_argument("--effects", nargs="+", default=list(EFFECTS), choices=EFFECTS)
    parser.add_argument("--seconds", type=float, default=15.0, help="clip length (15)")
    parser.add_argument("--pianos", type=int, default=2, help="pianos per part (2)")
    parser.add_argument("--orders", default="8", help="IIR order, or a range such as 6-10")
    parser.add_argument("--enhance", choices=("demucs", "noisefill", "none"), default="demucs")
    parser.add_argument("--quick", action="store_true", help="one piano per part, 10-s clips")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: shared cores)")
    args = parser.parse_args(argv)
    lo, _, hi = args.orders.partition("-")
    args.orders = tuple(range(int(lo), int(hi or lo) + 1))
    if args.quick:
        args.pianos, args.seconds = 1, 10.0
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)  # more threads than free cores spin and slow down
    missing = missing_tools(tuple(args.effects))
    if "fluidsynth" in missing:
        sys.exit("bench_bandwidth: fluidsynth is not on PATH; it renders every clip")
    if missing:
        dropped = [e for e in args.effects if missing_tools((e,))]
        print(f"bench_bandwidth: {', '.join(missing)} not on PATH: leaving out "
              f"{', '.join(dropped)}", file=sys.stderr)  # fmt: skip
        args.effects = [e for e in args.effects if e not in dropped]
    judge = None if args.enhance == "none" else Judge(args.enhance)
    start, everything, calls = time.perf_counter(), [], 0
    for part in args.parts:
        rs, unfiltered, n = run_part(part, args, judge)
        everything += rs
        calls += n
        report(f"{part} part", rs, unfiltered, judge is not None)
    seconds = time.perf_counter() - start
    orders = f"order {args.orders[0]}" if len(args.orders) == 1 else f"orders {args.orders}"
    print(
        f"\n{calls} estimates ({orders}, {args.seconds:g}-s clips, judged with "
        f"{args.enhance}) in {seconds / 60:.1f} min"
    )


if __name__ == "__main__":
    main()
