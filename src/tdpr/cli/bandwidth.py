"""Estimate the bandwidth (low-pass cutoff, in Hz) of audio files.

Each FILE is read at its own sample rate and mixed to mono (mean of the channels); the cutoff is
the nominal cutoff of the low-pass filter model that best fits its long-term spectrum
(tdpr.dsp.bandwidth). A file with content up to Nyquist reports half its sample rate.

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
from tdpr.dsp.bandwidth import estimate_cutoff


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``bandwidth`` arguments."""
    parser.add_argument("files", metavar="FILE", type=Path, nargs="+", help="audio files")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _estimate(path: Path) -> tuple[float, int]:
    """``(cutoff_hz, sample_rate)`` of one file; any failure names the file."""
    try:
        audio, rate = read_audio(path)
        return estimate_cutoff(to_mono(audio), rate), rate
    except (AudioError, ValueError) as err:
        raise CLIError(f"{path}: {err}") from err


def run(args: argparse.Namespace) -> int:
    """Print ``FILE<TAB>cutoff`` lines, or ``{"files": [{file, sample_rate, cutoff_hz}]}``."""
    rows = []
    for path in args.files:
        cutoff, rate = _estimate(path)
        rows.append({"file": str(path), "sample_rate": rate, "cutoff_hz": round(cutoff, 1)})
    if args.json:
        print(json.dumps({"files": rows}))
    else:
        for row in rows:
            print(f"{row['file']}\t{row['cutoff_hz']:.0f}")
    return 0
