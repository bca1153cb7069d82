"""Snakemake wrapper of rule export_weights: the trained models as a weights folder."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.pretrained import export_weights
from tdpr.runlog import log_to

log_to(snakemake.log[0])
names = [*snakemake.params.models, "tfgan"]
export_weights(
    model_files=dict(zip(names, snakemake.input.models, strict=True)),
    histories=dict(zip(names, snakemake.input.histories, strict=True)),
    summary_csv=snakemake.input.summary,
    out_dir=snakemake.output.weights,
    config_name=snakemake.params.config_name,
    table1_md=snakemake.input.table1,
    renders_csv=snakemake.input.renders,
    phase_study_md=snakemake.input.get("phase_study"),
)
