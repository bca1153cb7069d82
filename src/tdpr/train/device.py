"""Choosing the device a training or an inference runs on."""

from __future__ import annotations

import logging

import torch

logger = logging.getLogger(__name__)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device``, or CUDA when available and the CPU otherwise (logged).

    Raises:
        ValueError: CUDA was asked for and none is available.
    """
    if device is not None:
        device = torch.device(device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {device} requested but no CUDA device is available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    logger.info("no CUDA device: training on CPU")
    return torch.device("cpu")


def split_threads(threads: int, nproc: int = 1, cuda: bool = False) -> tuple[int, int]:
    """``(torch threads, DataLoader workers)`` per process, ``threads`` CPUs for ``nproc`` of them.

    On CUDA the model runs on the GPU and the main process only launches kernels, so every CPU
    but one loads data. On the CPU the model needs the cores itself: one worker prepares the
    next batches (reading and IIR filtering are light next to a training step) and torch keeps
    every core, as before.
    """
    per_process = max(1, int(threads) // max(1, int(nproc)))
    if cuda:
        workers = max(1, per_process - 1)
        return 1, workers
    return per_process, 1 if per_process > 1 else 0
