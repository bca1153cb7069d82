"""Wall time of a workflow parse: ``snakemake -n`` of the full reproduction, side by side.

Every SLURM job parses the whole workflow again, so its cost is paid once per job. This runs the
dry run of ``config/config.yaml`` (119 jobs planned, nothing executed) alternately in this
checkout and, with ``--baseline REV``, in a temporary git worktree of an earlier revision, and
prints the median wall and CPU seconds of each and their ratio, pair by pair. It also reports
whether torch was imported while parsing (``-X importtime``).

Run: ``python bench/bench_parse.py --baseline b0937e1 --runs 7``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def dry_run(checkout: Path, workdir: Path, importtime: bool = False) -> tuple[float, float, str]:
    """One ``snakemake -n`` of ``checkout``'s workflow: (wall s, child CPU s, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(checkout / "src")}
    flags = ["-X", "importtime"] if importtime else []
    cmd = [sys.executable, *flags, "-m", "snakemake", "-s", str(checkout / "Snakefile")]
    cmd += ["--directory", str(workdir), "-n", "-q", "--cores", "all"]
    cmd += ["--configfile", str(checkout / "config/config.yaml")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError(f"dry run of {checkout} failed:\n{result.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result.stderr


def imports_torch(checkout: Path, workdir: Path) -> bool:
    _, _, stderr = dry_run(checkout, workdir, importtime=True)
    return any(line.split("|")[-1].strip() == "torch" for line in stderr.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git revision to compare against")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each (after 1 warm-up)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        checkouts = {"this checkout": ROOT}
        if args.baseline:
            base = tmp / "baseline"
            subprocess.run(
                ["git", "worktree", "add", "-q", "--detach", str(base), args.baseline],
                cwd=ROOT,
                check=True,
            )
            checkouts[f"baseline {args.baseline}"] = base
        try:
            work = {name: tmp / f"work{i}" for i, name in enumerate(checkouts)}
            for name, path in checkouts.items():
                work[name].mkdir()
                dry_run(path, work[name])  # warm-up: bytecode caches, page cache
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in checkouts}
            for _ in range(args.runs):
                for name, path in checkouts.items():
                    wall, cpu, _ = dry_run(path, work[name])
                    times[name].append((wall, cpu))
            print(f"# snakemake -n --cores all, config/config.yaml; {args.runs} runs each, median")
            print("| checkout | wall (s) | CPU (s) | imports torch |")
            print("|---|---:|---:|---|")
            for name, path in checkouts.items():
                wall = statistics.median(w for w, _ in times[name])
                cpu = statistics.median(c for _, c in times[name])
                torch = "yes" if imports_torch(path, work[name]) else "no"
                print(f"| {name} | {wall:.2f} | {cpu:.2f} | {torch} |")
            if args.baseline:
                names = list(checkouts)
                pairs = zip(times[names[0]], times[names[1]], strict=True)
                ratio = statistics.median(a[0] / b[0] for a, b in pairs)
                print(f"\nwall-time ratio this / baseline (median of pairs): {ratio:.2f}")
        finally:
            if args.baseline:
                subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT)


if __name__ == "__main__":
    main()
