"""Renders of real MAESTRO performance MIDI: a MAESTRO-shaped dataset made on a CPU.

MAESTRO's MIDI is what its Disklavier recorded while the audio was taken: real timing,
velocities and pedalling. Rendered through sampled pianos with FluidSynth it gives training and
test audio far closer to MAESTRO than scores played at one tempo, in minutes instead of a
101-GB download. The source is any MAESTRO-shaped MIDI collection: the official MIDI release
(``maestro-v3.0.0-midi.zip``, read in place), an unpacked copy, or the seeded subset of MAESTRO
v2.0.0 MIDI that ships in ``data/`` (:func:`shipped_subset`). Its metadata CSV keeps the official
splits.

Each split takes its own pianos (round robin over the performances, sorted by file name), so the
test split can be rendered with a piano no training clip used. A piano is a SoundFont, or a
SoundFont and a General MIDI program (:class:`Piano`): MAESTRO's files play program 0, and
another program of the same SoundFont (1, "Bright Acoustic Piano", say) is another instrument.
Output is stored like MAESTRO v3 (``maestro-v3.0.0.csv``/``.json``, ``<year>/<name>.wav`` at
44.1 kHz stereo 16-bit beside the ``.midi`` it was rendered from), plus ``renders.csv``: which
SoundFont (with its SHA-256) and program rendered each file, and with which FluidSynth. The same
selection, pianos, seed and FluidSynth build give the same bytes (FluidSynth renders without
randomness; the seeded dither is added here).
"""

from __future__ import annotations

import concurrent.futures
import io
import logging
import os
import tempfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pandas as pd
import soundfile as sf

from tdpr.audio import write_pcm16
from tdpr.data.demo import (
    RELEASE_SECONDS,
    find_fluidsynth,
    fluidsynth_version,
    master_render,
    render_midi,
    write_metadata,
)
from tdpr.data.download import sha256_file
from tdpr.data.maestro import COLUMNS, SPLITS, MaestroSource
from tdpr.fsio import write_bytes_atomic, write_text_atomic

logger = logging.getLogger(__name__)

RENDERS_NAME = "renders.csv"
#: The MIDI subset that ships with tdpr (see its SUBSET.md, README and LICENSE).
SHIPPED_SUBSET = "maestro_midi/maestro-v2.0.0-subset.csv"
RENDER_COLUMNS = (
    "midi_filename", "split", "soundfont", "program", "soundfont_sha256", "seconds"
)  # fmt: skip


class RenderError(ValueError):
    """The MIDI source, the selection or a SoundFont cannot be used as given."""


@dataclass(frozen=True)
class Piano:
    """A SoundFont and the General MIDI program played on it (None: the file's own, 0 for
    MAESTRO)."""

    soundfont: Path
    program: int | None = None

    @classmethod
    def parse(cls, spec: str | os.PathLike | Mapping[str, Any]) -> Piano:
        """A path, or ``{"path": ..., "program": n}`` (a config entry)."""
        if isinstance(spec, Mapping):
            unknown = set(spec) - {"path", "program"}
            if "path" not in spec or unknown:
                raise RenderError(f"a piano is a path or {{path, program}}, got {dict(spec)}")
            program = spec.get("program")
            if program is not None and not (isinstance(program, int) and 0 <= program <= 127):
                raise RenderError(f"program {program!r} of {spec['path']} is not in 0-127")
            return cls(Path(spec["path"]), program)
        return cls(Path(spec))

    @property
    def key(self) -> tuple[Path, int]:
        """What makes two pianos the same instrument (program None plays as 0)."""
        return self.soundfont.resolve(), self.program or 0

    def __str__(self) -> str:
        suffix = "" if self.program is None else f" program {self.program}"
        return f"{self.soundfont.name}{suffix}"


PianoSpec = str | os.PathLike | Mapping[str, Any]


def _read_midi(data: bytes) -> mido.MidiFile:
    try:
        return mido.MidiFile(file=io.BytesIO(data))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as err:
        raise RenderError(f"not a readable MIDI file: {err}") from err


def _midi_bytes(midi: mido.MidiFile) -> bytes:
    out = io.BytesIO()
    midi.save(file=out)
    return out.getvalue()


def set_program(data: bytes, program: int) -> bytes:
    """The MIDI file ``data`` with every channel playing ``program`` from its first tick."""
    midi = _read_midi(data)
    for track in midi.tracks:
        for i, message in enumerate(track):
            if message.type == "program_change":
                track[i] = message.copy(program=program)
    head = [mido.Message("program_change", channel=c, program=program, time=0) for c in range(16)]
    midi.tracks[0][:0] = head
    return _midi_bytes(midi)


