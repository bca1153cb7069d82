"""Snakemake wrapper of rule plot_metrics: LSD against cutoff, phase metrics, training curves."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.report.build import build_metric_figures
from tdpr.runlog import log_to

log_to(snakemake.log[0])
OTHER_INPUTS = ("metrics", "train_clips", "valid_clips", "spectrum", "code")
levels = dict(snakemake.params.levels)
if levels:
    levels.update(
        train_manifest=snakemake.input.train_clips,
        valid_manifest=snakemake.input.valid_clips,
        spectrum_path=snakemake.input.spectrum,
    )
build_metric_figures(
    metrics_csv=snakemake.input.metrics,
    histories={k: v for k, v in snakemake.input.items() if k not in OTHER_INPUTS},
    out_lsd=snakemake.output.lsd,
    out_training=snakemake.output.training,
    out_phase=snakemake.output.phase,
    levels=levels or None,
)
