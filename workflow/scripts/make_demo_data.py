"""Snakemake wrapper of rule make_demo_data: the demo repertoire as a MAESTRO-shaped dataset."""

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.data.demo import build_demo_dataset, select_pieces
from tdpr.runlog import log_to

log_to(snakemake.log[0])
# output.csv is <root>/maestro-v3.0.0.csv; the recordings go to <root>/<year>/.
build_demo_dataset(
    root=Path(snakemake.output.csv).parent,
    pieces=select_pieces(snakemake.params.pieces, snakemake.params.max_seconds),
    soundfont=snakemake.params.soundfont,
    sample_rate=snakemake.params.sample_rate,
    seed=snakemake.params.seed,
    jobs=snakemake.threads,
)
