"""Regenerate the mean piano spectrum that ships with the package.

Renders performance MIDI of MAESTRO's training split with FluidSynth and a General MIDI
SoundFont at 16 kHz, keeps the first ``--seconds`` of each, and writes their mean power spectrum
(:mod:`tdpr.baselines.spectrum`) with its provenance::

    python tools/make_piano_spectrum.py \\
        --subset ../shared/data/maestro-v2.0.0-midi-subset \\
        --out src/tdpr/baselines/data/piano_mean_spectrum.json

The same files, SoundFont and FluidSynth version give the same bytes. The result is derived
from MAESTRO (CC BY-NC-SA 4.0): ``src/tdpr/baselines/data/README.md`` carries the attribution.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from tdpr.audio import to_mono
from tdpr.baselines.spectrum import SAMPLE_RATE, mean_of, write_spectrum
from tdpr.data.demo import find_soundfont, fluidsynth_version, render_midi
from tdpr.data.download import sha256_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", required=True, type=Path, help="MAESTRO MIDI folder")
    parser.add_argument("--csv", help="its metadata CSV (default: the one *.csv in --subset)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--seconds", type=float, default=120.0, help="kept of each performance")
    parser.add_argument("--soundfont", type=Path, default=None)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)

    csv = Path(args.csv) if args.csv else next(iter(sorted(args.subset.glob("*.csv"))), None)
    if csv is None or not csv.is_file():
        parser.error(f"no metadata CSV in {args.subset}")
    rows = pd.read_csv(csv)
    rows = rows[rows["split"] == args.split].sort_values("midi_filename")
    if rows.empty:
        parser.error(f"{csv} has no {args.split!r} rows")
    soundfont = find_soundfont(args.soundfont)
    keep = int(args.seconds * SAMPLE_RATE)

    def rendered(tmp: Path) -> Iterator[np.ndarray]:
        for i, name in enumerate(rows["midi_filename"], 1):
            out = tmp / "render.wav"
            render_midi(args.subset / name, soundfont, SAMPLE_RATE, out)
            audio, _ = sf.read(out, dtype="float64", always_2d=True)
            x = to_mono(audio)[:keep]
            print(f"[{i}/{len(rows)}] {name}: {len(x) / SAMPLE_RATE:.0f} s", file=sys.stderr)
            yield x

    provenance = {
        "source": "MAESTRO v2.0.0 performance MIDI (Hawthorne et al., ICLR 2019; Google LLC; "
        "CC BY-NC-SA 4.0)",
        "split": args.split,
        "metadata_sha256": sha256_file(csv),
        "performances": len(rows),
        "seconds_each": args.seconds,
        "renderer": fluidsynth_version(),
        "soundfont": soundfont.name,
        "soundfont_sha256": sha256_file(soundfont),
    }
    with tempfile.TemporaryDirectory() as tmp:
        spectrum = mean_of(rendered(Path(tmp)), provenance)
    write_spectrum(spectrum, args.out)
    info = spectrum.provenance
    print(f"wrote {args.out}: {info['frames']} frames, {info['seconds'] / 3600:.2f} h",
          file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
