"""Embedded demo data: a real FluidSynth render of three short excerpts, checked like MAESTRO."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import SHARED
from music21 import midi
from rendered import have_renderer
from scipy.signal import butter, sosfiltfilt

from tdpr.data import demo
from tdpr.data.demo import (
    APT_COMMAND,
    CONDA_COMMAND,
    DEMO_PIECES,
    DemoDataError,
    DemoPiece,
    build_demo_dataset,
    find_soundfont,
    performance_midi,
    render_piece,
    select_pieces,
)

REAL_CSV = SHARED / "data" / "maestro-v3.0.0" / "maestro-v3.0.0.csv"
MAESTRO_COLUMNS = [
    "canonical_composer",
    "canonical_title",
    "split",
    "year",
    "midi_filename",
    "audio_filename",
    "duration",
]
#: One piece per split, cut to about 10 s (plus the 2-s release).
EXCERPTS = ["schumann_clara/polonaise_op1n2", "joplin/maple_leaf_rag", "chopin/mazurka06-2"]
MAX_SECONDS = 10.0


needs_fluidsynth = pytest.mark.skipif(
    not have_renderer(),
    reason=f"FluidSynth or its SoundFont is not installed ({APT_COMMAND}); CI installs them",
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("demo") / "maestro-v3.0.0"
    frame = build_demo_dataset(root, select_pieces(EXCERPTS, MAX_SECONDS), seed=0, jobs=2)
    return root, frame


def test_demo_pieces_split_by_piece_and_composer() -> None:
    splits = pd.DataFrame(list(DEMO_PIECES)).groupby("split")
    assert splits.size().to_dict()["test"] >= 2
    assert 1 <= splits.size().to_dict()["validation"] <= 2
    composers = splits["composer"].agg(set)
    assert not composers["test"] & composers["validation"]
    assert not (composers["test"] | composers["validation"]) & composers["train"]
    assert len({(p.composer, p.title) for p in DEMO_PIECES}) == len(DEMO_PIECES)
    assert all(30 <= p.max_seconds <= 120 for p in DEMO_PIECES)


def test_select_pieces_refuses_unknown_names() -> None:
    with pytest.raises(DemoDataError, match="no/such_piece"):
        select_pieces(["joplin/maple_leaf_rag", "no/such_piece"])
    capped = select_pieces(["joplin/maple_leaf_rag"], max_seconds=5)
    assert [p.max_seconds for p in capped] == [5]


def test_missing_fluidsynth_names_the_install_command(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without fluidsynth
    with pytest.raises(DemoDataError) as err:
        build_demo_dataset(tmp_path / "out", select_pieces(EXCERPTS[:1], 1.0))
    assert APT_COMMAND in str(err.value) and CONDA_COMMAND in str(err.value)
    assert not (tmp_path / "out").exists()


def test_missing_soundfont_names_the_install_command(monkeypatch, tmp_path) -> None:
    with pytest.raises(DemoDataError, match="does not exist") as err:
        find_soundfont(tmp_path / "none.sf2")
    assert APT_COMMAND in str(err.value)
    monkeypatch.setattr(demo, "SOUNDFONTS", (str(tmp_path / "*.sf2"),))
    with pytest.raises(DemoDataError) as err:
        find_soundfont()
    assert APT_COMMAND in str(err.value) and "$CONDA_PREFIX/share/soundfonts" in str(err.value)


@needs_fluidsynth
@pytest.mark.slow
def test_layout_and_metadata_match_maestro(rendered) -> None:
    root, frame = rendered
    header = pd.read_csv(root / "maestro-v3.0.0.csv", nrows=0).columns.tolist()
    assert header == MAESTRO_COLUMNS
    if REAL_CSV.exists():
        assert header == pd.read_csv(REAL_CSV, nrows=0).columns.tolist()
    columns = json.loads((root / "maestro-v3.0.0.json").read_text(encoding="utf-8"))
    assert list(columns) == MAESTRO_COLUMNS
    from_json = pd.DataFrame({c: pd.Series(v) for c, v in columns.items()})
    from_json.index = from_json.index.astype(int)
    pd.testing.assert_frame_equal(from_json.sort_index(), pd.read_csv(root / "maestro-v3.0.0.csv"))
    assert sorted(frame["split"]) == ["test", "train", "validation"]
    for row in frame.itertuples():
        for name in (row.audio_filename, row.midi_filename):
            assert name.startswith(f"{row.year}/") and (root / name).is_file()
        assert Path(row.audio_filename).with_suffix(".midi").as_posix() == row.midi_filename


@needs_fluidsynth
@pytest.mark.slow
def test_recordings_are_44k1_stereo_pcm16_of_the_listed_duration(rendered) -> None:
    root, frame = rendered
    for row in frame.itertuples():
        info = sf.info(root / row.audio_filename)
        assert (info.format, info.subtype) == ("WAV", "PCM_16")
        assert (info.samplerate, info.channels) == (44100, 2)
        assert row.duration == pytest.approx(info.frames / info.samplerate, abs=1e-9)
        played = row.duration - demo.RELEASE_SECONDS  # cut at a bar line before MAX_SECONDS
        assert MAX_SECONDS - 3 < played <= MAX_SECONDS + 1e-6


def _midi_facts(data: bytes) -> tuple[set, set, list, float]:
    """(programs, channels, note-on velocities, time of the last note-off in s) of a MIDI file."""
    mf = midi.MidiFile()
    mf.readstr(data)
    events = [e for track in mf.tracks for e in track.events if not isinstance(e, midi.DeltaTime)]
    programs = {e.data for e in events if e.type == midi.ChannelVoiceMessages.PROGRAM_CHANGE}
    channels = {e.channel for e in events if isinstance(e.type, midi.ChannelVoiceMessages)}
    velocities = [e.velocity for e in events if e.isNoteOn() and e.velocity > 0]
    tempo = next(e for e in events if e.type == midi.MetaEvents.SET_TEMPO)
    last = 0
    for track in mf.tracks:
        tick = 0
        for e in track.events:
            if isinstance(e, midi.DeltaTime):
                tick += e.time
            elif e.isNoteOff() or (e.isNoteOn() and e.velocity == 0):
                last = max(last, tick)
    seconds = last / mf.ticksPerQuarterNote * int.from_bytes(tempo.data, "big") / 1e6
    return programs, channels, velocities, seconds


def test_midi_of_a_score_with_voices_is_one_piano_with_a_release() -> None:
    # Two choir parts, two vocal parts and a piano: every part must become the piano.
    piece = DemoPiece("beach/prayer_of_a_tired_child", "Amy Beach", "Prayer", "train", 2004, 8, 80)
    data, seconds = performance_midi(piece, np.random.default_rng(0))
    programs, channels, _, last_off = _midi_facts(data)
    assert programs == {0} and channels == {1}
    assert seconds == pytest.approx(last_off + demo.RELEASE_SECONDS, abs=1e-3)
    assert last_off <= 8.0 + 1e-6


@needs_fluidsynth
@pytest.mark.slow
def test_midi_is_one_piano_with_varied_dynamics_and_a_release(rendered) -> None:
    root, frame = rendered
    for row in frame.itertuples():
        programs, channels, velocities, last_off = _midi_facts(
            (root / row.midi_filename).read_bytes()
        )
        assert programs == {0} and channels == {1}
        assert len(set(velocities)) >= 10 and np.std(velocities) > 3
        assert row.duration == pytest.approx(last_off + demo.RELEASE_SECONDS, abs=1e-3)


def _high_band(mono: np.ndarray, rate: int) -> tuple[float, float]:
    """(fraction of the energy above 4 kHz, level of the 4-8 kHz band in dBFS)."""
    power = np.abs(np.fft.rfft(mono)) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1 / rate)
    band = power[(freqs >= 4000) & (freqs < 8000)].sum() * 2 / len(mono) ** 2  # Parseval
    return power[freqs >= 4000].sum() / power.sum(), 10 * np.log10(band)


@needs_fluidsynth
@pytest.mark.slow
def test_recordings_have_piano_energy_above_4khz(rendered) -> None:
    """The band the models must restore (4-8 kHz at the 16-kHz working rate) is really there.

    16-bit quantisation noise in the 4-8 kHz band lies at -108.5 dBFS. Measured on these
    excerpts: 0.5-1.5 % of the energy lies above 4 kHz and the band sits 52-63 dB above that
    floor (44-65 dB for the full demo pieces). The same audio low-passed at 3.5 kHz (10th-order
    Butterworth) keeps about 1e-5 of its energy above 4 kHz and 19-31 dB over the floor, so
    the thresholds below (1e-3 and 40 dB) tell piano from a band-limited render.
    """
    root, frame = rendered
    floor_db = 10 * np.log10(2.0**-30 / 12 * 4000 / 22050)
    lowpass = butter(10, 3500, fs=44100, output="sos")
    for name in frame["audio_filename"]:
        audio, rate = sf.read(root / name, dtype="float64")
        fraction, band_db = _high_band(audio.mean(axis=1), rate)
        assert fraction > 1e-3 and band_db > floor_db + 40
        dull = np.round(sosfiltfilt(lowpass, audio.mean(axis=1)) * 32768) / 32768
        fraction, band_db = _high_band(dull, rate)
        assert fraction < 1e-3 and band_db < floor_db + 40


@needs_fluidsynth
@pytest.mark.slow
def test_rerender_is_byte_identical_and_seeded(rendered, tmp_path) -> None:
    root, frame = rendered
    piece = select_pieces(EXCERPTS[2:], MAX_SECONDS)[0]
    row = frame.set_index("canonical_title").loc[piece.title]
    font = find_soundfont()
    render_piece(piece, tmp_path / "a.wav", tmp_path / "a.midi", font, seed=0)
    assert (tmp_path / "a.wav").read_bytes() == (root / row.audio_filename).read_bytes()
    assert (tmp_path / "a.midi").read_bytes() == (root / row.midi_filename).read_bytes()
    render_piece(piece, tmp_path / "b.wav", tmp_path / "b.midi", font, seed=1)
    assert (tmp_path / "b.midi").read_bytes() != (tmp_path / "a.midi").read_bytes()


@needs_fluidsynth
@pytest.mark.slow
def test_a_hot_render_is_scaled_below_full_scale(monkeypatch, tmp_path, caplog) -> None:
    monkeypatch.setattr(demo, "GAIN", 8.0)  # 20 dB hotter: the float render exceeds 0 dBFS
    piece = select_pieces(EXCERPTS[1:2], 4.0)[0]
    with caplog.at_level(logging.WARNING, logger="tdpr.data.demo"):
        render_piece(piece, tmp_path / "hot.wav", tmp_path / "hot.midi", find_soundfont())
    assert "scaled to -1 dBFS" in caplog.text
    audio, _ = sf.read(tmp_path / "hot.wav")
    assert 0.85 < np.max(np.abs(audio)) < 0.9
