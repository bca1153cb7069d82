"""Vocoder training: runs with a GAN step, resumes bit for bit, writes a loadable tfgan model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tdpr.audio import write_pcm16
from tdpr.train.checkpoint import load_model
from tdpr.train.config import VocoderConfig
from tdpr.train.vocoder import train_vocoder

TINY_G = {"mult": 8, "n_residual_layers": 1}
TINY_D = {"msd": {"num_scales": 2, "channels": [4, 4, 4, 4]}, "fd": {"channels": [4, 4, 4, 4]}}


@pytest.fixture
def manifests(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("valid", 2)):
        rows = []
        for i in range(n):
            t = np.arange(16000) / 16000
            audio = 0.3 * np.sin(2 * np.pi * (200 + 100 * i) * t) + 0.01 * rng.standard_normal(
                16000
            )
            write_pcm16(tmp_path / split / f"c{i}.wav", audio.astype(np.float32), 16000)
            rows.append({"clip_id": f"c{i}", "path": f"{split}/c{i}.wav"})
        pd.DataFrame(rows).to_csv(tmp_path / f"{split}.csv", index=False)
    return tmp_path / "train.csv", tmp_path / "valid.csv"


def _train(manifests, out: Path, steps: int) -> Path:
    cfg = {"steps": steps, "batch_size": 2, "segment_seconds": 0.25, "adv_start_step": 2}
    cfg["valid_items"] = 2
    return train_vocoder(
        TINY_G,
        TINY_D,
        cfg,
        *manifests,
        out / "vocoder.pt",
        out / "history.csv",
        out / "work",
        device="cpu",
    )


@pytest.mark.slow
@pytest.mark.parametrize(("stop", "steps"), [(2, [2, 4, 6]), (3, [2, 3, 4, 6])])
def test_resumed_vocoder_training_equals_uninterrupted(manifests, tmp_path, stop, steps) -> None:
    # 4 clips in batches of 2: an epoch is 2 steps, so a budget of 3 stops inside epoch 2 and
    # the resumed run must take that epoch's second batch next, not start epoch 3
    whole = load_model(_train(manifests, tmp_path / "a", steps=6))
    _train(manifests, tmp_path / "b", steps=stop)  # stopped at a step budget ...
    resumed = load_model(_train(manifests, tmp_path / "b", steps=6))  # ... and raised
    for (name, a), (_, b) in zip(
        whole.state_dict().items(), resumed.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    history = pd.read_csv(tmp_path / "b" / "history.csv")
    assert history["step"].tolist() == steps
    assert history["epoch"].tolist() == [(s + 1) // 2 for s in steps]
    assert history["disc_total"].iloc[0] == 0 and history["disc_total"].iloc[-1] > 0  # GAN on
    assert history["valid_lsd"].notna().all()


def test_vocoder_model_file_vocodes_and_rejects_changed_settings(manifests, tmp_path) -> None:
    model = load_model(_train(manifests, tmp_path, steps=2))
    y = 0.1 * torch.randn(1, 1, 5000)
    assert model.vocode(y).shape == y.shape
    # The training state's names are part of its file format: a state written by an earlier
    # release must resume under them.
    state = torch.load(tmp_path / "work" / "checkpoint.pt", weights_only=True)
    assert list(state["modules"]) == ["generator", "msd", "fd"]
    assert list(state["optimizers"]) == ["generator", "discriminators"]
    changed = r"another training config \(adv_start_step: 2 -> 200000; batch_size: 2 -> 1"
    with pytest.raises(ValueError, match=changed):
        train_vocoder(
            TINY_G,
            TINY_D,
            {"steps": 4, "batch_size": 1, "segment_seconds": 0.25},
            *manifests,
            tmp_path / "v.pt",
            tmp_path / "h.csv",
            tmp_path / "work",
        )


def test_unknown_vocoder_key_is_named() -> None:
    with pytest.raises(ValueError, match="step_count"):
        VocoderConfig.from_dict({"step_count": 3})
