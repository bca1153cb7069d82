"""The phase sources that need no iteration: the vocoder's (TD-PR), the ground truth's, random.

Each takes a :class:`tdpr.phase.repair.PhaseRequest` and returns a phase ``(..., F, N)``.
"""

from __future__ import annotations

import torch

from tdpr.dsp.stft import stft
from tdpr.phase.repair import PhaseRequest, uniform_phase


def vocoder_phase(request: PhaseRequest) -> torch.Tensor:
    """The phase of the vocoder's re-synthesis of the signal (TD-PR, paper Sec. 3.1).

    The vocoder sees ``clip(y, -1, 1)`` (its ``vocode`` clips) of shape ``(B, 1, T)``.
    """
    y = request.signal
    lead = y.shape[:-1]
    v = request.vocoder.vocode(y.reshape(-1, 1, y.shape[-1])).reshape(*lead, y.shape[-1])
    return torch.angle(stft(v.to(y.dtype), request.n_fft, request.hop))


def reference_phase(request: PhaseRequest) -> torch.Tensor:
    """The ground truth's phase: the GT-phase oracle of Sec. 4.2 (an upper bound)."""
    ref = request.reference.to(request.signal.dtype)
    return torch.angle(stft(ref, request.n_fft, request.hop))


def random_phase(request: PhaseRequest) -> torch.Tensor:
    """Uniform random phase in [-π, π), seeded: the floor every phase estimate must beat."""
    phase = uniform_phase(request.spec.shape, request.seed)
    return phase.to(device=request.spec.device, dtype=request.spec.real.dtype)
