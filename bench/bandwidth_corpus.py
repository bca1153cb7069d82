"""Piano clips for ``bench_bandwidth.py``: MAESTRO MIDI through several SoundFonts, and the
effects real recordings carry (room, hiss, surface noise, lossy coding, a weak high band).

A *part* is a set of pianos and performances: the tuning part (training-split performances on
FluidR3 GM and MuseScore General) is what the estimator's constants may be chosen on; the
held-out part (test-split performances on TimGM6mb, programs 0 and 1) is not looked at while
tuning. Every (piano, effect) pair of a part is one clip; its performance is dealt round robin.

Effects act where they act on a real recording: ``reverb`` is part of the recording, and so is
``hiss`` (a tape copied through the narrow medium), so they come before the low-pass; surface
noise and lossy coding come with the band-limited medium, so they come after it. ``soft`` and
``low`` are renders of the same MIDI played softer or two octaves lower: the sampled pianos' own
velocity filters and the low register leave a high band that is weak before any low-pass.
Needs ``fluidsynth``; ``lame`` (MP3) and ``oggenc``/``oggdec``
(Vorbis) for the coded effects.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import pandas as pd
import soundfile as sf
from scipy import signal

from tdpr.audio import quantize_pcm16
from tdpr.data.demo import render_midi
from tdpr.data.performances import Piano, shipped_subset

RATE = 16000
FLUIDR3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
MUSESCORE = Path("/usr/share/sounds/sf3/MuseScore_General.sf3")
TIMGM = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
#: Seconds skipped at the start of each performance (its lead-in) and the gap between the
#: excerpts of one render (longer than a piano's release plus FluidSynth's reverb tail).
LEAD_IN, SPACING = 2.0, 8.0
EFFECTS = ("dry", "reverb", "hiss", "surface", "mp3", "vorbis", "soft", "low", "chain")
#: The render each effect starts from: the MIDI as played, softer, or two octaves lower.
VARIANTS = {"soft": "soft", "low": "low"}
SOFT_VELOCITY = 0.5
#: Peak level of a clip in dB below full scale: soft and low pieces are quiet recordings.
PEAK_DB = {"soft": 10.0, "low": 10.0}
LOW_SEMITONES = -24
#: Noise levels in dB below the clip's RMS (tape hiss; surface noise's hiss under its crackle).
HISS_DB, SURFACE_HISS_DB = 45.0, 55.0
MP3_KBPS, VORBIS_QUALITY = 24, -1


@dataclass(frozen=True)
class Part:
    """Pianos and the MAESTRO split a part's performances come from."""

    name: str
    split: str
    pianos: tuple[Piano, ...]
    performances: int


PARTS = {
    "tuning": Part("tuning", "train", (Piano(FLUIDR3, 0), Piano(MUSESCORE, 0)), 5),
    "held-out": Part("held-out", "test", (Piano(TIMGM, 0), Piano(TIMGM, 1)), 5),
}


@dataclass
class Clip:
    """One clip before the low-pass (``(T,)`` float64, 16-bit values) and what comes after."""

    part: str
    piano: str
    piece: str
    effect: str
    audio: np.ndarray

    @property
    def after(self) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
        """The effect of the medium, applied to the low-passed clip (identity if none)."""
        return AFTER.get(self.effect, lambda y, rng: y)


def missing_tools(effects: tuple[str, ...]) -> list[str]:
    """Programs the chosen effects need that are not on PATH."""
    need = ["fluidsynth"]
    if {"mp3", "chain"} & set(effects):
        need.append("lame")
    if "vorbis" in effects:
        need += ["oggenc", "oggdec"]
    return [tool for tool in need if shutil.which(tool) is None]


def _excerpt(data: bytes, seconds: float, variant: str) -> list[tuple[float, mido.Message]]:
    """``(time_s, message)`` of a performance from LEAD_IN to LEAD_IN + seconds, as played in
    ``variant``; the pedals' and notes' state at LEAD_IN is carried into the excerpt."""
    events, now = [], 0.0
    for message in mido.MidiFile(file=io.BytesIO(data)):
        now += message.time
        if now >= LEAD_IN + seconds:
            break
        if message.is_meta or message.type == "program_change":
            continue
        if message.type in ("note_on", "note_off"):
            if variant == "soft" and message.type == "note_on" and message.velocity > 0:
                velocity = max(1, round(message.velocity * SOFT_VELOCITY))
                message = message.copy(velocity=velocity)
            if variant == "low":
                note = message.note + LOW_SEMITONES
                while note < 21:
                    note += 12
                message = message.copy(note=note)
            if now < LEAD_IN:
                continue  # notes struck before the excerpt are not heard in it
        events.append((max(now - LEAD_IN, 0.0), message))
    return events


