"""Snakemake wrapper of rule train_vocoder: the TFGAN vocoder on clean training clips."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)
import torch

from tdpr.runlog import log_to
from tdpr.train.device import split_threads
from tdpr.train.vocoder import train_vocoder

log_to(snakemake.log[0])
threads, workers = split_threads(snakemake.threads, 1, torch.cuda.is_available())
torch.set_num_threads(threads)
train_vocoder(
    arch=snakemake.params.arch,
    disc=snakemake.params.discriminator,
    train_cfg=snakemake.params.train,
    train_manifest=snakemake.input.train,
    valid_manifest=snakemake.input.valid,
    model_out=snakemake.output.model,
    history_out=snakemake.output.history,
    work_dir=snakemake.params.work_dir,
    num_workers=workers,
)
