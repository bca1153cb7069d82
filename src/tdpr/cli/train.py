"""Train one configured model outside Snakemake (the same code as the train_model rule).

The model's settings are the config's `train` section overlaid with `models.<NAME>.train`, its
architecture `models.<NAME>.arch`. Writes OUT/model.pt (the final model file) and
OUT/history.csv; the resumable state (checkpoint.pt, TensorBoard events in tb/) lives in
OUT/work, and rerunning the same command resumes after the last finished epoch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tdpr.cli import CLIError
from tdpr.train.config import load_workflow_config, resolve_model_config
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
        "--workers", type=int, default=0, metavar="N", help="DataLoader workers (default: 0)"
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
    if args.workers < 0:
        raise CLIError(f"--workers must be >= 0, got {args.workers}")
    arch, train_cfg = resolve_model_config(load_workflow_config(args.config), args.model)
    train_model(
        args.model,
        arch,
        train_cfg,
        args.train_manifest,
        args.valid_manifest,
        model_out=args.out / "model.pt",
        history_out=args.out / "history.csv",
        work_dir=args.out / "work",
        device=args.device,
        num_workers=args.workers,
    )
    return 0
