"""Low-pass a WAV file, or every WAV file of a folder, with one of the seven degradations.

IN is a file (OUT is then a file, or an existing folder to write into) or a folder (OUT is then a
folder; the *.wav files of IN are written there under the same names). Each file is filtered at
its own sample rate, channel by channel, and written as 16-bit PCM.

With --filter random the type (and the order, unless --order is given) is drawn per file from
--seed and the file's name, so a file gets the same draw whatever else is in its folder.

Every input is read and checked before anything is written: an unknown filter, a cutoff at or
above a file's Nyquist frequency, an unreadable or non-finite file, or an empty folder stops the
command with no output at all.

examples:
  tdpr degrade clip.wav low.wav --cutoff 3000 --filter cheby1 --order 8
  tdpr degrade clips/ low/ --cutoff 2500 --filter random --seed 7
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from tdpr.audio import check_finite, read_audio, write_pcm16
from tdpr.cli import CLIError
from tdpr.data.testset import stable_hash
from tdpr.dsp.filters import (
    FILTER_TYPES,
    Degradation,
    apply_degradation,
    check_degradation,
    sample_degradation,
)

logger = logging.getLogger(__name__)

DEFAULT_ORDER = 8  # the order of the spec's LSD calibration (A3)
RANDOM_ORDERS = (6, 10)  # the paper's order range, inclusive


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``degrade`` arguments to ``parser``."""
    parser.add_argument("input", metavar="IN", type=Path, help="a WAV file or a folder of them")
    parser.add_argument("output", metavar="OUT", type=Path, help="output file or folder")
    parser.add_argument("--cutoff", type=float, required=True, metavar="HZ", help="cutoff in Hz")
    parser.add_argument(
        "--filter",
        dest="ftype",
        required=True,
        metavar="TYPE",
        help=f"one of {', '.join(FILTER_TYPES)}, or random",
    )
    parser.add_argument(
        "--order",
        type=int,
        metavar="N",
        help=f"IIR order, 1..20 (default {DEFAULT_ORDER}; with random: drawn from 6..10)",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="seed for random")


def _jobs(source: Path, target: Path) -> list[tuple[Path, Path]]:
    """Pairs ``(input file, output file)``."""
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() == ".wav")
        if not files:
            raise CLIError(f"no .wav files in folder {source}")
        if target.exists() and not target.is_dir():
            raise CLIError(f"input {source} is a folder, so output {target} must be one too")
        return [(path, target / path.name) for path in files]
    if not source.exists():
        raise CLIError(f"input not found: {source}")
    return [(source, target / source.name if target.is_dir() else target)]


def _degradation(args: argparse.Namespace, name: str) -> Degradation:
    if args.ftype != "random":
        order = args.order if args.order is not None else DEFAULT_ORDER
        return Degradation(args.ftype, args.cutoff, order)  # order is dropped for non-IIR types
    if args.seed < 0:
        raise CLIError(f"--seed must be non-negative, got {args.seed}")
    orders = (args.order, args.order) if args.order is not None else RANDOM_ORDERS
    rng = np.random.default_rng(np.random.SeedSequence([args.seed, stable_hash(name)]))
    return sample_degradation(rng, (args.cutoff, args.cutoff), FILTER_TYPES, orders)


def _prepare(source: Path, degradation: Degradation) -> None:
    """Raise if ``source`` cannot be degraded: unreadable, non-finite, too short, bad cutoff."""
    audio, rate = read_audio(source, always_2d=True)
    check_finite(audio, str(source))
    try:
        check_degradation(degradation, rate, audio.shape[0])
    except ValueError as err:
        raise CLIError(f"{source}: {err}") from err


def run(args: argparse.Namespace) -> int:
    """Validate every input, then degrade and write them all."""
    if args.ftype not in (*FILTER_TYPES, "random"):
        raise CLIError(
            f"unknown filter type {args.ftype!r}; valid types: {', '.join(FILTER_TYPES)}, random"
        )
    Degradation("stft", args.cutoff)  # a non-positive cutoff fails before any file is read
    plan = []
    for source, target in _jobs(args.input, args.output):
        degradation = _degradation(args, source.name)
        _prepare(source, degradation)
        plan.append((source, target, degradation))
    for source, target, degradation in plan:
        audio, rate = read_audio(source, always_2d=True)  # (T, C); filters act on the last axis
        degraded = apply_degradation(audio.T, degradation, rate).T
        write_pcm16(target, degraded, rate)
        logger.info(
            "%s -> %s: %s, cutoff %g Hz, order %s, %d Hz, %d channel(s)",
            source, target, degradation.ftype, degradation.cutoff_hz, degradation.order,
            rate, audio.shape[1],
        )  # fmt: skip
    return 0
