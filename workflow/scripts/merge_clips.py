"""Snakemake wrapper of rule merge_clips: the shard manifests of one split into one CSV."""

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.data.clips import merge_manifests
from tdpr.runlog import log_to

log_to(snakemake.log[0])
merge_manifests(
    [Path(d) / "manifest.csv" for d in snakemake.input.shards],
    out_csv=snakemake.output.manifest,
)
