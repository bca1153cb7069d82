"""Snakemake wrapper of rule count_parameters: parameter counts of every configured model."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.report.build import write_param_counts
from tdpr.runlog import log_to

log_to(snakemake.log[0])
write_param_counts(snakemake.params.models, snakemake.params.vocoder, snakemake.output.json)
