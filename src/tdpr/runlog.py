"""Logging set-up for workflow jobs: everything a job says goes to its rule's log file."""

from __future__ import annotations

import logging
import os
import sys


def log_to(path: str | os.PathLike, level: int = logging.INFO) -> None:
    """Send log records, warnings and stray stderr output of this process to ``path``.

    Args:
        path: the rule's ``log:`` file. It is appended to, but Snakemake deletes a rule's log
            before each attempt, so after a retry it holds the last attempt only (training
            history lives in ``history.csv`` and the work directory).
        level: the root logger's level.
    """
    stream = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (lives with the job)
    sys.stderr = stream
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=stream,
        force=True,
    )
    logging.captureWarnings(True)
