"""Rule download_maestro: fetch the MAESTRO v3 zip, resuming a partial download, and verify it."""

# No `from __future__` import: Snakemake prepends its own code to scripts, so one would not be
# the first statement and Python would refuse the file.
import logging
import sys
from typing import TYPE_CHECKING

from tdpr.data.download import download

if TYPE_CHECKING:  # Snakemake injects `snakemake` at run time; this only informs tools.
    from snakemake.script import Snakemake

    snakemake: Snakemake = ...

# Log records and an uncaught traceback both end up in the rule's log.
sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115 - must stay open for the traceback
logging.basicConfig(
    stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
)
download(
    snakemake.params.url,
    snakemake.output.zip,
    snakemake.params.sha256,
    expected_size=snakemake.params.get("expected_size"),
    progress=False,  # stderr is the log file: a line every ~5 % instead of a bar
)
