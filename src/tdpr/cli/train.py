"""Train one configured model outside Snakemake (the same code as the train_model rule).

The model's settings are the config's `train` section overlaid with `models.<NAME>.train`, its
architecture `models.<NAME>.arch`. Writes OUT/model.pt (the final model file) and
OUT/history.csv; the resumable state (checkpoint.pt, TensorBoard events in tb/) lives in
OUT/work, and rerunning the same command resumes after the last finished epoch.

--nproc N trains the one model in N processes (torchrun, DistributedDataParallel): one per GPU
on a machine with N GPUs, or N CPU processes (gloo) without one. The global batch stays the
configured one (each process takes batch_size / N of it), so N must divide it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from tdpr.cli import CLIError
from tdpr.train.config import load_workflow_config, resolve_model_config
from tdpr.train.device import split_threads
from tdpr.train.distributed import launch
from tdpr.train.run import train_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``train`` arguments."""
    parser.add_argument(
        "--config", type=Path, required=True, metavar="FILE", help="workflow config"
    )
    parser.add_argument("--model", required=True, metavar="NAME", help="a key of `models`")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument("--device", metavar="D", help="cuda, cuda:1, cpu (default: cuda if any)")
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="DataLoader workers per process (default: from the CPU count, see --threads)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="CPUs to use, shared by torch threads and loader workers (default: all)",
    )
    parser.add_argument(
        "--nproc", type=int, default=1, metavar="N", help="training processes (DDP; default 1)"
    )
    parser.add_argument(
        "--train-manifest",
        type=Path,
        default=Path("results/clips/train.csv"),
        metavar="CSV",
        help="training clips (default: results/clips/train.csv)",
    )
    parser.add_argument(
        "--valid-manifest",
        type=Path,
        default=Path("results/clips/validation.csv"),
        metavar="CSV",
        help="validation clips (default: results/clips/validation.csv)",
    )


def run(args: argparse.Namespace) -> int:
    """Train and write OUT/model.pt and OUT/history.csv."""
    for path in (args.config, args.train_manifest, args.valid_manifest):
        if not path.is_file():
            raise CLIError(f"no such file: {path}")
    if args.workers is not None and args.workers < 0:
        raise CLIError(f"--workers must be >= 0, got {args.workers}")
    if args.nproc < 1 or args.threads < 1:
        raise CLIError(f"--nproc and --threads must be >= 1, got {args.nproc}, {args.threads}")
    arch, train_cfg = resolve_model_config(load_workflow_config(args.config), args.model)
    if train_cfg["batch_size"] % args.nproc:
        raise CLIError(
            f"--nproc {args.nproc} must divide train.batch_size ({train_cfg['batch_size']})"
        )
    cuda = (args.device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
    threads, workers = split_threads(args.threads, args.nproc, cuda)
    kwargs = {
        "name": args.model,
        "arch": arch,
        "train_cfg": train_cfg,
        "train_manifest": str(args.train_manifest),
        "valid_manifest": str(args.valid_manifest),
        "model_out": str(args.out / "model.pt"),
        "history_out": str(args.out / "history.csv"),
        "work_dir": str(args.out / "work"),
        "device": args.device,
        "num_workers": workers if args.workers is None else args.workers,
    }
    if args.nproc > 1:
        try:
            launch(args.nproc, kwargs, threads=threads)
        except RuntimeError as err:
            raise CLIError(str(err)) from err
    else:
        torch.set_num_threads(threads)
        train_model(**kwargs)
    return 0
