"""One training loop for every model: epochs of steps, validation, atomic checkpoints, resume.

:func:`fit` runs a :class:`Task`, which supplies the step function and what is trained: the
regression step of the TD-CNNs and the adversarial step of the vocoder
(:mod:`tdpr.train.steps`) share everything else here. After each epoch it writes
``checkpoint.pt`` (every module, every optimiser, the epoch, the step count, the global torch
generators, the history and the config: :mod:`tdpr.train.checkpoint`) and ``history.csv`` into
the work directory, atomically; TensorBoard scalars go to ``<work_dir>/tb``. When it starts and
finds a checkpoint there, it checks that the config differs only in the task's resumable keys
and continues after the checkpoint's epoch, or inside it when the epoch was cut short by a
step budget that the resumed run has raised (``Task.cut_short``: the vocoder, counted in steps).

Data order, crops and degradations are functions of ``(seed, epoch, index)``
(:mod:`tdpr.train.data`), loaders have generators of their own, and the global torch generator
state is saved and restored, so on the CPU a run killed after any epoch and restarted ends with
bit-identical weights to an uninterrupted run; so does a vocoder run stopped by its step budget in
the middle of an epoch and resumed with a larger one. (On CUDA, non-deterministic kernels may still
make two runs differ in the last bits.) A training mean that is not finite stops the run with
:class:`FloatingPointError` before its epoch is checkpointed.

Progress: a tqdm bar on a terminal, otherwise a few log lines per epoch; always one summary line
per epoch.

Several processes (torchrun, :mod:`tdpr.train.distributed`): every rank runs the same loop and
resumes from the same checkpoint; the epoch's training means are averaged over the ranks; only
rank 0 logs progress and writes the checkpoint, ``history.csv`` and TensorBoard events, and the
ranks meet at a barrier after each checkpoint so none reads a half-finished epoch.
"""

from __future__ import annotations

import csv
import logging
import math
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from tdpr.fsio import atomic_path
from tdpr.train import checkpoint as ckpt
from tdpr.train import distributed

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
HISTORY = "history.csv"
_PROGRESS_LINES = 4  # log lines per epoch (at 1/4, 1/2, 3/4) when not on a terminal
_UNLOGGED = ("epoch", "step", "seconds")  # history columns that are not TensorBoard scalars


@dataclass
class StepResult:
    """What one step reports: scalar ``values`` (tensors or floats) and their ``weight``.

    Epoch means weight each step's values by ``weight`` (the items of a regression batch; 1 for
    a mean per step).
    """

    values: Mapping[str, torch.Tensor | float]
    weight: int = 1


class Task(Protocol):
    """What :func:`fit` trains and how (see :mod:`tdpr.train.steps`)."""

    name: str  #: log prefix, e.g. ``train`` or ``vocoder``
    columns: tuple[str, ...]  #: history columns (``epoch``, ``step`` and ``seconds`` included)
    config: dict[str, Any]  #: plain settings stored in and checked against the checkpoint
    resumable: frozenset[str]  #: config keys that may change between checkpoint and resume

    def modules(self) -> dict[str, nn.Module]: ...
    def optimizers(self) -> dict[str, torch.optim.Optimizer]: ...
    def finished(self, epoch: int, step: int) -> bool: ...
    def cut_short(self, epoch: int, step: int) -> bool: ...
    def batches(self, epoch: int, step: int) -> Iterable[Any]: ...
    def step(self, batch: Any, step: int) -> StepResult: ...
    def validate(self) -> dict[str, float]: ...
    def summary(self, row: Mapping[str, Any]) -> str: ...


def write_history(path: Path, rows: list[dict], columns: tuple[str, ...]) -> None:
    """Write history rows (``columns``) to a CSV, atomically."""
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        out.writeheader()
        out.writerows(rows)


@dataclass
class _Means:
    """Weighted running means of the values steps report."""

    sums: dict[str, torch.Tensor | float] = field(default_factory=dict)
    weights: dict[str, int] = field(default_factory=dict)

    def add(self, result: StepResult) -> None:
        for key, value in result.values.items():
            value = value.detach() if torch.is_tensor(value) else value
            self.sums[key] = self.sums.get(key, 0.0) + value * result.weight
            self.weights[key] = self.weights.get(key, 0) + result.weight

    def means(self) -> dict[str, float]:
        return {k: float(v) / max(self.weights[k], 1) for k, v in self.sums.items()}


def _progress(task: Task, batches: Iterable, epoch: int) -> Iterable:
    if sys.stderr.isatty() and distributed.is_main():
        return tqdm(batches, desc=f"{task.name} epoch {epoch}", leave=False, dynamic_ncols=True)
    return batches


def _mean_over_ranks(means: dict[str, float]) -> dict[str, float]:
    """The epoch means averaged over the ranks (unchanged in a single process)."""
    world = distributed.world_size()
    if world == 1 or not means:
        return means
    values = torch.tensor(list(means.values()), dtype=torch.float64)
    torch.distributed.all_reduce(values)
    return {k: float(v) / world for k, v in zip(means, values.tolist(), strict=True)}


