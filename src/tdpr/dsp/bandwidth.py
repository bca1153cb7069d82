"""Bandwidth (cutoff) estimation for band-limited recordings, at any sample rate, with a
confidence, or "no cutoff found".

A recording that went through a low-pass filter shows, in its long-term average spectrum (LTAS),
the filter's attenuation on top of a smooth source spectrum, down to the recording's noise floor.
The cutoff reported is the **nominal cutoff of the filter models that fit best**
(:mod:`tdpr.dsp.lowpass_models`: each family at each order, zero-phase as the project applies
them), each family's cutoff as its design defines it, which is what the test sets record:

1. LTAS in dB (Welch, Hann, about 8 Hz per bin); a running maximum then a running median over
   :data:`SMOOTH_HZ` give the envelope of the partials (the gaps between them are not edges).
2. Floor: a low percentile of the envelope over the upper half of the band. Edge: the start of
   the first stretch of :data:`QUIET_HZ` within :data:`EDGE_MARGIN_DB` of the floor, scanning
   upward, with the band below well above the floor and nothing above it that climbs back to
   the level of the band below (a resampling's images lie far below it; music past a gap in
   the band does not). No such edge below 0.9·Nyquist: "no cutoff found".
3. For every model and candidate cutoff, the predicted envelope is a straight source line in dB
   (fitted on the candidate's own passband) plus the model's gain, read
   :func:`envelope_shift_hz` lower (the running maximum moves a falling edge up), summed in
   power with the floor (and, for a resampling, its image). The error is the mean squared dB
   difference, clipped at :data:`CLIP_DB`, over ``[0.25, 1.5]`` times the edge; each model is
   searched on a coarse grid, then refined on its own.

Which model wins is not always decided by the data: over the 60-80 dB that a 16-bit recording
shows, a Chebyshev II of one order and cutoff and an elliptic, Chebyshev I or Butterworth of
another order at about 0.7 times that cutoff differ by about 1 dB rms, and so do a Butterworth
and a Chebyshev II at 1.5 times its cutoff; a Bessel's slow roll-off spans kilohertz over which
the source is not a straight line. So the models are weighed, not only ranked:

4. Each model's error ``e`` gives it a likelihood ``(e + ERROR_FLOOR_DB2) ** (-EVIDENCE_BINS
   / 2)`` (least squares with an unknown residual variance, over about :data:`EVIDENCE_BINS`
   independent bins: the smoothing makes neighbouring bins move together), times a prior that
   is uniform over the seven families and, within an IIR family, over the orders fitted.
   Chebyshev II fits carry a handicap (:data:`FAMILY_PENALTY` on ``e``): the lower reading is
   the safer one for what acts at the cutoff (a noise fill above it, a kept band below it).
5. The cutoff reported is the one with the most posterior mass within
   :data:`CONFIDENCE_TOLERANCE` of it (the mass-weighted mean of the models there), with the
   family and order of the likeliest model among them. Models that read nearly the same cutoff
   pool their evidence: three Bessel orders that agree outweigh one Butterworth that fits a
   little better elsewhere.

The **confidence** says how far apart the readings are: it is the relative margin by which the
best model that agrees with the reported cutoff (within :data:`CONFIDENCE_TOLERANCE`) beats
every model that does not (relative to its error plus :data:`NOISE_DB2`), scaled so that
:data:`FULL_MARGIN` gives 1 (0 where a disagreeing model fits best), and lowered where the
edge is shallow (less than :data:`DEPTH_FULL_DB` above the floor). On the benchmark this
margin tells right from wrong readings better than the posterior mass itself does.
``bench/bench_bandwidth.py`` measures the error and how it goes with the confidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal
from scipy.ndimage import maximum_filter, median_filter

from tdpr.dsp.lowpass_models import FAMILIES, ORDERS, attenuation_db, image_db, models

__all__ = [
    "FAMILIES",
    "ORDERS",
    "Bandwidth",
    "attenuation_db",
    "envelope_db",
    "estimate_bandwidth",
    "estimate_from_envelope",
    "ltas_db",
    "pooled_cutoff",
    "posterior",
]

#: The edge is where the level stays within this of the floor.
EDGE_MARGIN_DB = 15.0
#: Above the edge, the level may not climb back to within this of the band below it.
RETURN_MARGIN_DB = 20.0
#: Bins this far above the floor are taken as signal when fitting the source line.
SIGNAL_MARGIN_DB = 10.0
#: Width of the running maximum and median over the LTAS: wider than the gaps between partials.
SMOOTH_HZ = 150.0
QUIET_HZ = 300.0
#: The source line is fitted where a candidate filter is within this gain of 0 dB.
PASSBAND_DB = -3.0
#: The analysis region starts at this fraction of the edge ...
REGION_LOW = 0.25
#: ... the source line may be fitted down to this fraction of it (see :func:`_fit_family`) ...
SOURCE_LOW = 0.1
#: ... and the region ends at this multiple of it (beyond: only floor and resampling images).
REGION_HIGH = 1.5
#: Multiplies a family's fit error: a handicap for a family that imitates others (above).
FAMILY_PENALTY = {"cheby2": 1.04}
#: Squared errors are clipped at this many dB, squared.
CLIP_DB = 10.0
#: The filter models are read this many hertz per hertz of the envelope's half-width lower in
#: frequency (see :func:`envelope_shift_hz`).
ENVELOPE_SHIFT = 0.5
#: Models reading a cutoff within this fraction of another's agree with it.
CONFIDENCE_TOLERANCE = 0.05
#: Independent bins the evidence is counted over (the likelihood's exponent, step 4): chosen
#: on the tuning part of ``bench/bench_bandwidth.py``, where the share within 150 Hz is flat
#: (75-76 %) from 12 to 30.
EVIDENCE_BINS = 16.0
#: Added to each error before the likelihood is taken (dB²): no model fits a real recording
#: to a fraction of a dB, so such differences are no evidence.
ERROR_FLOOR_DB2 = 1.0
#: A best model whose error is this fraction below every disagreeing model's has confidence 1.
FULL_MARGIN = 0.3
#: Added to the best error before the margin is taken (dB²), for the same reason.
NOISE_DB2 = 2.0
#: An edge this far (dB) above the floor keeps its confidence; shallower edges lose it.
DEPTH_FULL_DB = 30.0
#: Below this confidence an estimate is flagged (``tdpr bandwidth``, ``tdpr enhance``).
LOW_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Bandwidth:
    """What :func:`estimate_bandwidth` found.

    Attributes:
        cutoff_hz: the nominal cutoff the fitted models agree on most (module docstring),
            or None: no cutoff found (the content reaches Nyquist, or no edge can be told
            from the floor).
        confidence: 0 to 1 (module docstring); for "no cutoff found", how clearly the top of
            the band holds content.
        family: the likeliest model's family there (:data:`FAMILIES`), None with no cutoff.
        order: its order, None for the resampling models and with no cutoff.
    """

    cutoff_hz: float | None
    confidence: float
    family: str | None = None
    order: int | None = None

    @property
    def low_confidence(self) -> bool:
        """True below :data:`LOW_CONFIDENCE`."""
        return self.confidence < LOW_CONFIDENCE

    @property
    def model(self) -> str:
        """The model as words: ``"cheby2 8"``, ``"subsampling"``, ``"no cutoff"``."""
        if self.family is None:
            return "no cutoff"
        return self.family if self.order is None else f"{self.family} {self.order}"


def ltas_db(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Long-term average spectrum (Welch, Hann, about 8 Hz per bin), smoothed, in dB.

    Args:
        x: mono signal ``(T,)``.
        fs: sample rate in Hz.

    Returns:
        ``(freqs, level_db)``, each ``(F,)``.
    """
    nperseg = int(2 ** np.ceil(np.log2(fs / 8)))  # about 8 Hz per bin at any rate
    nperseg = min(nperseg, int(2 ** np.floor(np.log2(len(x)))))
    freqs, power = signal.welch(x, fs, window="hann", nperseg=nperseg)
    return freqs, envelope_db(freqs, power)


