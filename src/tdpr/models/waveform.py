"""Input checks shared by every waveform model."""

from __future__ import annotations

import torch


def waveform_length(x: torch.Tensor, who: str) -> int:
    """Length ``T`` of a ``(B, 1, T)`` waveform batch; a clear error for any other shape.

    Args:
        x: the model's input.
        who: the model's name, for the message.

    Raises:
        ValueError: ``x`` is not ``(B, 1, T)`` or has no samples.
    """
    if x.dim() != 3 or x.shape[1] != 1:
        raise ValueError(f"{who} expects a (B, 1, T) waveform, got shape {tuple(x.shape)}")
    if x.shape[-1] < 1:
        raise ValueError(f"{who} needs at least 1 sample, got an empty input")
    return int(x.shape[-1])
