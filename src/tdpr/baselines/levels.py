"""The no-learning systems' LSD on a TD-CNN's own validation items: the levels its learning
curve has to get under.

:class:`tdpr.train.data.ValidDataset` replays the same crops and degradations every epoch, so
the input's, the noise fill's and the replication's LSD on those items are fixed numbers, and a
validation LSD below them says the model has learned more than a rule that needs no learning.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

from tdpr.baselines.base import load_baseline
from tdpr.baselines.spectrum import read_spectrum
from tdpr.metrics import lsd
from tdpr.registry import INPUT
from tdpr.train.config import TrainConfig
from tdpr.train.run import build_datasets


def validation_levels(
    train_cfg: Mapping[str, Any] | TrainConfig,
    train_manifest: str | os.PathLike,
    valid_manifest: str | os.PathLike,
    baselines: Iterable[str] = ("noisefill", "replicate"),
    seed: int = 0,
    spectrum_path: str | os.PathLike | None = None,
) -> dict[str, float]:
    """Mean LSD over the validation items of ``train_cfg``: the input's and each baseline's.

    Args:
        train_cfg: a model's training settings (its ``valid_items``, ``crop_seconds``, seed and
            degradation draw fix the items).
        train_manifest, valid_manifest: the clip manifests the model trained with.
        baselines: registered baseline names.
        seed: the baselines' seed (per item: the seed plus the item's index).
        spectrum_path: the mean spectrum of the baselines (default: the shipped one; the
            workflow passes its own, as its tables do).

    Returns:
        ``{"input": ..., name: ...}``: mean LSD (spec A3) over the items.
    """
    cfg = train_cfg if isinstance(train_cfg, TrainConfig) else TrainConfig.from_dict(train_cfg)
    _, valid = build_datasets(cfg, train_manifest, valid_manifest)
    spectrum = read_spectrum(spectrum_path) if spectrum_path is not None else None
    systems = {name: load_baseline(name, spectrum, seed) for name in baselines}
    scores: dict[str, list[float]] = {INPUT: [], **{name: [] for name in systems}}
    for index in range(len(valid)):
        degraded, clean = (t[0].double() for t in valid[index])
        cutoff = valid.degradation(index).cutoff_hz
        scores[INPUT].append(float(lsd(clean, degraded)))
        for name, system in systems.items():
            system.seed = seed + index
            out = torch.from_numpy(system.enhance(degraded.numpy(), cutoff))
            scores[name].append(float(lsd(clean, out)))
    return {name: float(np.mean(values)) for name, values in scores.items()}
