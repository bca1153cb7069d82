"""Snakemake wrapper of rule make_phase_study_table: the study's table over every cutoff."""

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.report.build import build_phase_study_table
from tdpr.runlog import log_to

log_to(snakemake.log[0])
build_phase_study_table(
    study_csvs=snakemake.input.studies,
    cutoffs=snakemake.params.cutoffs,
    out_dir=Path(snakemake.output.md).parent,
    convention=snakemake.params.convention,
)
