"""TFGAN vocoder at 16 kHz: mel front end, generator and discriminators (reference spec Part B §4).

Written from the facts of Part B §4 (Tian et al., 2020; the rishikksh20/TFGAN layout), retargeted
to 16 kHz as §4.6 says: only the sample rate changes, so ``fmax = 8000`` is now Nyquist.

* :class:`MelSpectrogram`: centred STFT (n_fft 1024, hop 256, win 1024, periodic Hann, reflect
  padding of n_fft/2 on both sides, so ``F = 1 + T // 256`` frames), **magnitude** (not power),
  librosa's Slaney mel filterbank (80 mels, fmin 0, fmax 8000, Slaney area normalisation),
  then ``ln(clamp(mel, 1e-5))``; digital silence is ``ln(1e-5) ≈ -11.5129``.
* :class:`TFGANGenerator`: log-mel ``(B, 80, F)`` → waveform ``(B, 1, 256·F)``. The generator
  normalises its input itself, ``(mel + 5) / 5``, as the reference does. Input conv (k7) →
  three up-sampling stages (×8, ×8, ×4) each followed by a stack of 4 dilated residual blocks
  (dilations 1, 3, 9, 27) → output conv (k7) → tanh. Every conv is weight-normalised
  (``torch.nn.utils.parametrizations.weight_norm``, dim 0). 5,912,706 parameters by default.
* :class:`MultiScaleDiscriminator`: three MelGAN discriminators on the waveform at ×1, ×½, ×¼
  (average pooling between scales); 4,354,998 parameters.
* :class:`FrequencyDiscriminator`: a ResNet-like 1-D net run on the real and on the imaginary part
  of a 1024/256 STFT (the 513 bins are the channels), combined as a magnitude; 4,419,136
  parameters.

Both discriminators return a list of ``(features, score)`` pairs, one per sub-discriminator, so
the losses (:mod:`tdpr.train.vocoder_losses`) treat them alike.

Deviations from the reference code: no ``.cuda()`` calls (buffers follow the module); the STFT is
the project's :func:`tdpr.dsp.stft.stft` (complex ``torch.stft``) instead of conv1d Fourier bases
(same frames, same values up to float error); the mel filterbank is a non-persistent buffer
rebuilt from the constructor arguments and windows are made per call on the input's device, so
checkpoints hold only learnt weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm as _weight_norm

from tdpr.dsp.stft import stft
from tdpr.models.waveform import waveform_length

#: Floor of the mel magnitude before the log: ``ln(1e-5)`` is the log-mel of silence.
MEL_FLOOR = 1e-5
LOG_SILENCE = math.log(MEL_FLOOR)
#: The generator's input normalisation: ``(mel + MEL_SHIFT) / MEL_SCALE``.
MEL_SHIFT = 5.0
MEL_SCALE = 5.0
LRELU = 0.2
#: Shortest mel the generator takes: its first reflect padding (3 frames) needs more than 3.
MIN_FRAMES = 4


def _wn(module: nn.Module, enabled: bool = True) -> nn.Module:
    return _weight_norm(module) if enabled else module


class MelSpectrogram(nn.Module):
    """TFGAN's log-mel front end: ``(B, 1, T)`` or ``(B, T)`` → ``(B, n_mels, 1 + T // hop)``.

    Args:
        sample_rate: sample rate in Hz (16000).
        n_fft: FFT size (1024).
        hop: hop length (256).
        win_length: window length (1024), zero-padded to ``n_fft`` by ``torch.stft``.
        n_mels: number of mel bands (80).
        fmin: lowest filter edge in Hz (0).
        fmax: highest filter edge in Hz (8000 = Nyquist at 16 kHz).

    The input needs ``T > n_fft // 2`` samples (reflect padding).
    """

    def __init__(
        self,
        sample_rate: int = 16_000,
        n_fft: int = 1024,
        hop: int = 256,
        win_length: int = 1024,
        n_mels: int = 80,
        fmin: float = 0.0,
        fmax: float = 8000.0,
    ) -> None:
        super().__init__()
        if not 0 <= fmin < fmax <= sample_rate / 2:
            raise ValueError(f"need 0 <= fmin < fmax <= sample_rate / 2, got {fmin}, {fmax}")
        self.n_fft, self.hop, self.win_length, self.n_mels = n_fft, hop, win_length, n_mels
        import librosa  # lazy: its import costs the jobs that only load the model

        basis = librosa.filters.mel(
            sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=False
        )  # Slaney scale and Slaney area normalisation (librosa's defaults)
        self.register_buffer("basis", torch.tensor(basis, dtype=torch.float32), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """Log-mel magnitude spectrogram.

        Args:
            audio: ``(B, 1, T)`` or ``(B, T)`` waveform in [-1, 1], ``T > n_fft // 2``.

        Returns:
            ``(B, n_mels, 1 + T // hop)`` natural-log mel magnitudes, floored at ``ln(1e-5)``.
        """
        if audio.dim() == 3 and audio.shape[1] == 1:
            audio = audio[:, 0]
        if audio.dim() != 2:
            raise ValueError(
                f"MelSpectrogram expects (B, 1, T) or (B, T), got {tuple(audio.shape)}"
            )
        if audio.shape[-1] <= self.n_fft // 2:
            raise ValueError(
                f"MelSpectrogram needs more than {self.n_fft // 2} samples, got {audio.shape[-1]}"
            )
        spec = stft(audio.float(), self.n_fft, self.hop, "reflect", win_length=self.win_length)
        mel = torch.matmul(self.basis, spec.abs())
        return torch.log(torch.clamp(mel, min=MEL_FLOOR))


class ResStack(nn.Module):
    """Dilated residual blocks: ``(B, C, L) -> (B, C, L)``.

    Block j: ``[LReLU → ReflPad(d) → Conv(k3, dilation d) → LReLU → Conv(k1)] + Conv(k1)(x)``
    with ``d = 3**j``.
    """

    def __init__(self, channels: int, n_layers: int = 4, wn: bool = True) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.LeakyReLU(LRELU),
                nn.ReflectionPad1d(3**j),
                _wn(nn.Conv1d(channels, channels, 3, dilation=3**j), wn),
                nn.LeakyReLU(LRELU),
                _wn(nn.Conv1d(channels, channels, 1), wn),
            )
            for j in range(n_layers)
        )
        self.shortcuts = nn.ModuleList(
            _wn(nn.Conv1d(channels, channels, 1), wn) for _ in range(n_layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block, shortcut in zip(self.blocks, self.shortcuts, strict=True):
            x = shortcut(x) + block(x)
        return x


class UpBlock(nn.Module):
    """TFGAN up-sampling: ``(B, C_in, L) -> (B, C_out, r·L)``.

    ``x ← x + sin(x)``, then the sum of a nearest-neighbour branch (upsample ×r → LReLU →
    ReflPad(3) → Conv k7) and a transposed-conv branch (LReLU → ConvTranspose(k 2r, stride r)).
    """

    def __init__(self, cin: int, cout: int, ratio: int, wn: bool = True) -> None:
        super().__init__()
        # Output length (L - 1)·r - 2p + 2r + op = r·L needs 2p - op = r.
        pad, out_pad = (ratio + 1) // 2, ratio % 2
        self.nearest = nn.Sequential(
            nn.Upsample(scale_factor=ratio, mode="nearest"),
            nn.LeakyReLU(LRELU),
            nn.ReflectionPad1d(3),
            _wn(nn.Conv1d(cin, cout, 7), wn),
        )
        self.transposed = nn.Sequential(
            nn.LeakyReLU(LRELU),
            _wn(nn.ConvTranspose1d(cin, cout, 2 * ratio, ratio, pad, out_pad), wn),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + torch.sin(x)
        return self.nearest(x) + self.transposed(x)


class TFGANGenerator(nn.Module):
    """TFGAN generator with its own mel front end.

    Args:
        sample_rate: rate of the audio it makes, for the mel filterbank (16000).
        n_mels: mel bands (80).
        n_fft: front-end FFT size (1024).
        hop: front-end hop; must equal the product of ``ratios`` (256).
        win_length: front-end window (1024).
        fmin: lowest mel edge in Hz (0).
        fmax: highest mel edge in Hz (8000).
        ratios: up-sampling factor of each stage (8, 8, 4).
        mult: channels after the first up-sampling stage (256); the input conv has ``2·mult``
            and each stage halves them.
        n_residual_layers: residual blocks per stage (4; dilations 1, 3, 9, 27).
        weight_norm: weight-normalise every conv (True).

    ``forward(mel (B, n_mels, F)) -> (B, 1, hop·F)`` and ``vocode(y (B, 1, T)) -> (B, 1, T)``.
    """

    def __init__(
        self,
        sample_rate: int = 16_000,
        n_mels: int = 80,
        n_fft: int = 1024,
        hop: int = 256,
        win_length: int = 1024,
        fmin: float = 0.0,
        fmax: float = 8000.0,
        ratios: Sequence[int] = (8, 8, 4),
        mult: int = 256,
        n_residual_layers: int = 4,
        weight_norm: bool = True,
    ) -> None:
        super().__init__()
        self.ratios = tuple(int(r) for r in ratios)
        if not self.ratios or min(self.ratios) < 1 or math.prod(self.ratios) != hop:
            raise ValueError(f"TFGAN ratios {self.ratios} must be positive with product hop={hop}")
        if mult < 2 ** (len(self.ratios) - 1) or mult % 2 ** (len(self.ratios) - 1):
            raise ValueError(f"TFGAN mult={mult} must be divisible by 2**(stages - 1)")
        self.hop, self.n_mels = hop, n_mels
        self.mel = MelSpectrogram(sample_rate, n_fft, hop, win_length, n_mels, fmin, fmax)
        channels = [2 * mult // 2**i for i in range(len(self.ratios) + 1)]
        layers: list[nn.Module] = [
            nn.ReflectionPad1d(3),
            _wn(nn.Conv1d(n_mels, channels[0], 7), weight_norm),
        ]
        for i, ratio in enumerate(self.ratios):
            layers.append(UpBlock(channels[i], channels[i + 1], ratio, weight_norm))
            layers.append(ResStack(channels[i + 1], n_residual_layers, weight_norm))
        layers += [
            nn.LeakyReLU(LRELU),
            nn.ReflectionPad1d(3),
            _wn(nn.Conv1d(channels[-1], 1, 7), weight_norm),
            nn.Tanh(),
        ]
        self.net = nn.Sequential(*layers)

    @property
    def min_samples(self) -> int:
        """Shortest waveform :meth:`vocode` works on without padding (4 frames' worth)."""
        return max(self.mel.n_fft // 2 + 1, (MIN_FRAMES - 1) * self.hop)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """Waveform from a log-mel spectrogram.

        Args:
            mel: ``(B, n_mels, F)`` natural-log mel magnitudes (as :class:`MelSpectrogram`
                makes them), ``F >= 4``.

        Returns:
            ``(B, 1, hop·F)`` waveform in (-1, 1).
        """
        if mel.dim() != 3 or mel.shape[1] != self.n_mels:
            raise ValueError(
                f"TFGAN expects a mel of shape (B, {self.n_mels}, F), got {tuple(mel.shape)}"
            )
        if mel.shape[-1] < MIN_FRAMES:
            raise ValueError(f"TFGAN needs at least {MIN_FRAMES} mel frames, got {mel.shape[-1]}")
        return self.net((mel + MEL_SHIFT) / MEL_SCALE)

    def vocode(self, audio: torch.Tensor, tail_frames: int = 10) -> torch.Tensor:
        """Re-synthesise a waveform from the mel of ``clip(audio, -1, 1)`` (TD-PR step 2–3).

        Args:
            audio: ``(B, 1, T)`` waveform, T ≥ 1 (inputs shorter than :attr:`min_samples` are
                zero-padded on the right first).
            tail_frames: log-silence frames appended to the mel before synthesis, as TFGAN's
                inference does, so the last frames are not made from a mirrored edge; the
                extra output is cropped.

        Returns:
            ``(B, 1, T)`` vocoder waveform aligned with ``audio`` (mel frame f ↔ sample hop·f).
        """
        length = waveform_length(audio, "vocode")
        clipped = F.pad(audio.clamp(-1.0, 1.0), (0, max(0, self.min_samples - length)))
        mel = self.mel(clipped)
        if tail_frames > 0:
            mel = F.pad(mel, (0, tail_frames), value=LOG_SILENCE)
        return self(mel)[..., :length]


class _ScaleDiscriminator(nn.Module):
    """One MelGAN discriminator: ``(B, 1, T) -> (5 feature maps, score (B, 1, ~T/64))``.

    Channels ``c = (16, 64, 256, 512)`` by default: Conv(1→c0, k15) after ReflPad(7), three
    grouped Conv(k41, s4, p20) with ``groups = c_in / 4``, Conv(c3→c3, k5), score Conv(c3→1, k3).
    """

    def __init__(self, channels: Sequence[int] = (16, 64, 256, 512), wn: bool = True) -> None:
        super().__init__()
        c = [int(v) for v in channels]
        if (
            len(c) != 4
            or any(v % 4 for v in c)
            or any(b % (a // 4) for a, b in zip(c[:-1], c[1:], strict=True))
        ):
            raise ValueError(f"need 4 channel counts, multiples of 4 fitting the groups: {c}")

        def block(*conv_args: int, **kw: int) -> nn.Module:
            return nn.Sequential(_wn(nn.Conv1d(*conv_args, **kw), wn), nn.LeakyReLU(LRELU))

        strided = [
            block(cin, cout, 41, stride=4, padding=20, groups=cin // 4)
            for cin, cout in zip(c[:-1], c[1:], strict=True)
        ]
        self.layers = nn.ModuleList(
            [
                nn.Sequential(nn.ReflectionPad1d(7), *block(1, c[0], 15)),
                *strided,
                block(c[3], c[3], 5, padding=2),
            ]
        )
        self.score = _wn(nn.Conv1d(c[3], 1, 3, padding=1), wn)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        features = []
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        return features, self.score(x)


class MultiScaleDiscriminator(nn.Module):
    """Time-domain discriminator: MelGAN discriminators at ×1, ×½, ×¼ of the waveform.

    Args:
        num_scales: number of scales (3); AvgPool1d(k4, s2, p1, count_include_pad=False)
            between them.
        channels: channels of each scale's first four convs (16, 64, 256, 512).
        weight_norm: weight-normalise every conv (True).

    ``forward((B, 1, T)) -> [(features, score)] * num_scales``; T must exceed 7·2**(scales−1).
    """

    def __init__(
        self,
        num_scales: int = 3,
        channels: Sequence[int] = (16, 64, 256, 512),
        weight_norm: bool = True,
    ) -> None:
        super().__init__()
        self.scales = nn.ModuleList(
            _ScaleDiscriminator(channels, weight_norm) for _ in range(num_scales)
        )
        self.pool = nn.AvgPool1d(4, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> list[tuple[list[torch.Tensor], torch.Tensor]]:
        if x.dim() != 3 or x.shape[1] != 1:
            raise ValueError(f"discriminator expects (B, 1, T), got {tuple(x.shape)}")
        outputs = []
        for i, disc in enumerate(self.scales):
            if i:
                x = self.pool(x)
            outputs.append(disc(x))
        return outputs


def _conv(cin: int, cout: int, k: int, stride: int = 1, pad: int | None = None) -> nn.Module:
    return _weight_norm(nn.Conv1d(cin, cout, k, stride, (k - 1) // 2 if pad is None else pad))


class _Stage(nn.Module):
    """Conv k3 → LReLU → Conv k3, plus a shortcut (1×1 conv, identity, or none), then LReLU."""

    def __init__(self, cin: int, cout: int, stride: int, shortcut: str) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(cin, cout, 3, stride), nn.LeakyReLU(LRELU), _conv(cout, cout, 3)
        )
        self.shortcut = shortcut
        self.proj = _conv(cin, cout, 1, stride, 0) if shortcut == "conv" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        if self.proj is not None:
            y = y + self.proj(x)
        elif self.shortcut == "identity":
            y = y + x
        return F.leaky_relu(y, LRELU)


class FrequencyDiscriminator(nn.Module):
    """Frequency-domain discriminator on a 1024/256 STFT; bins are the conv channels.

    The same ResNet-18-like 1-D net maps the real and the imaginary part of the STFT
    ``(B, 513, frames)`` to ``(B, 512, frames / 32)`` each; the score is
    ``sqrt(clamp(re² + im², 1e-7))`` transposed to ``(B, frames / 32, 512)``. Layout (all convs
    weight-normalised, with bias): Conv(513→64, k7, s2, p1) → stage(64, s2, no shortcut) →
    stage(64, identity) → for 64→128→256→512: stage(s2, 1×1 shortcut) → stage(1×1 shortcut).
    Where Part B §4.3 is silent (which stages carry a shortcut) this is my reading; it gives the
    4,419,136 parameters of §4.3. Needs T ≥ 1024 samples (5 frames).

    Args:
        n_fft: FFT size and window of the input STFT (1024); the net has ``n_fft / 2 + 1``
            input channels.
        hop: hop of the input STFT (256).
        channels: widths of the four stages (64, 128, 256, 512); smaller for tests.

    ``forward((B, 1, T)) -> [([], score)]``.
    """

    def __init__(
        self, n_fft: int = 1024, hop: int = 256, channels: Sequence[int] = (64, 128, 256, 512)
    ) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        chans = list(channels)
        layers: list[nn.Module] = [
            _conv(n_fft // 2 + 1, chans[0], 7, 2, 1),
            nn.LeakyReLU(LRELU),
            _Stage(chans[0], chans[0], 2, "none"),
            _Stage(chans[0], chans[0], 1, "identity"),
        ]
        for cin, cout in zip(chans[:-1], chans[1:], strict=True):
            layers += [_Stage(cin, cout, 2, "conv"), _Stage(cout, cout, 1, "conv")]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> list[tuple[list[torch.Tensor], torch.Tensor]]:
        if x.dim() != 3 or x.shape[1] != 1:
            raise ValueError(f"discriminator expects (B, 1, T), got {tuple(x.shape)}")
        spec = stft(x[:, 0].float(), self.n_fft, self.hop, "reflect")
        real, imag = self.net(spec.real), self.net(spec.imag)
        score = torch.sqrt(torch.clamp(real**2 + imag**2, min=1e-7)).transpose(1, 2)
        return [([], score)]