@dataclass(frozen=True)
class Performance:
    """One performance to render: its metadata row and the piano it gets."""

    row: Mapping[str, object]
    piano: Piano

    @property
    def soundfont(self) -> Path:
        return self.piano.soundfont

    @property
    def midi(self) -> str:
        return str(self.row["midi_filename"])


#: Tempo of a shortened MIDI file: its events are re-timed in seconds, so one tempo serves.
_TEMPO = 500_000


def shorten_midi(data: bytes, seconds: float) -> bytes:
    """The performance in ``data`` (a MIDI file) up to ``seconds``, as a one-track MIDI file.

    Every event before ``seconds`` keeps its time (tempo changes are folded into the times);
    at ``seconds`` the pedals are lifted and every note is released, so the render ends in the
    piano's natural release instead of a cut. FluidSynth renders a whole file, so shortening
    it first is what makes a short excerpt of a ten-minute performance cheap.
    """
    source = _read_midi(data)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=_TEMPO, time=0)])
    ticks_per_beat, now, last_tick = source.ticks_per_beat, 0.0, 0

    def at(time_s: float) -> int:
        nonlocal last_tick
        tick = round(mido.second2tick(time_s, ticks_per_beat, _TEMPO))
        delta, last_tick = tick - last_tick, tick
        return max(delta, 0)

    for message in source:  # merged tracks, times in seconds
        now += message.time
        if now >= seconds:
            break
        if not message.is_meta:
            track.append(message.copy(time=at(now)))
    end = at(min(now, seconds))
    for channel in range(16):
        for control in (64, 66, 67, 123):  # sustain, sostenuto, soft pedal off; all notes off
            track.append(mido.Message("control_change", channel=channel, control=control, value=0,
                                      time=end))  # fmt: skip
            end = 0
    track.append(mido.MetaMessage("end_of_track", time=0))
    return _midi_bytes(mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat, tracks=[track]))


def shipped_subset() -> Path:
    """The metadata CSV of the MAESTRO v2.0.0 MIDI subset shipped with tdpr: 160 performances
    of the official release, byte for byte (120 train, 20 validation, 20 test; CC BY-NC-SA 4.0,
    Hawthorne et al., ICLR 2019; Google LLC)."""
    return Path(str(resources.files("tdpr.data").joinpath(SHIPPED_SUBSET)))


def select(
    metadata: pd.DataFrame,
    counts: Mapping[str, int | None],
    soundfonts: Mapping[str, Sequence[PianoSpec]],
    seed: int = 0,
) -> list[Performance]:
    """Choose ``counts[split]`` performances of each split and give each its piano.

    Within a split the performances are shuffled with ``seed`` (from their order by file name)
    and the first ``counts[split]`` kept (None keeps all); SoundFonts go round robin over them.

    Raises:
        RenderError: a split with no SoundFont, a SoundFont that does not exist, more
            performances asked than the split has, or a test SoundFont also used for training.
    """
    missing = [s for s in SPLITS if not soundfonts.get(s)]
    if missing:
        raise RenderError(f"no SoundFont given for split(s) {missing}")
    pianos = {split: [Piano.parse(spec) for spec in soundfonts[split]] for split in SPLITS}
    for split, chosen_pianos in pianos.items():
        for piano in chosen_pianos:
            if not piano.soundfont.is_file():
                raise RenderError(f"SoundFont {piano.soundfont} (split {split}) does not exist")
    heard = {p.key for p in pianos["train"]}
    shared = [str(p) for p in pianos["test"] if p.key in heard]
    if shared:
        raise RenderError(
            f"the test split must be rendered with pianos no training clip used; "
            f"{shared} is given to both"
        )
    chosen = []
    for split in SPLITS:
        rows = metadata[metadata["split"] == split].sort_values("midi_filename")
        order = np.random.default_rng([seed, zlib.crc32(split.encode())]).permutation(len(rows))
        count = counts.get(split)
        if count is not None and count > len(rows):
            raise RenderError(f"{count} {split} performances asked; the source has {len(rows)}")
        dealt = pianos[split]
        keep = sorted(order[: len(rows) if count is None else count])
        for i, index in enumerate(keep):
            chosen.append(Performance(rows.iloc[index].to_dict(), dealt[i % len(dealt)]))
    return chosen


