"""TFGAN losses and one adversarial training step (reference spec Part B §4.4).

Generator:  ``L_G = MRSTFT + 20·L_time + [step ≥ adv_start]·2.5·L_adv (+ fm_weight·FM)``
Discriminators (one optimiser over both):
``L_D = Σ_D mean_k [MSE(D_k(y), 1) + MSE(D_k(ŷ), 0)]``, k over the sub-discriminators of D
(the 3 scales of the time-domain one, the single frequency one).

* :class:`MultiResolutionSTFTLoss` (ParallelWaveGAN style, computed by auraloss): FFT
  1024/2048/512, hop 120/240/50, window 600/1200/240 (periodic Hann, zero-padded to the FFT
  size, centred, reflect);
  magnitude ``sqrt(clamp(power, 1e-7))``; spectral convergence (Frobenius ratio over the batch) and
  L1 of natural-log magnitudes, each averaged over the resolutions, then summed.
* :class:`TimeDomainLoss`: for (frame, hop) in (1, 1), (240, 120), (480, 240), (960, 480), the L1
  distances of per-frame energy (mean of squares), per-frame mean, and first differences with a
  zero at both ends (within each frame; across samples for frame 1), summed. Frames are
  ``unfold(frame, hop)``, so any batch size and length works; a resolution whose frame is longer
  than the signal is skipped.
* LSGAN terms: :func:`generator_adversarial_loss`, :func:`discriminator_loss`.
* :class:`FeatureMatchingLoss`: L1 of discriminator features; off by default (``feat_loss: False``
  in the reference config).

All losses take ``(estimate, target)`` waveforms ``(B, 1, T)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import auraloss
import torch
import torch.nn.functional as F
from torch import nn

STFT_RESOLUTIONS = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))
MAGNITUDE_FLOOR = 1e-7  # on the power: magnitudes are sqrt(max(|X|², 1e-7))
TIME_RESOLUTIONS = ((1, 1), (240, 120), (480, 240), (960, 480))
TIME_WEIGHT = 20.0
ADV_WEIGHT = 2.5
FM_WEIGHT = 10.0

DiscOutput = list[tuple[list[torch.Tensor], torch.Tensor]]


class MultiResolutionSTFTLoss(nn.Module):
    """Spectral convergence + log-magnitude L1 over several STFTs: ``(B,1,T),(B,1,T) -> ()``.

    auraloss's ``MultiResolutionSTFTLoss`` with the vocoder's resolutions and a magnitude floor of
    ``sqrt(1e-7)`` (an equality test holds it to the formula of the module docstring).

    Args:
        resolutions: ``(n_fft, hop, win_length)`` triples.

    Needs ``T > max(n_fft) // 2`` (reflect padding).
    """

    def __init__(self, resolutions: Sequence[tuple[int, int, int]] = STFT_RESOLUTIONS) -> None:
        super().__init__()
        self.resolutions = [tuple(int(v) for v in r) for r in resolutions]
        fft, hop, win = (list(column) for column in zip(*self.resolutions, strict=True))
        self.loss = auraloss.freq.MultiResolutionSTFTLoss(
            fft_sizes=fft, hop_sizes=hop, win_lengths=win, eps=MAGNITUDE_FLOOR, output="full"
        )

    def terms(self, estimate: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(spectral convergence, log-magnitude L1)``, each averaged over the resolutions."""
        est = estimate.reshape(-1, 1, estimate.shape[-1]).float()
        ref = target.reshape(-1, 1, target.shape[-1]).float()
        _, sc, mag, _, _ = self.loss(est, ref)
        return torch.stack(sc).mean(), torch.stack(mag).mean()

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        sc, mag = self.terms(estimate, target)
        return sc + mag


def _zero_padded_diff(x: torch.Tensor) -> torch.Tensor:
    return torch.diff(F.pad(x, (1, 1)), dim=-1)


