"""Snakemake wrapper of rule clip_recordings: one shard of one split into 16-kHz clips."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.data.clips import ClipSettings, clip_shard
from tdpr.runlog import log_to

log_to(snakemake.log[0])
clip_shard(
    dataset=snakemake.input.dataset,
    split=snakemake.wildcards.split,
    shard=int(snakemake.wildcards.shard),
    n_shards=snakemake.params.n_shards,
    out_dir=snakemake.output.clips,
    settings=ClipSettings(**snakemake.params.settings),
    limit=snakemake.params.limit,
)
