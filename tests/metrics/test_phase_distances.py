"""tdpr's own phase distances above the cutoff (tdpr.metrics.phase)."""

from __future__ import annotations

import pytest
import torch

from tdpr.metrics.phase import phase_distances

pytestmark = pytest.mark.usefixtures("one_thread")
FS = 16_000


def test_the_hop_given_is_the_hop_used():
    gen = torch.Generator().manual_seed(0)
    ref = torch.randn(FS, generator=gen)
    est = ref + 0.5 * torch.randn(FS, generator=gen)
    fine = phase_distances(ref, est, 3000.0, FS, hop=128)
    coarse = phase_distances(ref, est, 3000.0, FS, hop=256)
    assert all(fine[name].item() != coarse[name].item() for name in fine)