def render_performance(
    performance: Performance,
    source: str | os.PathLike,
    root: str | os.PathLike,
    sample_rate: int = 44100,
    max_seconds: float | None = None,
    seed: int = 0,
) -> float:
    """Render one performance into ``root`` (WAV and MIDI, written atomically).

    The render is cut at ``max_seconds`` (the whole performance, release tail included, when
    None), faded out over its last 0.5 s, kept under -1 dBFS and dithered to 16 bit.

    Returns:
        The WAV's duration in seconds.
    """
    name = performance.midi
    wav = Path(root) / str(performance.row["audio_filename"])
    wav.parent.mkdir(parents=True, exist_ok=True)
    with MaestroSource(source) as src, src.open(name) as stream:
        midi_bytes = stream.read()
    midi_path = Path(root) / name
    write_bytes_atomic(midi_path, midi_bytes)  # the official file, as it came
    with tempfile.TemporaryDirectory(prefix=".render-", dir=wav.parent) as tmp:
        played, data = midi_path, midi_bytes
        if max_seconds is not None:
            data = shorten_midi(data, max_seconds + RELEASE_SECONDS)
        if performance.piano.program is not None:
            data = set_program(data, performance.piano.program)
        if data is not midi_bytes:
            played = Path(tmp) / "played.midi"
            played.write_bytes(data)
        raw_path = Path(tmp) / "raw.wav"
        render_midi(played, performance.soundfont, sample_rate, raw_path)
        raw, _ = sf.read(raw_path, dtype="float64", always_2d=True)
    n = len(raw) if max_seconds is None else min(len(raw), int(round(max_seconds * sample_rate)))
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    write_pcm16(wav, master_render(raw, n, sample_rate, rng, name), sample_rate)
    logger.info("rendered %s with %s: %.1f s", name, performance.piano, n / sample_rate)
    return n / sample_rate


def build_rendered_dataset(
    source: str | os.PathLike,
    root: str | os.PathLike,
    soundfonts: Mapping[str, Sequence[PianoSpec]],
    counts: Mapping[str, int | None] | None = None,
    max_seconds: float | None = None,
    sample_rate: int = 44100,
    seed: int = 0,
    jobs: int = 1,
) -> pd.DataFrame:
    """Render the selected performances of a MAESTRO-shaped MIDI source into ``root``.

    Args:
        source: the MIDI zip, its unpacked directory, or the metadata CSV of a MIDI folder.
        root: dataset directory; receives ``maestro-v3.0.0.csv``/``.json``, ``renders.csv``
            and ``<year>/``.
        soundfonts: ``{split: [pianos]}`` for train, validation and test; a piano is a
            SoundFont path or ``{"path": ..., "program": n}`` (:class:`Piano`).
        counts: performances per split (missing or None: all of them).
        max_seconds: cut each render at this length (None: whole performances).
        sample_rate: rate of the recordings in Hz.
        seed: seed of the selection and the dither.
        jobs: performances rendered in parallel processes.

    Returns:
        The metadata written (columns :data:`tdpr.data.maestro.COLUMNS`), durations as rendered.
    """
    find_fluidsynth()
    with MaestroSource(source) as src:
        metadata = src.metadata()
    chosen = select(metadata, counts or {}, soundfonts, seed)
    logger.info("rendering %d performances from %s at %d Hz", len(chosen), source, sample_rate)
    args = (source, root, sample_rate, max_seconds, seed)
    if jobs > 1:
        with concurrent.futures.ProcessPoolExecutor(min(jobs, len(chosen))) as pool:
            futures = [pool.submit(render_performance, p, *args) for p in chosen]
            durations = [f.result() for f in futures]
    else:
        durations = [render_performance(p, *args) for p in chosen]
    frame = pd.DataFrame([{**p.row, "duration": d} for p, d in zip(chosen, durations, strict=True)])
    frame = frame.loc[:, list(COLUMNS)].sort_values(["canonical_composer", "canonical_title"])
    fonts = {p.soundfont for p in chosen}
    digests = {font: sha256_file(font) for font in sorted(fonts)}
    renders = pd.DataFrame(
        [
            (
                p.midi,
                p.row["split"],
                p.soundfont.name,
                p.piano.program or 0,
                digests[p.soundfont],
                round(d, 3),
            )  # fmt: skip
            for p, d in zip(chosen, durations, strict=True)
        ],
        columns=list(RENDER_COLUMNS),
    )
    header = f"# {fluidsynth_version()}; seed {seed}; {sample_rate} Hz\n"
    write_text_atomic(Path(root) / RENDERS_NAME, header + renders.to_csv(index=False))
    write_metadata(root, frame.reset_index(drop=True))
    hours = frame.groupby("split")["duration"].sum().div(3600).round(2).to_dict()
    logger.info("rendered dataset (hours per split): %s", hours)
    return frame.reset_index(drop=True)
