"""Snakemake wrapper of rule plot_signals: Figs. 4 and 5 for one test clip."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.report.build import build_signal_figures
from tdpr.runlog import log_to

log_to(snakemake.log[0])
build_signal_figures(
    manifests={k: v for k, v in snakemake.input.items() if k != "code"},
    clip_id=snakemake.params.clip,
    cutoff_hz=snakemake.params.cutoff,
    phase_bin=snakemake.params.phase_bin,
    phase_frames=snakemake.params.phase_frames,
    out_phase=snakemake.output.phase,
    out_spectrograms=snakemake.output.spectrograms,
)
