"""Listening-test kit: piece choice, excerpts, loudness, webMUSHRA configs, ratings and Figs. 2-3.

Every rating in this file is synthetic, written here only to exercise the reading and plotting
code paths; none is a result.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pyloudnorm as pyln
import pytest
import soundfile as sf
import yaml

from tdpr.audio import write_pcm16
from tdpr.report.listening import (
    AB_GAP_S,
    PLAYBACK_RATE,
    choose_pieces,
    export_listening_test,
    match_loudness,
    referenced_files,
)
from tdpr.report.ratings import plot_ab_preference, plot_mos, read_ratings
from tdpr.report.webmushra import dump_yaml

RATE = 16_000
COMPOSERS = ["Bach", "Beethoven", "Chopin", "Debussy", "Haydn", "Liszt", "Mozart", "Schubert"]
SYSTEMS = ["Input", "Ground truth", "SEANet", "SEANet+TD-PR", "SEANet+GT-phase"]
SYSTEMS += ["Demucs", "Demucs+TD-PR", "Noise fill"]
TARGET = -23.0


def _clips() -> pd.DataFrame:
    """14 recordings of 8 composers, 2 clips each."""
    rows = [
        {"clip_id": f"r{i:02d}_{k}", "path": f"r{i:02d}_{k}.wav", "composer": COMPOSERS[i % 8],
         "title": f"Piece {i}", "source_file": f"2018/r{i:02d}.wav"}
        for i in range(14) for k in range(2)
    ]  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture
def clips() -> pd.DataFrame:
    return _clips()


def test_choose_pieces_takes_different_composers_deterministically(clips, tmp_path):
    pieces = choose_pieces(clips, n=8, seed=3)
    assert sorted(pieces["composer"]) == COMPOSERS  # one per composer while they last
    assert pieces["practice"].tolist() == [True] + [False] * 7
    assert pieces["source_file"].is_unique
    eleven = choose_pieces(clips, n=11, seed=3)
    assert eleven["composer"].iloc[:8].is_unique and eleven["source_file"].is_unique
    clips.sample(frac=1.0, random_state=0).to_csv(tmp_path / "clips.csv", index=False)
    again = choose_pieces(tmp_path / "clips.csv", n=11, seed=3)  # other row order, from a file
    pd.testing.assert_frame_equal(again, eleven)
    assert not choose_pieces(clips, n=11, seed=4).equals(eleven)
    with pytest.raises(ValueError, match="15 pieces"):
        choose_pieces(clips, n=15)


def _write_system(folder: Path, clip_ids, seed: int) -> Path:
    """7-s clips of a tremolo tone plus noise, at a different level per clip and system."""
    rng = np.random.default_rng(seed)
    t = np.arange(7 * RATE) / RATE
    records = []
    for clip_id in clip_ids:
        tone = np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
        audio = (0.3 * tone + 0.05 * rng.standard_normal(t.size)) * rng.uniform(0.1, 1.0)
        write_pcm16(folder / f"{clip_id}.wav", audio, RATE)
        records.append((clip_id, f"{clip_id}.wav"))
    pd.DataFrame(records, columns=["clip_id", "path"]).to_csv(folder / "manifest.csv")
    return folder / "manifest.csv"


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """The kit exported once for the tests that only read it (an export takes about 1.5 s)."""
    tmp_path = tmp_path_factory.mktemp("listening")
    pieces = choose_pieces(_clips(), n=11, seed=0)
    manifests = {
        system: _write_system(tmp_path / f"sys{i}", pieces["clip_id"], seed=i)
        for i, system in enumerate(SYSTEMS)
    }
    out = tmp_path / "kit"
    excerpts = export_listening_test(
        pieces,
        manifests,
        out,
        ["SEANet", "Demucs"],
        offset_s=1.5,
        target_lufs=TARGET,
        baselines=["noisefill"],
    )
    return out, pieces, excerpts, manifests


def test_excerpts_are_five_seconds_48k_stereo_16_bit_and_loudness_matched(kit):
    out, pieces, excerpts, _ = kit
    pairs = excerpts["system"].str.startswith("AB:")
    assert len(excerpts) == len(pieces) * (len(SYSTEMS) + 1) and pairs.sum() == len(pieces)
    meter = pyln.Meter(PLAYBACK_RATE)
    for rel, is_pair in zip(excerpts["path"], pairs, strict=True):
        info = sf.info(out / rel)
        frames = (10 + AB_GAP_S) * PLAYBACK_RATE if is_pair else 5 * PLAYBACK_RATE
        assert (info.frames, info.samplerate, info.channels) == (frames, PLAYBACK_RATE, 2)
        assert info.subtype == "PCM_16"
        audio, _ = sf.read(out / rel)
        np.testing.assert_array_equal(audio[:, 0], audio[:, 1])  # both ears hear the excerpt
        assert abs(meter.integrated_loudness(audio) - TARGET) < 0.5
        assert np.max(np.abs(audio)) < 10 ** (-1 / 20)
    assert (excerpts["attenuation_db"] == 0).all()


def test_ab_pair_plays_the_two_versions_in_the_order_its_key_names(kit):
    out, pieces, excerpts, _ = kit
    paths = excerpts.set_index(["piece_id", "system"])["path"]
    ab = yaml.safe_load((out / "configs/tdpr_ab.yaml").read_text(encoding="utf-8"))
    trials = [ab["pages"][2], *ab["pages"][3][1:]]
    orders = []
    for page, piece in zip(trials, pieces["piece_id"], strict=True):
        ((key, rel),) = page["stimuli"].items()
        first, second = key.split("_")
        orders.append(first)
        assert [r["value"] for r in page["response"]] == [first, second]  # answer = condition
        systems = {"tdcnn": "SEANet", "gtphase": "SEANet+GT-phase"}
        pair, _ = sf.read(out / rel)
        a, _ = sf.read(out / paths[(piece, systems[first])])
        b, _ = sf.read(out / paths[(piece, systems[second])])
        np.testing.assert_array_equal(pair[: len(a)], a)
        np.testing.assert_array_equal(pair[-len(b) :], b)
        assert not pair[len(a) : -len(b)].any()  # the silence between A and B
    assert sorted(orders) == ["gtphase"] * 5 + ["tdcnn"] * 6  # counterbalanced over 11 pieces


def test_webmushra_configs_parse_and_reference_existing_files(kit):
    out, pieces, _, _ = kit
    configs = sorted((out / "configs").glob("*.yaml"))
    assert [c.name for c in configs] == [
        "tdpr_ab.yaml", "tdpr_mos_demucs.yaml", "tdpr_mos_seanet.yaml",
    ]  # fmt: skip
    for path in configs:
        text = path.read_text(encoding="utf-8")
        assert "- - " not in text  # webMUSHRA's parser reads that as a string
        config = yaml.safe_load(text)
        files = referenced_files(config)
        assert files and all((out / f).is_file() for f in files)
        check, practice, block = config["pages"][1:4]
        assert check["id"] == "check_channels" and check["type"] == "likert_single_stimulus"
        assert practice["id"] == "practice_p01" and block[0] == "random"
        assert len(block) - 1 == len(pieces) - 1
        assert config["pages"][-1]["questionnaire"][0]["name"] == "listener"
        types = {p["type"] for p in config["pages"] if isinstance(p, dict)}
        assert types <= {"generic", "likert_single_stimulus", "likert_multi_stimulus", "finish"}
    ab = yaml.safe_load((out / "configs/tdpr_ab.yaml").read_text(encoding="utf-8"))
    assert {p["type"] for p in ab["pages"][3][1:]} == {"likert_single_stimulus"}
    assert set(ab["pages"][2]["stimuli"]) <= {"tdcnn_gtphase", "gtphase_tdcnn"}
    mos = yaml.safe_load((out / "configs/tdpr_mos_seanet.yaml").read_text(encoding="utf-8"))
    # the noise fill is rated as a further condition: the no-learning anchor
    assert set(mos["pages"][2]["stimuli"]) == {"input", "noisefill", "tdcnn", "tdpr", "reference"}
    assert "five versions" in mos["pages"][0]["content"]
    assert [r["value"] for r in mos["pages"][2]["response"]] == ["1", "2", "3", "4", "5"]


def test_webmushra_yaml_is_block_style_and_round_trips():
    config = {
        "name": "A \"quoted\" <b>title</b>: x # y", "n": 3, "stopOnErrors": True, "x": 0.5,
        "pages": [{"id": "a", "list": ["1", "2"]}, ["random", {"id": "b"}, {"id": "c"}]],
    }  # fmt: skip
    text = dump_yaml(config)
    assert yaml.safe_load(text) == config
    assert '    -\n        - "random"\n        - id: "b"' in text
    with pytest.raises(TypeError):
        dump_yaml({"pages": []})


def test_export_names_missing_systems(kit, tmp_path):
    _, pieces, _, manifests = kit
    manifests = {k: v for k, v in manifests.items() if k != "Demucs+TD-PR"}
    with pytest.raises(ValueError, match=r"Demucs\+TD-PR"):
        export_listening_test(pieces, manifests, tmp_path / "x", ["SEANet", "Demucs"])
    with pytest.raises(ValueError, match="not a registered baseline: seanet"):
        export_listening_test(pieces, manifests, tmp_path / "x", ["SEANet"], baselines=["seanet"])


def test_peak_guard_attenuates_the_whole_piece():
    rng = np.random.default_rng(0)
    quiet_with_click = 0.01 * rng.standard_normal(5 * RATE)
    quiet_with_click[RATE] = 0.9  # loudness is low, so matching it would clip the click
    excerpts = {"a": quiet_with_click, "b": 0.1 * rng.standard_normal(5 * RATE)}
    scaled, table = match_loudness(excerpts, RATE, TARGET, peak_limit_dbfs=-1.0)
    assert table["attenuation_db"].iloc[0] > 0
    assert max(np.max(np.abs(x)) for x in scaled.values()) == pytest.approx(10 ** (-1 / 20))
    meter = pyln.Meter(RATE)
    a, b = (meter.integrated_loudness(scaled[k]) for k in ("a", "b"))
    assert a == pytest.approx(b, abs=0.05)  # equally loud within the piece, both below target


def _synthetic_ratings(tmp_path: Path) -> tuple[Path, Path, pd.DataFrame]:
    """Synthetic ratings written by this test only (no listener produced them)."""
    rng = np.random.default_rng(0)
    mos = pd.DataFrame(
        [(f"L{i}", test, trial, condition, int(rng.integers(1, 6)))
         for i in range(4) for test in ("SEANet", "Demucs")
         for trial in ("practice_p01", "p02", "p03")
         for condition in ("input", "noisefill", "tdcnn", "tdpr", "reference")],
        columns=["listener", "test", "trial", "condition", "rating"],
    )  # fmt: skip
    ab = pd.DataFrame(
        [(f"L{i}", trial, ("gtphase", "tdcnn")[int(rng.random() < 0.2)])
         for i in range(4) for trial in ("practice_p01", "p02", "p03", "p04")],
        columns=["listener", "trial", "choice"],
    )  # fmt: skip
    mos.to_csv(tmp_path / "mos.csv", index=False)
    ab.to_csv(tmp_path / "ab.csv", index=False)
    return tmp_path / "mos.csv", tmp_path / "ab.csv", mos


def test_ratings_round_trip_through_both_simple_formats(tmp_path):
    mos_csv, ab_csv, mos = _synthetic_ratings(tmp_path)
    ratings = read_ratings([mos_csv, ab_csv])
    expected = mos[mos["trial"] != "practice_p01"].reset_index(drop=True)
    pd.testing.assert_frame_equal(ratings.mos, expected, check_dtype=False)
    assert len(ratings.ab) == 4 * 3 and set(ratings.ab["test"]) == {"TD-CNN"}
    with_practice = read_ratings(ab_csv, keep_practice=True)
    assert len(with_practice.ab) == 4 * 4 and with_practice.mos.empty


def test_ratings_read_webmushra_results(tmp_path):
    lms = pd.DataFrame({
        "session_test_id": "tdpr_mos_seanet", "listener": "L1", "age": "30",
        "trial_id": ["practice_p01", "p02", "p02"], "stimuli_rating": [" 2 ", " 3 ", " 5 "],
        "stimuli": ["tdpr", "input", "reference"], "rating_time": "1000",
    })  # fmt: skip
    lms.to_csv(tmp_path / "lms.csv", index=False)
    lss = pd.DataFrame({
        "session_test_id": "tdpr_ab_seanet", "listener": "L3",
        "trial_id": ["check_channels", "practice_p01", "p02", "p03"],
        "stimuli_rating": ["both", "tdcnn", "gtphase", "tdcnn"],
        "stimuli": ["check", "tdcnn_gtphase", "gtphase_tdcnn", "tdcnn_gtphase"],
        "rating_time": "900",
    })  # fmt: skip
    lss.to_csv(tmp_path / "lss.csv", index=False)
    session = {
        "testId": "tdpr_ab_seanet", "uuid": "u-1",
        "participant": {"name": ["listener"], "response": ["L2"]},
        "trials": [
            {"type": "likert_single_stimulus", "id": "check_channels",
             "responses": [{"stimulus": "check", "stimulusRating": ["both"], "time": 900}]},
            {"type": "likert_single_stimulus", "id": "p02",
             "responses": [{"stimulus": "tdcnn_gtphase", "stimulusRating": ["gtphase"],
                            "time": 900}]},
        ],
    }  # fmt: skip
    (tmp_path / "session.json").write_text(json.dumps([session]), encoding="utf-8")
    ratings = read_ratings([tmp_path / "lms.csv", tmp_path / "lss.csv", tmp_path / "session.json"])
    assert ratings.mos[["listener", "test", "condition"]].values.tolist() == [
        ["L1", "SEANet", "input"], ["L1", "SEANet", "reference"],
    ]  # fmt: skip
    assert ratings.mos["rating"].tolist() == [3, 5]
    assert ratings.ab.values.tolist() == [
        ["L3", "SEANet", "p02", "gtphase"], ["L3", "SEANet", "p03", "tdcnn"],
        ["L2", "SEANet", "p02", "gtphase"],
    ]  # fmt: skip


def test_ratings_reject_unknown_layouts_and_conditions(tmp_path):
    pd.DataFrame({"session_test_id": ["t"], "trial_id": ["p02"], "choice_reference": ["r"]}).to_csv(
        tmp_path / "paired_comparison.csv", index=False
    )
    with pytest.raises(ValueError, match="not preferences"):
        read_ratings(tmp_path / "paired_comparison.csv")
    pd.DataFrame({"listener": ["L"], "trial": ["p02"], "choice": ["A"]}).to_csv(
        tmp_path / "ab.csv", index=False
    )
    with pytest.raises(ValueError, match="unknown choice"):
        read_ratings(tmp_path / "ab.csv")


def test_figures_2_and_3_render_from_synthetic_ratings(tmp_path):
    mos_csv, ab_csv, _ = _synthetic_ratings(tmp_path)
    ratings = read_ratings([mos_csv, ab_csv])
    for paths in (
        plot_ab_preference(ratings, tmp_path / "fig2.png"),
        plot_mos(ratings, tmp_path / "fig3.png"),
    ):
        png = next(p for p in paths if p.suffix == ".png")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert matplotlib.image.imread(png)[..., :3].var() > 1e-3
        assert next(p for p in paths if p.suffix == ".pdf").read_bytes()[:5] == b"%PDF-"
