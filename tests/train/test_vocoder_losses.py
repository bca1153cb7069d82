"""The vocoder's multi-resolution STFT loss (from auraloss) equals the formula it replaces."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tdpr.train.vocoder_losses import STFT_RESOLUTIONS, MultiResolutionSTFTLoss


def by_hand(estimate: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Spectral convergence and log-magnitude L1, each averaged over the resolutions, written out:
    periodic Hann of win_length zero-padded to n_fft, centred, reflect, magnitude
    sqrt(max(|X|², 1e-7)), Frobenius ratio over the batch, L1 of natural logs."""
    sc, mag = [], []
    for n_fft, hop, win in STFT_RESOLUTIONS:
        window = torch.hann_window(win)

        def magnitude(x, n_fft=n_fft, hop=hop, win=win, window=window):
            spec = torch.stft(
                x.reshape(-1, x.shape[-1]), n_fft, hop, win, window,
                center=True, pad_mode="reflect", return_complex=True,
            )  # fmt: skip
            return torch.sqrt(torch.clamp(spec.real**2 + spec.imag**2, min=1e-7))

        est, ref = magnitude(estimate), magnitude(target)
        sc.append(torch.linalg.norm(ref - est) / torch.linalg.norm(ref))
        mag.append(F.l1_loss(torch.log(est), torch.log(ref)))
    return torch.stack(sc).mean(), torch.stack(mag).mean()


@pytest.mark.parametrize("shape", [(3, 1, 16000), (1, 1, 4000)])
def test_equals_the_formula_in_value_and_gradient(shape):
    gen = torch.Generator().manual_seed(0)
    target = 0.3 * torch.randn(*shape, generator=gen)
    estimate = (target + 0.1 * torch.randn(*shape, generator=gen)).requires_grad_()
    loss = MultiResolutionSTFTLoss()
    sc, mag = loss.terms(estimate, target)
    sc_ref, mag_ref = by_hand(estimate, target)
    torch.testing.assert_close(sc, sc_ref, rtol=1e-6, atol=0)
    torch.testing.assert_close(mag, mag_ref, rtol=1e-6, atol=0)
    (grad,) = torch.autograd.grad(loss(estimate, target), estimate)
    (grad_ref,) = torch.autograd.grad(sc_ref + mag_ref, estimate)
    torch.testing.assert_close(grad, grad_ref, rtol=1e-5, atol=1e-9)


def test_zero_for_equal_signals():
    x = 0.3 * torch.randn(2, 1, 8000, generator=torch.Generator().manual_seed(1))
    assert MultiResolutionSTFTLoss()(x, x.clone()).item() == 0.0
