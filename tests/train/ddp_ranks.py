"""One rank of the DDP tests (run by torchrun, not by pytest): tiny SEANet through ``fit``.

Usage: ``torchrun --standalone --nproc-per-node N ddp_ranks.py TRAIN.csv VALID.csv WORK CFG.json
[KILL_AFTER]``. Trains on the CPU (gloo); rank 0 writes ``WORK/weights.pt`` at the end. With
KILL_AFTER, every rank stops with an exception after that epoch's checkpoint, as a killed run
would.
"""

import json
import logging
import sys
from pathlib import Path

import torch

from tdpr.models import build_model
from tdpr.train import distributed
from tdpr.train.config import TrainConfig
from tdpr.train.loop import fit
from tdpr.train.losses import TDCNNLoss
from tdpr.train.run import build_datasets
from tdpr.train.steps import RegressionTask

TINY_SEANET = {"base_channels": 4, "strides": [2, 4], "latent_dim": 8}


def train(train_csv, valid_csv, work: Path, cfg: TrainConfig, kill_after=None) -> torch.nn.Module:
    """Build the tiny SEANet from ``cfg.seed`` and fit it (also used in one process)."""
    train_set, valid_set = build_datasets(cfg, train_csv, valid_csv)
    torch.manual_seed(cfg.seed)
    model = build_model("seanet", **TINY_SEANET)
    task = RegressionTask(model, TDCNNLoss(), train_set, valid_set, cfg, torch.device("cpu"))

    def stop(row: dict) -> None:
        if row["epoch"] == kill_after:
            raise SystemExit(f"killed after epoch {kill_after}")

    fit(task, work, on_epoch_end=stop)
    return model


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    torch.set_num_threads(1)
    train_csv, valid_csv, work, cfg_json = sys.argv[1:5]
    kill = int(sys.argv[5]) if len(sys.argv) > 5 else None
    distributed.setup(torch.device("cpu"))
    model = train(train_csv, valid_csv, Path(work), TrainConfig(**json.loads(cfg_json)), kill)
    if distributed.is_main():
        torch.save(model.state_dict(), Path(work) / "weights.pt")
    distributed.barrier()
    distributed.teardown()
