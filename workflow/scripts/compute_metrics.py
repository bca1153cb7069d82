"""Snakemake wrapper of rule compute_metrics: one system at one cutoff against the clean clips."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.evaluate import evaluate_system
from tdpr.runlog import log_to

log_to(snakemake.log[0])
evaluate_system(
    ref_manifest=snakemake.input.reference,
    est_manifest=snakemake.input.estimate,
    out_csv=snakemake.output.table,
    **snakemake.params.metrics,
)
