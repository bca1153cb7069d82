"""Fast Griffin-Lim (Perraudin, Balazs, Søndergaard 2013) warm-started from a given phase.

With ``P_mag`` the projection onto spectrograms of the target magnitude and ``P_cons(C) =
STFT(iSTFT(C))`` the projection onto consistent spectrograms, fast Griffin-Lim iterates::

    t_n = P_cons(P_mag(c_{n-1}))
    c_n = t_n + α·(t_n - t_{n-1})          # α = 0.99; α = 0 is the classic Griffin-Lim

from ``c_0 = |S|·exp(i·φ_0)``, and returns ``angle(c_N)``. ``librosa`` and ``torchaudio`` can
only start from zero or random phase; here ``φ_0`` is the caller's, e.g. the TD-CNN output's own
STFT phase, so the iterations refine a phase that is already roughly right.

``band="hf"`` keeps the known band fixed: bins ``k < fixed_below`` take their given complex value
``|S|·exp(i·φ_0)`` at every magnitude projection, so the consistency step has to fit the high
band to them, and the returned phase holds ``φ_0`` there bit for bit. ``band="full"`` lets every
bin move.

STFT: the project's helpers (:mod:`tdpr.dsp.stft`), n_fft 1024, hop 256, periodic Hann,
centred, reflect padding, as phase repair. Magnitudes ``(F, N)`` or ``(..., F, N)``; runs on the
input's device and dtype.
"""

from __future__ import annotations

import torch

from tdpr.dsp.phase import HOP, N_FFT
from tdpr.dsp.stft import istft, stft
from tdpr.phase.repair import PhaseRequest, uniform_phase

BANDS = ("full", "hf")


def _check(magnitude, init_phase, n_iter, alpha, n_fft, band, fixed_below) -> None:
    if not torch.is_tensor(magnitude) or magnitude.is_complex() or magnitude.ndim < 2:
        raise ValueError("magnitude must be a real tensor of shape (..., F, N)")
    if magnitude.shape[-2] != n_fft // 2 + 1:
        raise ValueError(
            f"magnitude has {magnitude.shape[-2]} bins, n_fft={n_fft} needs {n_fft // 2 + 1}"
        )
    if init_phase.shape != magnitude.shape:
        raise ValueError(
            f"init_phase {tuple(init_phase.shape)} and magnitude {tuple(magnitude.shape)} differ"
        )
    if int(n_iter) != n_iter or n_iter < 0:
        raise ValueError(f"n_iter must be a non-negative integer, got {n_iter}")
    if not 0 <= alpha < 1:
        raise ValueError(f"momentum alpha must lie in [0, 1), got {alpha}")
    if band not in BANDS:
        raise ValueError(f"unknown band {band!r}; choose one of {', '.join(BANDS)}")
    if band == "hf" and (fixed_below is None or not 0 < fixed_below <= magnitude.shape[-2]):
        raise ValueError(
            f"band='hf' needs fixed_below in 1..{magnitude.shape[-2]}, got {fixed_below}"
        )


def griffin_lim(
    magnitude: torch.Tensor,
    init_phase: torch.Tensor,
    n_iter: int,
    alpha: float = 0.99,
    n_fft: int = N_FFT,
    hop: int = HOP,
    band: str = "full",
    fixed_below: int | None = None,
    length: int | None = None,
) -> torch.Tensor:
    """Phase for ``magnitude`` by fast Griffin-Lim started from ``init_phase``.

    Args:
        magnitude: target STFT magnitude, real ``(F, N)`` or ``(..., F, N)``, ``F = n_fft//2+1``.
        init_phase: starting phase in radians, same shape (a random phase gives the textbook
            algorithm).
        n_iter: number of iterations; 0 returns ``init_phase`` unchanged.
        alpha: momentum in ``[0, 1)`` (0.99, the usual setting; 0 is plain Griffin-Lim).
        n_fft, hop: the STFT the magnitude comes from (1024, 256).
        band: ``"full"`` (every bin free) or ``"hf"`` (bins below ``fixed_below`` fixed).
        fixed_below: first free bin for ``band="hf"``, e.g. the cutoff bin.
        length: samples of the intermediate signals; ``None`` gives ``(N - 1)·hop``. Pass the
            signal's own length to match ``istft(..., length=T)`` exactly.

    Returns:
        Phase ``(..., F, N)`` in radians, on ``magnitude``'s device and dtype.
    """
    _check(magnitude, init_phase, n_iter, alpha, n_fft, band, fixed_below)
    if n_iter == 0:  # angle(polar(m, φ)) would round φ, and give 0 where m = 0
        return init_phase.to(magnitude.dtype).clone()
    length = (magnitude.shape[-1] - 1) * hop if length is None else int(length)
    known = torch.polar(magnitude, init_phase.to(magnitude.dtype))
    k0 = fixed_below if band == "hf" else 0
    c, t_prev = known, None
    for _ in range(int(n_iter)):
        t = stft(istft(_project_magnitude(c, magnitude, known, k0), n_fft, hop, length), n_fft, hop)
        c = t if t_prev is None else t + alpha * (t - t_prev)
        t_prev = t
    phase = c.angle()
    if k0:
        phase[..., :k0, :] = init_phase[..., :k0, :].to(phase.dtype)  # angle(c) moved them
    return phase


def _project_magnitude(
    c: torch.Tensor, magnitude: torch.Tensor, known: torch.Tensor, k0: int
) -> torch.Tensor:
    """Give ``c`` the target magnitude; bins below ``k0`` take their known complex value."""
    # polar(|S|, angle(c)) guards c = 0 (angle 0) where c / |c| would divide by zero.
    out = torch.polar(magnitude, c.angle())
    if k0:
        out[..., :k0, :] = known[..., :k0, :]
    return out


def griffinlim_source(request: PhaseRequest) -> torch.Tensor:
    """Phase source ``griffinlim``: fast Griffin-Lim from the request's initial phase.

    Settings: ``iterations`` (32), ``momentum`` (0.99) and ``init``: ``own`` (the default: the
    request's initial phase, for a TD-CNN output its own STFT phase; that phase is already
    consistent with the magnitude, so the iterations barely move it) or ``random`` (a seeded
    random phase in the band being replaced: a phase retrieval of its own). With band ``hf``
    the known band is held fixed during the iterations.
    """
    settings = request.settings
    init = request.init_phase
    if settings.get("init", "own") == "random":
        noise = uniform_phase(init.shape, request.seed).to(device=init.device, dtype=init.dtype)
        init = noise.clone()
        if request.fixed_below is not None:
            init[..., : request.fixed_below, :] = request.init_phase[..., : request.fixed_below, :]
    elif settings.get("init", "own") != "own":
        raise ValueError(f"griffinlim init must be 'own' or 'random', got {settings['init']!r}")
    return griffin_lim(
        request.spec.abs(),
        init,
        int(settings.get("iterations", 32)),
        float(settings.get("momentum", 0.99)),
        request.n_fft,
        request.hop,
        band=request.band,
        fixed_below=request.fixed_below,
        length=request.signal.shape[-1],
    )
