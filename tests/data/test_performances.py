"""Renders of MAESTRO performance MIDI: selection, SoundFonts per split, shortened MIDI, output."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import mido
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from tdpr.data.maestro import COLUMNS, MaestroSource
from tdpr.data.performances import (
    RENDERS_NAME,
    Piano,
    RenderError,
    build_rendered_dataset,
    select,
    set_program,
    shorten_midi,
)

SUBSET = Path(__file__).resolve().parents[3] / "shared/data/maestro-v2.0.0-midi-subset"
FONTS = Path("/usr/share/sounds/sf2")


def performance(notes: list[tuple[float, int]], tempo: int = 400_000) -> bytes:
    """A two-track MIDI file (tempo map apart from the notes): ``(start s, pitch)`` notes of
    0.5 s, the sustain pedal down at 0 s."""
    tpb = 480
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo, time=0)])
    events = [(0.0, mido.Message("control_change", control=64, value=127))]
    for start, pitch in notes:
        events += [(start, mido.Message("note_on", note=pitch, velocity=80)),
                   (start + 0.5, mido.Message("note_off", note=pitch, velocity=0))]  # fmt: skip
    track, last = mido.MidiTrack(), 0
    for time_s, message in sorted(events, key=lambda e: e[0]):
        tick = round(mido.second2tick(time_s, tpb, tempo))
        track.append(message.copy(time=tick - last))
        last = tick
    out = io.BytesIO()
    mido.MidiFile(type=1, ticks_per_beat=tpb, tracks=[meta, track]).save(file=out)
    return out.getvalue()


def timed(data: bytes) -> list[tuple[float, str, int]]:
    now, out = 0.0, []
    for message in mido.MidiFile(file=io.BytesIO(data)):
        now += message.time
        if message.type in ("note_on", "note_off"):
            out.append((round(now, 3), message.type, message.note))
        elif message.type == "control_change":
            out.append((round(now, 3), f"cc{message.control}", message.value))
    return out


def test_shorten_midi_keeps_every_event_before_the_cut_at_its_time() -> None:
    data = performance([(0.0, 60), (1.0, 64), (2.2, 67), (4.0, 72)])
    short = shorten_midi(data, 2.5)
    events = timed(short)
    before = [e for e in timed(data) if e[0] < 2.5]
    assert events[: len(before)] == before  # tempo 400 000 folded into the times
    tail = events[len(before) :]
    assert {e[0] for e in tail} == {2.5}  # pedals up and notes released at the cut
    assert ("cc64", 0) in {(kind, value) for _, kind, value in tail}
    assert ("cc123", 0) in {(kind, value) for _, kind, value in tail}
    assert all(e[2] != 72 for e in events)  # the note after the cut is gone
    assert mido.MidiFile(file=io.BytesIO(short)).type == 0


def test_shorten_midi_names_a_file_that_is_not_midi() -> None:
    with pytest.raises(RenderError, match="not a readable MIDI file"):
        shorten_midi(b"RIFF....WAVEfmt ", 3.0)


def metadata(n_per_split: int = 4) -> pd.DataFrame:
    rows = []
    for split in ("train", "validation", "test"):
        for i in range(n_per_split):
            name = f"2018/{split}-{i}"
            rows.append(dict(zip(COLUMNS, ("C", f"{split} {i}", split, 2018, f"{name}.midi",
                                           f"{name}.wav", 60.0), strict=True)))  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture
def fonts(tmp_path: Path) -> dict[str, list[Path]]:
    paths = {name: tmp_path / f"{name}.sf2" for name in ("a", "b", "c")}
    for path in paths.values():
        path.write_bytes(b"sfbk")
    return {"train": [paths["a"], paths["b"]], "validation": [paths["a"]], "test": [paths["c"]]}


def test_select_takes_a_seeded_share_of_each_split_and_deals_the_soundfonts(fonts) -> None:
    chosen = select(metadata(), {"train": 3, "validation": 1}, fonts, seed=1)
    by_split = {s: [p for p in chosen if p.row["split"] == s] for s in ("train", "validation")}
    assert [len(by_split["train"]), len(by_split["validation"])] == [3, 1]
    assert sum(p.row["split"] == "test" for p in chosen) == 4  # no count: the whole split
    assert [p.soundfont.name for p in by_split["train"]] == ["a.sf2", "b.sf2", "a.sf2"]
    assert {p.soundfont.name for p in chosen if p.row["split"] == "test"} == {"c.sf2"}
    again = select(metadata(), {"train": 3, "validation": 1}, fonts, seed=1)
    assert [p.midi for p in again] == [p.midi for p in chosen]
    picks = [{p.midi for p in select(metadata(), {"train": 2}, fonts, seed=seed)
              if p.row["split"] == "train"} for seed in range(4)]  # fmt: skip
    assert len({frozenset(p) for p in picks}) > 1  # the seed picks


def test_select_refuses_a_test_piano_heard_in_training(fonts) -> None:
    fonts["test"] = [fonts["train"][1]]
    with pytest.raises(RenderError, match="pianos no training clip used"):
        select(metadata(), {}, fonts)
    fonts["test"] = [{"path": str(fonts["train"][1]), "program": 0}]  # MAESTRO's own program
    with pytest.raises(RenderError, match=r"\['b.sf2 program 0'\] is given to both"):
        select(metadata(), {}, fonts)


def test_another_program_of_a_training_soundfont_is_another_piano(fonts) -> None:
    fonts["test"] = [{"path": str(fonts["train"][1]), "program": 1}]
    chosen = select(metadata(), {}, fonts)
    assert {p.piano for p in chosen if p.row["split"] == "test"} == {Piano(fonts["train"][1], 1)}
    for bad in ({"path": "x.sf2", "program": 128}, {"program": 1}, {"path": "x", "bank": 0}):
        with pytest.raises(RenderError, match="program|a piano is"):
            Piano.parse(bad)


def test_set_program_makes_every_channel_play_it() -> None:
    data = performance([(0.0, 60), (1.0, 64)])
    programs = [m.program for m in mido.MidiFile(file=io.BytesIO(set_program(data, 1)))
                if m.type == "program_change"]  # fmt: skip
    assert len(programs) == 16 and set(programs) == {1}
    assert timed(set_program(data, 1)) == timed(data)  # the notes untouched


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.pop("validation"), r"no SoundFont given for split\(s\) \['validation'\]"),
        (lambda f: f["test"].append(Path("/nowhere/x.sf2")), "x.sf2 .split test. does not exist"),
    ],
)
def test_select_names_what_is_missing(fonts, change, message) -> None:
    change(fonts)
    with pytest.raises(RenderError, match=message):
        select(metadata(), {}, fonts)


def test_select_refuses_more_performances_than_a_split_has(fonts) -> None:
    with pytest.raises(RenderError, match="5 test performances asked; the source has 4"):
        select(metadata(), {"test": 5}, fonts)


needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or not (FONTS / "FluidR3_GM.sf2").is_file()
    or not (FONTS / "TimGM6mb.sf2").is_file(),
    reason="needs fluidsynth, fluid-soundfont-gm and timgm6mb-soundfont",
)  # fmt: skip


@needs_fluidsynth
def test_a_rendered_subset_is_a_maestro_tree_with_its_provenance(tmp_path: Path) -> None:
    fonts = {"train": [FONTS / "FluidR3_GM.sf2"], "validation": [FONTS / "FluidR3_GM.sf2"],
             "test": [{"path": str(FONTS / "TimGM6mb.sf2"), "program": 1}]}  # fmt: skip
    counts = {"train": 1, "validation": 1, "test": 1}
    source = SUBSET / "maestro-v2.0.0-subset.csv"
    frame = build_rendered_dataset(source, tmp_path / "a", fonts, counts, max_seconds=3.0, jobs=2)
    assert sorted(frame["split"]) == ["test", "train", "validation"]
    assert (frame["duration"] == 3.0).all()
    with MaestroSource(tmp_path / "a") as rendered:
        meta = rendered.metadata()
        for row in meta.itertuples():
            with rendered.open(row.audio_filename) as stream:
                audio, rate = sf.read(stream)
            assert (rate, audio.shape) == (44100, (3 * 44100, 2))
            assert 0.01 < np.abs(audio).max() < 1.0  # a piano was heard, nothing clipped
            official = (SUBSET / row.midi_filename).read_bytes()
            with rendered.open(row.midi_filename) as stream:
                assert stream.read() == official  # the MIDI kept beside its render is the release's
    renders = pd.read_csv(tmp_path / "a" / RENDERS_NAME, comment="#")
    fonts_used = {s: (f, p) for s, f, p in renders[["split", "soundfont", "program"]].values}
    assert fonts_used == {"train": ("FluidR3_GM.sf2", 0), "validation": ("FluidR3_GM.sf2", 0),
                          "test": ("TimGM6mb.sf2", 1)}  # fmt: skip
    assert (tmp_path / "a" / RENDERS_NAME).read_text().startswith("# FluidSynth")
    build_rendered_dataset(source, tmp_path / "b", fonts, counts, max_seconds=3.0)
    for row in meta.itertuples():  # seeded: the same bytes again
        first = (tmp_path / "a" / row.audio_filename).read_bytes()
        assert (tmp_path / "b" / row.audio_filename).read_bytes() == first


@needs_fluidsynth
def test_a_shortened_render_matches_the_whole_performance_up_to_the_cut(tmp_path: Path) -> None:
    from tdpr.data.demo import render_midi

    name = sorted(pd.read_csv(SUBSET / "maestro-v2.0.0-subset.csv")["midi_filename"])[0]
    data = (SUBSET / name).read_bytes()
    (tmp_path / "whole.midi").write_bytes(data)
    (tmp_path / "short.midi").write_bytes(shorten_midi(data, 6.0))
    for stem in ("whole", "short"):
        render_midi(
            tmp_path / f"{stem}.midi", FONTS / "FluidR3_GM.sf2", 16000, tmp_path / f"{stem}.wav"
        )
    whole, _ = sf.read(tmp_path / "whole.wav", frames=5 * 16000)
    short, _ = sf.read(tmp_path / "short.wav", frames=5 * 16000)
    assert np.abs(whole).max() > 0.01
    np.testing.assert_allclose(short, whole, atol=1e-6)
