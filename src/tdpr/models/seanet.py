"""SEANet generator: a waveform U-Net with dilated residual units (reference spec Part B §7).

Follows the SEANet paper (Tagliasacchi et al., 2020, arXiv 2009.02095), whose block definitions
SoundStream reuses:

* encoder: Conv1d(k7, 32) → EncBlock(64, S2) → EncBlock(128, S2) → EncBlock(256, S8)
  → EncBlock(512, S8) → Conv1d(k7, 128), the latent;
* decoder: Conv1d(k7, 512) → DecBlock(256, S8) → DecBlock(128, S8) → DecBlock(64, S2)
  → DecBlock(32, S2) → Conv1d(k7, 1);
* EncBlock(N, S) = RU(N/2, d1) → RU(N/2, d3) → RU(N/2, d9) → ELU
  → Conv1d(N/2 → N, k 2S, stride S);
* DecBlock(N, S) = ELU → ConvTranspose1d(2N → N, k 2S, stride S)
  → RU(N, d1) → RU(N, d3) → RU(N, d9);
* ResidualUnit(N, d) = ELU → Conv1d(k7, dilation d) → ELU → Conv1d(k1), plus a skip;
* encoder and decoder activations at matching resolution are summed (U-Net skips).

Choices the paper leaves open, and deviations:

* **1×1 shortcut conv** in each residual unit (MelGAN ResnetBlock style), on by default: it brings
  the count to 10,964,898 ≈ the 11 M the TD-PR paper reports; ``shortcut_conv=False`` gives the
  paper-faithful identity skip and 10,436,898 parameters.
* Weight normalisation on every conv (``torch.nn.utils.parametrizations.weight_norm``, ``dim=0``).
* An ELU before the latent conv and before the output conv (pre-activation, like the blocks).
* Global input → output residual on by default (the network predicts the missing band); final
  tanh off by default, because it would compress the peaks of full-scale piano passages.
* Internal "same" padding is reflect by default (as the public SEANet re-implementations do);
  ``padding_mode="zeros"`` is the alternative.
* Any length T ≥ 1: the input is zero-padded on the right to :meth:`SEANet.valid_length` (a
  multiple of the total stride, 256 by default, and long enough for reflect padding at the
  coarsest level, at least 1,024 samples by default) and the output is cropped back to T.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm as _weight_norm

from tdpr.models.waveform import waveform_length

_PADDING_MODES = {"reflect": "reflect", "zeros": "constant"}


def _maybe_wn(module: nn.Module, enabled: bool) -> nn.Module:
    return _weight_norm(module) if enabled else module


class _SameConv(nn.Module):
    """Stride-1 Conv1d whose output length equals its input length.

    Shapes: ``(B, C_in, T) -> (B, C_out, T)``. Padding is explicit so that reflect padding works
    with dilation; an even total pad puts the extra sample on the right.
    """

    def __init__(
        self, cin: int, cout: int, kernel_size: int, dilation: int, pad_mode: str, wn: bool
    ) -> None:
        super().__init__()
        self.pad = dilation * (kernel_size - 1)
        self.pad_mode = pad_mode
        self.conv = _maybe_wn(nn.Conv1d(cin, cout, kernel_size, dilation=dilation), wn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left = self.pad // 2
        return self.conv(F.pad(x, (left, self.pad - left), mode=self.pad_mode))


class _DownConv(nn.Module):
    """Conv1d(k 2S, stride S) mapping ``(B, C_in, T) -> (B, C_out, T / S)`` for T divisible by S."""

    def __init__(self, cin: int, cout: int, stride: int, pad_mode: str, wn: bool) -> None:
        super().__init__()
        self.stride = stride
        self.pad_mode = pad_mode
        self.conv = _maybe_wn(nn.Conv1d(cin, cout, 2 * stride, stride=stride), wn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left = self.stride // 2
        return self.conv(F.pad(x, (left, self.stride - left), mode=self.pad_mode))


class _UpConv(nn.Module):
    """ConvTranspose1d(k 2S, stride S) mapping ``(B, C_in, T) -> (B, C_out, T * S)``."""

    def __init__(self, cin: int, cout: int, stride: int, wn: bool) -> None:
        super().__init__()
        self.stride = stride
        self.conv = _maybe_wn(nn.ConvTranspose1d(cin, cout, 2 * stride, stride=stride), wn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)  # length (T + 1) * S: drop S samples, mirroring _DownConv's padding
        left = self.stride // 2
        return y[..., left : left + x.shape[-1] * self.stride]


class ResidualUnit(nn.Module):
    """ELU → Conv1d(k, dilation d) → ELU → Conv1d(k1), added to a skip of the input.

    Shapes: ``(B, C, T) -> (B, C, T)``. The skip is the identity (SEANet paper) or a 1×1 conv
    (MelGAN ResnetBlock style) when ``shortcut_conv``.
    """

    def __init__(
        self,
        channels: int,
        dilation: int,
        kernel_size: int = 7,
        shortcut_conv: bool = True,
        pad_mode: str = "reflect",
        wn: bool = True,
    ) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ELU(),
            _SameConv(channels, channels, kernel_size, dilation, pad_mode, wn),
            nn.ELU(),
            _maybe_wn(nn.Conv1d(channels, channels, 1), wn),
        )
        self.shortcut = (
            _maybe_wn(nn.Conv1d(channels, channels, 1), wn) if shortcut_conv else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.block(x)


class SEANet(nn.Module):
    """SEANet generator, waveform in, waveform out: ``(B, 1, T) -> (B, 1, T)`` for any T ≥ 1.

    Args:
        base_channels: channels of the first conv (32); encoder block i outputs
            ``base_channels * 2**(i + 1)``.
        strides: down-sampling factor of each encoder block, outermost first (2, 2, 8, 8); the
            decoder mirrors them. Their product is the total stride (256).
        latent_dim: channels of the bottleneck (128).
        kernel_size: kernel of the first, last, latent and residual convs (7, odd).
        dilations: dilations of the residual units of each block (1, 3, 9).
        shortcut_conv: 1×1 conv on the residual skip (True: 10.96 M parameters by default;
            False: the paper-faithful identity skip, 10.44 M).
        residual: add the input to the output (True).
        final_tanh: apply tanh to the final output, after the residual (False).
        padding_mode: ``"reflect"`` (default) or ``"zeros"`` for the internal "same" padding.
        weight_norm: weight-normalise every conv (True).
    """

    def __init__(
        self,
        base_channels: int = 32,
        strides: Sequence[int] = (2, 2, 8, 8),
        latent_dim: int = 128,
        kernel_size: int = 7,
        dilations: Sequence[int] = (1, 3, 9),
        shortcut_conv: bool = True,
        residual: bool = True,
        final_tanh: bool = False,
        padding_mode: str = "reflect",
        weight_norm: bool = True,
    ) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"SEANet kernel_size must be odd and positive, got {kernel_size}")
        if not strides or any(int(s) < 1 for s in strides):
            raise ValueError(f"SEANet strides must be positive integers, got {strides}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"SEANet padding_mode must be one of {sorted(_PADDING_MODES)}, got {padding_mode!r}"
            )
        self.strides = tuple(int(s) for s in strides)
        self.dilations = tuple(int(d) for d in dilations)
        self.kernel_size = kernel_size
        self.residual = residual
        self.final_tanh = final_tanh
        self.padding_mode = padding_mode
        mode = _PADDING_MODES[padding_mode]
        chans = [base_channels * 2**i for i in range(len(self.strides) + 1)]

        def units(ch: int) -> list[nn.Module]:
            return [
                ResidualUnit(ch, d, kernel_size, shortcut_conv, mode, weight_norm)
                for d in self.dilations
            ]

        self.enc_in = _SameConv(1, chans[0], kernel_size, 1, mode, weight_norm)
        self.encoder = nn.ModuleList(
            nn.Sequential(
                *units(chans[i]), nn.ELU(), _DownConv(chans[i], chans[i + 1], s, mode, weight_norm)
            )
            for i, s in enumerate(self.strides)
        )
        self.latent = nn.Sequential(
            nn.ELU(), _SameConv(chans[-1], latent_dim, kernel_size, 1, mode, weight_norm)
        )
        self.dec_in = _SameConv(latent_dim, chans[-1], kernel_size, 1, mode, weight_norm)
        # Innermost first, so decoder[j] undoes encoder[-1 - j].
        self.decoder = nn.ModuleList(
            nn.Sequential(
                nn.ELU(), _UpConv(chans[i + 1], chans[i], s, weight_norm), *units(chans[i])
            )
            for i, s in reversed(list(enumerate(self.strides)))
        )
        self.dec_out = nn.Sequential(
            nn.ELU(), _SameConv(chans[0], 1, kernel_size, 1, mode, weight_norm)
        )
        self._min_valid = self._minimum_valid_length()

    @property
    def total_stride(self) -> int:
        """Product of the strides: every valid length is a multiple of it."""
        return math.prod(self.strides)

    def _minimum_valid_length(self) -> int:
        """Smallest multiple of the total stride for which every reflect pad fits its input."""
        if self.padding_mode == "zeros":
            return self.total_stride
        ru_pad = max(self.dilations, default=1) * (self.kernel_size - 1) // 2
        same_pad = (self.kernel_size - 1) // 2
        needed = same_pad + 1  # first and last convs, at full resolution
        scale = 1
        for s in self.strides:  # residual units and strided convs before each down-sampling
            needed = max(needed, (max(ru_pad, s - s // 2) + 1) * scale)
            scale *= s
        needed = max(needed, (same_pad + 1) * scale)  # latent convs at the coarsest level
        return math.ceil(needed / self.total_stride) * self.total_stride

    def valid_length(self, length: int) -> int:
        """Padded length used for an input of ``length`` samples (≥ length)."""
        padded = math.ceil(length / self.total_stride) * self.total_stride
        return max(padded, self._min_valid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Enhance a waveform batch.

        Args:
            x: ``(B, 1, T)`` waveform, T ≥ 1.

        Returns:
            ``(B, 1, T)`` waveform.
        """
        length = waveform_length(x, "SEANet")
        x_pad = F.pad(x, (0, self.valid_length(length) - length))
        h = self.enc_in(x_pad)
        skips = [h]
        for block in self.encoder:
            h = block(h)
            skips.append(h)
        h = self.dec_in(self.latent(h)) + skips.pop()
        for block in self.decoder:
            h = block(h) + skips.pop()
        y = self.dec_out(h)
        if self.residual:
            y = y + x_pad
        if self.final_tanh:
            y = torch.tanh(y)
        return y[..., :length]