def _render(jobs: list[tuple[bytes, str]], piano: Piano, seconds: float, tmp: Path) -> list:
    """Render every ``(midi bytes, variant)`` excerpt with one FluidSynth call (a SoundFont is
    loaded once): excerpts sit SPACING apart in one MIDI file, then are cut apart."""
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000, time=0)])
    track += [mido.Message("program_change", channel=c, program=piano.program or 0) for c in
              range(16)]  # fmt: skip
    ticks, last, step = 480, 0, seconds + SPACING
    for k, (data, variant) in enumerate(jobs):
        events = _excerpt(data, seconds, variant)
        end = [(seconds, mido.Message("control_change", channel=c, control=cc, value=0))
               for c in range(16) for cc in (64, 66, 67, 123)]  # fmt: skip
        for t, message in events + end:
            tick = round(mido.second2tick(k * step + t, ticks, 500_000))
            track.append(message.copy(time=max(tick - last, 0)))
            last = max(tick, last)
    tick = round(mido.second2tick(len(jobs) * step, ticks, 500_000))
    track.append(mido.MetaMessage("end_of_track", time=tick - last))
    midi = tmp / "all.mid"
    mido.MidiFile(type=0, ticks_per_beat=ticks, tracks=[track]).save(midi)
    render_midi(midi, piano.soundfont, RATE, tmp / "all.wav")
    raw, _ = sf.read(tmp / "all.wav", dtype="float64", always_2d=True)
    mono, n = raw.mean(axis=1), int(seconds * RATE)
    out = []
    for k in range(len(jobs)):
        start = int(round(k * step * RATE))
        clip = np.zeros(n)
        piece = mono[start : start + n]
        clip[: len(piece)] = piece
        out.append(clip)
    return out


def _performances(part: Part) -> list[tuple[str, bytes]]:
    """``(short name, MIDI bytes)`` of the part's performances: the first of the split's,
    shuffled with a fixed seed, that have notes in their first seconds."""
    csv = shipped_subset()
    rows = pd.read_csv(csv)
    rows = rows[rows["split"] == part.split].sort_values("midi_filename")
    order = np.random.default_rng(zlib.crc32(part.split.encode())).permutation(len(rows))
    chosen = []
    for index in order[: part.performances]:
        row = rows.iloc[index]
        name = f"{row['canonical_composer'].split()[-1]}:{row['canonical_title'][:24]}"
        chosen.append((name, (csv.parent / row["midi_filename"]).read_bytes()))
    return chosen


def build_clips(part: Part, effects: tuple[str, ...], seconds: float, pianos: int) -> list[Clip]:
    """Every (piano, effect) clip of ``part``, before the low-pass.

    ``pianos`` keeps the part's first pianos only (a quick run). Renders are scaled to a peak
    of -1 dBFS (soft and low ones to -10 dBFS, as quiet recordings) and rounded to 16 bit.
    """
    performances = _performances(part)
    clips = []
    with tempfile.TemporaryDirectory(prefix="tdpr-bw-") as tmp:
        for p, piano in enumerate(part.pianos[:pianos]):
            deal = [(effect, performances[(p + e) % len(performances)]) for e, effect in
                    enumerate(effects)]  # fmt: skip
            jobs = [(data, VARIANTS.get(effect, "plain")) for effect, (_, data) in deal]
            audio = _render(jobs, piano, seconds, Path(tmp))
            for (effect, (name, _)), x in zip(deal, audio, strict=True):
                rng = np.random.default_rng(zlib.crc32(f"{part.name}{p}{effect}".encode()))
                if effect in ("reverb", "chain"):
                    x = reverb(x, rng)
                if effect in ("hiss", "chain"):
                    x = hiss(x, rng)
                x = x * 10 ** (-PEAK_DB.get(effect, 1.0) / 20) / max(np.max(np.abs(x)), 1e-9)
                audio_16 = quantize_pcm16(x).astype(np.float64)
                clips.append(Clip(part.name, str(piano), name, effect, audio_16))
    return clips


