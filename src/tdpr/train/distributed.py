"""Training one model on several devices with ``torch.distributed`` (DDP), launched by torchrun.

A run with ``N`` processes keeps the single-process run's data and batches: global batch ``k``
is items ``[kB, (k+1)B)`` of the epoch's order (``B`` = ``train.batch_size``), and rank ``r``
takes the items ``i ≡ r (mod N)`` of it (:class:`RankBatches`), so each rank's batch is
``B / N`` items and the data stay a pure function of ``(seed, epoch, index)``. DDP averages
the ranks' gradients; each rank's loss is scaled by ``N · n_r / n`` (:func:`loss_scale`), so a
short last batch split unevenly still gives the gradient of the global batch's mean loss.
(The spectral-convergence term of the MRSTFT loss is a norm ratio over the batch, not a mean of
per-item terms, so a split batch differs from the whole one by a little; the tests state how
much.) Only rank 0 writes checkpoints, history and TensorBoard; every rank resumes from the
same checkpoint.

:func:`setup` joins the process group that torchrun describes in the environment (``nccl`` on
CUDA, ``gloo`` on the CPU); :func:`launch` starts ``N`` processes of :mod:`tdpr.train.launch`
with ``torch.distributed.run``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

logger = logging.getLogger(__name__)

_owned = False  # whether setup() made the process group (and teardown() may end it)


def rank() -> int:
    """This process's rank (0 without a process group)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    """Number of processes of the run (1 without a process group)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main() -> bool:
    """Whether this process writes the run's files (rank 0)."""
    return rank() == 0


def barrier() -> None:
    """Wait for every rank (nothing without a process group)."""
    if world_size() > 1:
        dist.barrier()


def setup(device: torch.device) -> torch.device:
    """Join torchrun's process group when ``WORLD_SIZE > 1``; the device this rank uses.

    On CUDA each rank takes ``cuda:LOCAL_RANK``; on the CPU the ranks share the machine.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return device
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    global _owned
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    _owned = True
    logger.info("distributed | rank %d of %d on %s", rank(), world_size(), device)
    return device


def teardown() -> None:
    """Leave the process group that :func:`setup` joined, if any."""
    global _owned
    if _owned and dist.is_initialized():
        dist.destroy_process_group()
    _owned = False


class RankBatches(Sampler[list[int]]):
    """This rank's share of the global batches of ``n_items`` items (a batch sampler).

    Global batch ``k`` is ``[kB, min((k+1)B, n))``; rank ``r`` of ``N`` gets its items
    ``i ≡ r (mod N)``. A last batch of fewer than ``N`` items would leave a rank empty (DDP
    would then wait forever), so such a tail is dropped and logged.

    Args:
        n_items: items of the epoch (indices ``0 .. n_items - 1``).
        batch_size: the global batch ``B``, a multiple of ``N``.
        rank, world: this rank and the number of ranks.
    """

    def __init__(self, n_items: int, batch_size: int, rank: int, world: int) -> None:
        if batch_size % world:
            raise ValueError(
                f"train.batch_size ({batch_size}) must be a multiple of the number of "
                f"processes ({world}): each takes batch_size / processes items per step"
            )
        tail = n_items % batch_size
        if 0 < tail < world:
            logger.info("distributed | last %d item(s) of the epoch dropped (< %d)", tail, world)
            n_items -= tail
        self.n_items, self.batch_size, self.rank, self.world = n_items, batch_size, rank, world

    def global_sizes(self) -> list[int]:
        """Size of every global batch, in order."""
        b = self.batch_size
        return [min(b, self.n_items - k) for k in range(0, self.n_items, b)]

    def __iter__(self) -> Iterator[list[int]]:
        for start in range(0, self.n_items, self.batch_size):
            stop = min(start + self.batch_size, self.n_items)
            yield list(range(start + self.rank, stop, self.world))

    def __len__(self) -> int:
        return len(self.global_sizes())


def loss_scale(local: int, global_: int, world: int) -> float:
    """Factor on a rank's mean loss so DDP's gradient mean is the global batch's mean."""
    return world * local / global_


def launch(
    nproc: int,
    kwargs: Mapping[str, Any],
    log: str | os.PathLike | None = None,
    threads: int | None = None,
) -> None:
    """Train one model in ``nproc`` processes (torchrun, one node) and wait for them.

    Args:
        nproc: processes (one per GPU; on a CPU they share it).
        kwargs: keyword arguments of :func:`tdpr.train.run.train_model` (JSON-serialisable).
        log: file that rank 0 logs to (None: stderr).
        threads: torch threads of each process (None: torch's default).

    Raises:
        RuntimeError: torchrun exited with a non-zero status.
    """
    work = Path(kwargs["work_dir"])
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=work, delete=False) as f:
        spec = {"kwargs": dict(kwargs), "log": None if log is None else str(log)}
        json.dump({**spec, "threads": threads}, f)
    # --standalone: a private rendezvous on a free local port, so runs never meet each other
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    cmd += [f"--nproc-per-node={nproc}", "-m", "tdpr.train.launch", f.name]
    logger.info("distributed | %s", " ".join(cmd))
    try:
        status = subprocess.run(cmd, check=False).returncode
    finally:
        Path(f.name).unlink(missing_ok=True)
    if status != 0:
        raise RuntimeError(f"distributed training ({nproc} processes) exited with status {status}")
