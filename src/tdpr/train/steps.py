"""The two training tasks of :func:`tdpr.train.loop.fit`: regression (TD-CNNs) and GAN (vocoder).

* :class:`RegressionTask`: Adam on ``loss_fn(model(degraded), clean)`` (reference spec A5), one
  epoch = one pass over the training items (capped by ``max_steps_per_epoch``); validation:
  loss and LSD of the outputs, and once the LSD of the degraded inputs themselves (the bar the
  model has to get under).
* :class:`GANTask`: the TFGAN recipe (:func:`tdpr.train.vocoder_losses.gan_step`), counted in
  optimiser steps; an epoch is one pass over the clean segments, cut short at ``cfg.steps``;
  validation: MRSTFT loss and LSD of ``G(mel(x))`` against ``x``.

``cfg.bf16`` runs the TD-CNN under bfloat16 autocast (the loss stays in float32) and
``cfg.compile`` runs it through ``torch.compile``, on CUDA and on the CPU alike (CPU autocast
has bfloat16 kernels; compiling on a CPU needs a C++ compiler). Checkpoints always hold the
plain module. Inside a torchrun process group the TD-CNN is wrapped in
``DistributedDataParallel`` and each rank loads its share of every global batch
(:mod:`tdpr.train.distributed`); validation runs on rank 0 alone.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, Subset

from tdpr.metrics import lsd
from tdpr.models import build_model
from tdpr.models.tfgan import FrequencyDiscriminator, MultiScaleDiscriminator
from tdpr.train import distributed
from tdpr.train.config import TrainConfig, VocoderConfig
from tdpr.train.data import loader_options, make_loader
from tdpr.train.loop import StepResult
from tdpr.train.vocoder_losses import GeneratorLoss, MultiResolutionSTFTLoss, gan_step

logger = logging.getLogger(__name__)

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
VOCODER_COLUMNS = ("epoch", "step", "gen_total", "disc_total", "valid_stft", "valid_lsd", "seconds")


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


class RegressionTask:
    """A TD-CNN trained on ``(degraded, clean)`` pairs ``(B, 1, T)``.

    Args:
        model: maps degraded audio ``(B, 1, T)`` to ``(B, 1, T)``; moved to ``device``.
        loss_fn: ``loss_fn(estimate, clean) -> (loss, parts)``, e.g.
            :class:`tdpr.train.losses.TDCNNLoss`.
        train_set: yields ``(degraded, clean)`` pairs ``(1, T)`` and has ``set_epoch(epoch)``
            (epochs are numbered from 1).
        valid_set: the fixed validation pairs.
        cfg: the training configuration.
        device: where to train.
        num_workers: DataLoader worker processes (0: load in this process).
    """

    name = "train"
    columns = HISTORY_COLUMNS

    def __init__(
        self,
        model: nn.Module,
        loss_fn: nn.Module,
        train_set: Dataset,
        valid_set: Dataset,
        cfg: TrainConfig,
        device: torch.device,
        num_workers: int = 0,
    ) -> None:
        self.device, self.cfg, self.num_workers = torch.device(device), cfg, num_workers
        self.model, self.loss_fn = model.to(self.device), loss_fn.to(self.device)
        self.train_set, self.valid_set = train_set, valid_set
        self.optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        self.rank, self.world = distributed.rank(), distributed.world_size()
        wrapped: nn.Module = model
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            wrapped = DistributedDataParallel(model, device_ids=ids)
        self.forward = torch.compile(wrapped) if cfg.compile else wrapped
        # Validation uses the plain module: it runs on rank 0 only, so it must not go through
        # DDP's collectives, and a few batches do not repay compiling a second (eval) graph.
        self.eval_forward = model
        self.bf16 = cfg.bf16
        self.config, self.resumable = cfg.to_dict(), cfg.resumable
        self.input_lsd: float | None = None
        self._global_sizes: list[int] = []
        if cfg.bf16 or cfg.compile:
            logger.info("train | bf16=%s compile=%s on %s", cfg.bf16, cfg.compile, self.device)

    def modules(self) -> dict[str, nn.Module]:
        return {"model": self.model}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"model": self.optimizer}

    def finished(self, epoch: int, step: int) -> bool:
        return epoch >= self.cfg.epochs

    def cut_short(self, epoch: int, step: int) -> bool:
        return False  # epochs end only when their items do (or at max_steps_per_epoch, always)

    def _loader(self, dataset: Dataset) -> DataLoader:
        pin = self.device.type == "cuda"
        return make_loader(dataset, self.cfg.batch_size, self.num_workers, pin, self.cfg.seed)

    def _estimate(self, degraded: torch.Tensor, forward: nn.Module | None = None) -> torch.Tensor:
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16) if self.bf16 else None
        with autocast or contextlib.nullcontext():
            return (forward or self.forward)(degraded.to(self.device, non_blocking=True))

    def batches(self, epoch: int, step: int) -> DataLoader:
        data = self.train_set
        data.set_epoch(epoch)
        n_items = len(data)
        if self.cfg.max_steps_per_epoch is not None:
            n_items = min(n_items, self.cfg.max_steps_per_epoch * self.cfg.batch_size)
        self.model.train()
        if self.world == 1:
            return self._loader(Subset(data, range(n_items)) if n_items < len(data) else data)
        sampler = distributed.RankBatches(n_items, self.cfg.batch_size, self.rank, self.world)
        self._global_sizes = sampler.global_sizes()[::-1]  # popped from the end, step by step
        pin = self.device.type == "cuda"
        options = loader_options(self.num_workers, pin, self.cfg.seed)
        return DataLoader(data, batch_sampler=sampler, **options)

    def step(self, batch: tuple[torch.Tensor, torch.Tensor], step: int) -> StepResult:
        degraded, clean = batch
        clean = clean.to(self.device, non_blocking=True)
        loss, parts = self.loss_fn(self._estimate(degraded), clean)
        weight = len(clean)
        scaled = loss
        if self.world > 1:
            weight = self._global_sizes.pop()
            scaled = loss * distributed.loss_scale(len(clean), weight, self.world)
        self.optimizer.zero_grad(set_to_none=True)
        scaled.backward()
        self.optimizer.step()
        return StepResult({"train_loss": loss, **parts}, weight)

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Mean loss and LSD of the outputs; the LSD of the degraded inputs (computed once).

        On ranks other than 0 nothing is computed (their values are NaN, never written).
        """
        if self.rank != 0:
            return {}
        self.model.eval()
        loss_sum, items, lsd_total, lsd_items = 0.0, 0, 0.0, 0
        for degraded, clean in self._loader(self.valid_set):
            clean = clean.to(self.device)
            estimate = self._estimate(degraded, self.eval_forward)
            loss, _ = self.loss_fn(estimate, clean)
            loss_sum, items = loss_sum + float(loss) * len(clean), items + len(clean)
            batch_lsd, counted = lsd_sum(clean, estimate)
            lsd_total, lsd_items = lsd_total + batch_lsd, lsd_items + counted
        self.model.train()
        valid_lsd = lsd_total / lsd_items if lsd_items else math.nan
        return {
            "valid_loss": loss_sum / max(items, 1),
            "valid_lsd": valid_lsd,
            "valid_input_lsd": self._input_lsd(),
        }

    def _input_lsd(self) -> float:
        if self.input_lsd is None:
            total, items = 0.0, 0
            for degraded, clean in self._loader(self.valid_set):
                batch_lsd, counted = lsd_sum(clean, degraded)
                total, items = total + batch_lsd, items + counted
            self.input_lsd = total / items if items else math.nan
            logger.info("valid | LSD of the degraded inputs: %.3f", self.input_lsd)
        return self.input_lsd

    def summary(self, row: Mapping[str, Any]) -> str:
        return (
            f"train | epoch {row['epoch']}/{self.cfg.epochs} | loss={row['train_loss']:.4f} | "
            f"valid_loss={row['valid_loss']:.4f} | valid_lsd={row['valid_lsd']:.3f} "
            f"(input {row['valid_input_lsd']:.3f}) | {row['seconds']:.1f} s"
        )