def reverb(x: np.ndarray, rng: np.random.Generator, rt60: tuple[float, float] = (2.2, 0.8)):
    """A distant microphone in a hall: ``x`` convolved with decaying noise whose reverberation
    time falls from ``rt60[0]`` s at low frequencies to ``rt60[1]`` s at Nyquist (air
    absorbs the highs), direct sound 6 dB below the reverberant energy."""
    n_fft, hop, length = 512, 128, int(2.5 * RATE)
    frames = length // hop + 1
    t = np.arange(frames) * hop / RATE
    f = np.linspace(0, 1, n_fft // 2 + 1)
    rt = rt60[0] + (rt60[1] - rt60[0]) * f  # seconds, per bin
    decay = np.exp(-6.9 * t[None, :] / rt[:, None])
    noise = rng.standard_normal((n_fft // 2 + 1, frames)) + 1j * rng.standard_normal(
        (n_fft // 2 + 1, frames)
    )
    _, tail = signal.istft(noise * decay, RATE, nperseg=n_fft, noverlap=n_fft - hop)
    tail = np.pad(tail, (0, max(0, length - len(tail))))[:length]
    tail[: int(0.01 * RATE)] = 0  # 10 ms before the first reflections
    tail *= 10 ** (6 / 20) / np.sqrt(np.sum(tail**2))
    ir = np.zeros(length)
    ir[0] = 1.0
    y = signal.fftconvolve(x, ir + tail)[: len(x)]
    return y * np.sqrt(np.mean(x**2) / max(np.mean(y**2), 1e-20))


def _level(y: np.ndarray, below_db: float) -> float:
    return float(np.sqrt(np.mean(y**2))) * 10 ** (-below_db / 20)


def hiss(y: np.ndarray, rng: np.random.Generator, below_db: float = HISS_DB) -> np.ndarray:
    """Tape hiss: noise rising 6 dB from the lows to the highs, ``below_db`` under the RMS."""
    noise = signal.lfilter([1.0, -0.5], [1.0], rng.standard_normal(len(y)))
    return y + noise * _level(y, below_db) / noise.std()


def surface(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A disc's surface: crackle (about 40 clicks a second, heavy-tailed sizes), rumble below
    40 Hz and hiss; the crackle's peaks reach about 30 dB below the music's."""
    n = len(y)
    clicks = np.zeros(n)
    at = rng.integers(0, n, int(40 * n / RATE))
    clicks[at] = rng.standard_t(2, len(at))
    click = np.exp(-np.arange(24) / 4.0) * rng.standard_normal(24)
    crackle = signal.fftconvolve(clicks, click)[:n]
    crackle *= 10 ** (-30 / 20) * np.max(np.abs(y)) / max(np.max(np.abs(crackle)), 1e-12)
    rumble = signal.sosfilt(signal.butter(2, 40, fs=RATE, output="sos"), rng.standard_normal(n))
    rumble *= _level(y, 35.0) / rumble.std()
    return hiss(y + crackle + rumble, rng, SURFACE_HISS_DB)


def _align(decoded: np.ndarray, original: np.ndarray) -> np.ndarray:
    """``decoded`` shifted by the codec's delay (found by cross-correlation) to ``original``'s
    length, so the reference of the LSD lines up with it."""
    n = len(original)
    corr = signal.fftconvolve(decoded[: n + 4000], original[::-1])
    lag = int(np.argmax(corr[n - 1 : n - 1 + 4000]))
    out = np.zeros(n)
    piece = decoded[lag : lag + n]
    out[: len(piece)] = piece
    return out


def _codec(y: np.ndarray, encode: list[str], decode: list[str], suffix: str) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="tdpr-codec-") as tmp:
        src, coded, out = Path(tmp) / "in.wav", Path(tmp) / f"c{suffix}", Path(tmp) / "out.wav"
        sf.write(src, np.clip(y, -1, 1), RATE, subtype="PCM_16")
        subprocess.run([*encode, str(src), str(coded)], check=True, capture_output=True)
        subprocess.run([*decode, str(coded), str(out)], check=True, capture_output=True)
        decoded, _ = sf.read(out, dtype="float64", always_2d=True)
    return _align(decoded.mean(axis=1), y)


def mp3(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """MP3 at MP3_KBPS kbit/s, mono, 16 kHz (LAME)."""
    encode = ["lame", "--quiet", "-m", "m", "-b", str(MP3_KBPS), "--resample", "16"]
    return _codec(y, encode, ["lame", "--quiet", "--decode"], ".mp3")


def vorbis(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ogg Vorbis at quality VORBIS_QUALITY, mono, 16 kHz (oggenc)."""
    encode = ["oggenc", "--quiet", "-q", str(VORBIS_QUALITY), "-o"]
    with tempfile.TemporaryDirectory(prefix="tdpr-codec-") as tmp:
        src, coded, out = Path(tmp) / "in.wav", Path(tmp) / "c.ogg", Path(tmp) / "out.wav"
        sf.write(src, np.clip(y, -1, 1), RATE, subtype="PCM_16")
        subprocess.run([*encode, str(coded), str(src)], check=True, capture_output=True)
        subprocess.run(["oggdec", "--quiet", "-o", str(out), str(coded)], check=True,
                       capture_output=True)  # fmt: skip
        decoded, _ = sf.read(out, dtype="float64", always_2d=True)
    return _align(decoded.mean(axis=1), y)


AFTER = {"surface": surface, "mp3": mp3, "vorbis": vorbis, "chain": mp3}
