"""Estimate the bandwidth (low-pass cutoff, in Hz) of audio files, with a confidence.

Each FILE is read at its own sample rate and mixed to mono (mean of the channels); the cutoff is
the nominal cutoff on which the low-pass filter models that fit its long-term spectrum agree
most (tdpr.dsp.bandwidth), given as each filter type defines it (the -3 dB point of a Butterworth,
the passband edge of a Chebyshev I or elliptic filter, the stopband edge of a Chebyshev II, the
phase-normalised frequency of a Bessel). A confidence from 0 to 1 comes with it; below 0.5 the
estimate is marked "low confidence": pass the cutoff yourself (tdpr enhance --cutoff) if you
know it. A file whose content reaches Nyquist, or whose spectrum shows no edge, reports "no
cutoff found" (--nyquist prints half its sample rate instead).

Text output: one line per file, FILE<TAB>cutoff (Hz, or "none")<TAB>confidence<TAB>filter
model, with "low confidence" appended where it applies. --json prints
{"files": [{file, sample_rate, cutoff_hz, confidence, low_confidence, filter, order}]}, with
cutoff_hz null when no cutoff was found (half the sample rate with --nyquist).

examples:
  tdpr bandwidth low.wav
  tdpr bandwidth results/testsets/2500/*.wav --json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tdpr.audio import AudioError, read_audio, to_mono
from tdpr.cli import CLIError
from tdpr.dsp.bandwidth import Bandwidth, estimate_bandwidth


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``bandwidth`` arguments."""
    parser.add_argument("files", metavar="FILE", type=Path, nargs="+", help="audio files")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--nyquist",
        action="store_true",
        help="report half the sample rate, not 'none', where no cutoff is found",
    )


def _estimate(path: Path) -> tuple[Bandwidth, int]:
    """The estimate of one file and its sample rate; any failure names the file."""
    try:
        audio, rate = read_audio(path)
        return estimate_bandwidth(to_mono(audio), rate), rate
    except (AudioError, ValueError) as err:
        raise CLIError(f"{path}: {err}") from err


def _row(path: Path, estimate: Bandwidth, rate: int, nyquist: bool) -> dict:
    cutoff = estimate.cutoff_hz
    if cutoff is None and nyquist:
        cutoff = rate / 2
    return {
        "file": str(path),
        "sample_rate": rate,
        "cutoff_hz": None if cutoff is None else round(cutoff, 1),
        "confidence": round(estimate.confidence, 3),
        "low_confidence": estimate.low_confidence,
        "filter": estimate.family,
        "order": estimate.order,
    }


def _line(row: dict) -> str:
    cutoff = "none" if row["cutoff_hz"] is None else f"{row['cutoff_hz']:.0f}"
    model = row["filter"] or "no cutoff found"
    if row["order"]:
        model += f" {row['order']}"
    fields = [row["file"], cutoff, f"{row['confidence']:.2f}", model]
    if row["low_confidence"]:
        fields.append("low confidence")
    return "\t".join(fields)


def run(args: argparse.Namespace) -> int:
    """Print one line per file, or one JSON object (module docstring)."""
    rows = []
    for path in args.files:
        estimate, rate = _estimate(path)
        rows.append(_row(path, estimate, rate, args.nyquist))
    if args.json:
        print(json.dumps({"files": rows}))
    else:
        for row in rows:
            print(_line(row))
    return 0
