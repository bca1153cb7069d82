"""Phase-gradient heap integration (PGHI): a phase from the STFT magnitude alone, no iterations.

Průša, Balazs, Søndergaard, "A noniterative method for reconstruction of phase from STFT
magnitude", IEEE/ACM TASLP 25(5), 2017. For a Gaussian window ``exp(-π t²/λ)`` the phase
gradient of the STFT follows from the gradient of the log-magnitude ``s = log|S|``. In the
frame-centred convention (phase measured at each frame's centre), with hop ``a`` and ``M =
n_fft`` channels, per frame and per bin::

    Δ_n φ(k, n) = 2π·a·k/M + (a·M/λ)·∂s/∂k        # phase advance to the next frame
    Δ_k φ(k, n) = -(λ/(a·M))·∂s/∂n                # phase advance to the next bin

(centred differences for ∂/∂k, ∂/∂n). The Hann window of length ``L`` is treated as the
Gaussian with ``λ = 0.25645·L²``, the paper's (and LTFAT's) value. The phase is then integrated
with the trapezoidal rule, always from the loudest coefficient already done to its neighbours,
using a max-heap; coefficients below ``tol`` times the largest get a random phase and are never
integrated (their gradient is noise). When the heap runs dry, the loudest coefficient not yet
reached starts a new island with phase 0.

``fixed_below``: bins below it keep a given (known) phase, and the border bins of that band seed
the heap, so the integration continues the known phase upward ("keep the low band, rebuild the
high band", LTFAT's ``constructphasereal`` with a mask). Unlike a mask that only skips known
bins, the known band anchors the high band's phase.

The project's STFT (:mod:`tdpr.dsp.stft`) puts the window's centre at sample ``n_fft/2`` of each
frame, so its phase is the centred one plus ``π·k``; the conversion is done here. Numpy and
:mod:`heapq`; about 3 s per 30-s 16-kHz clip at n_fft 1024 / hop 256 on one idle core
(``bench/bench_phase_sources.py``).
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import torch

from tdpr.dsp.phase import HOP, N_FFT
from tdpr.phase.repair import PhaseRequest

#: λ / L² of the Gaussian that stands in for a Hann window of length L (Průša et al. 2017).
HANN_GAMMA = 0.25645
TOL = 1e-5


def phase_gradients(
    log_mag: np.ndarray, n_fft: int, hop: int, gamma: float
) -> tuple[np.ndarray, np.ndarray]:
    """Frame-to-frame and bin-to-bin phase advance from the log-magnitude.

    Args:
        log_mag: natural log of the magnitude, ``(F, N)``.
        n_fft, hop: STFT size (``M``) and hop (``a``).
        gamma: the Gaussian's ``λ`` in samples².

    Returns:
        ``(dphi_dn, dphi_dk)``, each ``(F, N)``, in radians per frame and per bin (centred
        convention).
    """
    k = np.arange(log_mag.shape[0])[:, None]
    ds_dk = np.gradient(log_mag, axis=0) if log_mag.shape[0] > 1 else np.zeros_like(log_mag)
    ds_dn = np.gradient(log_mag, axis=1) if log_mag.shape[1] > 1 else np.zeros_like(log_mag)
    dphi_dn = 2 * np.pi * hop * k / n_fft + (hop * n_fft / gamma) * ds_dk
    dphi_dk = -(gamma / (hop * n_fft)) * ds_dn
    return dphi_dn, dphi_dk


def _integrate(log_mag, dphi_dn, dphi_dk, phase, done, seeds) -> None:
    """Heap integration in place on flat lists (index ``k·N + n``); ``done`` marks set bins."""
    n_bins, n_frames = log_mag.shape
    size = n_bins * n_frames
    # Plain Python lists: indexing them is several times faster than numpy scalars in this loop.
    mag, tg, fg = (a.ravel().tolist() for a in (log_mag, dphi_dn, dphi_dk))
    order = np.argsort(-log_mag.ravel(), kind="stable").tolist()
    heap = [(-mag[i], i) for i in seeds]
    heapq.heapify(heap)
    push, pop, nxt = heapq.heappush, heapq.heappop, 0
    while True:
        while heap:
            i = pop(heap)[1]
            p, n = phase[i], i % n_frames
            # The four neighbours written out: a loop over tuples of them was about 10 % slower.
            j = i + 1
            if n + 1 < n_frames and not done[j]:
                phase[j], done[j] = p + 0.5 * (tg[i] + tg[j]), 1
                push(heap, (-mag[j], j))
            j = i - 1
            if n > 0 and not done[j]:
                phase[j], done[j] = p - 0.5 * (tg[i] + tg[j]), 1
                push(heap, (-mag[j], j))
            j = i + n_frames
            if j < size and not done[j]:
                phase[j], done[j] = p + 0.5 * (fg[i] + fg[j]), 1
                push(heap, (-mag[j], j))
            j = i - n_frames
            if j >= 0 and not done[j]:
                phase[j], done[j] = p - 0.5 * (fg[i] + fg[j]), 1
                push(heap, (-mag[j], j))
        while nxt < size and done[order[nxt]]:
            nxt += 1
        if nxt == size:
            return
        i = order[nxt]
        phase[i], done[i] = 0.0, 1  # a new island: its absolute phase is arbitrary
        push(heap, (-mag[i], i))


def _pghi_2d(mag, n_fft, hop, gamma, tol, fixed_below, known_phase, rng) -> np.ndarray:
    n_bins, n_frames = mag.shape
    peak = float(mag.max())
    if peak <= 0:
        raise ValueError("pghi of an all-zero magnitude is undefined")
    log_mag = np.log(np.maximum(mag, peak * tol * 1e-3))
    dphi_dn, dphi_dk = phase_gradients(log_mag, n_fft, hop, gamma)
    centring = np.pi * np.arange(n_bins)[:, None]  # project phase = centred phase + π·k
    phase = rng.uniform(-np.pi, np.pi, mag.shape)
    done = mag <= tol * peak
    seeds: list[int] = []
    if fixed_below:
        phase[:fixed_below] = known_phase[:fixed_below] - centring[:fixed_below]
        done[:fixed_below] = True
        if fixed_below < n_bins:
            seeds = list(range((fixed_below - 1) * n_frames, fixed_below * n_frames))
    flat_phase = phase.ravel().tolist()
    flat_done = bytearray(done.ravel().astype(np.uint8).tobytes())
    _integrate(log_mag, dphi_dn, dphi_dk, flat_phase, flat_done, seeds)
    out = np.angle(np.exp(1j * (np.asarray(flat_phase).reshape(mag.shape) + centring)))
    if fixed_below:
        out[:fixed_below] = known_phase[:fixed_below]  # bit-exact, not round-tripped
    return out


def pghi(
    magnitude: np.ndarray | torch.Tensor,
    n_fft: int = N_FFT,
    hop: int = HOP,
    tol: float = TOL,
    fixed_below: int | None = None,
    known_phase: np.ndarray | torch.Tensor | None = None,
    gamma: float | None = None,
    seed: int = 0,
) -> np.ndarray | torch.Tensor:
    """Phase of a real signal's STFT from its magnitude by phase-gradient heap integration.

    Args:
        magnitude: ``(F, N)`` or ``(..., F, N)``, ``F = n_fft // 2 + 1``, numpy or torch.
        n_fft, hop: the STFT of the magnitude (1024, 256; periodic Hann, centred).
        tol: coefficients below ``tol`` times the item's largest get a random phase (1e-5).
        fixed_below: bins below it keep ``known_phase`` and seed the integration.
        known_phase: phase in the project's STFT convention, shape of ``magnitude``; needed with
            ``fixed_below``.
        gamma: the Gaussian's ``λ`` in samples²; ``None`` gives ``0.25645·n_fft²`` (Hann).
        seed: seeds the random phase of the quiet coefficients.

    Returns:
        Phase in radians with ``magnitude``'s shape: float64 numpy for numpy input, a tensor on
        the input's device and dtype for torch input.
    """
    is_torch = torch.is_tensor(magnitude)
    mag = _as_numpy(magnitude)
    _check(mag, n_fft, hop, tol, fixed_below, known_phase)
    gamma = HANN_GAMMA * n_fft**2 if gamma is None else float(gamma)
    rng = np.random.default_rng(seed)  # one stream for the batch, item after item
    flat = mag.reshape(-1, *mag.shape[-2:])
    known = [None] * len(flat)
    if fixed_below is not None:
        known = _as_numpy(known_phase).reshape(flat.shape)
    out = np.stack(
        [
            _pghi_2d(m, n_fft, hop, gamma, tol, fixed_below, k, rng)
            for m, k in zip(flat, known, strict=True)
        ]
    ).reshape(mag.shape)
    if is_torch:
        return torch.from_numpy(out).to(device=magnitude.device, dtype=magnitude.dtype)
    return out


def _as_numpy(x: np.ndarray | torch.Tensor) -> np.ndarray:
    if x.is_complex() if torch.is_tensor(x) else np.iscomplexobj(x):
        raise ValueError("pghi expects a real magnitude (and phase), got a complex array")
    if torch.is_tensor(x):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def _check(mag, n_fft, hop, tol, fixed_below, known_phase) -> None:
    if mag.ndim < 2 or mag.shape[-2] != n_fft // 2 + 1:
        raise ValueError(
            f"magnitude must be (..., {n_fft // 2 + 1}, N) for n_fft={n_fft}, got {mag.shape}"
        )
    if not np.all(np.isfinite(mag)) or (mag < 0).any():
        raise ValueError("magnitude must be finite and non-negative")
    if not 0 < hop <= n_fft:
        raise ValueError(f"need 0 < hop <= n_fft, got hop {hop}, n_fft {n_fft}")
    if not 0 < tol < 1 or not math.isfinite(tol):
        raise ValueError(f"tol must lie in (0, 1), got {tol}")
    if fixed_below is not None:
        if not 0 < fixed_below <= mag.shape[-2]:
            raise ValueError(f"fixed_below must lie in 1..{mag.shape[-2]}, got {fixed_below}")
        if known_phase is None or tuple(known_phase.shape) != mag.shape:
            raise ValueError("fixed_below needs known_phase of the magnitude's shape")


def pghi_source(request: PhaseRequest) -> torch.Tensor:
    """Phase source ``pghi``: heap integration from the magnitude (band ``hf``: seeded by the
    known band's phase). Settings: ``tolerance`` (1e-5)."""
    known = request.init_phase if request.fixed_below is not None else None
    return pghi(
        request.spec.abs(),
        request.n_fft,
        request.hop,
        tol=float(request.settings.get("tolerance", TOL)),
        fixed_below=request.fixed_below,
        known_phase=known,
        seed=request.seed,
    )
