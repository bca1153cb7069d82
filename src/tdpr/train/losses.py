"""The TD-CNN training loss of the paper (Sec. 3.3; reference spec A5 and Part B §3).

``L = MRSTFT + wave_weight · MRwave`` with ``wave_weight = 1000``:

* **MRSTFT**: auraloss 0.4 ``MultiResolutionSTFTLoss`` with FFT sizes 512/1024/2048, hops
  256/512/1024 and windows 512/1024/2048. Every other argument stays at auraloss's default:
  periodic ``hann_window``, ``w_sc = 1`` (spectral convergence, Frobenius norm over the whole
  batch), ``w_log_mag = 1`` (L1 of natural-log magnitudes), ``w_lin_mag = 0``, ``w_phs = 0``, no
  mel/chroma scale, no perceptual weighting, no scale invariance, ``eps = 1e-8`` on the power,
  ``mag_distance = "L1"``, ``reduction = "mean"``; centred STFTs with reflect padding.
* **MRwave**: the mean over the rates {1×, ½×, ¼×} of the mean absolute error of the waveforms.
  The ½× and ¼× signals come from :func:`tdpr.models.demucs.downsample2` (once, or twice), a
  Hann-windowed-sinc anti-aliasing low-pass with 24 zero crossings per side and its cutoff at
  0.945 × the low-rate Nyquist, replicate padding at the ends, then decimation by 2. The same
  operator is applied to the estimate and to the reference.

Beyond the paper, ``lsd_weight`` adds **LSD**: the log-spectral distance of the evaluation
(1024-point periodic Hann, hop 256, centred; ``log10`` of the power), made differentiable by an
additive floor (``power + 1e-8``, where the metric clamps) and a small constant (1e-6) under the
square root; its frames are reflect-padded at the ends, where the metric pads with zeros (two
frames of a crop differ). It weighs every bin alike, so the weak high band that the model has
to invent counts as much as the loud low band it is given; the MRSTFT's spectral-convergence
term and the wave term are both ruled by the loud band. Off (0) by default: the paper's loss is
unchanged.

All terms are computed in float32 with autocast disabled: cuFFT in half precision only handles
power-of-two sizes, and the log-magnitude floor (1e-4) is lost in bfloat16. Inputs are waveforms
``(B, 1, T)``; the estimate comes first, as in auraloss (``loss(estimate, target)``).
"""

from __future__ import annotations

import auraloss
import torch
import torch.nn.functional as F
from torch import nn

from tdpr.dsp.resample import downsample2

FFT_SIZES = (512, 1024, 2048)
HOP_SIZES = (256, 512, 1024)
WIN_LENGTHS = (512, 1024, 2048)
#: Down-sampling factors of the multi-resolution wave loss.
WAVE_FACTORS = (1, 2, 4)
#: Minimum length: reflect padding of the 2048-point STFT needs ``T > 1024``.
MIN_LENGTH = FFT_SIZES[-1] // 2 + 1


def _check_pair(estimate: torch.Tensor, target: torch.Tensor) -> None:
    if estimate.ndim != 3 or estimate.shape != target.shape:
        raise ValueError(
            "loss inputs must be two waveforms of the same shape (B, C, T), got "
            f"{tuple(estimate.shape)} and {tuple(target.shape)}"
        )
    if estimate.shape[-1] < MIN_LENGTH:
        raise ValueError(
            f"loss inputs need at least {MIN_LENGTH} samples, got {estimate.shape[-1]}"
        )


def _float32(x: torch.Tensor) -> torch.Tensor:
    return x if x.dtype == torch.float32 else x.float()


class MRSTFTLoss(nn.Module):
    """Multi-resolution STFT loss (auraloss), resolutions 512/1024/2048 with hop = win / 2.

    Shapes: ``(B, C, T), (B, C, T) -> ()``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.loss = auraloss.freq.MultiResolutionSTFTLoss(
            fft_sizes=list(FFT_SIZES), hop_sizes=list(HOP_SIZES), win_lengths=list(WIN_LENGTHS)
        )

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(estimate, target)
        with torch.autocast(estimate.device.type, enabled=False):
            return self.loss(_float32(estimate), _float32(target))


class MultiResolutionWaveLoss(nn.Module):
    """Mean over {1×, ½×, ¼×} rates of the L1 distance of the waveforms.

    Down-sampling is :func:`tdpr.models.demucs.downsample2` (windowed-sinc anti-aliasing, then
    decimation), applied identically to both signals. Shapes: ``(B, C, T), (B, C, T) -> ()``.
    """

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(estimate, target)
        with torch.autocast(estimate.device.type, enabled=False):
            est, ref = _float32(estimate), _float32(target)
            terms = []
            for factor in WAVE_FACTORS:
                if factor > 1:
                    est, ref = downsample2(est), downsample2(ref)
                terms.append(F.l1_loss(est, ref))
            return torch.stack(terms).mean()


class LogSpectralLoss(nn.Module):
    """Differentiable LSD (1024/256, log10 power, additive floor), the mean over items.

    Shapes: ``(B, C, T), (B, C, T) -> ()``.
    """

    def __init__(self, n_fft: int = 1024, hop: int = 256, floor: float = 1e-8) -> None:
        super().__init__()
        self.n_fft, self.hop, self.floor = n_fft, hop, floor
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def _log_power(self, x: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(
            x.reshape(-1, x.shape[-1]),
            self.n_fft,
            self.hop,
            window=self.window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        return (spec.real.square() + spec.imag.square() + self.floor).log10()

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(estimate, target)
        with torch.autocast(estimate.device.type, enabled=False):
            diff = self._log_power(_float32(estimate)) - self._log_power(_float32(target))
            # (items, F, frames) -> per-frame RMS over bins -> mean over frames and items
            return (diff.square().mean(dim=-2) + 1e-6).sqrt().mean()


class TDCNNLoss(nn.Module):
    """``MRSTFT + wave_weight · MRwave (+ lsd_weight · LSD)``, the paper's TD-CNN loss.

    Args:
        wave_weight: weight of the multi-resolution wave term (the paper's 1000).
        lsd_weight: weight of the log-spectral term (not in the paper; 0 leaves it out).

    ``forward(estimate, target)`` takes two ``(B, 1, T)`` waveforms and returns ``(total, parts)``:
    the scalar total (with gradient) and ``{"loss/mrstft": ..., "loss/wave": ...}`` (and
    ``"loss/lsd"`` when weighted), the unweighted terms as detached scalars.
    """

    def __init__(self, wave_weight: float = 1000.0, lsd_weight: float = 0.0) -> None:
        super().__init__()
        self.wave_weight, self.lsd_weight = float(wave_weight), float(lsd_weight)
        self.mrstft = MRSTFTLoss()
        self.wave = MultiResolutionWaveLoss()
        self.lsd = LogSpectralLoss()

    def forward(
        self, estimate: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        spectral = self.mrstft(estimate, target)
        wave = self.wave(estimate, target)
        total = spectral + self.wave_weight * wave
        parts = {"loss/mrstft": spectral.detach(), "loss/wave": wave.detach()}
        if self.lsd_weight:
            log_spectral = self.lsd(estimate, target)
            total = total + self.lsd_weight * log_spectral
            parts["loss/lsd"] = log_spectral.detach()
        return total, parts
