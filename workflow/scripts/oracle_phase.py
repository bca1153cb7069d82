"""Snakemake wrapper of rule oracle_phase: GT-phase outputs of one model at one cutoff."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.inference import oracle_testset
from tdpr.runlog import log_to

log_to(snakemake.log[0])
oracle_testset(
    in_manifest=snakemake.input.enhanced,
    reference_manifest=snakemake.input.reference,
    out_manifest=snakemake.output.manifest,
    out_dir=snakemake.output.audio,
)
