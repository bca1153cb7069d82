"""The ``--convention`` part of ``tdpr metrics``: LSD as each paper of the field computes it.

Not a sub-command of its own (the leading underscore keeps it out of the command list).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
from pathlib import Path

from tdpr.cli import CLIError
from tdpr.evaluate import load_pair
from tdpr.fsio import write_text_atomic
from tdpr.metrics.conventions import convention_values, file_mean
from tdpr.registry import CONVENTIONS, LSDConvention, convention_entry, convention_names

#: --n-fft, --hop and --floor of the default metrics, which no convention takes
DEFAULT_SETTINGS = {"n_fft": 1024, "hop": 256, "floor": 1e-8}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach ``--convention``, ``--list-conventions`` and ``--csv``."""
    parser.add_argument(
        "--convention",
        action="append",
        metavar="NAME",
        help="LSD under this paper's convention instead of the default metrics (repeatable; "
        "'all': every registered one)",
    )
    parser.add_argument(
        "--list-conventions",
        action="store_true",
        help="print the registered LSD conventions with their citations, and exit",
    )
    parser.add_argument(
        "--csv",
        type=Path,
        metavar="FILE",
        help="with --convention: also write each value beside its convention's parameters",
    )


def _row(name: str, entry: LSDConvention) -> list[str]:
    """One line of the listing: the entry's fields in short."""
    summary = entry.summary().removeprefix("STFT ").split("; ")
    return [name, entry.title, *summary[:3], "; ".join(summary[3:]) or "-"]


def listing() -> str:
    """The table of registered conventions, then each one's citation and notes."""
    header = ["name", "title", "STFT", "log", "average", "split, files"]
    rows = [header, *(_row(name, entry) for name, entry in CONVENTIONS.items())]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]  # fmt: skip
    lines.append("")
    for name, entry in CONVENTIONS.items():
        lines.append(f"{name}: {entry.citation}.")
        if entry.notes:
            lines.append(f"{' ' * len(name)}  Note: {entry.notes}.")
    return "\n".join(lines)


def check(args: argparse.Namespace) -> list[str]:
    """The conventions asked for; CLIError for settings that cannot go with them."""
    if not args.convention:
        raise CLIError("--csv writes the values of --convention: give --convention NAME or all")
    given = [
        f"--{k.replace('_', '-')}" for k, v in DEFAULT_SETTINGS.items() if getattr(args, k) != v
    ]
    if given:
        raise CLIError(
            f"{', '.join(given)} set(s) the default metrics; each --convention fixes its own "
            "STFT and floor (see --list-conventions)"
        )
    if args.csv is not None and not args.csv.parent.is_dir():
        raise CLIError(f"--csv: no such folder: {args.csv.parent}")
    return convention_names(args.convention)


def _clean(d: dict) -> dict:
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in d.items()}


def _results(names: list[str], pairs: list[tuple[str, Path, Path]], cutoff: float | None) -> dict:
    """``{name: {"parameters", "per_file", "mean"}}`` over the pairs (one sample rate)."""
    per_file, rates = [], set()
    for file, ref_path, est_path in pairs:
        ref, est, rate = load_pair(ref_path, est_path)
        rates.add(rate)
        if len(rates) > 1:
            raise CLIError(
                f"files have different sample rates ({', '.join(map(str, sorted(rates)))} Hz): "
                "a convention's STFT depends on the rate, so compare one rate at a time"
            )
        try:
            per_file.append((file, convention_values(ref, est, names, rate, cutoff)))
        except ValueError as err:
            raise CLIError(f"{ref_path} vs {est_path}: {err}") from err
    rate = rates.pop()
    out = {}
    for name in names:
        rows = [{"file": file, **values[name]} for file, values in per_file]
        metrics = [m for m in rows[0] if m != "file"]
        mean = {m: file_mean(name, [row[m] for row in rows]) for m in metrics}
        out[name] = {"parameters": convention_entry(name).parameters(rate), "per_file": rows,
                     "mean": mean}  # fmt: skip
    return out


def _csv_text(results: dict) -> str:
    """One row per file (and ``mean``), convention and metric, with the parameters beside."""
    buffer = io.StringIO()
    keys = list(next(iter(results.values()))["parameters"])
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "convention", "metric", "value", *keys])
    for name, result in results.items():
        params = ["" if result["parameters"][k] is None else result["parameters"][k] for k in keys]
        for row in [*result["per_file"], {"file": "mean", **result["mean"]}]:
            for metric, value in row.items():
                if metric != "file":
                    writer.writerow([row["file"], name, metric, repr(value), *params])
    return buffer.getvalue()


def _text(results: dict) -> str:
    """Files (and the mean) by ``metric@convention`` columns, then each convention's line."""
    columns = [(n, m) for n, r in results.items() for m in r["mean"]]
    titles = [f"{m}@{n}" for n, m in columns]
    files = [row["file"] for row in next(iter(results.values()))["per_file"]] + ["mean"]
    width = max(len(f) for f in [*files, "file"])
    cols = [max(len(t), 9) for t in titles]
    head = (f"{t:>{c}}" for t, c in zip(titles, cols, strict=True))
    lines = ["  ".join([f"{'file':<{width}}", *head])]
    for i, file in enumerate(files):
        cells = []
        for (name, metric), c in zip(columns, cols, strict=True):
            result = results[name]
            row = result["per_file"][i] if i < len(result["per_file"]) else result["mean"]
            cells.append(f"{row[metric]:>{c}.4f}")
        lines.append("  ".join([f"{file:<{width}}", *cells]))
    lines.append("")
    for name, result in results.items():
        rate = result["parameters"]["sample_rate"]
        lines.append(f"{name}: {CONVENTIONS[name].summary(rate)}")
    return "\n".join(lines)


def run(args: argparse.Namespace, names: list[str], pairs: list[tuple[str, Path, Path]]) -> int:
    """LSD under each of ``names`` (see :func:`check`): print a table or JSON; write the CSV
    if asked (atomically, after every value is computed)."""
    results = _results(names, pairs, args.cutoff)
    if args.csv is not None:
        write_text_atomic(args.csv, _csv_text(results))
    if args.json:
        cleaned = {
            name: {
                "parameters": r["parameters"],
                "per_file": [_clean(row) for row in r["per_file"]],
                "mean": _clean(r["mean"]),
            }
            for name, r in results.items()
        }
        print(json.dumps({"conventions": cleaned}))
    else:
        print(_text(results))
    return 0
