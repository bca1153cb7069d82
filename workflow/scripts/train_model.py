"""Snakemake wrapper of rule train_model: train one TD-CNN, resuming from its work directory.

With ``resources: gpu=N`` (N > 1) the model trains in N processes (torchrun, DDP), one per GPU.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)
import torch

from tdpr.runlog import log_to
from tdpr.train.device import split_threads
from tdpr.train.distributed import launch
from tdpr.train.run import train_model

log_to(snakemake.log[0])
nproc = max(1, int(snakemake.resources.get("gpu", 1) or 1))
threads, workers = split_threads(snakemake.threads, nproc, torch.cuda.is_available())
kwargs = dict(
    name=snakemake.wildcards.model,
    arch=snakemake.params.arch,
    train_cfg=snakemake.params.train,
    train_manifest=snakemake.input.train,
    valid_manifest=snakemake.input.valid,
    model_out=snakemake.output.model,
    history_out=snakemake.output.history,
    work_dir=snakemake.params.work_dir,
    num_workers=workers,
)
if nproc > 1:
    launch(nproc, kwargs, log=snakemake.log[0], threads=threads)
else:
    torch.set_num_threads(threads)
    train_model(**kwargs)
