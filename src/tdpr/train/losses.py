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

Both terms are computed in float32 with autocast disabled: cuFFT in half precision only handles
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


class TDCNNLoss(nn.Module):
    """``MRSTFT + wave_weight · MRwave``, the loss of every TD-CNN in the paper.

    Args:
        wave_weight: weight of the multi-resolution wave term (the paper's 1000).

    ``forward(estimate, target)`` takes two ``(B, 1, T)`` waveforms and returns ``(total, parts)``:
    the scalar total (with gradient) and ``{"loss/mrstft": ..., "loss/wave": ...}``, the unweighted
    terms as detached scalars.
    """

    def __init__(self, wave_weight: float = 1000.0) -> None:
        super().__init__()
        self.wave_weight = float(wave_weight)
        self.mrstft = MRSTFTLoss()
        self.wave = MultiResolutionWaveLoss()

    def forward(
        self, estimate: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        spectral = self.mrstft(estimate, target)
        wave = self.wave(estimate, target)
        total = spectral + self.wave_weight * wave
        return total, {"loss/mrstft": spectral.detach(), "loss/wave": wave.detach()}
