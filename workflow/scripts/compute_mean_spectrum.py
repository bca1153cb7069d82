"""Snakemake wrapper of rule compute_mean_spectrum: the training clips' mean power spectrum."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import common  # noqa: F401  (makes tdpr importable)

from tdpr.baselines.spectrum import manifest_spectrum, write_spectrum
from tdpr.runlog import log_to

log_to(snakemake.log[0])
write_spectrum(manifest_spectrum(snakemake.input.train), snakemake.output.spectrum)
