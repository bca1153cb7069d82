"""Model registry and the three TD-CNNs: tiny configs on CPU, paper sizes on the meta device."""

from __future__ import annotations

import io
import math

import pytest
import torch

from tdpr.dsp.resample import downsample2, upsample2
from tdpr.models import MODELS, build_model, count_parameters, model_arguments
from tdpr.models.audiounet import pixel_shuffle_1d
from tdpr.registry import TDCNN, models_of_kind

#: Small configurations that run in milliseconds on a CPU.
TINY = {
    "seanet": {"base_channels": 4, "strides": (2, 4), "latent_dim": 8},
    "audiounet": {
        "channels": (4, 8, 8),
        "kernels": (9, 7, 5),
        "bottleneck_kernel": 3,
        "final_kernel": 3,
    },
    "demucs": {"channels": 4, "depth": 3, "lstm_layers": 1},
}
TINY_PARAMS = {"seanet": 9_046, "audiounet": 4_218, "demucs": 10_345}
LENGTHS = [1, 2, 37, 4001, 8193, 16_000 + 37]


def tiny(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(name, **TINY[name])


def test_registry_holds_the_paper_models():
    assert {"seanet", "audiounet", "demucs"} <= set(MODELS)
    # a new TD-CNN needs a tiny config here; the vocoder is tested in tests/models/test_tfgan.py
    # and the no-learning baselines in tests/baselines/
    assert set(TINY) == set(models_of_kind(TDCNN))


@pytest.mark.parametrize("name", sorted(TINY))
def test_tiny_parameter_counts(name):
    assert count_parameters(tiny(name)) == TINY_PARAMS[name]


@pytest.mark.parametrize("name", sorted(TINY))
@pytest.mark.parametrize("length", LENGTHS)
def test_output_length_equals_input_length(name, length):
    model = tiny(name)
    x = torch.randn(2, 1, length)
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()
    assert model.valid_length(length) >= length


@pytest.mark.parametrize("name", sorted(TINY))
def test_bad_inputs_raise(name):
    model = tiny(name)
    with pytest.raises(ValueError, match="at least 1 sample"):
        model(torch.zeros(1, 1, 0))
    with pytest.raises(ValueError, match=r"\(B, 1, T\)"):
        model(torch.zeros(1, 2, 100))
    with pytest.raises(ValueError, match=r"\(B, 1, T\)"):
        model(torch.zeros(1, 100))


@pytest.mark.parametrize("name", sorted(TINY))
def test_gradients_reach_every_parameter(name):
    model = tiny(name)
    x = torch.randn(2, 1, 3001)
    loss = (model(x) - x.flip(-1)).abs().mean()
    loss.backward()
    for pname, param in model.named_parameters():
        assert param.grad is not None, pname
        assert torch.isfinite(param.grad).all(), pname
    assert any(param.grad.abs().sum() > 0 for param in model.parameters())


@pytest.mark.parametrize("name", sorted(TINY))
def test_state_dict_round_trip(name):
    model = tiny(name).eval()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(123)
    other = build_model(name, **TINY[name]).eval()
    x = torch.randn(1, 1, 2049)
    with torch.no_grad():
        assert not torch.equal(model(x), other(x))
        other.load_state_dict(torch.load(buffer, weights_only=True))
        assert torch.equal(model(x), other(x))


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("demucs", {"channels": 2, "depth": 3, "lstm_layers": 0, "rescale": 0}),
        ("seanet", {"base_channels": 2, "strides": (2, 4), "latent_dim": 2, "residual": False}),
        ("audiounet", {"channels": (2, 2), "kernels": (5, 3), "bottleneck_kernel": 3}),
    ],
)
def test_output_is_time_aligned_with_input(name, kwargs):
    # With all weights equal the network is nearly mirror-symmetric in time, so the receptive
    # field of output sample m must be centred on input sample m: a wrong pad or trim shifts it by
    # many samples. AudioUNet's stride-2 conv / pixel-shuffle pairs leave a sub-sample lag (the
    # reference design), hence the 1-sample tolerance on the mean.
    model = build_model(name, **kwargs).double()
    with torch.no_grad():
        for param in model.parameters():
            param.fill_(0.1)
    length = 1501
    x = torch.full((1, 1, length), 0.1, dtype=torch.float64, requires_grad=True)
    y = model(x)
    index = torch.arange(length, dtype=torch.float64)
    offsets = []
    for pos in range(700, 732):  # one period of the deepest stride (4³ / 2 for the Demucs)
        (grad,) = torch.autograd.grad(y[0, 0, pos], x, retain_graph=True)
        weight = grad[0, 0].abs()
        offsets.append(float((weight * index).sum() / weight.sum()) - pos)
    offsets = torch.tensor(offsets)
    assert abs(offsets.mean()) < 1.0
    assert offsets.abs().max() < 3


