"""Project the cost of the configured trainings: steps, epochs and GPU-hours per model.

Steps per epoch are ceil(clips × train.crops_per_clip / batch_size); the clips are counted in
--train-manifest when it exists, else estimated (MAESTRO v3's 159.2 h of training audio for
data.source maestro; --clips N overrides both). Steps/s come from --steps-per-second NAME=X
(repeatable; NAME a model or tfgan), else from --figures (default bench/gpu_figures.json,
written by bench/gpu_check.sh on a GPU; its fastest mode is used). Without figures the table
still lists the steps and says what is not measured.

example:
  tdpr plan --config config/config.yaml --steps-per-second seanet=9.5 tfgan=20
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from tdpr.cli import CLIError
from tdpr.config import load_config
from tdpr.train.config import VocoderConfig, configured_models, resolve_model_config
from tdpr.train.plan import PlanRow, estimated_clips, format_table, load_figures, model_row

FIGURES = Path("bench/gpu_figures.json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``plan`` arguments."""
    parser.add_argument(
        "--config", type=Path, required=True, metavar="FILE", help="workflow config"
    )
    parser.add_argument(
        "--train-manifest",
        type=Path,
        default=Path("results/clips/train.csv"),
        metavar="CSV",
        help="training clips to count (default: results/clips/train.csv)",
    )
    parser.add_argument("--clips", type=int, metavar="N", help="number of training clips")
    parser.add_argument(
        "--steps-per-second", nargs="+", default=[], metavar="NAME=X", help="measured rates"
    )
    parser.add_argument(
        "--figures", type=Path, default=FIGURES, metavar="JSON", help=f"(default: {FIGURES})"
    )


def _rates(args: argparse.Namespace) -> tuple[dict[str, float], str]:
    rates, source = {}, "not measured"
    if args.figures.is_file():
        rates, source = load_figures(args.figures)
    given = {}
    for item in args.steps_per_second:
        name, sep, value = item.partition("=")
        try:
            given[name] = float(value)
        except ValueError:
            sep = ""
        if not sep or given[name] <= 0:
            raise CLIError(f"--steps-per-second wants NAME=X with X > 0, got {item!r}")
    if given:
        rates, source = (
            {**rates, **given},
            "given on the command line" + (f" (others: {source})" if rates else ""),
        )
    return rates, source


def run(args: argparse.Namespace) -> int:
    """Print the table."""
    config = load_config(args.config)
    if args.clips is not None:
        clips, counted = args.clips, "given"
    elif args.train_manifest.is_file():
        clips, counted = len(pd.read_csv(args.train_manifest)), f"counted in {args.train_manifest}"
    elif config["data"]["source"] == "maestro":
        clips, counted = estimated_clips(config["data"]["clip_seconds"]), "estimated for MAESTRO v3"
    else:
        raise CLIError(f"no {args.train_manifest}: pass --clips N or --train-manifest CSV")
    rates, source = _rates(args)
    rows = []
    for name in configured_models(config):
        _, train = resolve_model_config(config, name)
        rows.append(model_row(name, train, clips, rates.get(name), source))
    vocoder = VocoderConfig.from_dict(config["vocoder"]["train"])
    rows.append(
        PlanRow("tfgan (vocoder)", None, None, None, vocoder.steps, rates.get("tfgan"), source)
    )
    print(f"# {args.config}: {clips:,} training clips ({counted}); steps/s: {source}")
    print(format_table(rows))
    return 0
