"""Snakemake wrapper of rule enhance_testset: one TD-CNN or baseline on one degraded test set."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)
import torch

from tdpr.inference import enhance_testset
from tdpr.runlog import log_to

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
enhance_testset(
    model_path=snakemake.input.get("model", snakemake.wildcards.model),
    spectrum_path=snakemake.input.get("spectrum"),
    in_manifest=snakemake.input.testset,
    out_manifest=snakemake.output.manifest,
    out_dir=snakemake.output.audio,
    **snakemake.params.enhance,
)
