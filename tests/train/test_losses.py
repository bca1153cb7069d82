"""The TD-CNN loss: zero on identical signals, equal to auraloss + 1000 × a hand-made wave term."""

from __future__ import annotations

import auraloss
import pytest
import torch
import torch.nn.functional as F

from tdpr.dsp.resample import downsample2
from tdpr.train.losses import LogSpectralLoss, MRSTFTLoss, MultiResolutionWaveLoss, TDCNNLoss

T = 6000


def signals(batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(T) / 16_000
    ref = 0.3 * torch.sin(2 * torch.pi * 440 * t) + 0.05 * torch.randn(batch, 1, T, generator=gen)
    est = ref + 0.02 * torch.randn(batch, 1, T, generator=gen)
    return est, ref


def test_identical_signals_give_zero():
    _, ref = signals()
    total, parts = TDCNNLoss()(ref, ref.clone())
    assert total.item() == 0.0
    assert parts["loss/mrstft"].item() == 0.0 and parts["loss/wave"].item() == 0.0


def test_equals_auraloss_plus_1000_times_the_wave_term():
    est, ref = signals()
    reference_stft = auraloss.freq.MultiResolutionSTFTLoss(
        fft_sizes=[512, 1024, 2048], hop_sizes=[256, 512, 1024], win_lengths=[512, 1024, 2048]
    )(est, ref)
    half_e, half_r = downsample2(est), downsample2(ref)
    quarter_e, quarter_r = downsample2(half_e), downsample2(half_r)
    assert quarter_e.shape[-1] == T // 4
    wave = (F.l1_loss(est, ref) + F.l1_loss(half_e, half_r) + F.l1_loss(quarter_e, quarter_r)) / 3
    total, parts = TDCNNLoss()(est, ref)
    torch.testing.assert_close(parts["loss/mrstft"], reference_stft)
    torch.testing.assert_close(parts["loss/wave"], wave)
    torch.testing.assert_close(total, reference_stft + 1000 * wave)
    assert total.item() > 0
    # the parts are the modules' own values
    torch.testing.assert_close(MRSTFTLoss()(est, ref), reference_stft)
    torch.testing.assert_close(MultiResolutionWaveLoss()(est, ref), wave)


def test_wave_weight_scales_only_the_wave_term():
    est, ref = signals()
    total_0, parts = TDCNNLoss(wave_weight=0.0)(est, ref)
    total_10, _ = TDCNNLoss(wave_weight=10.0)(est, ref)
    torch.testing.assert_close(total_0, parts["loss/mrstft"])
    torch.testing.assert_close(total_10, parts["loss/mrstft"] + 10 * parts["loss/wave"])


def test_gradients_are_finite_and_nonzero():
    est, ref = signals()
    est.requires_grad_(True)
    total, parts = TDCNNLoss()(est, ref)
    total.backward()
    assert torch.isfinite(est.grad).all()
    assert est.grad.abs().sum() > 0
    assert not parts["loss/wave"].requires_grad


def test_float64_and_bfloat16_inputs_are_computed_in_float32():
    est, ref = signals()
    total, _ = TDCNNLoss()(est, ref)
    total_64, _ = TDCNNLoss()(est.double(), ref.double())
    assert total_64.dtype == torch.float32
    torch.testing.assert_close(total_64, total)
    total_bf16, _ = TDCNNLoss()(est.bfloat16(), ref)
    assert total_bf16.dtype == torch.float32 and torch.isfinite(total_bf16)


@pytest.mark.parametrize(
    ("est_shape", "ref_shape"),
    [((2, T), (2, T)), ((2, 1, T), (2, 1, T + 1)), ((1, 1, 1000), (1, 1, 1000))],
)
def test_bad_shapes_are_refused(est_shape, ref_shape):
    with pytest.raises(ValueError, match="loss inputs"):
        TDCNNLoss()(torch.zeros(est_shape), torch.zeros(ref_shape))


def test_log_spectral_term_is_the_metric_and_adds_with_its_weight():
    """The LSD term is the metric's formula on reflect-padded frames, close to tdpr.metrics.lsd
    on a 2-s crop, and enters the total with its weight; its gradient lowers the LSD."""
    from tdpr.dsp.stft import stft
    from tdpr.metrics import lsd
    from tdpr.train.losses import LogSpectralLoss

    est, ref = signals()
    term = LogSpectralLoss()(est, ref)
    logs = [(stft(x[:, 0], 1024, 256).abs().square() + 1e-8).log10() for x in (est, ref)]
    by_hand = ((logs[0] - logs[1]).square().mean(dim=-2) + 1e-6).sqrt().mean()
    assert term.item() == pytest.approx(by_hand.item(), rel=1e-5)
    gen = torch.Generator().manual_seed(1)
    long_ref = torch.randn(1, 1, 32_000, generator=gen)
    long_est = long_ref + 0.3 * torch.randn(1, 1, 32_000, generator=gen)
    metric = float(lsd(long_ref[:, 0], long_est[:, 0]).mean())
    assert LogSpectralLoss()(long_est, long_ref).item() == pytest.approx(metric, rel=0.03)
    plain, parts = TDCNNLoss(wave_weight=1)(est, ref)
    total, parts = TDCNNLoss(wave_weight=1, lsd_weight=2.5)(est, ref)
    assert parts["loss/lsd"].item() == pytest.approx(term.item())
    assert total.item() == pytest.approx(plain.item() + 2.5 * term.item(), rel=1e-6)
    est = est.clone().requires_grad_(True)
    LogSpectralLoss()(est, ref).backward()
    stepped = (est - 1e-3 * est.grad / est.grad.abs().max()).detach()
    assert float(lsd(ref[:, 0], stepped[:, 0]).mean()) < term.item()


def test_log_spectral_weight_must_not_be_negative():
    from tdpr.train.config import TrainConfig

    assert TrainConfig(lsd_weight=0).lsd_weight == 0
    with pytest.raises(ValueError, match="lsd_weight"):
        TrainConfig(lsd_weight=-1)


def test_log_spectral_term_of_identical_signals_is_its_floor():
    # sqrt(0 + 1e-6): finite, with a finite gradient, where a bare sqrt(0) has none
    _, ref = signals()
    est = ref.clone().requires_grad_(True)
    term = LogSpectralLoss()(est, ref)
    assert term.item() == pytest.approx(1e-3)
    term.backward()
    assert torch.isfinite(est.grad).all()


def test_the_loss_keeps_no_state_for_a_checkpoint():
    assert not TDCNNLoss(lsd_weight=1.0).state_dict()


def test_log_spectral_term_at_other_stft_settings_is_its_definition():
    """n_fft 512, hop 100: reflect-padded centred STFT, periodic Hann, log10(|X|² + floor),
    per frame sqrt(mean over bins + 1e-6), mean over frames and items (written out in NumPy)."""
    import numpy as np

    est, ref = signals()
    n_fft, hop, floor = 512, 100, 1e-6  # hop not n_fft // 4, torch.stft's default

    def log_power(x: np.ndarray) -> np.ndarray:
        window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
        padded = np.pad(x, n_fft // 2, mode="reflect")
        frames = [padded[i * hop : i * hop + n_fft] * window for i in range(1 + len(x) // hop)]
        return np.log10(np.abs(np.fft.rfft(frames, axis=1)) ** 2 + floor)

    per_item = [
        np.sqrt(((log_power(e) - log_power(r)) ** 2).mean(axis=1) + 1e-6).mean()
        for e, r in zip(est[:, 0].double().numpy(), ref[:, 0].double().numpy(), strict=True)
    ]
    got = LogSpectralLoss(n_fft, hop, floor)(est, ref)
    assert got.item() == pytest.approx(np.mean(per_item), rel=1e-4)


def test_inputs_of_the_shortest_length_are_taken():
    from tdpr.train.losses import MIN_LENGTH

    est, ref = signals()
    TDCNNLoss()(est[..., :MIN_LENGTH], ref[..., :MIN_LENGTH])
    with pytest.raises(ValueError, match=f"at least {MIN_LENGTH} samples"):
        TDCNNLoss()(est[..., : MIN_LENGTH - 1], ref[..., : MIN_LENGTH - 1])


def test_the_loss_is_float32_inside_a_bfloat16_autocast():
    """A bf16 training calls the loss inside autocast; its spectra stay in float32."""
    est, ref = signals()
    plain = TDCNNLoss(lsd_weight=1.0)(est, ref)[0]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = TDCNNLoss(lsd_weight=1.0)(est, ref)[0]
    assert inside.dtype == torch.float32
    torch.testing.assert_close(inside, plain)
