"""Training and validation datasets: crops, degradations and their seeding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from conftest import piano_like

from tdpr.train.data import TrainCropDataset, ValidDataset, make_loader, read_manifest

RATE = 16_000
CROP = 4000  # samples: long enough for every degradation's padding (the STFT cut needs 1025)


def write_clips(folder: Path, n: int = 5, seconds: float = 1.0) -> Path:
    """``n`` 16-bit mono clips plus a manifest with paths relative to it."""
    (folder / "clips").mkdir(parents=True)
    rows = []
    for i in range(n):
        path = f"clips/clip_{i}.wav"
        sf.write(folder / path, piano_like(seconds, RATE, 1, seed=i)[:, 0], RATE, subtype="PCM_16")
        rows.append({"clip_id": f"clip_{i}", "path": path, "split": "train"})
    pd.DataFrame(rows).to_csv(folder / "train.csv", index=False)
    return folder / "train.csv"


@pytest.fixture
def clips(tmp_path: Path) -> list[Path]:
    return read_manifest(write_clips(tmp_path))


def contains(full: np.ndarray, crop: np.ndarray) -> bool:
    starts = np.flatnonzero(full[: len(full) - len(crop) + 1] == crop[0])
    return any(np.array_equal(full[s : s + len(crop)], crop) for s in starts)


def same_items(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_manifest_paths_are_relative_to_the_manifest(tmp_path):
    paths = read_manifest(write_clips(tmp_path / "deep" / "er", n=2))
    assert paths == [tmp_path / "deep" / "er" / "clips" / f"clip_{i}.wav" for i in range(2)]


def test_items_are_degraded_crops_of_the_right_length(clips):
    data = TrainCropDataset(clips, CROP, seed=0)
    data.set_epoch(1)
    assert sorted(data.order) == list(range(len(clips)))
    for i in range(len(data)):
        degraded, clean = data[i]
        assert degraded.shape == clean.shape == (1, CROP)
        assert degraded.dtype == clean.dtype == torch.float32
        assert not torch.equal(degraded, clean)
        full = sf.read(clips[data.order[i]], dtype="float32")[0]
        assert contains(full, clean[0].numpy())  # a crop of the clip the order names


def test_items_depend_only_on_seed_epoch_and_index(clips):
    data = TrainCropDataset(clips, CROP, seed=3)
    data.set_epoch(2)
    forward = [data[i] for i in range(len(data))]
    backward = [data[i] for i in reversed(range(len(data)))][::-1]
    other = TrainCropDataset(clips, CROP, seed=3)
    other.set_epoch(2)
    for a, b, c in zip(forward, backward, [other[i] for i in range(len(other))], strict=True):
        assert same_items(a, b) and same_items(a, c)
    data.set_epoch(3)
    assert not same_items(forward[0], data[0])
    reseeded = TrainCropDataset(clips, CROP, seed=4)
    reseeded.set_epoch(2)
    assert not same_items(forward[0], reseeded[0])


def test_loading_does_not_depend_on_the_number_of_workers(clips):
    data = TrainCropDataset(clips, CROP, seed=0)
    data.set_epoch(5)
    batches = {w: list(make_loader(data, 2, num_workers=w)) for w in (0, 2)}
    assert len(batches[0]) == 3  # 5 clips in batches of 2: the last batch is short
    for a, b in zip(batches[0], batches[2], strict=True):
        assert same_items(a, b)
    state = torch.get_rng_state()
    list(make_loader(data, 2))
    assert torch.equal(state, torch.get_rng_state())  # loading leaves the global RNG alone


def test_validation_set_is_a_fixed_subset(clips):
    valid = ValidDataset(clips, CROP, seed=0, valid_items=3)
    assert len(valid) == 3 and len(set(valid.chosen)) == 3
    first = [valid[i] for i in range(3)]
    again = ValidDataset(clips, CROP, seed=0, valid_items=3)
    assert all(same_items(a, again[i]) for i, a in enumerate(first))
    assert all(same_items(a, valid[i]) for i, a in enumerate(first))  # every epoch alike
    assert len(ValidDataset(clips, CROP, seed=0, valid_items=64)) == len(clips)
    train = TrainCropDataset(clips, CROP, seed=0)
    assert not same_items(first[0], train[0])


def test_degradation_options_are_used(clips):
    data = TrainCropDataset(
        clips, CROP, seed=0, cutoff_range=(1000.0, 1000.0), filters=("butter",), order_range=(8, 8)
    )
    degraded, clean = data[0]
    spectrum = np.abs(np.fft.rfft(degraded[0].numpy()))
    freqs = np.fft.rfftfreq(CROP, 1 / RATE)
    clean_spectrum = np.abs(np.fft.rfft(clean[0].numpy()))
    above = freqs > 2000
    assert spectrum[above].max() < 1e-2 * clean_spectrum[above].max()


def test_a_clip_shorter_than_the_crop_is_named(tmp_path, clips):
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(CROP - 1, dtype=np.float32), RATE, subtype="PCM_16")
    with pytest.raises(ValueError, match=r"short\.wav has 3999 samples, fewer than the crop"):
        TrainCropDataset([*clips, short], CROP, seed=0)


def test_a_manifest_without_path_column_is_refused(tmp_path):
    pd.DataFrame({"clip_id": ["a"]}).to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(ValueError, match="lacks column"):
        read_manifest(tmp_path / "m.csv")
    with pytest.raises(FileNotFoundError):
        read_manifest(tmp_path / "missing.csv")


def test_crops_per_clip_cover_every_span_of_every_clip_once(tmp_path):
    clips = read_manifest(write_clips(tmp_path, n=3, seconds=1.0))  # 16000 samples each
    data = TrainCropDataset(clips, CROP, seed=0, crops_per_clip=4)  # 4 spans of 4000: exact
    data.set_epoch(2)
    assert len(data) == 12 and sorted(data.order) == list(range(12))
    seen = set()
    for i in range(len(data)):
        clip, part = divmod(int(data.order[i]), 4)
        _, clean = data[i]
        full = sf.read(clips[clip], dtype="float32")[0]
        assert np.array_equal(clean[0].numpy(), full[part * CROP : (part + 1) * CROP])
        seen.add((clip, part))
    assert seen == {(c, p) for c in range(3) for p in range(4)}
    # spans longer than a crop: the start is random inside its span
    loose = TrainCropDataset(clips, CROP, seed=0, crops_per_clip=2)
    assert loose.span(0, 0) == (0, 4000) and loose.span(0, 1) == (8000, 12000)


def test_degraded_inputs_lie_on_the_16_bit_grid_unless_switched_off(clips):
    stored = TrainCropDataset(clips, CROP, seed=0)[0][0].numpy()
    assert np.array_equal(stored * 32768, np.round(stored * 32768))
    raw = TrainCropDataset(clips, CROP, seed=0, pcm16=False)[0][0].numpy()
    assert not np.array_equal(raw * 32768, np.round(raw * 32768))
    assert np.abs(raw - stored).max() <= 0.5 / 32768 + 1e-9
    valid = ValidDataset(clips, CROP, seed=0, valid_items=2)[1][0].numpy()
    assert np.array_equal(valid * 32768, np.round(valid * 32768))


def test_clean_only_items_skip_the_degradation(clips):
    clean_only = TrainCropDataset(clips, CROP, seed=0, degrade=False)
    degraded = TrainCropDataset(clips, CROP, seed=0)
    a, b = clean_only[1]
    assert a is b and torch.equal(b, degraded[1][1])  # the same crop, no filtering


def test_validation_degradation_replays_the_items_own_draw(tmp_path):
    """ValidDataset.degradation(i) is the low-pass item i was made with: applying it to the
    clean crop gives the degraded crop, sample for sample."""
    from tdpr.audio import quantize_pcm16
    from tdpr.dsp.filters import apply_degradation

    clips = read_manifest(write_clips(tmp_path, n=4))
    valid = ValidDataset(clips, CROP, seed=3, valid_items=4)
    cutoffs = set()
    for index in range(len(valid)):
        degraded, clean = valid[index]
        degradation = valid.degradation(index)
        cutoffs.add(degradation.cutoff_hz)
        again = quantize_pcm16(apply_degradation(clean[0].numpy(), degradation, RATE))
        np.testing.assert_array_equal(again, degraded[0].numpy())
    assert len(cutoffs) == len(valid)  # one draw per item, not one for all
