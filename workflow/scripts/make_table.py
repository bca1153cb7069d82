"""Snakemake wrapper of rule make_table: Table 1 and the extended table (CSV, Markdown, LaTeX)."""

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.report.build import build_tables
from tdpr.runlog import log_to

log_to(snakemake.log[0])
build_tables(
    metrics_csv=snakemake.input.metrics,
    params_json=snakemake.input.params,
    models=snakemake.params.models,
    cutoffs=snakemake.params.cutoffs,
    out_dir=Path(snakemake.output.table1).parent,
    convention=snakemake.params.convention,
    baselines=snakemake.params.baselines,
    table1_variants=snakemake.params.table1_variants,
)
