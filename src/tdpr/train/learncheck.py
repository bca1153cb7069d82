"""Learning checks: does a model fit one fixed batch through the project's own training step?

A recipe that cannot overfit one batch cannot learn from a dataset, and the check costs minutes
on a CPU where training on MAESTRO costs GPU-days. Both checks drive the real training tasks
(:class:`tdpr.train.steps.RegressionTask` and :class:`tdpr.train.steps.GANTask`), so their
optimisers, losses and backward passes are the ones a training run uses: a detached gradient, a
flipped loss sign or a parameter the optimiser skips shows up here.

* **TD-CNN** (:func:`overfit_tdcnn`): one fixed batch of ``(degraded, clean)`` crops, each
  low-passed by a known filter at a known cutoff (:func:`fixed_batch`). At the given step counts
  it records the batch's loss and its LSD-HF (above each item's cutoff), in eval mode without a
  gradient, beside the LSD-HF of the noise fill (:mod:`tdpr.baselines.noisefill`, shaped by the
  batch's own mean spectrum: the batch is its training set) on the same items.
* **Vocoder** (:func:`overfit_vocoder`): one clean clip, cut into fixed segments that form every
  batch. At the given step counts it records the phase distances APD-IAF and IFD-W1-HF of
  ``|X| · exp(i·φ)``, ``φ`` the phase of the vocoder's re-synthesis of the clip, as the phase
  study measures them (:func:`tdpr.phase.study.study_clip`), beside those of a random phase.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from tdpr.audio import quantize_pcm16
from tdpr.baselines.noisefill import NoiseFill
from tdpr.baselines.spectrum import mean_of
from tdpr.dsp.filters import Degradation, apply_degradation
from tdpr.metrics import compute_all
from tdpr.train.config import TrainConfig, VocoderConfig
from tdpr.train.losses import TDCNNLoss
from tdpr.train.steps import GANTask, RegressionTask
from tdpr.train.vocoder_losses import MultiResolutionSTFTLoss

#: The phase distances the vocoder check reports (lower is better; random phase is the floor).
PHASE_NAMES = ("apd_iaf", "ifd_w1_hf")


@dataclass(frozen=True)
class FixedBatch:
    """One batch of training items with what degraded them.

    Attributes:
        degraded, clean: ``(B, 1, T)`` float32 waveforms.
        cutoffs: the cutoff (Hz) of each item's degradation, ``B`` of them.
        sample_rate: of both waveforms.
    """

    degraded: torch.Tensor
    clean: torch.Tensor
    cutoffs: tuple[float, ...]
    sample_rate: int = 16_000


def fixed_batch(
    clean: np.ndarray,
    degradations: Sequence[Degradation],
    sample_rate: int = 16_000,
    pcm16: bool = True,
) -> FixedBatch:
    """Degrade each row of ``clean`` ``(B, T)`` by its own entry of ``degradations``.

    ``pcm16`` rounds the degraded inputs to 16-bit steps, as training does by default
    (``train.pcm16_inputs``).
    """
    clean = np.asarray(clean, dtype=np.float32)
    if clean.ndim != 2 or len(clean) != len(degradations):
        raise ValueError(
            f"need clean audio (B, T) and one degradation per row, got {clean.shape} and "
            f"{len(degradations)} degradation(s)"
        )
    degraded = np.stack(
        [apply_degradation(x, d, sample_rate) for x, d in zip(clean, degradations, strict=True)]
    )
    if pcm16:
        degraded = quantize_pcm16(degraded)
    return FixedBatch(
        torch.from_numpy(degraded)[:, None],
        torch.from_numpy(clean)[:, None],
        tuple(float(d.cutoff_hz) for d in degradations),
        sample_rate,
    )


def batch_lsd_hf(batch: FixedBatch, estimate: torch.Tensor) -> float:
    """Mean over items of the LSD above each item's cutoff; ``estimate`` is ``(B, 1, T)``."""
    values = [
        compute_all(ref[0].double(), est[0].double(), cutoff, batch.sample_rate, names=["lsd_hf"])
        for ref, est, cutoff in zip(
            batch.clean, estimate.detach().cpu(), batch.cutoffs, strict=True
        )
    ]
    return float(np.mean([v["lsd_hf"] for v in values]))


def noisefill_lsd_hf(batch: FixedBatch, seed: int = 0) -> float:
    """LSD-HF of the noise fill on ``batch``, shaped by the mean spectrum of its clean items."""
    spectrum = mean_of(item[0].double().numpy() for item in batch.clean)
    fill = NoiseFill(spectrum, seed=seed)
    outputs = [
        fill(item[None], cutoff_hz=cutoff)
        for item, cutoff in zip(batch.degraded, batch.cutoffs, strict=True)
    ]
    return batch_lsd_hf(batch, torch.cat(outputs))


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def unchanged_parameters(model: nn.Module, before: Mapping[str, torch.Tensor]) -> list[str]:
    """Names of the parameters of ``model`` still equal to ``before``: left untouched."""
    return [
        name
        for name, p in model.named_parameters()
        if torch.equal(p.detach().cpu(), before[name].cpu())
    ]


@torch.no_grad()
def _evaluate(task: RegressionTask, batch: FixedBatch) -> tuple[float, float]:
    task.model.eval()
    estimate = task.eval_forward(batch.degraded.to(task.device))
    loss, _ = task.loss_fn(estimate, batch.clean.to(task.device))
    task.model.train()
    return float(loss), batch_lsd_hf(batch, estimate)


