"""What rounding the degraded training inputs to 16 bits changes: two short trainings side by side.

One model of a workflow config (default: the demo's SEANet) is trained twice on the same clips,
seed and settings, once with ``train.pcm16_inputs: true`` (the default) and once with false;
both are then scored on the same validation items in both forms (16-bit inputs, as the stored
test sets are, and float32 inputs). Prints the validation LSD of the outputs per training and
input form, with the LSD of the inputs themselves.

Run: ``python bench/bench_pcm16.py --clips results/clips [--epochs 3] [--model seanet]``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from tdpr.train.checkpoint import load_model
from tdpr.train.config import TrainConfig, load_workflow_config, resolve_model_config
from tdpr.train.run import build_datasets, train_model
from tdpr.train.steps import lsd_sum


def valid_lsd(model: torch.nn.Module | None, data) -> float:
    """Mean LSD of the model's outputs (or of the inputs when ``model`` is None)."""
    total, items = 0.0, 0
    with torch.inference_mode():
        for i in range(len(data)):
            degraded, clean = data[i]
            out = degraded[None] if model is None else model(degraded[None])
            value, n = lsd_sum(clean[None], out)
            total, items = total + value, items + n
    return total / items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("config/demo.yaml"))
    parser.add_argument("--clips", type=Path, default=Path("results/clips"), help="manifests")
    parser.add_argument("--model", default="seanet")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    arch, train = resolve_model_config(load_workflow_config(args.config), args.model)
    manifests = args.clips / "train.csv", args.clips / "validation.csv"
    forms = {}
    for pcm16 in (True, False):
        cfg = TrainConfig.from_dict({**train, "epochs": args.epochs, "pcm16_inputs": pcm16})
        forms[pcm16] = build_datasets(cfg, *manifests)[1]
    print(f"# {args.model} of {args.config}, {args.epochs} epochs, {len(forms[True])} items")
    print("| training inputs | valid LSD, 16-bit inputs | valid LSD, float32 inputs |")
    print("|---|---|---|")
    print(f"| (the inputs themselves) | {valid_lsd(None, forms[True]):.3f} "
          f"| {valid_lsd(None, forms[False]):.3f} |")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for pcm16 in (True, False):
            out = Path(tmp) / str(pcm16)
            cfg = {**train, "epochs": args.epochs, "pcm16_inputs": pcm16}
            path = train_model(
                args.model, arch, cfg, *manifests, out / "m.pt", out / "h.csv", out / "work"
            )
            model = load_model(path)
            cells = [f"{valid_lsd(model, forms[f]):.3f}" for f in (True, False)]
            name = "16-bit (pcm16_inputs: true)" if pcm16 else "float32 (pcm16_inputs: false)"
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