class TimeDomainLoss(nn.Module):
    """Energy, mean and first-difference L1 terms over several framings: ``-> ()``.

    Args:
        resolutions: ``(frame, hop)`` pairs; frame 1 compares samples (and squared samples, and
            sample-to-sample differences) directly.
    """

    def __init__(self, resolutions: Sequence[tuple[int, int]] = TIME_RESOLUTIONS) -> None:
        super().__init__()
        self.resolutions = [(int(w), int(h)) for w, h in resolutions]

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if estimate.shape != target.shape:
            raise ValueError(f"shapes differ: {tuple(estimate.shape)} vs {tuple(target.shape)}")
        est = estimate.reshape(-1, estimate.shape[-1]).float()
        ref = target.reshape(-1, target.shape[-1]).float()
        total = est.new_zeros(())
        for frame, hop in self.resolutions:
            if frame > est.shape[-1]:
                continue
            if frame == 1:
                fe, fr = est.unsqueeze(-1), ref.unsqueeze(-1)
                diff_e, diff_r = _zero_padded_diff(est), _zero_padded_diff(ref)
            else:
                fe, fr = est.unfold(-1, frame, hop), ref.unfold(-1, frame, hop)
                diff_e, diff_r = _zero_padded_diff(fe), _zero_padded_diff(fr)
            total = total + F.l1_loss((fe**2).mean(-1), (fr**2).mean(-1))
            total = total + F.l1_loss(fe.mean(-1), fr.mean(-1))
            total = total + F.l1_loss(diff_e, diff_r)
        return total


def generator_adversarial_loss(fake_outputs: Sequence[DiscOutput]) -> torch.Tensor:
    """LSGAN generator term: ``Σ_D mean_k MSE(D_k(ŷ), 1)``.

    Args:
        fake_outputs: per discriminator, its ``[(features, score)]`` on the generated audio.
    """
    total = 0.0
    for outputs in fake_outputs:
        total = total + torch.stack([F.mse_loss(s, torch.ones_like(s)) for _, s in outputs]).mean()
    return total


def discriminator_loss(
    real_outputs: Sequence[DiscOutput], fake_outputs: Sequence[DiscOutput]
) -> torch.Tensor:
    """LSGAN discriminator term: ``Σ_D mean_k [MSE(D_k(y), 1) + MSE(D_k(ŷ), 0)]``."""
    total = 0.0
    for real, fake in zip(real_outputs, fake_outputs, strict=True):
        terms = [
            F.mse_loss(r, torch.ones_like(r)) + F.mse_loss(f, torch.zeros_like(f))
            for (_, r), (_, f) in zip(real, fake, strict=True)
        ]
        total = total + torch.stack(terms).mean()
    return total


class FeatureMatchingLoss(nn.Module):
    """Mean L1 between discriminator features of real and generated audio: ``-> ()``."""

    def forward(
        self, real_outputs: Sequence[DiscOutput], fake_outputs: Sequence[DiscOutput]
    ) -> torch.Tensor:
        dists = [
            F.l1_loss(f, r.detach())
            for real, fake in zip(real_outputs, fake_outputs, strict=True)
            for (rf, _), (ff, _) in zip(real, fake, strict=True)
            for r, f in zip(rf, ff, strict=True)
        ]
        return torch.stack(dists).mean() if dists else torch.zeros(())


def _generate(generator: nn.Module, batch: torch.Tensor | Sequence[torch.Tensor]):
    """``(ŷ, y)``: ``batch`` is audio ``(B, 1, T)`` (mel made here) or ``(mel, audio)``."""
    if isinstance(batch, torch.Tensor):
        audio = batch
        with torch.no_grad():
            mel = generator.mel(audio)
    else:
        mel, audio = batch
    fake = generator(mel)
    if fake.shape[-1] < audio.shape[-1]:
        raise ValueError(
            f"mel of {mel.shape[-1]} frames is too short for {audio.shape[-1]} samples"
        )
    return fake[..., : audio.shape[-1]], audio


@contextlib.contextmanager
def _frozen(modules: Sequence[nn.Module]) -> Iterator[None]:
    """Switch off ``requires_grad`` of every parameter of ``modules``, restoring it after."""
    params = [p for m in modules for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)


def _discriminator_update(discriminators, optimizer, real, fake) -> float:
    optimizer.zero_grad(set_to_none=True)
    loss = discriminator_loss([d(real) for d in discriminators], [d(fake) for d in discriminators])
    loss.backward()
    optimizer.step()
    return float(loss.detach())


