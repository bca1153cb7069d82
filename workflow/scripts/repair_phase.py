"""Snakemake wrapper of rule repair_phase: one phase variant of one model at one cutoff."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)
import torch

from tdpr.inference import repair_testset
from tdpr.runlog import log_to

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
repair_testset(
    in_manifest=snakemake.input.enhanced,
    out_manifest=snakemake.output.manifest,
    out_dir=snakemake.output.audio,
    vocoder_path=snakemake.input.get("vocoder"),
    reference_manifest=snakemake.input.get("reference"),
    **snakemake.params.phase,
)
