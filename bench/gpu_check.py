"""The one-shot check of a CUDA machine (run by ``bench/gpu_check.sh``; see there).

Stages, each a subprocess with a time limit of its own so that one slow stage cannot take the
whole budget (about 8 minutes on one GPU): the ``cuda`` test tier; training steps/s of each
paper-size model in fp32 / bf16 / bf16 + compile and of the vocoder (one process per model,
figures merged into ``bench/gpu_figures.json`` for ``tdpr plan``); loader batches/s against
steps/s; ``tdpr enhance`` real-time factors with TD-PR; a 2-process DDP training when the
machine has two GPUs. Every stage's output and time is appended as one section to the results
file, headed by the GPU's name and the torch and CUDA versions.

``--dry-run`` takes the same stages on the CPU with tiny sizes (the DDP stage with 2 gloo
processes) and writes its figures to ``--results`` (a temporary file unless given), never to
``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
FIGURES = BENCH / "gpu_figures.json"
TDCNNS = ("seanet", "audiounet", "demucs")
#: Seconds per stage on a GPU (at most 8 minutes in all; the training limit is per model, and
#: a model stopped at it keeps the modes it finished); the dry run allows 5 times as much.
LIMITS = {"tests": 40, "train": 90, "tfgan": 25, "loader": 60, "enhance": 45, "ddp": 40}
DDP_CONFIG = """models:
  seanet:
    arch: {base_channels: 8}
