"""Snakemake wrapper of rule study_phase_sources: the phase-source study at every cutoff."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)
import torch

from tdpr.phase.study import phase_study
from tdpr.runlog import log_to

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
params = dict(snakemake.params.study)
cutoffs = params.pop("cutoffs")
phase_study(
    reference_manifest=snakemake.input.reference,
    out_csvs=dict(zip(cutoffs, snakemake.output.tables, strict=True)),
    vocoder_path=snakemake.input.get("vocoder"),
    **params,
)
