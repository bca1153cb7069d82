"""Snakemake wrapper of rule export_listening_test: the AB and MOS listening-test kit."""

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.report.build import build_listening_kit
from tdpr.runlog import log_to

log_to(snakemake.log[0])
build_listening_kit(
    clips_manifest=snakemake.input.clips,
    manifests={k: v for k, v in snakemake.input.items() if k not in ("clips", "code")},
    out_dir=Path(snakemake.output.excerpts).parent,
    **snakemake.params.kit,
)
