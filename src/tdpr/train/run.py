"""Training one configured TD-CNN end to end: datasets, :func:`~tdpr.train.loop.fit`, model file.

:func:`train_model` is what the ``train_model`` rule and ``tdpr train`` call; the settings come
from :func:`tdpr.train.config.resolve_model_config`.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import soundfile as sf
import torch

from tdpr.fsio import atomic_path
from tdpr.models import build_model, count_parameters
from tdpr.train import distributed
from tdpr.train.checkpoint import save_model
from tdpr.train.config import TrainConfig
from tdpr.train.data import TrainCropDataset, ValidDataset, read_manifest
from tdpr.train.device import resolve_device
from tdpr.train.loop import HISTORY, fit
from tdpr.train.losses import TDCNNLoss
from tdpr.train.steps import RegressionTask

logger = logging.getLogger(__name__)


def build_datasets(
    cfg: TrainConfig, train_manifest: str | os.PathLike, valid_manifest: str | os.PathLike
) -> tuple[TrainCropDataset, ValidDataset]:
    """The training and validation datasets of ``cfg`` from two clip manifests."""
    train_clips, valid_clips = read_manifest(train_manifest), read_manifest(valid_manifest)
    rate = sf.info(str(train_clips[0])).samplerate
    crop = int(round(cfg.crop_seconds * rate))
    draw = {
        "cutoff_range": cfg.cutoff_range,
        "filters": cfg.filters,
        "order_range": cfg.order_range,
        "pcm16": cfg.pcm16_inputs,
    }
    train_set = TrainCropDataset(train_clips, crop, cfg.seed, cfg.crops_per_clip, **draw)
    valid_set = ValidDataset(valid_clips, crop, cfg.seed, cfg.valid_items, **draw)
    if valid_set.sample_rate != train_set.sample_rate:
        raise ValueError(
            f"training clips are at {train_set.sample_rate} Hz, "
            f"validation clips at {valid_set.sample_rate} Hz"
        )
    return train_set, valid_set


def train_model(
    name: str,
    arch: dict[str, Any],
    train_cfg: dict[str, Any],
    train_manifest: str | os.PathLike,
    valid_manifest: str | os.PathLike,
    model_out: str | os.PathLike,
    history_out: str | os.PathLike,
    work_dir: str | os.PathLike,
    device: str | torch.device | None = None,
    num_workers: int = 0,
) -> Path:
    """Train model ``name`` and write its model file and history CSV.

    Args:
        name: registry name (``seanet``, ``audiounet``, ``demucs``).
        arch: constructor kwargs (empty: paper size).
        train_cfg: training settings (:class:`TrainConfig` keys; missing ones take defaults).
        train_manifest, valid_manifest: clip manifests (CSV with ``clip_id, path``).
        model_out: the final model file (:func:`tdpr.train.checkpoint.save_model` format).
        history_out: where to copy ``history.csv`` (one row per epoch).
        work_dir: resumable state (checkpoint, history, TensorBoard events); kept apart from
            the outputs so that a failed job's outputs can be deleted without losing it.
        device: ``cuda``, ``cpu``, ...; None picks CUDA when available. Under torchrun
            (``WORLD_SIZE > 1``) each rank joins the process group and takes its own GPU
            (:func:`tdpr.train.distributed.setup`); rank 0 writes the outputs.
        num_workers: DataLoader worker processes (of each rank).

    Returns:
        ``model_out`` as a Path.
    """
    cfg = TrainConfig.from_dict(train_cfg)
    device = distributed.setup(resolve_device(device))
    try:
        datasets = build_datasets(cfg, train_manifest, valid_manifest)
        model = _fit_model(name, arch, cfg, datasets, device, num_workers, work_dir)
        if distributed.is_main():
            save_model(model_out, name, arch, model, cfg.to_dict())
            with atomic_path(history_out) as tmp:
                shutil.copyfile(Path(work_dir) / HISTORY, tmp)
            logger.info("train | wrote %s and %s", model_out, history_out)
        distributed.barrier()
    finally:
        distributed.teardown()
    return Path(model_out)


def _fit_model(
    name: str,
    arch: dict[str, Any],
    cfg: TrainConfig,
    datasets: tuple[TrainCropDataset, ValidDataset],
    device: torch.device,
    num_workers: int,
    work_dir: str | os.PathLike,
) -> torch.nn.Module:
    """Build model ``name`` (seeded) and train it with :func:`fit`; the trained module."""
    train_set, valid_set = datasets
    torch.manual_seed(cfg.seed)
    model = build_model(name, **arch)
    logger.info(
        "train | %s: %s parameters, %d training items, %d validation items, device %s",
        name,
        f"{count_parameters(model):,}",
        len(train_set),
        len(valid_set),
        device,
    )
    loss = TDCNNLoss(cfg.wave_weight, cfg.lsd_weight)
    fit(RegressionTask(model, loss, train_set, valid_set, cfg, device, num_workers), work_dir)
    return model
