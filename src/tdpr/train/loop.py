"""The training loop of the TD-CNNs: Adam, per-epoch validation, atomic checkpoints, resume.

:func:`fit` trains for ``cfg.epochs`` epochs and, after each one, writes ``checkpoint.pt`` (the
whole training state, :mod:`tdpr.train.checkpoint`) and ``history.csv`` into the work directory,
atomically. When it starts and finds a checkpoint there, it continues after the checkpoint's
epoch. Data order, crops and degradations are functions of ``(seed, epoch, index)``
(:mod:`tdpr.train.data`), the DataLoader has a generator of its own, and the global torch
generator state is saved and restored, so on the CPU a run killed after any epoch and restarted
ends with bit-identical weights to an uninterrupted run. (On CUDA, non-deterministic kernels may
still make two runs differ in the last bits.)

On CUDA, ``cfg.bf16`` runs the model under bfloat16 autocast (the loss stays in float32) and
``cfg.compile`` runs it through ``torch.compile``; checkpoints always hold the plain module's
state. Scalars go to TensorBoard in ``<work_dir>/tb``. Progress: a tqdm bar on a terminal,
otherwise a few log lines per epoch; always one summary line per epoch.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import math
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from tdpr.fsio import atomic_path
from tdpr.metrics import lsd
from tdpr.train import checkpoint as ckpt
from tdpr.train.data import make_loader

if TYPE_CHECKING:
    from tdpr.train.run import TrainConfig

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
HISTORY = "history.csv"
#: ``valid_input_lsd`` is the LSD of the degraded validation inputs themselves: the bar that
#: ``valid_lsd`` (the model's outputs) has to get under.
HISTORY_COLUMNS = (
    "epoch",
    "step",
    "train_loss",
    "valid_loss",
    "valid_lsd",
    "seconds",
    "valid_input_lsd",
)
_PROGRESS_LINES = 4  # log lines per epoch (at 1/4, 1/2, 3/4) when not on a terminal


def lsd_sum(clean: torch.Tensor, estimate: torch.Tensor) -> tuple[float, int]:
    """Sum of per-item LSDs (spec A3) over ``(B, 1, T)`` batches, and the number of items counted.

    Items where either signal is digital silence or not finite are left out: their LSD is not
    defined (:func:`tdpr.metrics.prepare` would refuse the whole batch).
    """
    ref, est = clean[:, 0].float(), estimate[:, 0].float()
    keep = (ref != 0).any(-1) & (est != 0).any(-1) & torch.isfinite(est).all(-1)
    if not keep.any():
        return 0.0, 0
    return float(lsd(ref[keep], est[keep]).sum()), int(keep.sum())


def write_history(path: Path, rows: list[dict], columns: tuple[str, ...] = HISTORY_COLUMNS) -> None:
    """Write history rows (``columns``, by default :data:`HISTORY_COLUMNS`) to a CSV, atomically."""
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        out.writeheader()
        out.writerows(rows)


class _Session:
    """The objects that one call of :func:`fit` uses in every epoch."""

    def __init__(
        self,
        model: nn.Module,
        loss_fn: nn.Module,
        cfg: TrainConfig,
        device: torch.device,
        num_workers: int,
    ) -> None:
        self.model, self.loss_fn, self.cfg, self.device = model, loss_fn, cfg, device
        self.num_workers = num_workers
        self.optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        cuda = device.type == "cuda"
        self.forward = torch.compile(model) if cfg.compile and cuda else model
        self.bf16 = cfg.bf16 and cuda
        self.step = 0
        self.tty = sys.stderr.isatty()
        self.input_lsd: float | None = None

    def _loader(self, dataset: Dataset) -> DataLoader:
        pin = self.device.type == "cuda"
        return make_loader(dataset, self.cfg.batch_size, self.num_workers, pin, self.cfg.seed)

    def _batches(self, loader: DataLoader, desc: str) -> Iterable:
        return tqdm(loader, desc=desc, leave=False, dynamic_ncols=True) if self.tty else loader

    def _estimate(self, degraded: torch.Tensor) -> torch.Tensor:
        autocast = torch.autocast("cuda", dtype=torch.bfloat16) if self.bf16 else None
        with autocast or contextlib.nullcontext():
            return self.forward(degraded.to(self.device, non_blocking=True))

    def train_epoch(self, train_set: Dataset, epoch: int, writer: SummaryWriter) -> float:
        """Train one epoch; returns the mean training loss per item."""
        cfg = self.cfg
        train_set.set_epoch(epoch)
        if cfg.max_steps_per_epoch is not None:
            n_items = min(len(train_set), cfg.max_steps_per_epoch * cfg.batch_size)
            train_set = Subset(train_set, range(n_items))
        loader = self._loader(train_set)
        n = len(loader)
        marks = {math.ceil(k * n / _PROGRESS_LINES) for k in range(1, _PROGRESS_LINES)} - {n}
        self.model.train()
        total, items = torch.zeros((), device=self.device), 0
        for i, (degraded, clean) in enumerate(self._batches(loader, f"epoch {epoch}"), 1):
            clean = clean.to(self.device, non_blocking=True)
            loss, parts = self.loss_fn(self._estimate(degraded), clean)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.step += 1
            total, items = total + loss.detach() * len(clean), items + len(clean)
            if i in marks:
                for key, value in {"train/loss_running": total / items, **parts}.items():
                    writer.add_scalar(key, float(value), self.step)
                if not self.tty:
                    msg = "train | epoch %d/%d | step %d/%d | loss=%.4f"
                    logger.info(msg, epoch, cfg.epochs, i, n, float(total) / items)
        mean = float(total) / max(items, 1)
        if not math.isfinite(mean):
            raise FloatingPointError(f"training loss is {mean} in epoch {epoch}: training diverged")
        return mean

    @torch.no_grad()
    def validate(self, valid_set: Dataset) -> tuple[float, float]:
        """Mean loss and mean LSD (model output vs clean) over the validation items."""
        self.model.eval()
        loss_sum, items, lsd_total, lsd_items = 0.0, 0, 0.0, 0
        for degraded, clean in self._batches(self._loader(valid_set), "validation"):
            clean = clean.to(self.device)
            estimate = self._estimate(degraded)
            loss, _ = self.loss_fn(estimate, clean)
            loss_sum, items = loss_sum + float(loss) * len(clean), items + len(clean)
            batch_lsd, counted = lsd_sum(clean, estimate)
            lsd_total, lsd_items = lsd_total + batch_lsd, lsd_items + counted
        self.model.train()
        return loss_sum / max(items, 1), lsd_total / lsd_items if lsd_items else math.nan

    @torch.no_grad()
    def validation_input_lsd(self, valid_set: Dataset) -> float:
        """Mean LSD of the degraded validation inputs against the clean ones (computed once)."""
        if self.input_lsd is None:
            total, items = 0.0, 0
            for degraded, clean in self._loader(valid_set):
                batch_lsd, counted = lsd_sum(clean, degraded)
                total, items = total + batch_lsd, items + counted
            self.input_lsd = total / items if items else math.nan
            logger.info("valid | LSD of the degraded inputs: %.3f", self.input_lsd)
        return self.input_lsd

    def run_epoch(
        self, train_set: Dataset, valid_set: Dataset, epoch: int, writer: SummaryWriter
    ) -> dict:
        """Train and validate one epoch and log it; returns its history row."""
        start = time.perf_counter()
        train_loss = self.train_epoch(train_set, epoch, writer)
        valid_loss, valid_lsd = self.validate(valid_set)
        seconds = round(time.perf_counter() - start, 3)
        input_lsd = self.validation_input_lsd(valid_set)
        values = (epoch, self.step, train_loss, valid_loss, valid_lsd, seconds, input_lsd)
        row = dict(zip(HISTORY_COLUMNS, values, strict=True))
        for key in ("train_loss", "valid_loss", "valid_lsd"):
            writer.add_scalar(key.replace("_", "/", 1), row[key], self.step)
        writer.flush()
        logger.info(
            "train | epoch %d/%d | loss=%.4f | valid_loss=%.4f | valid_lsd=%.3f (input %.3f)"
            " | %.1f s",
            epoch,
            self.cfg.epochs,
            train_loss,
            valid_loss,
            valid_lsd,
            input_lsd,
            seconds,
        )
        return row


def fit(
    model: nn.Module,
    loss_fn: nn.Module,
    train_set: Dataset,
    valid_set: Dataset,
    cfg: TrainConfig,
    work_dir: str | Path,
    device: str | torch.device = "cpu",
    num_workers: int = 0,
    *,
    on_epoch_end: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Train ``model`` in place, resuming from ``work_dir/checkpoint.pt`` if it exists.

    Args:
        model: maps degraded audio ``(B, 1, T)`` to ``(B, 1, T)``; moved to ``device``.
        loss_fn: ``loss_fn(estimate, clean) -> (loss, parts)``, e.g.
            :class:`tdpr.train.losses.TDCNNLoss`.
        train_set: yields ``(degraded, clean)`` pairs ``(1, T)`` and has ``set_epoch(epoch)``
            (epochs are numbered from 1).
        valid_set: the fixed validation pairs.
        cfg: the training configuration.
        work_dir: holds ``checkpoint.pt``, ``history.csv`` and ``tb/``.
        device: where to train.
        num_workers: DataLoader worker processes (0: load in this process).
        on_epoch_end: called with each epoch's history row once its checkpoint is written.

    Returns:
        One history row per epoch (:data:`HISTORY_COLUMNS`), those of a resumed run included.
    """
    device, work_dir = torch.device(device), Path(work_dir)
    if (cfg.bf16 or cfg.compile) and device.type != "cuda":
        logger.warning("bf16 and compile apply on CUDA only: ignored on %s", device)
    session = _Session(model.to(device), loss_fn.to(device), cfg, device, num_workers)
    done, history = 0, []
    if (work_dir / CHECKPOINT).exists():
        done, session.step, history = ckpt.restore_training_state(
            work_dir / CHECKPOINT, model, session.optimizer, cfg.to_dict()
        )
        logger.info("resuming from epoch %d (%s)", done, work_dir / CHECKPOINT)
    write_history(work_dir / HISTORY, history)
    if done >= cfg.epochs:
        logger.info("already trained for %d epochs (configured: %d)", done, cfg.epochs)
        return history
    # purge_step drops TensorBoard events written after the checkpoint by a killed run
    writer = SummaryWriter(str(work_dir / "tb"), purge_step=session.step + 1)
    try:
        for epoch in range(done + 1, cfg.epochs + 1):
            history.append(session.run_epoch(train_set, valid_set, epoch, writer))
            state = ckpt.training_state(
                model, session.optimizer, epoch, session.step, history, cfg.to_dict()
            )
            ckpt.save_checkpoint(state, work_dir / CHECKPOINT)
            write_history(work_dir / HISTORY, history)
            if on_epoch_end is not None:
                on_epoch_end(history[-1])
    finally:
        writer.close()
    return history
