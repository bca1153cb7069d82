"""ViSQOL v3 (audio mode) from the optional ``visqol-python`` package."""

from __future__ import annotations

import numpy as np
import torch

from tdpr.metrics.context import MetricContext, MetricInputError, Signal, prepare


def visqol(ref: Signal, est: Signal, sample_rate: int) -> float:
    """ViSQOL v3 MOS-LQO in audio mode (1-5), from the optional ``visqol-python`` package.

    Audio mode works at 48 kHz, so both ``(T,)`` signals are resampled to it first.

    Raises:
        ImportError: ``visqol-python`` is not installed.
    """
    try:
        from visqol import VisqolApi
    except ImportError as err:
        raise ImportError(
            "ViSQOL needs the optional package visqol-python: pip install visqol-python "
            "(or pip install 'tdpr[visqol]')"
        ) from err
    from tdpr.audio import resample

    ref, est = (x.detach().cpu().double().numpy() for x in prepare(ref, est))
    if ref.ndim != 1:
        raise MetricInputError("visqol takes one clip of shape (T,)")
    api = VisqolApi()
    api.create(mode="audio")
    ref48, est48 = (resample(x, sample_rate, 48000).astype(np.float64) for x in (ref, est))
    return float(api.measure_from_arrays(ref48, est48, sample_rate=48000).moslqo)


def visqol_metric(ctx: MetricContext) -> torch.Tensor:
    """ViSQOL of each item of the context (items scored one by one), ``(...)``."""
    ref, est = ctx.signals
    flat_ref, flat_est = ref.reshape(-1, ref.shape[-1]), est.reshape(-1, est.shape[-1])
    scores = [visqol(r, e, ctx.sample_rate) for r, e in zip(flat_ref, flat_est, strict=True)]
    return torch.tensor(scores, dtype=torch.float64).reshape(ref.shape[:-1])