def _run_epoch(task: Task, epoch: int, step: int, writer: SummaryWriter | None) -> tuple[int, dict]:
    """One epoch of steps; returns the new step count and the epoch's weighted means."""
    batches = task.batches(epoch, step)
    n = len(batches) if hasattr(batches, "__len__") else 0
    marks = {math.ceil(k * n / _PROGRESS_LINES) for k in range(1, _PROGRESS_LINES)} - {n}
    running = _Means()
    for i, batch in enumerate(_progress(task, batches, epoch), 1):
        running.add(task.step(batch, step))
        step += 1
        if i in marks and writer is not None:
            means = running.means()
            for key, value in means.items():
                writer.add_scalar(f"train_running/{key}", value, step)
            if not sys.stderr.isatty():
                first = next(iter(means.items()), ("-", math.nan))
                msg = "%s | epoch %d | step %d/%d | %s=%.4f"
                logger.info(msg, task.name, epoch, i, n, *first)
    means = _mean_over_ranks(running.means())
    bad = {k: v for k, v in means.items() if not math.isfinite(v)}
    if bad:
        raise FloatingPointError(f"{task.name}: {bad} in epoch {epoch}: training diverged")
    return step, means


def _restore(task: Task, path: Path) -> tuple[int, int, list[dict]]:
    state = ckpt.load_checkpoint(path, ckpt.STATE_KIND, map_location="cpu")
    ckpt.check_resumable(state["config"], task.config, path, task.resumable)
    for name, module in task.modules().items():
        module.load_state_dict(state["modules"][name])
    for name, optimizer in task.optimizers().items():
        optimizer.load_state_dict(state["optimizers"][name])
    ckpt.restore_rng_state(state)
    return int(state["epoch"]), int(state["step"]), [dict(r) for r in state["history"]]


def fit(
    task: Task,
    work_dir: str | Path,
    *,
    on_epoch_end: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Train ``task`` until it is finished, resuming from ``work_dir/checkpoint.pt``.

    Args:
        task: what to train (modules, optimisers, data, step, validation).
        work_dir: holds ``checkpoint.pt``, ``history.csv`` and ``tb/``.
        on_epoch_end: called with each epoch's history row once its checkpoint is written.

    Returns:
        One history row per epoch (``task.columns``), those of a resumed run included.

    Raises:
        ValueError: the checkpoint was made with other settings than the resumable ones.
        FloatingPointError: a training mean was not finite (nothing of that epoch is saved).
    """
    work_dir, main = Path(work_dir), distributed.is_main()
    epoch, step, history = 0, 0, []
    if (work_dir / CHECKPOINT).exists():
        epoch, step, history = _restore(task, work_dir / CHECKPOINT)
        logger.info("resuming from epoch %d, step %d (%s)", epoch, step, work_dir / CHECKPOINT)
        if task.cut_short(epoch, step) and not task.finished(epoch, step):
            # the rest of that epoch comes next, as in a run that was never stopped
            logger.info("%s | continuing epoch %d after step %d", task.name, epoch, step)
            epoch -= 1
    if main:
        write_history(work_dir / HISTORY, history, task.columns)
    if task.finished(epoch, step):
        logger.info("%s | already finished: epoch %d, step %d", task.name, epoch, step)
        return history
    # purge_step drops TensorBoard events written after the checkpoint by a killed run
    writer = SummaryWriter(str(work_dir / "tb"), purge_step=step + 1) if main else None
    try:
        while not task.finished(epoch, step):
            epoch, start = epoch + 1, time.perf_counter()
            step, means = _run_epoch(task, epoch, step, writer)
            valid = task.validate()
            row = {"epoch": epoch, "step": step, **means, **valid}
            row["seconds"] = round(time.perf_counter() - start, 3)
            row = {c: row.get(c, math.nan) for c in task.columns}
            history.append(row)
            if main:
                _write_epoch(task, work_dir, writer, row, history)
            distributed.barrier()
            if on_epoch_end is not None:
                on_epoch_end(history[-1])
    finally:
        if writer is not None:
            writer.close()
    return history


def _write_epoch(
    task: Task, work_dir: Path, writer: SummaryWriter, row: dict, history: list[dict]
) -> None:
    """Rank 0's end of an epoch: TensorBoard scalars, summary line, checkpoint, history."""
    step = row["step"]
    for key in task.columns:
        if key not in _UNLOGGED:
            writer.add_scalar(key.replace("_", "/", 1), row[key], step)
    writer.flush()
    logger.info(task.summary(row))
    state = ckpt.training_state(task.modules(), task.optimizers(), row["epoch"], step, history)
    ckpt.save_checkpoint({**state, "config": dict(task.config)}, work_dir / CHECKPOINT)
    write_history(work_dir / HISTORY, history, task.columns)