class GeneratorLoss(nn.Module):
    """The generator's non-adversarial terms and their weighting.

    Args:
        time_weight: weight of :class:`TimeDomainLoss` (20).
        adv_weight: weight of the LSGAN term once adversarial training has started (2.5).
        fm_weight: weight of feature matching (0: off, as the reference config; 10 when on).
    """

    def __init__(
        self,
        time_weight: float = TIME_WEIGHT,
        adv_weight: float = ADV_WEIGHT,
        fm_weight: float = 0.0,
    ) -> None:
        super().__init__()
        self.stft = MultiResolutionSTFTLoss()
        self.time = TimeDomainLoss()
        self.fm = FeatureMatchingLoss()
        self.time_weight, self.adv_weight, self.fm_weight = time_weight, adv_weight, fm_weight

    def forward(
        self,
        fake: torch.Tensor,
        real: torch.Tensor,
        fake_outputs: Sequence[DiscOutput] | None = None,
        real_outputs: Sequence[DiscOutput] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Loss terms; ``total`` includes the adversarial ones only when outputs are given."""
        sc, logmag = self.stft.terms(fake, real)
        terms = {"sc": sc, "logmag": logmag, "stft": sc + logmag, "time": self.time(fake, real)}
        total = terms["stft"] + self.time_weight * terms["time"]
        if fake_outputs is not None:
            terms["adv"] = generator_adversarial_loss(fake_outputs)
            total = total + self.adv_weight * terms["adv"]
            if self.fm_weight > 0 and real_outputs is not None:
                terms["fm"] = self.fm(real_outputs, fake_outputs)
                total = total + self.fm_weight * terms["fm"]
        terms["total"] = total
        return terms


def gan_step(
    generator: nn.Module,
    discriminators: Sequence[nn.Module],
    optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
    batch: torch.Tensor | Sequence[torch.Tensor],
    step: int,
    adv_start_step: int,
    *,
    disc_batch: torch.Tensor | Sequence[torch.Tensor] | None = None,
    loss: GeneratorLoss | None = None,
) -> dict[str, float]:
    """One TFGAN training step: a discriminator update, then a generator update.

    Before ``adv_start_step`` only the generator is updated, with MRSTFT + 20·time; from it on,
    the discriminators are updated first (LSGAN) and the generator loss gains 2.5·L_adv computed
    with the updated discriminators.

    Args:
        generator: a :class:`~tdpr.models.tfgan.TFGANGenerator` (anything with ``mel`` and
            ``forward(mel)``).
        discriminators: e.g. ``(MultiScaleDiscriminator(), FrequencyDiscriminator())``.
        optimizers: ``(generator optimiser, optimiser over all discriminators)``.
        batch: clean audio ``(B, 1, T)`` (its mel is computed here), or ``(mel (B, 80, F),
            audio (B, 1, T))`` with ``256·F ≥ T``.
        step: optimiser steps done so far.
        adv_start_step: first step with adversarial terms (200,000 in the reference).
        disc_batch: a second, independent batch for the discriminator update (the reference
            draws one); by default the generator batch's output is reused, detached.
        loss: the generator loss (default :class:`GeneratorLoss()`, on the batch's device).

    Returns:
        Floats: ``gen/total``, ``gen/stft``, ``gen/sc``, ``gen/logmag``, ``gen/time``,
        ``gen/adv``, ``disc/total`` (the last two 0.0 before ``adv_start_step``; ``gen/fm`` when
        feature matching is on) and ``gan/active`` (0.0 or 1.0).
    """
    opt_g, opt_d = optimizers
    audio = batch if isinstance(batch, torch.Tensor) else batch[1]
    loss = loss if loss is not None else GeneratorLoss().to(audio.device)
    active = step >= adv_start_step
    fake, real = _generate(generator, batch)
    out = {"disc/total": 0.0, "gen/adv": 0.0, "gan/active": float(active)}
    if active:
        if disc_batch is None:
            d_fake, d_real = fake.detach(), real
        else:
            with torch.no_grad():
                d_fake, d_real = _generate(generator, disc_batch)
        out["disc/total"] = _discriminator_update(discriminators, opt_d, d_real, d_fake)
    with _frozen(discriminators):  # the generator update needs no discriminator gradients
        fake_outputs = [d(fake) for d in discriminators] if active else None
        real_outputs = None
        if active and loss.fm_weight > 0:
            with torch.no_grad():
                real_outputs = [d(real) for d in discriminators]
        terms = loss(fake, real, fake_outputs, real_outputs)
        opt_g.zero_grad(set_to_none=True)
        terms["total"].backward()
        opt_g.step()
    out.update({f"gen/{k}": float(v.detach()) for k, v in terms.items()})
    return out
