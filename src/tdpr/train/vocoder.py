"""Training the TFGAN vocoder on clean training clips (reference spec A5, Part B §4).

The vocoder learns mel -> waveform on clean 16-kHz clips only: random segments (1 s in the
paper), batch 16, Adam 2e-4 with betas (0.5, 0.9), multi-resolution STFT + time-domain losses
from the start and LSGAN adversarial terms from ``adv_start_step``
(:class:`tdpr.train.steps.GANTask`). Training length is counted in optimiser steps; like the
TD-CNNs it runs through :func:`tdpr.train.loop.fit`, so it resumes the same way.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import soundfile as sf
import torch

from tdpr.models import count_parameters
from tdpr.train import checkpoint as ckpt
from tdpr.train.config import VocoderConfig
from tdpr.train.data import TrainCropDataset, ValidDataset, read_manifest
from tdpr.train.device import resolve_device
from tdpr.train.loop import fit, write_history
from tdpr.train.steps import VOCODER_COLUMNS, GANTask

logger = logging.getLogger(__name__)


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
    cfg = VocoderConfig.from_dict(train_cfg)
    device = resolve_device(device)
    train_clips, valid_clips = read_manifest(train_manifest), read_manifest(valid_manifest)
    rate = sf.info(str(train_clips[0])).samplerate
    crop = int(round(cfg.segment_seconds * rate))
    # Clean segments only: the vocoder sees clean mels, so no degradation is computed.
    train_set = TrainCropDataset(train_clips, crop, cfg.seed, degrade=False)
    valid_set = ValidDataset(valid_clips, crop, cfg.seed, cfg.valid_items, degrade=False)
    task = GANTask(arch, disc, cfg, train_set, valid_set, device, num_workers)
    history = fit(task, work_dir)
    generator = task.generator
    logger.info("vocoder | tfgan generator: %s parameters", f"{count_parameters(generator):,}")
    ckpt.save_model(model_out, "tfgan", arch, generator, cfg.to_dict())
    write_history(Path(history_out), history, VOCODER_COLUMNS)
    return Path(model_out)
