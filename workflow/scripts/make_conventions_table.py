"""Snakemake wrapper of rule make_conventions_table: Table 1 under each LSD convention."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.report.conventions import build_conventions_table
from tdpr.runlog import log_to

log_to(snakemake.log[0])
build_conventions_table(
    metrics_csv=snakemake.input.metrics,
    out_csv=snakemake.output.csv,
    out_md=snakemake.output.md,
    **snakemake.params.table,
)
