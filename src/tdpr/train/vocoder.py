"""Training the TFGAN vocoder on clean training clips (reference spec A5, Part B §4).

The vocoder learns mel -> waveform on clean 16-kHz clips only: random segments (1 s in the
paper), batch 16, Adam 2e-4 with betas (0.5, 0.9), multi-resolution STFT + time-domain losses
from the start and LSGAN adversarial terms from ``adv_start_step``
(:func:`tdpr.train.vocoder_losses.gan_step`). Training length is counted in optimiser steps.

Like the TD-CNNs (:mod:`tdpr.train.loop`), it is resumable: an *epoch* is one pass over the
training clips (one random segment of each), each epoch ends with an atomic checkpoint in the
work directory, and item ``i`` of epoch ``e`` depends only on ``(seed, e, i)``, so a killed run
that is restarted ends with the same weights as an uninterrupted one (on CPU, bit for bit).
Validation each epoch: the LSD and the MRSTFT loss of ``G(mel(x))`` against ``x`` on fixed items.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import soundfile as sf
import torch
from torch.utils.data import Subset

from tdpr.config import check_keys
from tdpr.models import build_model, count_parameters
from tdpr.models.tfgan import FrequencyDiscriminator, MultiScaleDiscriminator
from tdpr.train import checkpoint as ckpt
from tdpr.train.data import TrainCropDataset, ValidDataset, make_loader, read_manifest
from tdpr.train.loop import lsd_sum, write_history
from tdpr.train.vocoder_losses import GeneratorLoss, MultiResolutionSTFTLoss, gan_step

logger = logging.getLogger(__name__)

STATE_KIND = "tdpr-vocoder-state"
CHECKPOINT = "checkpoint.pt"
HISTORY = "history.csv"
HISTORY_COLUMNS = ("epoch", "step", "gen_total", "disc_total", "valid_stft", "valid_lsd", "seconds")
#: Settings that may change between a checkpoint and its resumption.
RESUMABLE_CHANGES = frozenset({"steps"})


@dataclass(frozen=True)
class VocoderConfig:
    """Training settings of the vocoder (the ``vocoder.train`` config section).

    Attributes:
        steps: total optimiser steps (paper: 1,000,000).
        batch_size: segments per step (16).
        segment_seconds: length of the random clean segments (1.0).
        lr: Adam learning rate of generator and discriminators (2e-4).
        betas: Adam betas (0.5, 0.9).
        adv_start_step: first step with adversarial terms (200,000).
        seed: seed of initialisation, data order and segments.
        valid_items: fixed validation segments.
    """

    steps: int = 1_000_000
    batch_size: int = 16
    segment_seconds: float = 1.0
    lr: float = 2.0e-4
    betas: tuple[float, float] = (0.5, 0.9)
    adv_start_step: int = 200_000
    seed: int = 0
    valid_items: int = 16

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> VocoderConfig:
        values = dict(values or {})
        check_keys(values, {f.name for f in dataclasses.fields(cls)}, "vocoder.train")
        if "betas" in values:
            values["betas"] = tuple(float(b) for b in values["betas"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        return out


class _GAN:
    """Generator, discriminators and their optimisers."""

    def __init__(
        self, arch: dict[str, Any], disc: dict[str, Any], cfg: VocoderConfig, device: torch.device
    ) -> None:
        torch.manual_seed(cfg.seed)
        self.generator = build_model("tfgan", **arch).to(device)
        self.discriminators = [
            MultiScaleDiscriminator(**disc.get("msd", {})).to(device),
            FrequencyDiscriminator(**disc.get("fd", {})).to(device),
        ]
        d_params = [p for d in self.discriminators for p in d.parameters()]
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=cfg.betas)
        self.opt_d = torch.optim.Adam(d_params, lr=cfg.lr, betas=cfg.betas)

    def state(self, epoch: int, step: int, history: list[dict], cfg: VocoderConfig) -> dict:
        return {
            "kind": STATE_KIND,
            "generator": ckpt.cpu_state(self.generator),
            "discriminators": [ckpt.cpu_state(d) for d in self.discriminators],
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "epoch": int(epoch),
            "step": int(step),
            **ckpt.rng_state(),
            "history": [dict(r) for r in history],
            "config": cfg.to_dict(),
            "versions": ckpt.versions(),
        }

    def restore(self, path: Path, cfg: VocoderConfig) -> tuple[int, int, list[dict]]:
        state = ckpt.load_checkpoint(path, STATE_KIND)
        saved = state["config"]
        changed = sorted(
            k for k, v in cfg.to_dict().items() if k not in RESUMABLE_CHANGES and saved.get(k) != v
        )
        if changed:
            raise ValueError(
                f"checkpoint {path} was made with other settings {changed}; delete it to start over"
            )
        self.generator.load_state_dict(state["generator"])
        for disc, disc_state in zip(self.discriminators, state["discriminators"], strict=True):
            disc.load_state_dict(disc_state)
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        ckpt.restore_rng_state(state)
        return int(state["epoch"]), int(state["step"]), [dict(r) for r in state["history"]]


@torch.no_grad()
def _validate(gan: _GAN, valid_set: ValidDataset, batch_size: int, device) -> tuple[float, float]:
    """MRSTFT loss and LSD of the vocoded validation segments against the clean ones."""
    gan.generator.eval()
    stft_loss = MultiResolutionSTFTLoss().to(device)
    loss_sum, lsd_total, items, lsd_items = 0.0, 0.0, 0, 0
    for _, clean in make_loader(valid_set, batch_size):
        clean = clean.to(device)
        estimate = gan.generator.vocode(clean)
        loss = stft_loss(estimate, clean)
        loss_sum, items = loss_sum + float(loss) * len(clean), items + len(clean)
        batch_lsd, counted = lsd_sum(clean, estimate)
        lsd_total, lsd_items = lsd_total + batch_lsd, lsd_items + counted
    gan.generator.train()
    return loss_sum / max(items, 1), lsd_total / lsd_items if lsd_items else math.nan


def _train_epoch(gan, train_set, cfg, epoch, step, device, num_workers) -> tuple[int, dict]:
    """One pass over the clips (or what is left of ``cfg.steps``); returns the new step count."""
    train_set.set_epoch(epoch)
    remaining = (cfg.steps - step) * cfg.batch_size
    data = Subset(train_set, range(min(len(train_set), remaining)))
    sums: dict[str, float] = {}
    n = 0
    loss = GeneratorLoss().to(device)
    for _, clean in make_loader(data, cfg.batch_size, num_workers, device.type == "cuda", cfg.seed):
        parts = gan_step(
            gan.generator,
            gan.discriminators,
            (gan.opt_g, gan.opt_d),
            clean.to(device),
            step,
            cfg.adv_start_step,
            loss=loss,
        )
        step, n = step + 1, n + 1
        for key, value in parts.items():
            sums[key] = sums.get(key, 0.0) + value
    return step, {k: v / max(n, 1) for k, v in sums.items()}


def fit_vocoder(
    arch: dict[str, Any],
    disc: dict[str, Any],
    cfg: VocoderConfig,
    train_set: TrainCropDataset,
    valid_set: ValidDataset,
    work_dir: str | os.PathLike,
    device: torch.device,
    num_workers: int = 0,
) -> tuple[torch.nn.Module, list[dict]]:
    """Train (or resume) the vocoder until ``cfg.steps``; returns the generator and history.

    Args:
        arch: generator constructor arguments (empty: the paper's 5.9 M generator).
        disc: ``{"msd": {...}, "fd": {...}}`` discriminator constructor arguments.
        cfg: training settings.
        train_set, valid_set: ``(degraded, clean)`` items; only the clean half is used.
        work_dir: holds ``checkpoint.pt`` and ``history.csv``.
        device, num_workers: where to train; DataLoader worker processes.
    """
    work_dir = Path(work_dir)
    gan = _GAN(arch, disc, cfg, device)
    epoch, step, history = 0, 0, []
    if (work_dir / CHECKPOINT).exists():
        epoch, step, history = gan.restore(work_dir / CHECKPOINT, cfg)
        logger.info("resuming from epoch %d, step %d (%s)", epoch, step, work_dir / CHECKPOINT)
    while step < cfg.steps:
        epoch, start = epoch + 1, time.perf_counter()
        step, means = _train_epoch(gan, train_set, cfg, epoch, step, device, num_workers)
        valid_stft, valid_lsd = _validate(gan, valid_set, cfg.batch_size, device)
        row = {
            "epoch": epoch,
            "step": step,
            "gen_total": means.get("gen/total", math.nan),
            "disc_total": means.get("disc/total", math.nan),
            "valid_stft": valid_stft,
            "valid_lsd": valid_lsd,
            "seconds": round(time.perf_counter() - start, 3),
        }
        history.append(row)
        ckpt.save_checkpoint(gan.state(epoch, step, history, cfg), work_dir / CHECKPOINT)
        write_history(work_dir / HISTORY, history, HISTORY_COLUMNS)
        logger.info(
            "vocoder | epoch %d | step %d/%d | gen=%.4f | disc=%.4f | valid_stft=%.4f | "
            "valid_lsd=%.3f | %.1f s",
            epoch,
            step,
            cfg.steps,
            row["gen_total"],
            row["disc_total"],
            valid_stft,
            valid_lsd,
            row["seconds"],
        )
    return gan.generator, history


def train_vocoder(
    arch: dict[str, Any],
    disc: dict[str, Any],
    train_cfg: dict[str, Any],
    train_manifest: str | os.PathLike,
    valid_manifest: str | os.PathLike,
    model_out: str | os.PathLike,
    history_out: str | os.PathLike,
    work_dir: str | os.PathLike,
    device: str | torch.device | None = None,
    num_workers: int = 0,
) -> Path:
    """Train the TFGAN vocoder on clean clips; write the model file and the history CSV.

    The model file has the format of :func:`tdpr.train.checkpoint.save_model` with model name
    ``tfgan``, so :func:`tdpr.train.checkpoint.load_model` rebuilds the generator.
    """
    from tdpr.train.run import resolve_device

    cfg = VocoderConfig.from_dict(train_cfg)
    device = resolve_device(device)
    train_clips, valid_clips = read_manifest(train_manifest), read_manifest(valid_manifest)
    rate = sf.info(str(train_clips[0])).samplerate
    crop = int(round(cfg.segment_seconds * rate))
    # Clean segments: the degraded halves of the items are not used (the vocoder sees clean mels).
    train_set = TrainCropDataset(train_clips, crop, cfg.seed)
    valid_set = ValidDataset(valid_clips, crop, cfg.seed, cfg.valid_items)
    generator, history = fit_vocoder(
        arch, disc, cfg, train_set, valid_set, work_dir, device, num_workers
    )
    logger.info("vocoder | tfgan generator: %s parameters", f"{count_parameters(generator):,}")
    ckpt.save_model(model_out, "tfgan", arch, generator, cfg.to_dict())
    write_history(Path(history_out), history, HISTORY_COLUMNS)
    return Path(model_out)
