"""Copy the workflow's result tables into the README's marked blocks, or check the copies.

    python tools/readme_tables.py --readme README.md --results results --write
    python tools/readme_tables.py --readme README.md --results results --check --tolerance 0.02
    python tools/readme_tables.py ... --check --tolerance 0.02 --tolerance-db 10
    python tools/readme_tables.py --results results --run showcase --write

Blocks and filters: :mod:`tdpr.report.readme`. Exit status: 0 when written, or when every cell
agrees within the tolerance; 1 when a cell, row or column differs (one line each, then a
summary); 2 on bad input (a missing file, a malformed marker, no markers), with one line on
stderr.
"""

from __future__ import annotations

import argparse
import sys

from tdpr.report.readme import ReadmeTablesError, check_blocks, write_blocks


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line: the README, the results folder, and --write or --check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", default="README.md", help="Markdown file with the blocks")
    parser.add_argument("--results", default="results", help="folder the block paths start in")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite the blocks in place")
    action.add_argument("--check", action="store_true", help="compare the blocks with results")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        help="largest absolute difference of a numeric cell that passes (inclusive; default 0)",
    )
    parser.add_argument(
        "--run",
        default="demo",
        help="the blocks of this run only (their markers say run=NAME; none: demo)",
    )
    parser.add_argument(
        "--tolerance-db",
        type=float,
        default=None,
        help="the same for the columns titled in dB (SI-SDR, consistency); default: --tolerance",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the command; return its exit status."""
    args = parse_args(argv)
    try:
        if args.write:
            blocks, changed = write_blocks(args.readme, args.results, args.run)
            print(f"{args.readme}: {changed} of {blocks} blocks rewritten from {args.results}")
            return 0
        report = check_blocks(
            args.readme, args.results, args.tolerance, args.tolerance_db, args.run
        )
    except (ReadmeTablesError, OSError, UnicodeDecodeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for line in report.failures:
        print(line)
    for line in report.warnings:
        print(f"warning: {line}")
    print(report.summary())
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
