"""Snakemake wrapper of rule download_maestro: fetch the MAESTRO v3 zip, resuming, and verify it."""

# No `from __future__` import in wrappers: Snakemake prepends its own code to scripts, so it
# would not be the first statement and Python would refuse the file.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.data.download import download
from tdpr.runlog import log_to

log_to(snakemake.log[0])
download(
    snakemake.params.url,
    snakemake.output.zip,
    snakemake.params.sha256,
    progress=False,  # stderr is the log file: a line every ~5 % instead of a bar
)
