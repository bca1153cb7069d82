"""List the configured models and the vocoder, with their parameter counts, and the weights
that ship with tdpr (what `tdpr enhance` runs with no --model).

Models come from the `models` section of the config file (default: config/config.yaml when it
exists in the current directory); without a config, or a config without a `models` section, the
three paper-size TD-CNNs. Models are built on PyTorch's meta device, so counting even the 134 M
Demucs allocates no weights.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from tdpr.cli import CLIError
from tdpr.models import build_model, count_parameters
from tdpr.pretrained import CARD, WeightsError, mean_lsd, read_manifest, weights_dir
from tdpr.registry import VOCODER, models_of_kind, system_label
from tdpr.train.config import configured_models, load_workflow_config, resolve_model_config

DEFAULT_CONFIG = Path("config/config.yaml")
THE_VOCODER = models_of_kind(VOCODER)[0]  # the vocoder of TD-PR (tfgan)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``models`` arguments."""
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help=f"workflow config (default: {DEFAULT_CONFIG})"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--shipped",
        action="store_true",
        help="only the shipped weights (with --json: their manifest, tdpr.pretrained)",
    )


def parameter_counts(config: dict) -> dict[str, int]:
    """``{model name: parameter count}`` of every configured TD-CNN and of the vocoder."""
    archs = {name: resolve_model_config(config, name)[0] for name in configured_models(config)}
    archs[THE_VOCODER] = dict((config.get("vocoder") or {}).get("arch") or {})
    counts = {}
    for name, arch in archs.items():
        with torch.device("meta"):  # shapes only: no memory for the weights
            counts[name] = count_parameters(build_model(name, **arch))
    return counts


def _table(counts: dict[str, int]) -> str:
    width = max(len("model"), *(len(name) for name in counts))
    lines = [f"{'model':<{width}}  {'parameters':>13}  {'millions':>8}"]
    for name, count in counts.items():
        lines.append(f"{name:<{width}}  {count:>13,}  {count / 1e6:>8.2f}")
    return "\n".join(lines)


def shipped_table(manifest: dict) -> str:
    """The shipped weights, one line each, then the default ``tdpr enhance`` runs."""
    lines = [f"shipped weights ({weights_dir()}; model card: {CARD}, made by {manifest['config']})"]
    header = ("model", "kind", "millions", "steps", "minutes", "mean LSD")
    lines.append("{:<10}  {:<7}  {:>8}  {:>6}  {:>7}  {}".format(*header))
    for name, entry in manifest["models"].items():
        lines.append(
            f"{name:<10}  {entry['kind']:<7}  {entry['parameters'] / 1e6:>8.2f}  "
            f"{entry['steps']:>6}  {entry['train_seconds'] / 60:>7.1f}  {mean_lsd(entry)}"
        )
    default = manifest["default"]
    label = system_label(default["system"])
    lines.append(f"default of `tdpr enhance`: {label} (mean LSD {default['lsd']:.3f})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the parameter counts and the shipped weights, as tables or as one JSON object."""
    if args.shipped:
        try:
            manifest = read_manifest()
        except WeightsError as err:
            raise CLIError(str(err)) from err
        print(json.dumps(manifest, indent=2) if args.json else shipped_table(manifest))
        return 0
    path = args.config
    if path is None and DEFAULT_CONFIG.is_file():
        path = DEFAULT_CONFIG
    if path is not None and not path.is_file():
        raise CLIError(f"no such config file: {path}")
    config = load_workflow_config(path) if path is not None else {}
    counts = parameter_counts(config)
    if args.json:
        print(json.dumps(counts))
        return 0
    print(_table(counts))
    try:
        print("\n" + shipped_table(read_manifest()))
    except WeightsError as err:
        print(f"\n{err}")
    return 0
