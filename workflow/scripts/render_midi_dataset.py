"""Snakemake wrapper of rule render_midi_dataset: MAESTRO MIDI rendered to a MAESTRO-shaped tree."""

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.data.performances import build_rendered_dataset, shipped_subset
from tdpr.runlog import log_to

log_to(snakemake.log[0])
params = snakemake.params
# output.csv is <root>/maestro-v3.0.0.csv; the recordings go to <root>/<year>/.
build_rendered_dataset(
    source=params.source or shipped_subset(),
    root=Path(snakemake.output.csv).parent,
    soundfonts=params.soundfonts,
    counts=params.performances,
    max_seconds=params.max_seconds,
    sample_rate=params.sample_rate,
    seed=params.seed,
    jobs=snakemake.threads,
)
