"""Snakemake wrapper of rule degrade_testset: the test clips low-passed at one cutoff."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.data.testset import make_testset
from tdpr.runlog import log_to

log_to(snakemake.log[0])
params = dict(snakemake.params.testset)
make_testset(
    clips_manifest=snakemake.input.clips,
    out_dir=snakemake.output.audio,
    out_manifest=snakemake.output.manifest,
    cutoff_hz=params["cutoff_hz"],
    seed=params["seed"],
    types=tuple(params["types"]),
    order_range=tuple(params["order_range"]),
)
