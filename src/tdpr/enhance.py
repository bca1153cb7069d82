"""Enhancement of recordings of any length and rate: TD-CNN, then (optionally) TD-PR, in chunks.

A recording is cut into chunks of about ``chunk_seconds`` (equal shares of its length, so no chunk
is tiny). Each chunk is processed together with ``context_seconds`` of audio on both sides (the
TD-CNN's receptive field, the vocoder's, and the 1024-sample STFT windows of phase repair all
need it), and only its core is kept. Neighbouring cores overlap by ``crossfade_seconds`` and are
blended with complementary raised-cosine ramps (``sin²`` and ``cos²``, summing to exactly 1).
Each segment starts on a multiple of :attr:`Enhancer.align` samples (256, the STFT hop and
SEANet's total stride, times the model's own stride when it has one), so the STFT frames and the
strided convs of a chunk line up with those of the whole signal: away from the file's ends,
chunked output equals whole-signal output up to float error for models whose receptive field
fits in the context. (Demucs is the exception: its BLSTM sees the whole segment and its padding
is centred, so, as with Demucs's own split inference, chunks differ slightly from one pass.)

Precision: ``dtype="bfloat16"`` runs the TD-CNN under bfloat16 autocast (convolutions and
matrix products in bf16, its residual sum and output in float32). The vocoder of TD-PR and the
STFTs of phase repair stay in float32: TD-PR costs about 0.2 RTF on 2 threads either way, and
the vocoder's phase, the whole point of TD-PR, is what bf16 rounding moves most (a bf16 vocoder
moved the demo's TD-PR outputs 0.2 to 0.35 LSD further from float32's). On CPUs with native bf16
(AVX512-BF16, AMX) this is the fast path; ``bench/bench_enhance.py`` measures its speed and its
LSD distance to the float32 output.

Phase repair: ``phase="vocoder"`` (TD-PR) runs chunk by chunk with the TD-CNN, as above. The
other sources (``griffinlim``, ``pghi``) act on a whole signal (Griffin-Lim's iterations and
PGHI's integration spread along time, so separately repaired chunks would not join without
seams): :func:`enhance_file` runs the TD-CNN chunk by chunk, then repairs each channel's whole
output at once. ``band="hf"`` keeps the phase below the input's bandwidth, which
:func:`enhance_file` estimates (:mod:`tdpr.dsp.bandwidth`) unless it is given.

Memory: :meth:`Enhancer.stream` holds one segment (chunk + 2 × context) of input, the model's
activations for it, and one cross-fade of output; it reads blocks and yields finished output as
it goes. :func:`enhance_file` streams a 16-kHz input from disk straight to disk, so its memory
does not grow with the file's length. An input at another rate is read whole and resampled first
(``scipy.signal.resample_poly``), which holds the input and its 16-kHz copy in memory (about
4 bytes × channels × (input samples + output samples), plus scipy's float64 work copy of one
channel); only the enhancement after it is streamed. Whole-signal phase sources hold the whole
output and a few copies of its STFT (about 25 MB per minute and channel).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from torch import nn
from tqdm import tqdm

from tdpr.audio import AudioError, resample, to_mono, to_pcm16
from tdpr.dsp.crossover import keep_band
from tdpr.dsp.phase import N_FFT
from tdpr.fsio import atomic_path
from tdpr.phase.repair import repair
from tdpr.registry import BANDS, PHASE_SOURCES

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
#: Shortest input (at 16 kHz): the reflect padding of the 1024-point STFT needs T > 512.
MIN_SAMPLES = N_FFT // 2 + 1
#: Shortest chunk: cores stay longer than one STFT window even after the equal split.
MIN_CHUNK = 2 * N_FFT
BLOCK = SAMPLE_RATE  # samples per block read from disk
DTYPES = ("float32", "bfloat16")
#: The bandwidths the TD-CNNs were trained for (Hz): outside them a warning is logged.
TRAINED_BANDWIDTH = (2500.0, 4000.0)
#: Seconds of a file the bandwidth is estimated from (from its middle; memory stays small).
BANDWIDTH_SECONDS = 20.0


@dataclass(frozen=True)
class Chunk:
    """One chunk: input segment ``[seg_start, seg_end)``, output ``[out_start, out_end)``."""

    seg_start: int
    seg_end: int
    out_start: int
    out_end: int


def plan_chunks(length: int, chunk: int, context: int, fade: int, align: int) -> list[Chunk]:
    """Cut ``length`` samples into ``ceil(length / chunk)`` equal shares with context and fades.

    The output of chunk k spans its core plus half a cross-fade into each neighbour (none at the
    file's ends); its input segment adds ``context`` on both sides, its start rounded down to a
    multiple of ``align``.
    """
    count = max(1, math.ceil(length / chunk))
    bounds = [round(k * length / count) for k in range(count + 1)]
    left = fade // 2
    chunks = []
    for k in range(count):
        out_start = 0 if k == 0 else bounds[k] - left
        out_end = length if k == count - 1 else bounds[k + 1] - left + fade
        seg_start = max(0, (out_start - context) // align * align)
        chunks.append(Chunk(seg_start, min(length, out_end + context), out_start, out_end))
    return chunks


def _ramps(fade: int) -> tuple[np.ndarray, np.ndarray]:
    """Raised-cosine fade-in and fade-out of ``fade`` samples; they sum to 1."""
    fade_in = np.sin(0.5 * np.pi * (np.arange(fade) + 0.5) / max(fade, 1)) ** 2
    return fade_in.astype(np.float32), (1.0 - fade_in).astype(np.float32)


class Enhancer:
    """A TD-CNN, optionally followed by TD-PR with a vocoder, applied chunk by chunk.

    Args:
        model: waveform model ``(1, 1, T) -> (1, 1, T)`` (a registered TD-CNN, or a baseline
            of :mod:`tdpr.baselines`, which also needs ``cutoff_hz``).
        vocoder: model with ``vocode`` (a :class:`~tdpr.models.tfgan.TFGANGenerator`), or None
            for no phase repair.
        device: where the models run.
        chunk_seconds: target chunk length (≥ 2048 samples and ≥ 2 cross-fades).
        context_seconds: audio added on each side of a chunk (default 1 s; at least 1024
            samples is advisable with phase repair).
        crossfade_seconds: overlap of neighbouring chunks (0: hard joins).
        dtype: ``"float32"`` or ``"bfloat16"`` (autocast of the TD-CNN; the vocoder stays
            float32).
        phase: a phase source (``vocoder``, ``griffinlim``, ``pghi``) or None for none; by
            default ``vocoder`` when a vocoder is given.
        band: ``full`` or ``hf`` (needs ``cutoff_hz``, the input's bandwidth).
        cutoff_hz: the input's bandwidth in Hz (:func:`enhance_file` estimates it); needed
            by band ``hf`` and by the baselines.
        phase_settings: the source's settings (e.g. ``{"iterations": 32}``).
        keep_band: give back the input itself below ``cutoff_hz`` and the enhanced signal
            only above it (:func:`tdpr.dsp.crossover.keep_band`), after any phase repair.
    """

    def __init__(
        self,
        model: nn.Module,
        vocoder: nn.Module | None = None,
        device: str | torch.device = "cpu",
        chunk_seconds: float = 10.0,
        context_seconds: float = 1.0,
        crossfade_seconds: float = 0.25,
        dtype: str = "float32",
        *,
        phase: str | None = None,
        band: str = "full",
        cutoff_hz: float | None = None,
        phase_settings: dict | None = None,
        keep_band: bool = False,
    ) -> None:
        phase = ("vocoder" if vocoder is not None else None) if phase is None else phase
        if phase is not None and (phase not in PHASE_SOURCES or PHASE_SOURCES[phase].oracle):
            usable = [s for s, e in PHASE_SOURCES.items() if not e.oracle]
            raise ValueError(f"unknown phase source {phase!r}; choose one of {', '.join(usable)}")
        if phase == "vocoder" and vocoder is None:
            raise ValueError("phase source 'vocoder' (TD-PR) needs a vocoder")
        if band not in BANDS:
            raise ValueError(f"unknown band {band!r}; choose one of {', '.join(BANDS)}")
        self.phase, self.band, self.cutoff_hz = phase, band, cutoff_hz
        self.keep_band = bool(keep_band)
        self.phase_settings = dict(phase_settings or {})
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        self.dtype = dtype
        self.chunk = round(chunk_seconds * SAMPLE_RATE)
        self.context = round(context_seconds * SAMPLE_RATE)
        self.fade = round(crossfade_seconds * SAMPLE_RATE)
        if self.context < 0 or self.fade < 0:
            raise ValueError("context_seconds and crossfade_seconds must be non-negative")
        if self.chunk < max(MIN_CHUNK, 2 * self.fade):
            raise ValueError(
                f"chunk_seconds={chunk_seconds} is too short: a chunk needs at least "
                f"{MIN_CHUNK} samples ({MIN_CHUNK / SAMPLE_RATE:.3f} s) and two cross-fades"
            )
        if vocoder is not None and not hasattr(vocoder, "vocode"):
            raise ValueError(f"the vocoder ({type(vocoder).__name__}) has no vocode method")
        if vocoder is not None and self.context < N_FFT:
            logger.warning("context of %d samples is shorter than the STFT window", self.context)
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.vocoder = vocoder.to(self.device).eval() if vocoder is not None else None
        self.align = math.lcm(256, int(getattr(model, "total_stride", 1)))

    @property
    def whole_signal_phase(self) -> bool:
        """Whether phase repair runs on the whole output rather than chunk by chunk."""
        return self.phase not in (None, "vocoder")

    def repair(self, y: torch.Tensor) -> torch.Tensor:
        """Phase repair of a TD-CNN output ``(T,)`` float32 on the enhancer's device."""
        if self.band == "hf" and self.cutoff_hz is None:
            raise ValueError("band 'hf' needs the input's bandwidth (cutoff_hz)")
        z, _ = repair(
            y, self.phase, self.band, self.cutoff_hz, SAMPLE_RATE,
            vocoder=self.vocoder, settings=self.phase_settings,
        )  # fmt: skip
        return z

    def repair_whole(self, audio: np.ndarray, given: np.ndarray | None = None) -> np.ndarray:
        """Whole-signal phase repair of a TD-CNN output ``(T, C)``, channel by channel; with
        ``keep_band``, ``given`` is the input ``(T, C)`` whose band is given back."""
        if self.keep_band and given is None:
            raise ValueError("keep_band needs the input (given) after whole-signal phase repair")
        out = np.empty_like(audio, dtype=np.float32)
        with torch.inference_mode():
            for c in range(audio.shape[1]):
                y = torch.from_numpy(np.ascontiguousarray(audio[:, c], dtype=np.float32))
                z = self.repair(y.to(self.device))
                if self.keep_band:
                    x = torch.from_numpy(np.ascontiguousarray(given[:, c], dtype=np.float32))
                    z = self._keep_band(x.to(self.device), z)
                out[:, c] = z.cpu().numpy()
        return out

    def _keep_band(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.cutoff_hz is None:
            raise ValueError("keep_band needs the input's bandwidth (cutoff_hz)")
        return keep_band(x, y, self.cutoff_hz, SAMPLE_RATE)

    def plan(self, length: int) -> list[Chunk]:
        """The chunks of a ``length``-sample input."""
        return plan_chunks(length, self.chunk, self.context, self.fade, self.align)

    def process(self, segment: np.ndarray, start: int = 0) -> np.ndarray:
        """Enhance one segment: ``(L,) -> (L,)`` float32, model then chunk-wise phase repair
        (TD-PR); whole-signal sources are left to :meth:`repair_whole`.

        ``start`` is the segment's first sample in the whole signal: a baseline
        (:mod:`tdpr.baselines`, ``needs_cutoff``) gets it with the cutoff, so its seeded draws
        are those of the whole signal."""
        x = torch.from_numpy(np.ascontiguousarray(segment, dtype=np.float32))
        bf16 = self.dtype == "bfloat16"
        kwargs = {}
        if getattr(self.model, "needs_cutoff", False):
            if self.cutoff_hz is None:
                raise ValueError(f"{type(self.model).__name__} needs the input's bandwidth")
            kwargs = {"cutoff_hz": self.cutoff_hz, "start": start}
        with torch.inference_mode():
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16):
                y = self.model(x.to(self.device).view(1, 1, -1), **kwargs)[0, 0].float()
            if self.phase == "vocoder":
                y = self.repair(y)  # float32: see "Precision" in the module docstring
            if self.keep_band and not self.whole_signal_phase:  # else after repair_whole
                y = self._keep_band(x.to(self.device), y)
            return y.cpu().numpy()

    def _segment(self, chunk: Chunk, blocks: Iterator[np.ndarray], buf: list, start: int):
        """Read blocks until the buffer covers ``chunk``'s segment; ``(segment, buffer)``."""
        have = start + sum(len(b) for b in buf)
        while have < chunk.seg_end:
            block = next(blocks, None)
            if block is None:
                raise AudioError(f"the input ended after {have} of {chunk.seg_end}+ samples")
            if not np.all(np.isfinite(block)):
                raise AudioError(
                    f"input holds NaN or infinite samples (near {have / SAMPLE_RATE:.1f} s)"
                )
            buf.append(np.asarray(block, dtype=np.float32).reshape(len(block), -1))
            have += len(block)
        data = np.concatenate(buf) if len(buf) > 1 else buf[0]
        return data[chunk.seg_start - start : chunk.seg_end - start], data

    def stream(
        self, blocks: Iterable[np.ndarray], length: int, progress: bool = False
    ) -> Iterator[np.ndarray]:
        """Enhance a stream of blocks of a ``length``-sample, 16-kHz input.

        Args:
            blocks: consecutive ``(n, C)`` (or ``(n,)``) float blocks, ``length`` samples in
                all; each channel is enhanced on its own.
            length: total number of samples (≥ :data:`MIN_SAMPLES`).
            progress: show a tqdm bar over chunks (on a terminal only).

        Yields:
            Consecutive ``(n, C)`` float32 output blocks, ``length`` samples in all.

        Raises:
            AudioError: too short, non-finite samples, or fewer samples than ``length``.
        """
        if length < MIN_SAMPLES:
            raise AudioError(f"input has {length} samples; at least {MIN_SAMPLES} are needed")
        chunks = self.plan(length)
        fade_in, fade_out = _ramps(self.fade)
        blocks, buf, start, pending = iter(blocks), [], 0, None
        for k, chunk in enumerate(
            tqdm(chunks, disable=not progress or None, unit="chunk", leave=False)
        ):
            segment, data = self._segment(chunk, blocks, buf, start)
            lo, hi = chunk.out_start - chunk.seg_start, chunk.out_end - chunk.seg_start
            out = np.stack(
                [self.process(segment[:, c], chunk.seg_start)[lo:hi] for c in range(data.shape[1])],
                1,
            )
            if pending is not None:
                out[: self.fade] = out[: self.fade] * fade_in[:, None] + pending
            if k < len(chunks) - 1 and self.fade:
                pending = out[-self.fade :] * fade_out[:, None]
                out = out[: -self.fade]
            yield out
            next_start = chunks[k + 1].seg_start if k < len(chunks) - 1 else length
            buf, start = [data[next_start - start :]], next_start

    def enhance(self, audio: np.ndarray, progress: bool = False) -> np.ndarray:
        """Enhance a mono 16-kHz signal held in memory: ``(T,) -> (T,)`` float32."""
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 1:
            raise AudioError(f"enhance expects a (T,) signal, got shape {audio.shape}")
        out = np.empty_like(audio)
        pos = 0
        blocks = (audio[i : i + BLOCK] for i in range(0, len(audio), BLOCK))
        for block in self.stream(blocks, len(audio), progress):
            out[pos : pos + len(block)] = block[:, 0]
            pos += len(block)
        if self.whole_signal_phase:
            return self.repair_whole(out[:, None], audio[:, None])[:, 0]
        return out


def probe_audio(path: str | os.PathLike) -> Any:
    """``soundfile.info`` with clear errors for missing, unreadable and empty files.

    Raises:
        AudioError: no such file, not a format libsndfile reads, or no samples.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"input not found: {path}")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError(f"cannot read {path}: not a supported audio format ({err})") from err
    if info.frames <= 0:
        raise AudioError(f"{path} holds no samples")
    return info


def _resampled_blocks(path: Path, rate: int) -> Iterator[np.ndarray]:
    """The whole file, resampled to 16 kHz, in blocks (memory: the module docstring)."""
    audio, _ = sf.read(str(path), dtype="float32", always_2d=True)
    if not np.all(np.isfinite(audio)):
        raise AudioError(f"{path} holds NaN or infinite samples")
    audio = resample(audio, rate, SAMPLE_RATE)
    for i in range(0, len(audio), BLOCK):
        yield audio[i : i + BLOCK]


def _read_16k(path: Path, rate: int) -> np.ndarray:
    """The whole file at 16 kHz, ``(T, C)`` float32 (for a crossover after whole-signal repair)."""
    if rate == SAMPLE_RATE:
        return sf.read(str(path), dtype="float32", always_2d=True)[0]
    return np.concatenate(list(_resampled_blocks(path, rate)))


def estimate_bandwidth(path: str | os.PathLike, seconds: float = BANDWIDTH_SECONDS) -> float:
    """The bandwidth (Hz) of a file, from ``seconds`` around its middle (mixed to mono), logged.

    Warnings name ``--cutoff``: where no cutoff is found (the file is taken as full band, and
    half its sample rate is returned) and where the estimate's confidence is low
    (:mod:`tdpr.dsp.bandwidth`); another where it lies outside the 2.5-4 kHz the TD-CNNs were
    trained for.
    """
    from tdpr.dsp.bandwidth import estimate_bandwidth as estimate

    info = probe_audio(path)
    frames = min(info.frames, int(seconds * info.samplerate))
    start = (info.frames - frames) // 2
    audio, rate = sf.read(str(path), frames=frames, start=start, dtype="float32", always_2d=True)
    if not np.all(np.isfinite(audio)):
        raise AudioError(f"{path} holds NaN or infinite samples")
    try:
        found = estimate(to_mono(audio), rate)
    except ValueError as err:
        raise AudioError(f"cannot estimate the bandwidth of {path}: {err}") from err
    if found.cutoff_hz is None:
        logger.warning(
            "%s: no cutoff found in its spectrum; taken as full band (%.0f Hz). Pass --cutoff HZ "
            "if it is band-limited", path, rate / 2,
        )  # fmt: skip
        return rate / 2
    cutoff = found.cutoff_hz
    logger.info("%s: estimated bandwidth %.0f Hz (%s, confidence %.2f)", path, cutoff,
                found.model, found.confidence)  # fmt: skip
    if found.low_confidence:
        logger.warning(
            "%s: the estimated bandwidth %.0f Hz has low confidence (%.2f): the noise fill, the "
            "kept band and --band hf act at it; pass --cutoff HZ if you know the bandwidth",
            path, cutoff, found.confidence,
        )  # fmt: skip
    lo, hi = TRAINED_BANDWIDTH
    if not lo <= cutoff <= hi:
        logger.warning(
            "%s: estimated bandwidth %.0f Hz lies outside the %.1f-%.1f kHz the models were "
            "trained for; expect less from them", path, cutoff, lo / 1000, hi / 1000,
        )  # fmt: skip
    return cutoff


def enhance_file(
    in_path: str | os.PathLike,
    out_path: str | os.PathLike,
    enhancer: Enhancer,
    progress: bool = False,
    cutoff_hz: float | None = None,
    keep_rate: bool = False,
) -> Path:
    """Enhance one audio file and write 16-bit PCM WAV at 16 kHz, channel by channel.

    Args:
        in_path: any file soundfile reads, at any rate (resampled to 16 kHz first).
        out_path: output WAV; written atomically, never partially.
        enhancer: the models, chunking and phase repair.
        progress: tqdm bar over chunks (on a terminal only).
        cutoff_hz: the input's bandwidth for band ``hf``, the baselines and ``keep_band``;
            None estimates it from the file.
        keep_rate: write the output at the input's own rate (the 16-kHz result resampled;
            nothing is made above 8 kHz), not at 16 kHz.

    Returns:
        ``out_path``.

    Raises:
        AudioError: unreadable or unsupported file, no samples, shorter than
            :data:`MIN_SAMPLES` at 16 kHz (32 ms), or NaN/infinite samples. No output is left.
    """
    in_path, out_path = Path(in_path), Path(out_path)
    if in_path.resolve() == out_path.resolve():
        raise AudioError(f"output {out_path} would overwrite its input")
    info = probe_audio(in_path)
    length = math.ceil(info.frames * SAMPLE_RATE / info.samplerate)  # resample_poly's length
    if length < MIN_SAMPLES:
        raise AudioError(
            f"{in_path} is too short: {info.frames} samples at {info.samplerate} Hz; at least "
            f"{MIN_SAMPLES} samples at {SAMPLE_RATE} Hz ({MIN_SAMPLES / SAMPLE_RATE * 1e3:.0f} ms)"
        )
    if cutoff_hz is None:  # given, it is used as it is: no estimate, no warning about one
        cutoff_hz = estimate_bandwidth(in_path)
    enhancer.cutoff_hz = min(cutoff_hz, SAMPLE_RATE / 2 - 1)
    if getattr(enhancer.model, "needs_cutoff", False):
        try:
            enhancer.model.check_cutoff(enhancer.cutoff_hz)
        except ValueError as err:
            raise AudioError(f"{in_path}: {err}") from err
    clipped = 0
    with sf.SoundFile(str(in_path)) as source, atomic_path(out_path, suffix=".wav") as tmp:
        if info.samplerate == SAMPLE_RATE:
            blocks = source.blocks(BLOCK, dtype="float32", always_2d=True)
        else:
            blocks = _resampled_blocks(in_path, info.samplerate)
        outputs = enhancer.stream(blocks, length, progress)
        if enhancer.whole_signal_phase:
            given = _read_16k(in_path, info.samplerate) if enhancer.keep_band else None
            outputs = iter([enhancer.repair_whole(np.concatenate(list(outputs)), given)])
        out_rate = info.samplerate if keep_rate else SAMPLE_RATE
        if out_rate != SAMPLE_RATE:  # resampled whole (memory: as for an input at another rate)
            whole = np.concatenate(list(outputs))
            outputs = iter([resample(whole, SAMPLE_RATE, out_rate)])
        with sf.SoundFile(tmp, "w", out_rate, info.channels, "PCM_16", format="WAV") as sink:
            for block in outputs:
                clipped += int(np.count_nonzero(np.abs(block) > 1.0))
                sink.write(to_pcm16(block))
    if clipped:
        logger.warning("%s: %d samples clipped to full scale", out_path, clipped)
    logger.info("enhanced %s -> %s (%.1f s)", in_path, out_path, length / SAMPLE_RATE)
    return out_path