def overfit_tdcnn(
    model: nn.Module,
    batch: FixedBatch,
    steps: Sequence[int],
    cfg: TrainConfig | None = None,
    device: str | torch.device = "cpu",
) -> tuple[list[dict[str, float]], list[str]]:
    """Train ``model`` on ``batch`` alone and record the loss and LSD-HF at each of ``steps``.

    Args:
        model: a TD-CNN ``(B, 1, T) -> (B, 1, T)``.
        batch: the one batch every step sees.
        steps: optimiser-step counts at which to measure (0 measures the untrained model).
        cfg: learning rate, loss weight, bf16 (the paper's defaults when None).

    Returns:
        ``(rows, unchanged)``: one row per step count (``step``, ``loss``, ``lsd_hf``,
        ``seconds``: training time so far) and the names of the parameters training left
        exactly as they were.
    """
    cfg = cfg or TrainConfig()
    loss = TDCNNLoss(cfg.wave_weight, cfg.lsd_weight)
    task = RegressionTask(model, loss, [], [], cfg, torch.device(device))
    before = _snapshot(task.model)
    targets = sorted(set(int(s) for s in steps))
    rows, seconds, done = [], 0.0, 0
    pair = (batch.degraded, batch.clean)
    for target in targets:
        start = time.perf_counter()
        while done < target:
            done += 1
            task.step(pair, done)
        seconds += time.perf_counter() - start
        loss, lsd_hf = _evaluate(task, batch)
        rows.append({"step": done, "loss": loss, "lsd_hf": lsd_hf, "seconds": seconds})
    return rows, unchanged_parameters(task.model, before)


def clip_segments(clip: np.ndarray, segment_samples: int) -> torch.Tensor:
    """``clip`` ``(T,)`` cut into whole non-overlapping segments ``(S, 1, segment_samples)``."""
    count = len(clip) // segment_samples
    if count < 1:
        raise ValueError(
            f"the clip ({len(clip)} samples) is shorter than one segment ({segment_samples})"
        )
    return torch.from_numpy(np.asarray(clip[: count * segment_samples], np.float32)).view(
        count, 1, -1
    )


@torch.no_grad()
def phase_distances(
    generator: nn.Module, clip: torch.Tensor, cutoff_hz: float, sample_rate: int, seed: int = 0
) -> dict[str, dict[str, float]]:
    """``{"vocoder": {...}, "random": {...}}``: :data:`PHASE_NAMES` of ``clip`` ``(T,)``
    rebuilt from its own magnitude with the vocoder's phase, and with a random phase."""
    from tdpr.phase.study import study_clip  # the study imports the training stack itself

    was_training = generator.training
    generator.eval()
    rows = study_clip(clip, cutoff_hz, ["vocoder", "random"], ["full"], sample_rate=sample_rate,
                      vocoder=generator, seed=seed)  # fmt: skip
    generator.train(was_training)
    return {source: {n: values[n] for n in PHASE_NAMES} for source, _, values in rows}


def overfit_vocoder(
    clip: np.ndarray,
    steps: Sequence[int],
    arch: Mapping[str, Any] | None = None,
    disc: Mapping[str, Any] | None = None,
    cfg: VocoderConfig | None = None,
    cutoff_hz: float = 2500.0,
    sample_rate: int = 16_000,
    device: str | torch.device = "cpu",
) -> tuple[list[dict[str, float]], list[str]]:
    """Train the vocoder on one clean clip ``(T,)`` and record its phase distances at ``steps``.

    Every step's batch is the whole clip cut into ``cfg.segment_seconds`` segments. The
    discriminators train from ``cfg.adv_start_step`` on, as in a training run.

    Returns:
        ``(rows, unchanged)``: one row per step count (``step``; ``stft``: the vocoder's
        multi-resolution STFT loss on the segments, in eval mode; then ``<metric>`` and
        ``random_<metric>`` for each of :data:`PHASE_NAMES`; ``seconds``: training time so far)
        and the names of the generator's parameters training left exactly as they were.
    """
    cfg = cfg or VocoderConfig()
    task = GANTask(arch or {}, disc or {}, cfg, [], [], torch.device(device))
    segments = clip_segments(clip, round(cfg.segment_seconds * sample_rate)).to(task.device)
    whole = segments.reshape(-1)
    before = _snapshot(task.generator)
    stft_loss = MultiResolutionSTFTLoss().to(task.device)
    rows, seconds, done = [], 0.0, 0
    for target in sorted(set(int(s) for s in steps)):
        start = time.perf_counter()
        while done < target:
            done += 1
            task.step((None, segments), done)
        seconds += time.perf_counter() - start
        task.generator.eval()
        with torch.no_grad():
            stft = float(stft_loss(task.generator.vocode(segments), segments))
        measured = phase_distances(task.generator, whole, cutoff_hz, sample_rate, cfg.seed)
        task.generator.train()
        row: dict[str, float] = {"step": done, "stft": stft}
        for name in PHASE_NAMES:
            row[name] = measured["vocoder"][name]
            row[f"random_{name}"] = measured["random"][name]
        rows.append({**row, "seconds": seconds})
    return rows, unchanged_parameters(task.generator, before)
