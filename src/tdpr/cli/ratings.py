"""Draw Figs. 2 (AB preference) and 3 (MOS) from listening-test results.

Arguments are result files or folders (searched for *.csv and *.json): the CSVs webMUSHRA
writes under results/<testId>/ (what `tdpr listen` collects), session JSON, or the simple CSV
formats of tdpr.report.ratings. Writes ab_preference.{png,pdf} when there are AB choices and
mos.{png,pdf} when there are MOS ratings.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tdpr.cli import CLIError
from tdpr.report.ratings import plot_ab_preference, plot_mos, read_ratings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``ratings`` arguments."""
    parser.add_argument("inputs", type=Path, nargs="+", metavar="PATH", help="files or folders")
    parser.add_argument(
        "--out-dir", type=Path, default=Path("results/figures"), help="(results/figures)"
    )


def _files(inputs: list[Path]) -> list[Path]:
    files = []
    for path in inputs:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".csv", ".json"))
        elif path.is_file():
            files.append(path)
        else:
            raise CLIError(f"no such file or folder: {path}")
    if not files:
        raise CLIError(f"no result files (*.csv, *.json) in {', '.join(map(str, inputs))}")
    return files


def run(args: argparse.Namespace) -> int:
    """Read the results and draw the figures that they allow."""
    ratings = read_ratings(_files(args.inputs))
    if ratings.ab.empty and ratings.mos.empty:
        raise CLIError("the results hold no AB choices and no MOS ratings")
    if not ratings.ab.empty:
        written = plot_ab_preference(ratings, args.out_dir / "ab_preference.png")
        print(f"Fig. 2: {', '.join(map(str, written))} ({len(ratings.ab)} AB choices)")
    if not ratings.mos.empty:
        written = plot_mos(ratings, args.out_dir / "mos.png")
        print(f"Fig. 3: {', '.join(map(str, written))} ({len(ratings.mos)} MOS ratings)")
    return 0
