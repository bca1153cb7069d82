"""AudioUNet: the waveform U-Net of deep-music-enhancer, mono (reference spec Part B §5).

Follows the ``unet`` model of serkansulun/deep-music-enhancer with ``mono=True``. Default layers,
for an input of T samples (all convs have a bias and zero "same" padding (k − 1) / 2):

==================  ==========================================================  ==============
stage               op                                                          output (C, T)
==================  ==========================================================  ==============
down1..down4        Conv1d(k 65/33/17/9, stride 2) [+BatchNorm] + ReLU          128..512, T/16
bottleneck-down     Conv1d(512 → 512, k9, stride 2) [+Dropout] + ReLU           512, T/32
bottleneck-up       Conv1d(512 → 1024, k9) [+Dropout] + ReLU + PS               512, T/16
up1..up3            concat(skip) → Conv1d(k 17/33/65) [+Dropout] + ReLU + PS    512..128, T/2
up4                 concat(down1) → Conv1d(256 → 2, k9) + PS, no activation     1, T
output              y + x (global residual)                                     1, T
==================  ==========================================================  ==============

PS is a 1-D pixel shuffle ×2 in the reference's "phase-major" order (:func:`pixel_shuffle_1d`).
56,411,394 parameters by default. Conv weights are initialised from normal(0, 0.02) as the
reference's ``run.py`` does; biases keep the PyTorch default.

Deviations: the reference needs T divisible by 2^5 = 32; here any T ≥ 1 works because the input is
zero-padded on the right to :meth:`AudioUNet.valid_length` and the output cropped back. The
reference uses BatchNorm and Dropout only one at a time; here both may be switched on together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tdpr.models.waveform import waveform_length


def pixel_shuffle_1d(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """1-D sub-pixel up-sampling, ``(B, r·C, W) -> (B, C, r·W)``.

    Phase-major order: input channel ``j·C + c`` goes to output channel ``c`` at time
    ``r·w + j`` (``torch.nn.PixelShuffle`` would use ``c·r + j`` instead).
    """
    batch, channels, width = x.shape
    if channels % factor:
        raise ValueError(f"pixel shuffle by {factor} needs divisible channels, got {channels}")
    out = channels // factor
    return x.view(batch, factor, out, width).permute(0, 2, 3, 1).reshape(batch, out, width * factor)


class PixelShuffle1d(nn.Module):
    """Module form of :func:`pixel_shuffle_1d`: ``(B, r·C, W) -> (B, C, r·W)``."""

    def __init__(self, factor: int = 2) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pixel_shuffle_1d(x, self.factor)


def _conv(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Conv1d:
    return nn.Conv1d(cin, cout, kernel, stride=stride, padding=(kernel - 1) // 2)


class AudioUNet(nn.Module):
    """Waveform U-Net with pixel-shuffle up-sampling: ``(B, 1, T) -> (B, 1, T)`` for any T ≥ 1.

    Args:
        channels: output channels of the down convs, outermost first (128, 256, 512, 512).
        kernels: kernels of the down convs, outermost first (65, 33, 17, 9), all odd. The up conv
            that feeds skip level i − 1 reuses ``kernels[i - 1]`` (17, 33, 65 by default).
        bottleneck_channels: channels of the bottleneck convs; ``None`` means ``channels[-1]``.
        bottleneck_kernel: kernel of the two bottleneck convs (9).
        final_kernel: kernel of the last up conv, which has 2 outputs and no activation (9).
        dropout: dropout probability in the bottleneck and the up convs except the last (0).
        batchnorm: BatchNorm after each down conv (False).
        init_std: standard deviation of the normal init of the conv weights (0.02).
    """

    def __init__(
        self,
        channels: Sequence[int] = (128, 256, 512, 512),
        kernels: Sequence[int] = (65, 33, 17, 9),
        bottleneck_channels: int | None = None,
        bottleneck_kernel: int = 9,
        final_kernel: int = 9,
        dropout: float = 0.0,
        batchnorm: bool = False,
        init_std: float = 0.02,
    ) -> None:
        super().__init__()
        channels, kernels = [int(c) for c in channels], [int(k) for k in kernels]
        if not channels or len(channels) != len(kernels):
            raise ValueError(
                f"AudioUNet needs one kernel per down layer, got channels={channels}, "
                f"kernels={kernels}"
            )
        all_kernels = [*kernels, bottleneck_kernel, final_kernel]
        if any(k < 1 or k % 2 == 0 for k in all_kernels):
            raise ValueError(f"AudioUNet kernels must be odd and positive, got {all_kernels}")
        bottleneck = channels[-1] if bottleneck_channels is None else int(bottleneck_channels)
        self.depth = len(channels)

        self.down = nn.ModuleList()
        cin = 1
        for ch, k in zip(channels, kernels, strict=True):
            norm = [nn.BatchNorm1d(ch)] if batchnorm else []
            self.down.append(nn.Sequential(_conv(cin, ch, k, stride=2), *norm, nn.ReLU()))
            cin = ch
        self.bottleneck = nn.Sequential(
            _conv(cin, bottleneck, bottleneck_kernel, stride=2),
            nn.Dropout(dropout),
            nn.ReLU(),
            _conv(bottleneck, 2 * bottleneck, bottleneck_kernel),
            nn.Dropout(dropout),
            nn.ReLU(),
            PixelShuffle1d(2),
        )
        # up[j] consumes the skip of down[depth - 1 - j], deepest first.
        self.up = nn.ModuleList()
        cin = bottleneck
        for level in reversed(range(self.depth)):
            cin += channels[level]
            if level > 0:
                cout = channels[level - 1]
                layers = [_conv(cin, 2 * cout, kernels[level - 1]), nn.Dropout(dropout), nn.ReLU()]
            else:
                cout = 1
                layers = [_conv(cin, 2, final_kernel)]
            self.up.append(nn.Sequential(*layers, PixelShuffle1d(2)))
            cin = cout
        for module in self.modules():
            if isinstance(module, nn.Conv1d):
                nn.init.normal_(module.weight, 0.0, init_std)

    @property
    def total_stride(self) -> int:
        """2 ** (depth + 1) = 32 by default: every valid length is a multiple of it."""
        return 2 ** (self.depth + 1)

    def valid_length(self, length: int) -> int:
        """Padded length used for an input of ``length`` samples (≥ length)."""
        return max(1, math.ceil(length / self.total_stride)) * self.total_stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Enhance a waveform batch.

        Args:
            x: ``(B, 1, T)`` waveform, T ≥ 1.

        Returns:
            ``(B, 1, T)`` waveform, ``x + U-Net(x)``.
        """
        length = waveform_length(x, "AudioUNet")
        x_pad = F.pad(x, (0, self.valid_length(length) - length))
        h = x_pad
        skips = []
        for layer in self.down:
            h = layer(h)
            skips.append(h)
        h = self.bottleneck(h)
        for layer in self.up:
            h = layer(torch.cat([h, skips.pop()], dim=1))
        return (h + x_pad)[..., :length]