def test_build_model_rejects_unknown_name():
    with pytest.raises(
        ValueError, match="unknown model 'wavenet'; registered: seanet, audiounet, demucs"
    ):
        build_model("wavenet")


def test_build_model_rejects_unknown_argument():
    with pytest.raises(ValueError, match="'chanels'.*'demucs'.*accepted: channels, depth"):
        build_model("demucs", chanels=32, depth=4)


def test_model_arguments_lists_defaults():
    assert model_arguments("seanet")["strides"] == (2, 2, 8, 8)
    assert model_arguments("demucs")["channels"] == 45
    with pytest.raises(ValueError, match="unknown model"):
        model_arguments("nope")


def paper_size(name: str, **kwargs) -> int:
    with torch.device("meta"):  # counts shapes without allocating the weights
        return count_parameters(build_model(name, **kwargs))


def test_paper_size_parameter_counts():
    assert paper_size("seanet") == 10_964_898
    assert 10.4e6 <= paper_size("seanet") <= 11.5e6
    assert paper_size("seanet", shortcut_conv=False) == 10_436_898
    assert paper_size("audiounet") == 56_411_394
    assert paper_size("demucs") == 131_364_811
    assert abs(paper_size("demucs") / 134e6 - 1) < 0.05
    assert paper_size("demucs", channels=48) == 149_459_425  # spec Part B §6.1 table


def test_paper_size_valid_lengths():
    with torch.device("meta"):
        assert build_model("seanet").valid_length(80_000) == 80_128
        assert build_model("seanet").valid_length(1) == 1024  # reflect pads must fit
        assert build_model("audiounet").valid_length(80_000) == 80_000
        assert build_model("demucs").valid_length(80_000) == 86_698


def test_default_seanet_runs_on_a_short_input():
    model = build_model("seanet").eval()
    x = torch.randn(1, 1, 100)
    with torch.no_grad():
        assert model(x).shape == x.shape


def test_count_parameters_trainable_only():
    model = tiny("audiounet")
    model.down[0][0].weight.requires_grad_(False)
    frozen = model.down[0][0].weight.numel()
    assert count_parameters(model, trainable_only=True) == count_parameters(model) - frozen


def test_audiounet_init_std():
    model = build_model("audiounet", channels=(64, 64), kernels=(33, 17))
    weight = model.up[0][0].weight
    assert weight.std().item() == pytest.approx(0.02, rel=0.05)


def test_demucs_rescale_divides_by_sqrt_of_relative_std():
    torch.manual_seed(0)
    plain = build_model("demucs", **TINY["demucs"], rescale=0)
    torch.manual_seed(0)
    scaled = build_model("demucs", **TINY["demucs"], rescale=0.1)
    before, after = plain.encoder[1][0], scaled.encoder[1][0]
    scale = math.sqrt(before.weight.std().item() / 0.1)
    torch.testing.assert_close(after.weight, before.weight / scale)
    torch.testing.assert_close(after.bias, before.bias / scale)


def test_pixel_shuffle_is_phase_major():
    # Channel j * C + c goes to channel c at time 2 w + j.
    x = torch.arange(2 * 3 * 4).reshape(1, 6, 4)
    y = pixel_shuffle_1d(x, 2)
    assert y.shape == (1, 3, 8)
    for c in range(3):
        for w in range(4):
            for j in range(2):
                assert y[0, c, 2 * w + j] == x[0, j * 3 + c, w]
    with pytest.raises(ValueError, match="divisible"):
        pixel_shuffle_1d(torch.zeros(1, 3, 4), 2)


def sine(freq: float, length: int, rate: float = 1.0) -> torch.Tensor:
    return torch.sin(2 * math.pi * freq * torch.arange(length, dtype=torch.float64) / rate)


@pytest.mark.parametrize("freq", [0.01, 0.05, 0.2])
def test_upsample2_interpolates_a_band_limited_sine(freq):
    x = sine(freq, 4000)
    up = upsample2(x)
    assert up.shape == (8000,)
    error = (up - sine(freq, 8000, rate=2.0))[200:-200].abs().max()
    assert error < 1e-4
    back = downsample2(up)
    assert back.shape == x.shape
    assert (back - x)[200:-200].abs().max() < 1e-4


def test_downsample2_removes_what_would_alias():
    high = sine(0.4, 8000)  # above the low-rate Nyquist (0.25 cycles per high-rate sample)
    assert downsample2(high)[200:-200].abs().max() < 1e-3
    batch = torch.randn(2, 1, 101)
    assert downsample2(batch).shape == (2, 1, 50)
    assert upsample2(batch).shape == (2, 1, 202)
