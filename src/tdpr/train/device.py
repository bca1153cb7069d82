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
