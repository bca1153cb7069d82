"""Compare estimates with references: LSD, LSD-HF/LF, SI-SDR and high-band phase distances.

REF and EST are two audio files, or two folders whose audio files are paired by file name (every
name must be in both). Files are mixed to mono; both of a pair must have the same sample rate and
lengths within 16 samples. Without --cutoff only lsd and si_sdr are reported: the band split and
the phase distances need the cutoff of the degradation. The mean row averages each metric over
the files where it is defined (a phase distance is undefined, NaN / null, when the reference has
no energy above the cutoff).

Metrics follow tdpr.metrics: STFT 1024/256, periodic Hann, zero-padded centring, floor 1e-8.

--convention NAME (repeatable, or all) reports LSD under the conventions of other papers instead
(AP-BWE, NU-Wave 2, AERO, ssr_eval, mdctGAN, dB: --list-conventions shows each with its
citation), each with its parameters; --csv FILE also writes them as one long CSV.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from tdpr.cli import CLIError
from tdpr.cli import _conventions as conv
from tdpr.evaluate import load_pair
from tdpr.metrics import ALL_METRICS, BAND_METRICS, compute_all
from tdpr.registry import METRICS

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``metrics`` arguments."""
    parser.add_argument("ref", metavar="REF", type=Path, nargs="?", help="reference file or folder")
    parser.add_argument("est", metavar="EST", type=Path, nargs="?", help="estimate file or folder")
    parser.add_argument("--cutoff", type=float, metavar="HZ", help="cutoff of the degradation")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--n-fft", type=int, default=1024, metavar="N", help="default: 1024")
    parser.add_argument("--hop", type=int, default=256, metavar="H", help="default: 256")
    parser.add_argument("--floor", type=float, default=1e-8, help="power floor (default: 1e-8)")
    conv.add_arguments(parser)


def _audio_files(folder: Path) -> dict[str, Path]:
    return {
        p.name: p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
    }


def _pairs(ref: Path, est: Path) -> list[tuple[str, Path, Path]]:
    """``(name, ref_path, est_path)`` for two files or two folders."""
    for path in (ref, est):
        if not path.exists():
            raise CLIError(f"no such file or folder: {path}")
    if ref.is_dir() != est.is_dir():
        raise CLIError("REF and EST must both be files or both be folders")
    if not ref.is_dir():
        return [(est.name, ref, est)]
    refs, ests = _audio_files(ref), _audio_files(est)
    unmatched = sorted(set(refs) ^ set(ests))
    if unmatched:
        raise CLIError(f"files not in both folders: {', '.join(unmatched[:10])}")
    if not refs:
        raise CLIError(f"no audio files in {ref}")
    return [(name, refs[name], ests[name]) for name in sorted(refs)]


def _mean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


def _table(rows: list[dict], mean: dict, names: list[str]) -> str:
    labels = [row["file"] for row in rows] + ["mean"]
    width = max(len(label) for label in [*labels, "file"])
    cols = [max(len(n), 9) for n in names]
    lines = [
        "  ".join([f"{'file':<{width}}", *(f"{n:>{c}}" for n, c in zip(names, cols, strict=True))])
    ]
    for label, row in zip(labels, [*rows, mean], strict=True):
        cells = (f"{row[n]:>{c}.4f}" for n, c in zip(names, cols, strict=True))
        lines.append("  ".join([f"{label:<{width}}", *cells]))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Compute the metrics and print a table or one JSON object."""
    if args.list_conventions:
        print(conv.listing())
        return 0
    if args.ref is None or args.est is None:
        raise CLIError("give REF and EST (or --list-conventions)")
    if args.convention or args.csv:
        names = conv.check(args)
        return conv.run(args, names, _pairs(args.ref, args.est))
    if args.n_fft < 2 or not 0 < args.hop <= args.n_fft:
        raise CLIError(f"need n_fft >= 2 and 0 < hop <= n_fft, got {args.n_fft} and {args.hop}")
    # A recorded metric (the consistency of a phase repair's spectrogram) needs more than files.
    names = [
        n
        for n in ALL_METRICS
        if (args.cutoff is not None or n not in BAND_METRICS) and not METRICS[n].recorded
    ]
    rows = []
    for name, ref_path, est_path in _pairs(args.ref, args.est):
        ref, est, rate = load_pair(ref_path, est_path)
        try:
            values = compute_all(
                ref,
                est,
                args.cutoff,
                rate,
                n_fft=args.n_fft,
                hop=args.hop,
                floor=args.floor,
                names=names,
            )
        except ValueError as err:
            raise CLIError(f"{ref_path} vs {est_path}: {err}") from err
        rows.append({"file": name, **{n: values[n] for n in names}})
    mean = {n: _mean([row[n] for row in rows]) for n in names}
    if args.json:

        def clean(d: dict) -> dict:
            return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in d.items()}

        print(json.dumps({"per_file": [clean(r) for r in rows], "mean": clean(mean)}))
    else:
        print(_table(rows, mean, names))
    return 0
