"""Snakemake wrapper of rule ingest_ratings: Figs. 2 and 3 from listening-test results."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.report.build import build_rating_figures
from tdpr.runlog import log_to

log_to(snakemake.log[0])
build_rating_figures(snakemake.input.ratings, snakemake.output.ab, snakemake.output.mos)
