"""Does a vocoder stopped by its step budget and resumed end with the one-go run's weights?

    python bench/check_vocoder_resume.py [--results results] [--stop 2000] [--out OUT]

Trains the workflow's vocoder again (the settings its model file records, the discriminators
of ``--config``, the run's clip manifests, the threads and loader workers the rule uses on a
CPU) to ``--stop`` steps, then resumes it to the model file's own budget, and compares the
result with ``results/vocoder/tfgan.pt`` tensor by tensor. Pick a ``--stop`` inside an epoch
(the showcase: 36 steps an epoch, so 2000 is 20 steps into the 56th). Exit status 0 when
every tensor is the same, 1 when one differs. About 35 minutes for the showcase's vocoder on
2 cores; the machine and thread count must be the run's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

from tdpr.config import load_config
from tdpr.train.checkpoint import MODEL_KIND, load_checkpoint, load_model
from tdpr.train.device import split_threads
from tdpr.train.vocoder import train_vocoder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--config", type=Path, default=Path("config/showcase.yaml"))
    parser.add_argument("--stop", type=int, default=2000, help="the first stage's budget")
    parser.add_argument("--threads", type=int, default=2, help="the rule's threads (2)")
    parser.add_argument("--out", type=Path, help="work folder (default: a temporary one)")
    args = parser.parse_args(argv)
    one_go_path = args.results / "vocoder" / "tfgan.pt"
    one_go = load_checkpoint(one_go_path, MODEL_KIND)
    cfg = dict(one_go["train_cfg"])
    if not 0 < args.stop < cfg["steps"]:
        parser.error(f"--stop must lie between 0 and the model's {cfg['steps']} steps")
    discriminator = load_config(args.config)["vocoder"]["discriminator"]  # schema defaults
    threads, workers = split_threads(args.threads, 1, False)
    torch.set_num_threads(threads)
    out = args.out or Path(tempfile.mkdtemp(prefix="vocoder-resume-"))
    clips = args.results / "clips"
    for steps in (args.stop, cfg["steps"]):
        model = train_vocoder(
            one_go["kwargs"], discriminator, {**cfg, "steps": steps},
            clips / "train.csv", clips / "validation.csv", out / "tfgan.pt",
            out / "history.csv", out / "work", device="cpu", num_workers=workers,
        )  # fmt: skip
    a, b = load_model(one_go_path).state_dict(), load_model(model).state_dict()
    differ = [name for name in a if not torch.equal(a[name], b[name])]
    setting = f"{threads} threads, {workers} loader workers"
    print(f"stopped at {args.stop}, resumed to {cfg['steps']} ({setting}): "
          f"{len(differ)} of {len(a)} tensors differ from {one_go_path}")  # fmt: skip
    print(f"history: {out / 'history.csv'}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
