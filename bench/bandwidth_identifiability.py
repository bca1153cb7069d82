"""What a long-term spectrum can tell: the bandwidth estimator on its own filter models over
synthetic sources, from a straight line to one as rough as a piano's.

Run: ``python bench/bandwidth_identifiability.py`` (about 5 min on one core; ``--draws``,
``--roughness``). Each of the seven degradations (IIR order 8) at 2.5, 3, 3.5 and 4 kHz is
applied, as the gain :mod:`tdpr.dsp.lowpass_models` gives it (the very models the estimator
fits, so a miss here is not a modelling error; a resampling with its image), to a source
envelope: a straight line falling :data:`SLOPE_DB_PER_KHZ` plus a random smooth deviation of a
given rms (Gaussian in frequency, :data:`CORRELATION_HZ` wide), summed in power with a floor
:data:`RANGE_DB` below the source at the cutoff (what a 16-bit piano recording shows). The
envelope is smoothed as :func:`~tdpr.dsp.bandwidth.ltas_db` smooths a recording's and handed to
:func:`~tdpr.dsp.bandwidth.estimate_from_envelope`.

Printed: how far real piano sources are from a straight line (the tuning part's renders of
``bandwidth_corpus.py``, unfiltered, over 1-4 kHz; skipped without fluidsynth or with
``--no-pianos``), then per rms the share of estimates within 150 Hz per filter × cutoff, and
the readings of the misses (model and cutoff). With a straight source every cell is read
right; as the source gets as rough as a piano's, the cells whose filter another model imitates
within that roughness (a Chebyshev II of order 8 and an elliptic or Chebyshev I of order 6-7 at
about 0.7 times its cutoff; neighbouring Bessel orders) fall, whatever decides between them.
"""

from __future__ import annotations

import argparse
import collections
import time

import numpy as np
from bandwidth_corpus import PARTS, build_clips, missing_tools
from scipy.ndimage import gaussian_filter1d

from tdpr.dsp.bandwidth import envelope_db, estimate_from_envelope, ltas_db
from tdpr.dsp.filters import FILTER_TYPES
from tdpr.dsp.lowpass_models import filtered_envelope_power

RATE = 16000
CUTOFFS = (2500, 3000, 3500, 4000)
ORDER = 8
TOLERANCE_HZ = 150
#: The source line's slope: about the median the estimator fits on the benchmark's pianos.
SLOPE_DB_PER_KHZ = -9.0
#: Standard deviation (Hz) of the Gaussian that smooths the source's random deviation.
CORRELATION_HZ = 150.0
#: The floor lies this far below the source at the cutoff.
RANGE_DB = 80.0
#: Welch grid of ltas_db at 16 kHz (about 8 Hz per bin).
FREQS = np.fft.rfftfreq(2048, 1 / RATE)


def source_db(rms_db: float, rng: np.random.Generator) -> np.ndarray:
    """A source envelope ``(F,)`` in dB: the line plus a smooth deviation of ``rms_db``."""
    line = SLOPE_DB_PER_KHZ * FREQS / 1000
    if rms_db == 0:
        return line
    step = FREQS[1] - FREQS[0]
    wiggle = gaussian_filter1d(rng.standard_normal(len(FREQS)), CORRELATION_HZ / step)
    return line + rms_db * wiggle / wiggle.std()


def observed(ftype: str, cutoff: float, source: np.ndarray) -> np.ndarray:
    """The envelope ``(F,)`` of ``source`` through the degradation, over the floor, smoothed."""
    family = "brick" if ftype == "stft" else ftype
    power = filtered_envelope_power(family, ORDER, FREQS, float(cutoff), RATE, source)
    floor = np.interp(cutoff, FREQS, source) - RANGE_DB
    return envelope_db(FREQS, power + 10 ** (floor / 10))


def piano_roughness() -> list[float] | None:
    """The rms (dB) by which each unfiltered tuning-part render's envelope departs from a
    straight line over 1-4 kHz; None without fluidsynth."""
    effects = ("dry", "soft", "low", "reverb")
    if missing_tools(effects):
        return None
    out = []
    for clip in build_clips(PARTS["tuning"], effects, 15.0, 2):
        freqs, level = ltas_db(clip.audio, RATE)
        band = (freqs >= 1000) & (freqs <= 4000)
        fit = np.polyval(np.polyfit(freqs[band], level[band], 1), freqs[band])
        out.append(float(np.sqrt(np.mean((level[band] - fit) ** 2))))
    return out


def run(rms_db: float, draws: int) -> None:
    cells, misses = collections.defaultdict(list), collections.defaultdict(list)
    for ftype in FILTER_TYPES:
        for cutoff in CUTOFFS:
            for k in range(draws if rms_db else 1):  # a straight source does not vary
                rng = np.random.default_rng([k, int(10 * rms_db)])
                found = estimate_from_envelope(FREQS, observed(ftype, cutoff, source_db(rms_db,
                                               rng)), RATE)  # fmt: skip
                ok = found.cutoff_hz is not None and abs(found.cutoff_hz - cutoff) <= TOLERANCE_HZ
                cells[(ftype, cutoff)].append(ok)
                if not ok:
                    ratio = np.nan if found.cutoff_hz is None else found.cutoff_hz / cutoff
                    misses[f"{ftype} read as {found.model}"].append(ratio)
    share = np.mean([v for cell in cells.values() for v in cell])
    print(f"\n### source {rms_db:g} dB rms from a line: {100 * share:.0f} % within 150 Hz\n")
    print("| type | " + " | ".join(f"{fc} Hz" for fc in CUTOFFS) + " |")
    print("|---|" + "---|" * len(CUTOFFS))
    for ftype in FILTER_TYPES:
        row = [f"{100 * np.mean(cells[(ftype, fc)]):.0f} %" for fc in CUTOFFS]
        print(f"| {ftype} | " + " | ".join(row) + " |")
    if misses:
        common = sorted(misses.items(), key=lambda kv: -len(kv[1]))[:8]
        words = [f"{what} ({len(r)}, {np.nanmin(r):.2f}-{np.nanmax(r):.2f}×)" for what, r in common]
        print("\nMost common misses (count, reading / true cutoff): " + ", ".join(words))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=8, help="sources per cell (8)")
    parser.add_argument("--roughness", type=float, nargs="+", default=[0.0, 1.5, 3.0],
                        help="rms deviations of the source from a line, dB (0 1.5 3)")  # fmt: skip
    parser.add_argument("--no-pianos", action="store_true", help="skip the piano renders")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if not args.no_pianos:
        rough = piano_roughness()
        if rough is None:
            print("piano renders skipped: fluidsynth is not on PATH")
        else:
            print(f"Piano sources (tuning part, unfiltered, 1-4 kHz): {len(rough)} renders "
                  f"depart from a line by {np.median(rough):.1f} dB rms (median; "
                  f"{min(rough):.1f}-{max(rough):.1f})")  # fmt: skip
    for rms_db in args.roughness:
        run(rms_db, args.draws)
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
