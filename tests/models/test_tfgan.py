"""TFGAN vocoder: sizes, lengths, the mel front end, discriminators, losses and one GAN step."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from tdpr.models import build_model, count_parameters, model_class
from tdpr.models.tfgan import (
    LOG_SILENCE,
    FrequencyDiscriminator,
    MelSpectrogram,
    MultiScaleDiscriminator,
    TFGANGenerator,
)
from tdpr.train.vocoder_losses import (
    GeneratorLoss,
    MultiResolutionSTFTLoss,
    TimeDomainLoss,
    discriminator_loss,
    gan_step,
    generator_adversarial_loss,
)

TINY = {"mult": 8, "n_residual_layers": 2}


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_generator(seed: int = 0) -> TFGANGenerator:
    torch.manual_seed(seed)
    return build_model("tfgan", **TINY)


def test_registered_and_paper_size_parameter_counts():
    assert model_class("tfgan") is TFGANGenerator
    with torch.device("meta"):
        generator = build_model("tfgan")
        msd, fd = MultiScaleDiscriminator(), FrequencyDiscriminator()
    assert count_parameters(generator) == 5_912_706  # Part B §4.2, with the weight-norm gains
    assert abs(count_parameters(generator) / 5.9e6 - 1) < 0.03
    assert count_parameters(msd) == 4_354_998  # Part B §4.3
    assert count_parameters(fd) == 4_419_136


def test_filterbank_is_not_in_the_state_dict():
    keys = tiny_generator().state_dict().keys()
    assert not any(key.startswith("mel.") for key in keys)


@pytest.mark.parametrize("frames", [4, 7, 63])
def test_generator_makes_hop_samples_per_frame(frames):
    generator = tiny_generator()
    with torch.no_grad():
        audio = generator(torch.randn(2, 80, frames) - 5)
    assert audio.shape == (2, 1, 256 * frames)
    assert audio.abs().max() < 1  # tanh output


@pytest.mark.parametrize("length", [1, 5, 513, 4001, 16_000 + 37])
def test_vocode_keeps_the_length(length):
    generator = tiny_generator().eval()
    with torch.no_grad():
        out = generator.vocode(torch.randn(2, 1, length) * 2)  # beyond [-1, 1]: clipped first
    assert out.shape == (2, 1, length)
    assert torch.isfinite(out).all()


def test_generator_rejects_bad_mels():
    generator = tiny_generator()
    with pytest.raises(ValueError, match="80, F"):
        generator(torch.zeros(1, 40, 10))
    with pytest.raises(ValueError, match="at least 4 mel frames"):
        generator(torch.zeros(1, 80, 3))
    with pytest.raises(ValueError, match="product hop"):
        TFGANGenerator(ratios=(8, 8, 2))


def test_mel_front_end_matches_a_numpy_reference():
    # Centred frames (reflect padding of 512), periodic Hann, |rfft|, librosa's Slaney filters,
    # natural log floored at 1e-5.
    rng = np.random.default_rng(0)
    audio = (0.3 * rng.standard_normal(8000)).astype(np.float32)
    mel = MelSpectrogram()(torch.from_numpy(audio)[None, None])[0].numpy()
    assert mel.shape == (80, 1 + 8000 // 256)
    padded = np.pad(audio.astype(np.float64), 512, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(1024) / 1024)
    frames = np.stack([padded[i * 256 : i * 256 + 1024] for i in range(mel.shape[1])], 1)
    magnitude = np.abs(np.fft.rfft(frames * window[:, None], axis=0))
    basis = librosa.filters.mel(sr=16_000, n_fft=1024, n_mels=80, fmin=0.0, fmax=8000.0)
    np.testing.assert_allclose(mel, np.log(np.maximum(basis @ magnitude, 1e-5)), atol=1e-4)


@pytest.mark.parametrize("freq", [300.0, 1000.0, 5000.0])
def test_sine_energy_lands_in_its_mel_band(freq):
    t = np.arange(16_000) / 16_000
    audio = torch.tensor(0.5 * np.sin(2 * np.pi * freq * t), dtype=torch.float32)
    mel = MelSpectrogram()(audio[None]).mean(-1)[0]
    centres = librosa.mel_frequencies(n_mels=82, fmin=0.0, fmax=8000.0)[1:-1]
    assert abs(centres[int(mel.argmax())] - freq) <= 0.1 * freq
    assert mel.max() - torch.median(mel) > 5  # natural log: a factor of e**5 above the rest


def test_silence_is_the_log_floor():
    mel = MelSpectrogram()(torch.zeros(1, 2000))
    torch.testing.assert_close(mel, torch.full_like(mel, LOG_SILENCE))


def test_discriminator_output_shapes():
    x = torch.randn(2, 1, 16_000) * 0.1
    with torch.no_grad():
        scales = MultiScaleDiscriminator(channels=(4, 8, 16, 16))(x)
        ((features, score),) = FrequencyDiscriminator(channels=(8, 16))(x)
    assert len(scales) == 3
    for k, (maps, s) in enumerate(scales):
        length = 16_000 // 2**k
        assert [m.shape[1] for m in maps] == [4, 8, 16, 16, 16]
        assert maps[0].shape[-1] == length
        assert s.shape == (2, 1, -(-length // 64))
    assert features == []
    assert score.shape == (2, 8, 16)  # 63 frames -> 30 -> 15 -> 8, 16 channels


def test_losses_are_zero_for_equal_signals_and_positive_otherwise():
    x = torch.randn(2, 1, 4000) * 0.3
    y = x + 0.05 * torch.randn_like(x)
    for loss in (MultiResolutionSTFTLoss(), TimeDomainLoss()):
        assert float(loss(x, x)) == pytest.approx(0.0, abs=1e-6)
        assert torch.isfinite(loss(y, x)) and loss(y, x) > 0
    ones, zeros = torch.ones(2, 1, 5), torch.zeros(2, 1, 5)
    assert float(generator_adversarial_loss([[([], ones)], [([], ones)]])) == 0.0
    assert float(discriminator_loss([[([], ones)]], [[([], zeros)]])) == 0.0
    assert float(discriminator_loss([[([], zeros)]], [[([], ones)]])) == 2.0


def test_time_loss_skips_frames_longer_than_the_signal():
    x, y = torch.randn(1, 1, 300), torch.randn(1, 1, 300)
    assert TimeDomainLoss()(x, y) == TimeDomainLoss([(1, 1), (240, 120)])(x, y)


def _snapshot(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _changed(module: torch.nn.Module, before: list[torch.Tensor]) -> bool:
    return any(not torch.equal(p, b) for p, b in zip(module.parameters(), before, strict=True))


@pytest.mark.parametrize("step", [0, 10])
def test_gan_step_updates_what_it_should(step):
    generator = tiny_generator()
    discs = [
        MultiScaleDiscriminator(num_scales=2, channels=(4, 8, 16, 16)),
        FrequencyDiscriminator(channels=(8, 16)),
    ]
    opt_g = torch.optim.Adam(generator.parameters(), 2e-4, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam([p for d in discs for p in d.parameters()], 2e-4, betas=(0.5, 0.9))
    g_before, d_before = _snapshot(generator), [_snapshot(d) for d in discs]
    audio = 0.3 * torch.sin(torch.arange(2 * 4000.0).view(2, 1, 4000) * 0.05)
    out = gan_step(generator, discs, (opt_g, opt_d), audio, step=step, adv_start_step=10)
    assert {"gen/total", "gen/stft", "gen/time", "gen/adv", "disc/total", "gan/active"} <= set(out)
    assert all(isinstance(v, float) and np.isfinite(v) for v in out.values())
    assert _changed(generator, g_before)
    adversarial = step >= 10
    assert out["gan/active"] == float(adversarial)
    assert all(_changed(d, b) == adversarial for d, b in zip(discs, d_before, strict=True))
    assert (out["disc/total"] > 0) == adversarial and (out["gen/adv"] > 0) == adversarial
    assert all(p.requires_grad for d in discs for p in d.parameters())  # restored
    expected = out["gen/stft"] + 20 * out["gen/time"] + 2.5 * out["gen/adv"]
    assert out["gen/total"] == pytest.approx(expected, rel=1e-5)


def test_generator_loss_can_add_feature_matching():
    fake, real = torch.randn(1, 1, 2000), torch.randn(1, 1, 2000)
    disc = MultiScaleDiscriminator(num_scales=1, channels=(4, 8, 16, 16))
    with torch.no_grad():
        terms = GeneratorLoss(fm_weight=10.0)(fake, real, [disc(fake)], [disc(real)])
    assert terms["fm"] > 0
    assert float(terms["total"]) == pytest.approx(
        float(terms["stft"] + 20 * terms["time"] + 2.5 * terms["adv"] + 10 * terms["fm"]), rel=1e-5
    )
