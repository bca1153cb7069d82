"""Snakemake wrapper of rule gather_metrics: all per-system tables into one tidy CSV + means."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.evaluate import gather_tables
from tdpr.runlog import log_to

log_to(snakemake.log[0])
gather_tables(
    snakemake.input.tables,
    metrics_csv=snakemake.output.metrics,
    summary_csv=snakemake.output.summary,
)
