"""Demucs v2 (music) architecture, mono in, one source (reference spec Part B §6.1).

Follows ``demucs/model.py`` of facebookresearch/demucs at branch v2, with ``audio_channels=1`` and
one source. With C_0 = 1 and C_i = channels · growth^(i − 1):

* encoder i = 1..depth: Conv1d(C_{i−1} → C_i, k8, s4) → ReLU → Conv1d(C_i → 2C_i, k1) → GLU;
* bottleneck: bidirectional LSTM (hidden = input = C_depth, ``lstm_layers`` layers), then
  Linear(2C → C);
* decoder, mirrored: add the centre-trimmed skip → Conv1d(C_i → 2C_i, k = context, no padding) →
  GLU → ConvTranspose1d(C_i → C_{i−1}, k8, s4) → ReLU, except for the outermost layer;
* ×2 sinc up-sampling before the encoder and ×2 down-sampling after the decoder;
* ``rescale`` init: each conv weight and bias is divided by sqrt(std(weight) / rescale).

Because each decoder context conv removes ``context − 1`` samples, the network's output is shorter
than its input. :meth:`Demucs.forward` therefore zero-pads the input symmetrically to
:meth:`Demucs.valid_length` and centre-trims the output to the input length (the extra sample on
the right), as v2's ``apply_model`` does, so any T ≥ 1 works.

Deviations: the resampler is this module's own Hann-windowed sinc FIR (24 zero crossings each side,
cutoff 0.945 × the low-rate Nyquist, replicate padding at the edges), not julius; there is no
input normalisation (v2's default ``normalize=False``), and the output is ``(B, 1, T)`` rather than
``(B, sources, channels, T)``.

Default ``channels`` is 45 (131,364,811 parameters ≈ 131.4 M, 2.1 % under the paper's 134 M);
46 gives ≈ 137.3 M (2.3 % over). 45 is the closer of the two and the cheaper to train.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from tdpr.dsp.resample import downsample2, upsample2
from tdpr.models.waveform import waveform_length


@functools.lru_cache(maxsize=8)
def center_trim(x: torch.Tensor, length: int) -> torch.Tensor:
    """Crop the last axis of ``x`` to ``length`` around its centre (extra sample off the right)."""
    delta = x.shape[-1] - length
    if delta < 0:
        raise ValueError(f"cannot centre-trim {x.shape[-1]} samples to {length}")
    return x[..., delta // 2 : delta // 2 + length]


class _BLSTM(nn.Module):
    """Bidirectional LSTM over time plus Linear(2C → C): ``(B, C, T) -> (B, C, T)``."""

    def __init__(self, dim: int, layers: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dim, dim, num_layers=layers, bidirectional=True)
        self.linear = nn.Linear(2 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.permute(2, 0, 1)  # (T, B, C): time is the sequence axis
        h = self.linear(self.lstm(h)[0])
        return h.permute(1, 2, 0)


class Demucs(nn.Module):
    """Demucs v2 music architecture, mono, one source: ``(B, 1, T) -> (B, 1, T)`` for any T ≥ 1.

    Args:
        channels: channels of the first encoder layer (45; v2's default is 64).
        depth: number of encoder and decoder layers (6).
        kernel_size: kernel of the strided convs (8).
        stride: stride of the strided convs (4).
        growth: channel growth per layer (2.0).
        lstm_layers: layers of the bidirectional LSTM; 0 removes it (2).
        context: kernel of the decoder's rewrite conv, applied without padding (3).
        glu: GLU after the rewrite convs; ReLU and half their outputs otherwise (True).
        rewrite: add the 1×1 encoder and context decoder convs (True).
        rescale: reference std of the ``rescale`` init; 0 disables it (0.1).
        resample: run the network at twice the input rate (True).
    """

    def __init__(
        self,
        channels: int = 45,
        depth: int = 6,
        kernel_size: int = 8,
        stride: int = 4,
        growth: float = 2.0,
        lstm_layers: int = 2,
        context: int = 3,
        glu: bool = True,
        rewrite: bool = True,
        rescale: float = 0.1,
        resample: bool = True,
    ) -> None:
        super().__init__()
        if depth < 1 or kernel_size < stride or stride < 1 or context < 1:
            raise ValueError(
                f"Demucs needs depth ≥ 1, 1 ≤ stride ≤ kernel_size and context ≥ 1; got "
                f"depth={depth}, stride={stride}, kernel_size={kernel_size}, context={context}"
            )
        self.depth, self.kernel_size, self.stride = depth, kernel_size, stride
        self.context, self.resample = context, resample
        self.rewrite = rewrite
        mult = 2 if glu else 1

        def activation() -> nn.Module:
            return nn.GLU(dim=1) if glu else nn.ReLU()

        self.encoder = nn.ModuleList()
        self.decoder = nn.ModuleList()  # innermost first, so decoder[j] mirrors encoder[-1 - j]
        cin, cout = 1, channels
        for index in range(depth):
            enc: list[nn.Module] = [nn.Conv1d(cin, cout, kernel_size, stride), nn.ReLU()]
            dec: list[nn.Module] = []
            if rewrite:
                enc += [nn.Conv1d(cout, mult * cout, 1), activation()]
                dec += [nn.Conv1d(cout, mult * cout, context), activation()]
            dec.append(nn.ConvTranspose1d(cout, cin, kernel_size, stride))
            if index > 0:
                dec.append(nn.ReLU())
            self.encoder.append(nn.Sequential(*enc))
            self.decoder.insert(0, nn.Sequential(*dec))
            cin, cout = cout, int(growth * cout)
        self.lstm = _BLSTM(cin, lstm_layers) if lstm_layers else None
        if rescale:
            self._rescale(rescale)

    @torch.no_grad()
    def _rescale(self, reference: float) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
                scale = (module.weight.std() / reference) ** 0.5
                module.weight.div_(scale)
                if module.bias is not None:
                    module.bias.div_(scale)

    def valid_length(self, length: int) -> int:
        """Input length (≥ ``length``) for which every conv sees a whole number of strides.

        Fed that many samples, the network returns at least ``length`` samples, which the forward
        pass centre-trims to ``length``.
        """
        if self.resample:
            length *= 2
        for _ in range(self.depth):
            length = max(1, math.ceil((length - self.kernel_size) / self.stride) + 1)
            length += self.context - 1
        for _ in range(self.depth):
            length = (length - 1) * self.stride + self.kernel_size
        if self.resample:
            length = math.ceil(length / 2)
        return int(length)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Enhance a waveform batch.

        Args:
            x: ``(B, 1, T)`` waveform, T ≥ 1.

        Returns:
            ``(B, 1, T)`` waveform.
        """
        length = waveform_length(x, "Demucs")
        extra = self.valid_length(length) - length
        h = F.pad(x, (extra // 2, extra - extra // 2))
        if self.resample:
            h = upsample2(h)
        skips = []
        for layer in self.encoder:
            h = layer(h)
            skips.append(h)
        if self.lstm is not None:
            h = self.lstm(h)
        for layer in self.decoder:
            h = layer(h + center_trim(skips.pop(), h.shape[-1]))
        if self.resample:
            h = downsample2(h)
        return center_trim(h, length)
