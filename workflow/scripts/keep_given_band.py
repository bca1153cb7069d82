"""Snakemake wrapper of rule keep_given_band: the given band put back into one system's outputs."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.inference import keep_band_testset
from tdpr.runlog import log_to

log_to(snakemake.log[0])
keep_band_testset(
    given_manifest=snakemake.input.given,
    in_manifest=snakemake.input.enhanced,
    out_manifest=snakemake.output.manifest,
    out_dir=snakemake.output.audio,
    cutoff_hz=snakemake.params.cutoff_hz,
)
