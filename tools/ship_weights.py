"""Regenerate the weights that ship inside tdpr: run the showcase, then copy its weights folder.

    python tools/ship_weights.py                 # snakemake on config/showcase.yaml, then copy
    python tools/ship_weights.py --no-run        # copy an existing results/weights
    python tools/ship_weights.py --compare       # compare results/weights with the shipped

The folder (model files, manifest.json, MODEL_CARD.md: :mod:`tdpr.pretrained`) replaces
src/tdpr/weights/ as a whole, and the run's learning curves replace
docs/showcase_training_curves.png (the README's figure), after every file's SHA-256 is checked
against the manifest and the total size against the cap (20 MB). Exit status 0 when copied;
1 when a check fails; 2 on bad input.

A model whose tensors equal the shipped one's keeps the shipped file and manifest record
(:func:`tdpr.pretrained.keep_reproduced`): a bit-for-bit rerun changes no weights file and
keeps the training minutes of the run that first made them; ``--replace-all`` replaces every
model.

``--compare`` copies nothing: it checks that a run reproduced the shipped weights, model by
model, tensor by tensor (:func:`tdpr.pretrained.compare_weights`), with each model's test LSD
per cutoff in both manifests. Exit status 0 when every model has the same tensors, 1 when one
differs, 2 on bad input.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from tdpr.fsio import atomic_folder
from tdpr.pretrained import (
    CARD,
    MANIFEST,
    WeightsError,
    compare_weights,
    keep_reproduced,
    read_manifest,
    shipped_file,
)

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "tdpr" / "weights"
FIGURE = ROOT / "docs" / "showcase_training_curves.png"
CAP_BYTES = 20_000_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/showcase.yaml", help="the showcase config")
    parser.add_argument("--weights", default="results/weights", help="the run's weights folder")
    parser.add_argument("--cores", default="all", help="snakemake --cores (all)")
    parser.add_argument("--figure", default="results/figures/training_curves.png")
    parser.add_argument("--no-run", action="store_true", help="copy without running snakemake")
    parser.add_argument(
        "--compare", action="store_true", help="compare --weights with the shipped; copy nothing"
    )
    parser.add_argument(
        "--replace-all",
        action="store_true",
        help="replace every shipped model, also those the run reproduced bit for bit",
    )
    return parser.parse_args(argv)


def compare(source: Path, reference: Path) -> int:
    """Print how each model of ``source`` compares with ``reference``; 0 when all match."""
    try:
        rows = compare_weights(source, reference)
    except WeightsError as err:
        print(f"ship_weights: {err}", file=sys.stderr)
        return 2
    print("| model | tensors | differing | max abs difference | test LSD, run / shipped |")
    print("|---|---|---|---|---|")
    for row in rows:
        lsd = ", ".join(f"{c}: {a:.4f} / {b:.4f}" for c, (a, b) in row.lsd.items()) or "-"
        same = " (the same file)" if row.same_file else ""
        print(f"| {row.name} | {row.tensors} | {row.differing}{same} | {row.max_abs_diff:.3g} "
              f"| {lsd} |")  # fmt: skip
    differ = [row.name for row in rows if not row.same_weights]
    print("ship_weights: " + (f"differs: {', '.join(differ)}" if differ else "the same weights"))
    return 1 if differ else 0


def shipped_names(folder: Path) -> list[str]:
    """The files a weights folder ships (manifest, card, models), after checking every model
    file's SHA-256."""
    manifest = read_manifest(folder)
    for name in manifest["models"]:
        shipped_file(name, folder)
    return [MANIFEST, CARD, *(entry["file"] for entry in manifest["models"].values())]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    source = Path(args.weights)
    if args.compare:
        return compare(source, TARGET)
    if not args.no_run:
        targets = [str(source), args.figure]
        command = ["snakemake", *targets, "--cores", args.cores, "--configfile", args.config]
        if subprocess.run(command, cwd=ROOT).returncode != 0:
            print(f"ship_weights: {' '.join(command)} failed", file=sys.stderr)
            return 1
    if not (source / MANIFEST).is_file():
        print(f"ship_weights: no weights folder at {source} (no {MANIFEST})", file=sys.stderr)
        return 2
    try:
        names = shipped_names(source)
    except WeightsError as err:
        print(f"ship_weights: {err}", file=sys.stderr)
        return 1
    size = sum((source / name).stat().st_size for name in names)
    if size > CAP_BYTES:
        print(f"ship_weights: {size / 1e6:.1f} MB is over the {CAP_BYTES / 1e6:.0f} MB cap")
        return 1
    kept: list[str] = []
    with atomic_folder(TARGET) as tmp:
        for name in names:  # only what the manifest names
            shutil.copyfile(source / name, tmp / name)
        if not args.replace_all and (TARGET / MANIFEST).is_file():
            try:
                kept = keep_reproduced(tmp, TARGET)
            except WeightsError as err:  # other models, or a damaged shipped folder
                print(f"ship_weights: every model replaced: {err}")
    if kept:
        print(f"ship_weights: the same tensors as shipped, file and record kept: {', '.join(kept)}")
    if Path(args.figure).is_file():
        shutil.copyfile(args.figure, FIGURE)
    print(f"ship_weights: {TARGET} now holds {source} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