class GANTask:
    """The TFGAN generator and its two discriminators, trained on clean segments ``(B, 1, T)``.

    Args:
        arch: generator constructor arguments (empty: the paper's 5.9 M generator).
        disc: ``{"msd": {...}, "fd": {...}}`` discriminator constructor arguments.
        cfg: training settings.
        train_set, valid_set: ``(degraded, clean)`` items; only the clean half is used.
        device, num_workers: where to train; DataLoader worker processes.
    """

    name = "vocoder"
    columns = VOCODER_COLUMNS

    def __init__(
        self,
        arch: Mapping[str, Any],
        disc: Mapping[str, Any],
        cfg: VocoderConfig,
        train_set: Dataset,
        valid_set: Dataset,
        device: torch.device,
        num_workers: int = 0,
    ) -> None:
        self.cfg, self.device, self.num_workers = cfg, torch.device(device), num_workers
        self.train_set, self.valid_set = train_set, valid_set
        torch.manual_seed(cfg.seed)
        self.generator = build_model("tfgan", **arch).to(self.device)
        self.msd = MultiScaleDiscriminator(**disc.get("msd", {})).to(self.device)
        self.fd = FrequencyDiscriminator(**disc.get("fd", {})).to(self.device)
        d_params = [*self.msd.parameters(), *self.fd.parameters()]
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=cfg.betas)
        self.opt_d = torch.optim.Adam(d_params, lr=cfg.lr, betas=cfg.betas)
        self.loss = GeneratorLoss().to(self.device)
        self.config, self.resumable = cfg.to_dict(), cfg.resumable

    def modules(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "msd": self.msd, "fd": self.fd}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": self.opt_g, "discriminators": self.opt_d}

    def finished(self, epoch: int, step: int) -> bool:
        return step >= self.cfg.steps

    def steps_per_epoch(self) -> int:
        """Optimiser steps of a whole epoch (the last batch may be smaller)."""
        return math.ceil(len(self.train_set) / self.cfg.batch_size)

    def _done_in(self, epoch: int, step: int) -> int:
        """Steps of ``epoch`` taken by global ``step``, every earlier epoch having been whole."""
        return step - (epoch - 1) * self.steps_per_epoch()

    def cut_short(self, epoch: int, step: int) -> bool:
        """Whether ``epoch`` ended at the step budget before its last batch.

        A checkpoint whose step count does not fit whole earlier epochs (one written before
        mid-epoch resumes continued their epoch) counts as whole, and resumes with the next one.
        """
        return 0 < self._done_in(epoch, step) < self.steps_per_epoch()

    def batches(self, epoch: int, step: int) -> DataLoader:
        """The batches of ``epoch`` from global ``step`` on, up to the step budget.

        An epoch resumed in its middle (:meth:`cut_short`) skips the items of the steps it has
        taken, so a run stopped at a budget and resumed with a larger one sees the same items in
        the same order as one that ran to the larger budget at once.
        """
        self.train_set.set_epoch(epoch)
        size = self.cfg.batch_size
        first = self._done_in(epoch, step) * size if self.cut_short(epoch, step) else 0
        last = min(len(self.train_set), first + (self.cfg.steps - step) * size)
        data = Subset(self.train_set, range(first, last))
        pin = self.device.type == "cuda"
        return make_loader(data, self.cfg.batch_size, self.num_workers, pin, self.cfg.seed)

    def step(self, batch: tuple[torch.Tensor, torch.Tensor], step: int) -> StepResult:
        _, clean = batch
        parts = gan_step(
            self.generator,
            [self.msd, self.fd],
            (self.opt_g, self.opt_d),
            clean.to(self.device, non_blocking=True),
            step,
            self.cfg.adv_start_step,
            loss=self.loss,
        )
        return StepResult({k.replace("/", "_"): v for k, v in parts.items()})

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """MRSTFT loss and LSD of the vocoded validation segments against the clean ones."""
        self.generator.eval()
        stft_loss = MultiResolutionSTFTLoss().to(self.device)
        loss_sum, lsd_total, items, lsd_items = 0.0, 0.0, 0, 0
        for _, clean in make_loader(self.valid_set, self.cfg.batch_size):
            clean = clean.to(self.device)
            estimate = self.generator.vocode(clean)
            loss = stft_loss(estimate, clean)
            loss_sum, items = loss_sum + float(loss) * len(clean), items + len(clean)
            batch_lsd, counted = lsd_sum(clean, estimate)
            lsd_total, lsd_items = lsd_total + batch_lsd, lsd_items + counted
        self.generator.train()
        valid_lsd = lsd_total / lsd_items if lsd_items else math.nan
        return {"valid_stft": loss_sum / max(items, 1), "valid_lsd": valid_lsd}

    def summary(self, row: Mapping[str, Any]) -> str:
        return (
            f"vocoder | epoch {row['epoch']} | step {row['step']}/{self.cfg.steps} | "
            f"gen={row['gen_total']:.4f} | disc={row['disc_total']:.4f} | "
            f"valid_stft={row['valid_stft']:.4f} | valid_lsd={row['valid_lsd']:.3f} | "
            f"{row['seconds']:.1f} s"
        )
