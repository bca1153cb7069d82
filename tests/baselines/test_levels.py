"""The baselines' LSD on a TD-CNN's own validation items (the lines of its learning curve)."""

from __future__ import annotations

import pandas as pd
import pytest
import soundfile as sf
import torch
from material import clean, train_spectrum
from rendered import needs_fluidsynth

from tdpr.baselines.levels import validation_levels
from tdpr.baselines.spectrum import write_spectrum
from tdpr.train.config import TrainConfig
from tdpr.train.losses import TDCNNLoss
from tdpr.train.run import build_datasets
from tdpr.train.steps import RegressionTask

pytestmark = [needs_fluidsynth, pytest.mark.usefixtures("one_thread")]
CFG = {"crop_seconds": 1.0, "valid_items": 4, "seed": 7}


@pytest.fixture
def manifests(tmp_path):
    """Four 2-s clips of a real piano render as both splits."""
    audio = clean()
    rows = []
    for i in range(4):
        sf.write(
            tmp_path / f"c{i}.wav", audio[i * 32000 : (i + 1) * 32000], 16000, subtype="PCM_16"
        )
        rows.append({"clip_id": f"c{i}", "path": f"c{i}.wav"})
    pd.DataFrame(rows).to_csv(tmp_path / "clips.csv", index=False)
    return tmp_path / "clips.csv"


def test_levels_are_measured_on_the_very_items_the_model_validates_on(tmp_path, manifests):
    spectrum = write_spectrum(train_spectrum(), tmp_path / "spectrum.json")
    levels = validation_levels(CFG, manifests, manifests, spectrum_path=spectrum)
    cfg = TrainConfig.from_dict(CFG)
    _, valid = build_datasets(cfg, manifests, manifests)
    task = RegressionTask(
        torch.nn.Conv1d(1, 1, 1), TDCNNLoss(), [], valid, cfg, torch.device("cpu")
    )
    # the input's level is the training log's "LSD of the degraded inputs"
    assert levels["input"] == pytest.approx(task._input_lsd(), rel=1e-6)
    assert set(levels) == {"input", "noisefill", "replicate"}
    # on real piano each baseline fills the band the input lacks
    assert levels["noisefill"] < levels["input"] - 0.2
    assert levels["replicate"] < levels["input"] - 0.2


def test_the_spectrum_given_is_the_one_the_baselines_shape_by(tmp_path, manifests):
    spectrum = write_spectrum(train_spectrum(), tmp_path / "spectrum.json")
    own = validation_levels(CFG, manifests, manifests, ("noisefill",), spectrum_path=spectrum)
    shipped = validation_levels(CFG, manifests, manifests, ("noisefill",))
    assert own["input"] == shipped["input"]
    assert abs(own["noisefill"] - shipped["noisefill"]) > 1e-3


def test_each_validation_item_gets_the_seed_plus_its_index(tmp_path, manifests, monkeypatch):
    """Baselines are seeded per item (seed + index) from the seed given (0 by default), and a
    config given as a TrainConfig or as a dict measures the same."""
    from tdpr.baselines import levels

    seen = []
    real = levels.load_baseline

    def recording(name, spectrum=None, seed=0):
        system = real(name, spectrum, seed)
        enhance = system.enhance

        def spy(x, cutoff_hz):
            seen.append((name, system.seed))
            return enhance(x, cutoff_hz)

        system.enhance = spy
        return system

    monkeypatch.setattr(levels, "load_baseline", recording)
    validation_levels(CFG, manifests, manifests, ("noisefill",), seed=5)
    assert [s for _, s in seen] == [5 + i for i in range(len(seen))] and len(seen) >= 2
    seen.clear()
    default = validation_levels(TrainConfig.from_dict(CFG), manifests, manifests, ("noisefill",))
    assert [s for _, s in seen] == list(range(len(seen)))
    assert default == validation_levels(CFG, manifests, manifests, ("noisefill",), seed=0)
