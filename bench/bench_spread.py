"""How far the demo's tables move between runs of the same code under other CPU settings.

Run the workflow in several folders (same code and config; e.g. other ``--cores``, or
``ATEN_CPU_CAPABILITY=avx2`` to take another of PyTorch's CPU kernels), then::

    python bench/bench_spread.py --reference results other1/results other2/results

It prints, per other run and overall, the largest difference of any Table 1 and extended-table
cell as displayed (rows and columns both tables share), how many cells differ, and the largest
difference of the unrounded mean LSD per system and cutoff (``metrics/summary.csv``). The
largest displayed difference is the tolerance the README's tables are checked with
(``tools/readme_tables.py --check --tolerance``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

TABLES = ("table1.csv", "table_extended.csv")


def numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """The cells that hold numbers (bold marks and the † mark stripped), NaN elsewhere."""
    text = frame.astype(str).replace(r"[*†]", "", regex=True).apply(lambda c: c.str.strip())
    return text.apply(pd.to_numeric, errors="coerce")


def read_table(results: Path, name: str) -> pd.DataFrame:
    frame = pd.read_csv(results / "tables" / name, comment="#", dtype=str)
    keys = [c for c in ("System", "Cutoff") if c in frame.columns]
    if not keys:
        keys = [frame.columns[0]]
    return frame.set_index(keys)


def table_spread(reference: Path, other: Path, name: str) -> tuple[float, int, int]:
    """(largest |difference|, cells that differ, cells compared) over shared rows and columns."""
    a, b = read_table(reference, name), read_table(other, name)
    rows = a.index.intersection(b.index)
    cols = a.columns.intersection(b.columns)
    x, y = numeric(a.loc[rows, cols]).to_numpy(float), numeric(b.loc[rows, cols]).to_numpy(float)
    both = np.isfinite(x) & np.isfinite(y)
    diff = np.abs(x - y)[both]
    return float(diff.max(initial=0.0)), int((diff > 1e-9).sum()), int(both.sum())


def lsd_spread(reference: Path, other: Path) -> tuple[float, str]:
    """Largest |difference| of the unrounded mean LSD of any system at any cutoff, and where."""
    keys = ["model", "variant", "cutoff"]
    a, b = (pd.read_csv(r / "metrics/summary.csv") for r in (reference, other))
    a, b = (f[f["metric"] == "lsd"].set_index(keys)["mean"] for f in (a, b))
    diff = (a - b).abs().dropna()
    where = diff.idxmax()
    return float(diff.max()), "/".join(map(str, where))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, type=Path, help="the reference results/")
    parser.add_argument("others", nargs="+", type=Path, help="results/ of the other runs")
    args = parser.parse_args(argv)
    worst = 0.0
    for other in args.others:
        print(f"# {other} against {args.reference}")
        for name in TABLES:
            top, changed, cells = table_spread(args.reference, other, name)
            worst = max(worst, top)
            print(f"{name:20s} largest displayed difference {top:.3f} ({changed} of {cells} cells)")
        top, where = lsd_spread(args.reference, other)
        print(f"{'summary.csv':20s} largest unrounded mean-LSD difference {top:.4f} ({where})")
    print(f"largest displayed difference over all runs: {worst:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