train: {epochs: 2, batch_size: 4, crop_seconds: 1.0, valid_items: 2, max_steps_per_epoch: 4}
"""


def header() -> str:
    """GPU (or CPU), torch and CUDA versions."""
    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        gpu = f"{len(names)} x {names[0]}"
    else:
        gpu = f"no GPU (CPU, {os.cpu_count()} cores)"
    return f"{gpu}; torch {torch.__version__}; CUDA {torch.version.cuda or '-'}"


def run_stage(name: str, cmd: list[str], limit: float, log: list[str]) -> bool:
    """Run one stage; append its output (or why it stopped) to ``log``; True if it passed."""
    start = time.monotonic()
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    try:
        done = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=limit, check=False
        )
        out, status = done.stdout + done.stderr[-1500:], f"exit {done.returncode}"
        ok = done.returncode == 0
    except subprocess.TimeoutExpired as err:
        out = (
            (err.stdout or b"").decode(errors="replace")
            if isinstance(err.stdout, bytes)
            else (err.stdout or "")
        )
        status, ok = f"stopped at its limit of {limit:.0f} s", False
    seconds = time.monotonic() - start
    log.append(f"### {name} ({seconds:.0f} s, {status})\n\n```\n{out.strip()}\n```\n")
    print(f"gpu_check | {name}: {status}, {seconds:.0f} s", file=sys.stderr, flush=True)
    return ok


def ddp_stage(dry: bool, work: Path, log: list[str]) -> None:
    """2-process training of a small SEANet on synthetic clips (gloo on CPU, NCCL on GPUs)."""
    clips = work / "clips"
    clips.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(BENCH))
    from bench_loader import write_clips  # noqa: PLC0415  (bench/ is not a package)

    for split, n in (("train", 8), ("validation", 2)):
        (clips / split).mkdir(exist_ok=True)
        paths = write_clips(clips / split, n, 4.0)
        rows = "\n".join(f"{split}_{i},{split}/{p.name}" for i, p in enumerate(paths))
        (clips / f"{split}.csv").write_text("clip_id,path\n" + rows + "\n")
    (work / "ddp.yaml").write_text(DDP_CONFIG)
    cmd = [sys.executable, "-m", "tdpr", "train", "--config", str(work / "ddp.yaml")]
    cmd += ["--model", "seanet", "--out", str(work / "ddp"), "--nproc", "2"]
    cmd += ["--train-manifest", str(clips / "train.csv")]
    cmd += ["--valid-manifest", str(clips / "validation.csv")]
    cmd += ["--device", "cpu" if dry else "cuda", "--threads", "2" if dry else "8"]
    run_stage("DDP: tdpr train --nproc 2", cmd, LIMITS["ddp"] * (5 if dry else 1), log)


def merge_figures(parts: list[Path], out: Path) -> None:
    """One ``bench_train --json`` file from one per model."""
    merged: dict = {"meta": {}, "steps_per_second": {}}
    for part in parts:
        if part.is_file():
            data = json.loads(part.read_text())
            merged["meta"] = data["meta"]
            merged["steps_per_second"].update(data["steps_per_second"])
    merged["meta"]["header"] = header()
    out.write_text(json.dumps(merged, indent=1) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes")
    parser.add_argument("--results", type=Path, help="file to append to (default below)")
    args = parser.parse_args()
    dry = args.dry_run
    if not dry and not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; use --dry-run on a CPU", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    results = args.results or (work / "RESULTS.md" if dry else BENCH / "RESULTS.md")
    figures = work / "gpu_figures.json" if dry else FIGURES
    py, log, start = sys.executable, [], time.monotonic()
    scale = 5 if dry else 1  # a shared CPU compiles slowly
    if dry:
        # One thread per process: the dry run checks code paths, and OpenMP threads that spin
        # on a busy machine slow every step down many times over.
        os.environ["OMP_NUM_THREADS"] = "1"

    # modules needing what the GPU machine lacks (music21, selenium) are skipped, not fatal
    tests = [py, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider", "tests"]
    tests += ["--continue-on-collection-errors"]
    run_stage("cuda test tier", tests, LIMITS["tests"] * scale, log)

    size = ["--tiny", "--batch", "2", "--seconds", "0.5", "--steps", "1"] if dry else []
    device = ["--device", "cpu" if dry else "cuda"]
    # The dry run leaves torch.compile out of the speed table: compiling on a CPU takes a
    # minute and a half for one step, and the training path with bf16 + compile is run on the
    # CPU by tests/test_workflow.py; here only the stage's own wiring is checked.
    modes = ["--modes", "fp32", "bf16"] if dry else []
    parts = []
    for name in ("seanet",) if dry else TDCNNS:
        parts.append(work / f"train-{name}.json")
        cmd = [py, str(BENCH / "bench_train.py"), *device, *size, *modes, "--models", name]
        run_stage(
            f"training steps/s: {name}",
            [*cmd, "--json", str(parts[-1])],
            LIMITS["train"] * scale,
            log,
        )
    parts.append(work / "train-tfgan.json")
    cmd = [py, str(BENCH / "bench_train.py"), *device, *size, *modes, "--models", "tfgan"]
    run_stage(
        "training steps/s: tfgan", [*cmd, "--json", str(parts[-1])], LIMITS["tfgan"] * scale, log
    )
    merge_figures(parts, figures)

    loader = [py, str(BENCH / "bench_loader.py"), *device, "--mode", "bf16"]
    if dry:
        loader += ["--small", "--clips", "4", "--clip-seconds", "6", "--workers", "0", "1"]
        loader += ["--batches", "2", "--steps", "1", "--batch", "2", "--models", "seanet"]
    else:
        loader += ["--workers", "0", "4", "8", "14"]
    run_stage("loader vs training", loader, LIMITS["loader"] * scale, log)

    enhance = [py, str(BENCH / "bench_enhance.py"), *device]
    enhance += (
        ["--tiny", "--models", "seanet", "--seconds", "3", "--repeats", "1", "--threads", "1"]
        if dry
        else ["--seconds", "30", "--repeats", "2"]
    )
    run_stage("tdpr enhance RTF", enhance, LIMITS["enhance"] * scale, log)

    if dry or torch.cuda.device_count() >= 2:
        ddp_stage(dry, work, log)
    else:
        log.append("### DDP\n\nSkipped: one GPU (the 2-process run needs two).\n")

    total = time.monotonic() - start
    kind = "dry run on the CPU, tiny sizes" if dry else "on the GPU"
    today = datetime.date.today().isoformat()
    section = [
        f"\n## GPU check (`bench/gpu_check.sh{' --dry-run' if dry else ''}`), {today}\n",
        f"{header()}; {kind}; {total:.0f} s in all. Steps/s for `tdpr plan`: `{figures}`.\n",
        *log,
    ]
    with results.open("a") as f:
        f.write("\n".join(section))
    print(f"gpu_check | {total:.0f} s; figures appended to {results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
