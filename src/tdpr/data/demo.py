"""Embedded demo data: a small MAESTRO-shaped dataset rendered from the music21 corpus.

Ten solo-piano pieces of the corpus bundled with music21 are played (repeats expanded, one
performance tempo, seeded phrase-level dynamics) through a sampled piano SoundFont with the
FluidSynth command line, and stored like MAESTRO v3: ``maestro-v3.0.0.csv``/``.json`` at the root
and ``<year>/<name>.wav`` (44.1 kHz stereo 16-bit PCM) beside the ``.midi`` that was rendered.
Splits are by piece and by composer. Output is byte-identical for a given seed, SoundFont and
FluidSynth build: FluidSynth renders to float without randomness (its chorus is off), and the
16-bit quantisation, with seeded TPDF dither, happens here.
"""

from __future__ import annotations

import concurrent.futures
import functools
import glob
import json
import logging
import os
import shutil
import subprocess
import tempfile
import zlib
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from music21 import bar, corpus, dynamics, meter, midi, repeat, stream, tempo, volume

from tdpr.audio import write_pcm16
from tdpr.data.maestro import COLUMNS, METADATA_NAME, SPLITS
from tdpr.fsio import write_bytes_atomic, write_text_atomic

logger = logging.getLogger(__name__)

APT_COMMAND = "sudo apt-get install --no-install-recommends fluidsynth fluid-soundfont-gm"
CONDA_COMMAND = "conda install -c conda-forge fluidsynth"
INSTALL_HINT = (
    "The demo data needs FluidSynth and a piano SoundFont. Install them with\n"
    f"    {APT_COMMAND}\n"
    f"on Debian/Ubuntu, or with\n    {CONDA_COMMAND}\n"
    "in a conda environment, then put a General MIDI SoundFont such as FluidR3_GM.sf2 in "
    "$CONDA_PREFIX/share/soundfonts/ (or set data.demo.soundfont to its path)."
)
SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/*.sf2",
    "/usr/local/share/soundfonts/*.sf2",
    "/opt/homebrew/share/soundfonts/*.sf2",
    "$CONDA_PREFIX/share/soundfonts/*.sf2",
    "~/.local/share/soundfonts/*.sf2",
)
#: Master gain of FluidSynth: with FluidR3_GM the loudest demo piece peaks near -3 dBFS.
GAIN = 0.8
#: Reverb of a small hall, spelled out so a change of FluidSynth's defaults changes nothing.
SYNTH_SETTINGS = (
    "synth.reverb.room-size=0.4",
    "synth.reverb.damp=0.3",
    "synth.reverb.width=0.8",
    "synth.reverb.level=0.4",
)
RELEASE_SECONDS = 2.0  # after the last note-off: the piano's release and the reverb tail
PEAK_LIMIT = 10 ** (-1 / 20)  # -1 dBFS: louder renders are scaled down to it
FADE_SECONDS = 0.5
LEVELS = ("pppp", "ppp", "pp", "p", "mp", "mf", "f", "ff", "fff")  # not accents such as sf


class DemoDataError(RuntimeError):
    """The demo data cannot be made: a tool or SoundFont is missing, or a render failed."""


@dataclass(frozen=True)
class DemoPiece:
    """One demo recording: a corpus score and the MAESTRO metadata it is filed under.

    Attributes:
        corpus_path: music21 corpus path, e.g. ``"joplin/maple_leaf_rag"``.
        composer, title: ``canonical_composer`` and ``canonical_title``.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        year: the ``<year>`` directory (one of MAESTRO's recording years).
        max_seconds: the score is cut at the last bar line before this time.
        qpm: performance tempo in quarter notes per minute; ``None`` keeps the score's first mark.
    """

    corpus_path: str
    composer: str
    title: str
    split: str
    year: int
    max_seconds: float
    qpm: float | None = None

    @property
    def stem(self) -> str:
        """File name without extension, unique per piece."""
        return "DEMO--" + self.corpus_path.replace("/", "_")


_P = DemoPiece
# fmt: off
DEMO_PIECES = (
    _P("bach/bwv846", "Johann Sebastian Bach", "Prelude in C Major, BWV 846", "train", 2004, 120,
       70),
    _P("schumann_clara/polonaise_op1n1", "Clara Schumann", "4 Polonaises, Op. 1: No. 1", "train",
       2006, 75, 96),
    _P("schumann_clara/polonaise_op1n2", "Clara Schumann", "4 Polonaises, Op. 1: No. 2", "train",
       2008, 60, 96),
    _P("schumann_clara/polonaise_op1n3", "Clara Schumann", "4 Polonaises, Op. 1: No. 3", "train",
       2009, 75, 100),
    _P("schumann_clara/polonaise_op1n4", "Clara Schumann", "4 Polonaises, Op. 1: No. 4", "train",
       2011, 75, 104),
    _P("schoenberg/opus19/movement2", "Arnold Schoenberg", "6 Little Piano Pieces, Op. 19: No. 2",
       "train", 2013, 90, 44),
    _P("schoenberg/opus19/movement6", "Arnold Schoenberg", "6 Little Piano Pieces, Op. 19: No. 6",
       "train", 2014, 90, 32),
    _P("joplin/maple_leaf_rag", "Scott Joplin", "Maple Leaf Rag", "validation", 2015, 100, 92),
    _P("chopin/mazurka06-2", "Frédéric Chopin", "Mazurka in C-sharp Minor, Op. 6, No. 2", "test",
       2017, 100, 138),
    _P("cpebach/h186", "Carl Philipp Emanuel Bach",
       "Sonata in A Major, H. 186, Wq. 55/4: II. Poco adagio", "test", 2018, 100, 60),
)
# fmt: on


def select_pieces(
    names: Sequence[str] | None = None, max_seconds: float | None = None
) -> tuple[DemoPiece, ...]:
    """``DEMO_PIECES`` restricted to ``names`` (corpus paths), each capped at ``max_seconds``."""
    known = {p.corpus_path: p for p in DEMO_PIECES}
    unknown = sorted(set(names or ()) - set(known))
    if unknown:
        raise DemoDataError(f"unknown demo pieces {unknown}; known: {sorted(known)}")
    pieces = DEMO_PIECES if names is None else tuple(known[n] for n in names)
    if max_seconds is not None:
        pieces = tuple(replace(p, max_seconds=min(p.max_seconds, max_seconds)) for p in pieces)
    return pieces


def find_fluidsynth() -> str:
    """Path of the ``fluidsynth`` program on ``PATH``.

    Raises:
        DemoDataError: it is not installed; the message says how to install it.
    """
    found = shutil.which("fluidsynth")
    if found is None:
        raise DemoDataError(f"the FluidSynth program is not on PATH. {INSTALL_HINT}")
    return found


def fluidsynth_version() -> str:
    """The first line of ``fluidsynth --version``: recorded with what it rendered."""
    done = subprocess.run([find_fluidsynth(), "--version"], capture_output=True, text=True)
    return done.stdout.splitlines()[0].strip() if done.stdout.strip() else "fluidsynth (unknown)"


def find_soundfont(explicit: str | os.PathLike | None = None) -> Path:
    """The SoundFont to render with: ``explicit`` if given, else the first of :data:`SOUNDFONTS`.

    Raises:
        DemoDataError: ``explicit`` does not exist, or no SoundFont is found; the message says
            how to install one.
    """
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise DemoDataError(f"SoundFont {path} does not exist. {INSTALL_HINT}")
        return path
    for pattern in SOUNDFONTS:
        if "$CONDA_PREFIX" in pattern and not os.environ.get("CONDA_PREFIX"):
            continue
        hits = sorted(glob.glob(os.path.expanduser(os.path.expandvars(pattern))))
        if hits:
            return Path(hits[0])
    raise DemoDataError(f"no SoundFont in {', '.join(SOUNDFONTS)}. {INSTALL_HINT}")


def _load_score(piece: DemoPiece) -> tuple[stream.Score, float]:
    """The piece's score with repeats expanded, one tempo (returned too), cut at a bar line."""
    score = corpus.parse(piece.corpus_path)
    try:
        score = score.expandRepeats()
    except repeat.ExpanderException as err:  # music21 would fail again when writing MIDI
        logger.info("%s: repeats ignored (%s)", piece.corpus_path, err)
        for measure in score.recurse().getElementsByClass(stream.Measure):
            for side in ("leftBarline", "rightBarline"):
                if isinstance(getattr(measure, side), bar.Repeat):
                    setattr(measure, side, None)
    marks = list(score.recurse().getElementsByClass(tempo.TempoIndication))
    numbered = [m for m in marks if isinstance(m, tempo.MetronomeMark) and m.number]
    qpm = float(piece.qpm or (numbered[0].getQuarterBPM() if numbered else 120.0))
    for mark in marks:
        mark.activeSite.remove(mark)
    for part in score.parts:
        first = part.getElementsByClass(stream.Measure).first() or part
        first.insert(0, tempo.MetronomeMark(number=qpm))
    bars = score.parts[0].getElementsByClass(stream.Measure)
    limit = piece.max_seconds * qpm / 60
    cut = next((b.offset for b in bars if b.offset + b.barDuration.quarterLength > limit), None)
    for part in score.parts if cut else ():
        part.remove([b for b in part.getElementsByClass(stream.Measure) if b.offset >= cut])
    return score, qpm


def _humanise(score: stream.Score, rng: np.random.Generator) -> None:
    """Set every note's velocity: the notated dynamic, a level per 4-bar phrase drawn as a random
    walk, an arch within the phrase, metric accents, a softer lower staff, and jitter."""
    signature = score.recurse().getElementsByClass(meter.TimeSignature).first()
    bar_ql = float(signature.barDuration.quarterLength) if signature else 4.0
    phrase_ql = 4 * bar_ql
    steps = rng.choice([-6, 0, 6], int(score.highestTime // phrase_ql) + 1)
    phrase = np.clip(np.cumsum(steps), -12, 12)
    levels = score.flatten().getElementsByClass(dynamics.Dynamic)
    marks = [(float(d.offset), 20 + 100 * d.volumeScalar) for d in levels if d.value in LEVELS]
    for k, part in enumerate(score.parts):
        for note in part.flatten().notes:
            t = float(note.offset)
            i = bisect_right([m[0] for m in marks], t) - 1
            v = (marks[i][1] if i >= 0 else 70) + phrase[int(t // phrase_ql)] - 4 * k
            v += 5 * np.sin(np.pi * (t % phrase_ql) / phrase_ql) + rng.normal(0, 3)
            v += 6 if t % bar_ql == 0 else 2 if t % 1 == 0 else 0
            for target in (note, *getattr(note, "notes", ())):
                target.volume = volume.Volume(velocity=int(np.clip(round(v), 16, 118)))
                target.volume.velocityIsRelative = False


def performance_midi(piece: DemoPiece, rng: np.random.Generator) -> tuple[bytes, float]:
    """The MIDI file to render (piano on channel 1 only, release added) and its length in s."""
    score, qpm = _load_score(piece)
    _humanise(score, rng)
    mf = midi.translate.streamToMidiFile(score)
    end = 0
    for track in mf.tracks:
        for event in track.events:
            if isinstance(event.type, midi.ChannelVoiceMessages):
                event.channel = 1
            if event.type == midi.ChannelVoiceMessages.PROGRAM_CHANGE:
                event.data = 0
        if len(track.events) > 1 and track.events[-1].type == midi.MetaEvents.END_OF_TRACK:
            track.events[-2].time = round(RELEASE_SECONDS * qpm / 60 * mf.ticksPerQuarterNote)
        end = max(end, sum(e.time for e in track.events if isinstance(e, midi.DeltaTime)))
    return mf.writestr(), end / mf.ticksPerQuarterNote * 60 / qpm


def render_midi(midi_path: Path, soundfont: Path, sample_rate: int, out: Path) -> None:
    """Render a MIDI file to a float WAV ``out``: no shell, no MIDI input, chorus off, reverb on.

    Float output cannot clip or wrap; peak control and 16-bit rounding are done by the caller.
    """
    settings = [arg for s in SYNTH_SETTINGS for arg in ("-o", s)]
    cmd = [find_fluidsynth(), "-n", "-i", "-q", "-C", "0", "-R", "1", "-g", str(GAIN), *settings]
    cmd += ["-r", str(sample_rate), "-T", "wav", "-O", "float", "-F", str(out)]
    cmd += [str(soundfont), str(midi_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not out.is_file():
        raise DemoDataError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")


def master_render(
    raw: np.ndarray, n: int, rate: int, rng: np.random.Generator, name: str
) -> np.ndarray:
    """Cut ``raw`` ``(T, 2)`` to ``n`` samples, fade out, limit the peak and add TPDF dither."""
    audio = np.zeros((n, raw.shape[1]), dtype=np.float64)
    audio[: min(n, len(raw))] = raw[:n]
    fade = min(n, int(FADE_SECONDS * rate))
    audio[n - fade :] *= (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, fade)))[:, None]
    peak = float(np.max(np.abs(audio)))
    if peak > PEAK_LIMIT:
        logger.warning("%s peaks at %.1f dBFS; scaled to -1 dBFS", name, 20 * np.log10(peak))
        audio *= PEAK_LIMIT / peak
    elif peak < 0.01:
        logger.warning("%s peaks below -40 dBFS: a SoundFont without a piano?", name)
    # +-1 LSB TPDF dither, as when mastering to 16 bit; it also avoids digital silence.
    return audio + (rng.random(audio.shape) - rng.random(audio.shape)) / 32768


def render_piece(
    piece: DemoPiece,
    out_wav: str | os.PathLike,
    out_midi: str | os.PathLike,
    soundfont: str | os.PathLike,
    sample_rate: int = 44100,
    seed: int = 0,
) -> float:
    """Render one piece to a 16-bit stereo WAV and the MIDI file it was rendered from.

    Both files are written atomically. Velocities and dither depend only on ``seed`` and the
    piece, so the WAV is byte-identical across runs.

    Returns:
        The WAV's duration in seconds (the MIDI's length, release included).
    """
    rng = np.random.default_rng([seed, zlib.crc32(piece.corpus_path.encode())])
    Path(out_wav).parent.mkdir(parents=True, exist_ok=True)
    midi_bytes, seconds = performance_midi(piece, rng)
    write_bytes_atomic(out_midi, midi_bytes)
    with tempfile.TemporaryDirectory(prefix=".render-", dir=Path(out_wav).parent) as tmp:
        raw_path = Path(tmp) / "raw.wav"
        render_midi(Path(out_midi), Path(soundfont), sample_rate, raw_path)
        raw, _ = sf.read(raw_path, dtype="float64", always_2d=True)
    n = int(round(seconds * sample_rate))
    write_pcm16(out_wav, master_render(raw, n, sample_rate, rng, piece.stem), sample_rate)
    peak_db = 20 * np.log10(max(float(np.max(np.abs(raw))), 1e-12))
    logger.info("rendered %s: %.1f s, peak %.1f dBFS", piece.stem, n / sample_rate, peak_db)
    return n / sample_rate


def _row(piece: DemoPiece, duration: float) -> dict:
    rel = f"{piece.year}/{piece.stem}"
    values = (piece.composer, piece.title, piece.split, piece.year, f"{rel}.midi", f"{rel}.wav")
    return dict(zip(COLUMNS, (*values, duration), strict=True))


def _check_pieces(pieces: Sequence[DemoPiece]) -> None:
    """Refuse unknown splits, duplicate files and a piece filed under two splits."""
    split_of: dict[tuple[str, str], str] = {}
    for p in pieces:
        if p.split not in SPLITS:
            raise DemoDataError(f"{p.corpus_path}: split {p.split!r} is not one of {SPLITS}")
        if split_of.setdefault((p.composer, p.title), p.split) != p.split:
            raise DemoDataError(f"{p.title} by {p.composer} is in two splits")
    if len({p.stem for p in pieces}) != len(pieces):
        raise DemoDataError("the same corpus piece is listed twice")


def write_metadata(root: str | os.PathLike, frame: pd.DataFrame) -> None:
    """Write ``frame`` as MAESTRO's CSV and column-oriented JSON (``{column: {row: value}}``)."""
    root = Path(root)
    # tolist() gives Python ints and floats, which json writes like MAESTRO's own file.
    columns = {c: dict(zip(map(str, frame.index), frame[c].tolist(), strict=True)) for c in COLUMNS}
    text = json.dumps(columns, indent=4, ensure_ascii=False)
    write_text_atomic(root / METADATA_NAME.replace(".csv", ".json"), text)
    write_text_atomic(root / METADATA_NAME, frame.loc[:, list(COLUMNS)].to_csv(index=False))


def build_demo_dataset(
    root: str | os.PathLike,
    pieces: Sequence[DemoPiece] = DEMO_PIECES,
    soundfont: str | os.PathLike | None = None,
    sample_rate: int = 44100,
    seed: int = 0,
    jobs: int = 1,
) -> pd.DataFrame:
    """Render ``pieces`` into a MAESTRO-shaped tree at ``root`` and write its metadata.

    Args:
        root: dataset directory; receives ``maestro-v3.0.0.csv``/``.json`` and ``<year>/``.
        pieces: the recordings to make (see :func:`select_pieces`).
        soundfont: SoundFont path; ``None`` searches :data:`SOUNDFONTS`.
        sample_rate: rate of the recordings in Hz.
        seed: seed of the dynamics and the dither.
        jobs: pieces rendered in parallel processes.

    Returns:
        The metadata (columns :data:`tdpr.data.maestro.COLUMNS`), one row per piece, ordered
        by composer and title like MAESTRO's.
    """
    _check_pieces(pieces)
    find_fluidsynth()
    font = find_soundfont(soundfont)
    logger.info("rendering %d demo pieces with %s at %d Hz", len(pieces), font, sample_rate)
    root = Path(root)
    for p in pieces:
        (root / str(p.year)).mkdir(parents=True, exist_ok=True)
    wavs = [root / str(p.year) / f"{p.stem}.wav" for p in pieces]
    midis = [w.with_suffix(".midi") for w in wavs]
    render = functools.partial(render_piece, soundfont=font, sample_rate=sample_rate, seed=seed)
    if jobs > 1:
        with concurrent.futures.ProcessPoolExecutor(min(jobs, len(pieces))) as pool:
            durations = list(pool.map(render, pieces, wavs, midis))
    else:
        durations = list(map(render, pieces, wavs, midis))
    frame = pd.DataFrame([_row(p, d) for p, d in zip(pieces, durations, strict=True)])
    frame = frame.sort_values(["canonical_composer", "canonical_title"], ignore_index=True)
    write_metadata(root, frame)
    logger.info("demo data: %s", frame.groupby("split")["duration"].sum().round(1).to_dict())
    return frame
