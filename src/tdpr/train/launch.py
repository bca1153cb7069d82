"""One rank of a multi-process training (``python -m torch.distributed.run -m tdpr.train.launch``).

:func:`tdpr.train.distributed.launch` writes the keyword arguments of
:func:`tdpr.train.run.train_model` and the log file to a JSON file and starts torchrun on this
module with that file's path; every rank reads it and trains. Rank 0 logs to the log file (or
stderr), the other ranks only warnings and errors to stderr, so the log reads as that of a
single-process run.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import torch

from tdpr.runlog import log_to
from tdpr.train.run import train_model


def main(argv: list[str] | None = None) -> int:
    """Train as one rank, from the JSON file named by the only argument."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m tdpr.train.launch ARGS.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text())
    rank = int(os.environ.get("RANK", "0"))
    fmt = f"%(asctime)s %(levelname)s %(name)s [rank {rank}]: %(message)s"
    if rank == 0 and spec.get("log"):
        log_to(spec["log"])
    else:
        level = logging.INFO if rank == 0 else logging.WARNING
        logging.basicConfig(level=level, format=fmt, stream=sys.stderr, force=True)
    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    train_model(**spec["kwargs"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