def envelope_db(freqs: np.ndarray, power: np.ndarray) -> np.ndarray:
    """The smoothed envelope in dB of a power spectrum ``(F,)`` on an even grid ``freqs (F,)``:
    a running maximum, then a running median, over :data:`SMOOTH_HZ`."""
    level = 10 * np.log10(np.maximum(power, 1e-30))
    width = _smooth_width(freqs)
    # Upper envelope first: above a few kHz the spectrum of music is a comb of partials, and
    # their peaks, not the gaps between them, follow the filter's response.
    envelope = maximum_filter(level, size=width, mode="nearest")
    return median_filter(envelope, size=width, mode="nearest")


def _smooth_width(freqs: np.ndarray) -> int:
    return max(3, int(round(SMOOTH_HZ / (freqs[1] - freqs[0]))) | 1)


def envelope_shift_hz(freqs: np.ndarray) -> float:
    """How far the envelope of :func:`ltas_db` moves a falling edge up, as modelled, in Hz.

    The running maximum reads a falling curve at ``f + SMOOTH_HZ / 2``; the running median
    that follows pulls part of it back on a comb of partials. The models are therefore
    evaluated at ``f - shift`` with :data:`ENVELOPE_SHIFT` of the half-width (the brick wall
    excepted: the STFT cut's edge is already smeared by its own window).
    """
    return ENVELOPE_SHIFT * (_smooth_width(freqs) // 2) * (freqs[1] - freqs[0])


def rough_edge(freqs: np.ndarray, level: np.ndarray, floor_db: float) -> float | None:
    """Start of the first stretch of :data:`QUIET_HZ` within :data:`EDGE_MARGIN_DB` of the
    floor, with a band at least 25 dB above the floor below it, and above it no bin (but 2 %)
    back within :data:`RETURN_MARGIN_DB` of that band's level (its 90th percentile from half
    the frequency up).

    Scanning up from the bottom, not down from Nyquist: resampling leaves images near Nyquist
    that rise above the floor without being part of the band. ``None`` (no edge) if there is
    no such stretch below 0.9·Nyquist, e.g. for full-band noise, whose "floor" is the signal.
    """
    quiet = level < floor_db + EDGE_MARGIN_DB
    step = freqs[1] - freqs[0]
    run = max(1, int(round(QUIET_HZ / step)))
    # Windowed sum of the quiet flags: a full window means run consecutive quiet bins.
    full = np.convolve(quiet.astype(int), np.ones(run, dtype=int), mode="valid") == run
    band_peak = np.maximum.accumulate(level)
    top = int(np.searchsorted(freqs, 0.98 * freqs[-1]))
    for i in np.nonzero(full & (freqs[: len(full)] > 0.02 * freqs[-1]))[0]:
        if freqs[i] >= 0.9 * freqs[-1]:
            break
        if band_peak[i] <= floor_db + EDGE_MARGIN_DB + 10:
            continue
        below = level[int(np.searchsorted(freqs, 0.5 * freqs[i])) : i]
        back = level[i:top] > np.percentile(below, 90) - RETURN_MARGIN_DB
        if back.mean() <= 0.02:
            return float(freqs[i])
    return None


def _fit_family(obs, freqs, floor_db, atten, image=None, scored=None) -> np.ndarray:
    """Squared error ``(C,)`` of each candidate attenuation ``(C, F)`` against ``obs (F,)``.

    ``image``: an extra ``(C, F)`` level in dB added in power (a resampling image), or None.

    The source line ``S`` is fitted on the candidate's own passband (gain above -3 dB) only:
    fitted over the transition too, a free slope would trade against the filter's roll-off
    and make a gentle filter with a high cutoff look like a steep one with a low cutoff.
    """
    scored = np.ones(len(freqs), bool) if scored is None else scored
    passband = atten > PASSBAND_DB
    # The line is fitted from the scored region's start, or from half the candidate's -3 dB
    # point where that is lower (a Bessel's passband ends far below its nominal cutoff).
    f3 = (passband * freqs[None]).max(1, keepdims=True)
    start = np.minimum(freqs[scored][0], 0.5 * f3)
    w = (obs > floor_db + SIGNAL_MARGIN_DB)[None] & passband & (freqs[None] >= start)
    w = w.astype(float)
    r = obs[None] - atten
    f = freqs[None] / 1000.0
    # Weighted least squares for S(f) = a + b·f, closed form per candidate.
    sw, sf, sr = w.sum(1), (w * f).sum(1), (w * r).sum(1)
    sff, sfr = (w * f * f).sum(1), (w * f * r).sum(1)
    det = sw * sff - sf**2
    ok = (sw >= 8) & (det > 1e-9)
    det = np.where(ok, det, 1.0)
    b = np.where(ok, (sw * sfr - sf * sr) / det, 0.0)
    a = np.where(ok, (sr - b * sf) / np.maximum(sw, 1.0), 0.0)
    source = np.minimum(a[:, None] + b[:, None] * f + atten, 0.0)  # no overflow for bad fits
    power = 10 ** (source / 10) + 10 ** (floor_db / 10)
    if image is not None:
        power = power + 10 ** (np.minimum(image, 0.0) / 10)
    pred = 10 * np.log10(power)
    # Clipped: a spurious bump (an alias, a loud partial) must not decide the fit.
    err = np.minimum((obs[None] - pred)[:, scored] ** 2, CLIP_DB**2).mean(1)
    return np.where(ok, err, np.inf)


def _fits(obs, f, floor_db, grid, fine, fs, orders, ltas, shift, scored):
    """Best ``(errors, cutoffs)`` per model of :func:`~tdpr.dsp.lowpass_models.models`, each
    ``(M,)``, errors with the :data:`FAMILY_PENALTY` applied.

    Each model is searched on the coarse ``grid`` and then refined on its own, in steps of
    ``fine`` within two coarse steps of its best: a steep filter's error rises within a few
    hertz of its true cutoff, so a shared coarse search would hand the win to a gentler model.
    """
    coarse = grid[1] - grid[0] if len(grid) > 1 else fine
    errors, cutoffs = [], []
    for family, order in models(orders):
        cands = grid[:, None]
        for _ in range(2):
            image = image_db(f, cands, ltas) if family == "subsampling" else None
            at_f = f if family == "brick" else np.maximum(f - shift, f[0] * 1e-3)
            atten = attenuation_db(family, order, at_f, cands, fs)
            err = _fit_family(obs, f, floor_db, atten, image, scored)
            i = int(np.argmin(err))
            best_err, best_fc = err[i], cands[i, 0]
            cands = np.arange(best_fc - 2 * coarse, best_fc + 2 * coarse + fine, fine)
            cands = cands[(cands > 0) & (cands < fs / 2)][:, None]
        errors.append(best_err * FAMILY_PENALTY.get(family, 1.0))
        cutoffs.append(best_fc)
    return np.array(errors), np.array(cutoffs)


def posterior(errors: np.ndarray, models_fitted: list[tuple[str, int | None]]) -> np.ndarray:
    """Posterior probability of each model given its error (step 4 of the module docstring).

    Args:
        errors: each model's fit error ``(M,)`` in dB², infinite where it could not be fitted.
        models_fitted: the ``(family, order)`` of each, as :func:`~tdpr.dsp.lowpass_models.models`
            lists them.

    Returns:
        ``(M,)`` summing to 1 (all 0 where no model was fitted); 0 for an infinite error.
    """
    families = [family for family, _ in models_fitted]
    prior = np.array([1.0 / families.count(f) for f in families]) / len(set(families))
    ok = np.isfinite(errors)
    if not ok.any():
        return np.zeros(len(errors))
    log_p = np.full(len(errors), -np.inf)
    log_p[ok] = -EVIDENCE_BINS / 2 * np.log(errors[ok] + ERROR_FLOOR_DB2) + np.log(prior[ok])
    p = np.exp(log_p - log_p[ok].max())
    return p / p.sum()


def pooled_cutoff(cutoffs: np.ndarray, weights: np.ndarray) -> tuple[float, int, np.ndarray]:
    """The cutoff the models agree on most (step 5 of the module docstring).

    Args:
        cutoffs: each model's best cutoff ``(M,)`` in Hz.
        weights: each model's posterior probability ``(M,)`` (:func:`posterior`).

    Returns:
        ``(cutoff, model, agree)``: the cutoff with the most posterior mass within
        :data:`CONFIDENCE_TOLERANCE` of it (the weighted mean of the models there), the index
        of the likeliest model among them, and which models agree with it, ``(M,)`` bool.
    """
    near = np.abs(cutoffs[None] - cutoffs[:, None]) <= CONFIDENCE_TOLERANCE * cutoffs[:, None]
    mass = (near * weights[None]).sum(1)
    centre = int(np.argmax(np.where(weights > 0, mass, -1.0)))
    window = near[centre] & (weights > 0)
    cutoff = float((weights * cutoffs)[window].sum() / weights[window].sum())
    model = int(np.flatnonzero(window)[np.argmax(weights[window])])
    agree = np.abs(cutoffs - cutoff) <= CONFIDENCE_TOLERANCE * cutoff
    return cutoff, model, agree | window


def _confidence(errors: np.ndarray, agree: np.ndarray, depth_db: float) -> float:
    """The relative margin of the best agreeing model over every other (module docstring),
    times the share of :data:`DEPTH_FULL_DB` the edge's depth reaches."""
    ok = np.isfinite(errors)
    best, rivals = errors[agree & ok].min(), errors[~agree & ok]
    margin = (rivals.min() - best) / (best + NOISE_DB2) if len(rivals) else np.inf
    return float(np.clip(margin / FULL_MARGIN, 0, 1) * np.clip(depth_db / DEPTH_FULL_DB, 0, 1))


def estimate_bandwidth(
    x: np.ndarray, fs: float, orders: tuple[int, ...] = ORDERS, step_hz: float | None = None
) -> Bandwidth:
    """Estimate the low-pass cutoff of a recording, with a confidence.

    Args:
        x: mono signal ``(T,)``, at least 0.25 s.
        fs: sample rate in Hz.
        orders: IIR orders fitted.
        step_hz: final cutoff resolution; ``None`` gives ``fs / 3200`` (5 Hz at 16 kHz). A
            coarse grid eight times wider is searched first.

    Returns:
        A :class:`Bandwidth`; its ``cutoff_hz`` is None where no cutoff is found.

    Raises:
        ValueError: not 1-D, too short, non-finite or silent.
    """
    freqs, level = ltas_db(_check_signal(x, fs), fs)
    return _estimate(freqs, level, fs, orders, step_hz)[0]


def estimate_from_envelope(
    freqs: np.ndarray,
    level: np.ndarray,
    fs: float,
    orders: tuple[int, ...] = ORDERS,
    step_hz: float | None = None,
) -> Bandwidth:
    """:func:`estimate_bandwidth` from an envelope as :func:`ltas_db` gives it.

    Args:
        freqs: an even frequency grid ``(F,)`` from 0 to ``fs / 2`` in Hz.
        level: the smoothed envelope in dB on it ``(F,)`` (:func:`envelope_db`).
        fs, orders, step_hz: as :func:`estimate_bandwidth` takes them.

    Raises:
        ValueError: the two do not match, or the level is not finite.
    """
    freqs, level = np.asarray(freqs, np.float64), np.asarray(level, np.float64)
    if freqs.shape != level.shape or freqs.ndim != 1 or len(freqs) < 16:
        raise ValueError(f"freqs {freqs.shape} and level {level.shape}: want one (F,) each")
    if not np.all(np.isfinite(level)):
        raise ValueError("level holds NaN or infinite values")
    return _estimate(freqs, level, fs, orders, step_hz)[0]


def _estimate(freqs, level, fs, orders, step_hz) -> tuple[Bandwidth, dict]:
    """:func:`estimate_from_envelope`, and what it saw: the envelope, floor, edge and each
    model's best error, cutoff and weight (for the benchmark's diagnostics)."""
    nyq = fs / 2
    # A low percentile of the upper half, not its top end: resampling leaves images near
    # Nyquist, and the floor only needs a fifth of the upper half to be reached.
    upper = level[(freqs >= 0.5 * nyq) & (freqs <= 0.98 * nyq)]
    floor_db = float(np.percentile(upper, 20))
    edge = rough_edge(freqs, level, floor_db)
    seen = {"freqs": freqs, "level": level, "floor_db": floor_db, "edge_hz": edge}
    if edge is None:
        return Bandwidth(None, _full_band_confidence(freqs, level)), seen
    region = (freqs >= SOURCE_LOW * edge) & (freqs <= min(0.98 * nyq, REGION_HIGH * edge))
    f, obs = freqs[region], level[region]
    scored = f >= REGION_LOW * edge
    fine = fs / 3200 if step_hz is None else float(step_hz)
    coarse = 8 * fine
    grid = np.arange(max(0.3 * edge, coarse), min(0.98 * nyq, 2.0 * edge), coarse)
    shift = envelope_shift_hz(freqs)
    errors, cutoffs = _fits(obs, f, floor_db, grid, fine, fs, orders, (freqs, level), shift,
                            scored)  # fmt: skip
    weights = posterior(errors, models(orders))
    if not weights.any():
        return Bandwidth(None, 0.0), seen
    cutoff, best, agree = pooled_cutoff(cutoffs, weights)
    near_edge = obs[(f >= 0.5 * edge) & (f < edge)]
    depth = float(np.percentile(near_edge, 90)) - floor_db if len(near_edge) else 0.0
    family, order = models(orders)[best]
    confidence = _confidence(errors, agree, depth)
    seen.update(errors=errors, cutoffs=cutoffs, weights=weights, depth_db=depth)
    return Bandwidth(cutoff, confidence, family, order), seen


def _full_band_confidence(freqs: np.ndarray, level: np.ndarray) -> float:
    """How clearly "no cutoff": 1 where the top tenth of the band is within 20 dB of the
    band's median level, falling to 0 where it is 40 dB or more below it."""
    top = level[freqs >= 0.9 * freqs[-1]]
    drop = float(np.median(level) - np.median(top))
    return float(np.clip(1 - (drop - 20) / 20, 0, 1))


def _check_signal(x: np.ndarray, fs: float) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"estimate_bandwidth expects a mono signal (T,), got shape {x.shape}")
    if not fs > 0:
        raise ValueError(f"sample rate must be positive, got {fs}")
    if len(x) < fs / 4:
        raise ValueError(f"signal of {len(x)} samples is shorter than 0.25 s at {fs:g} Hz")
    if not np.all(np.isfinite(x)):
        raise ValueError("signal holds NaN or infinite samples")
    if not np.any(x):
        raise ValueError("signal is digital silence: it has no bandwidth")
    return x
