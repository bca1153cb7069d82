"""The training loop: a killed run resumes to bit-identical weights; checkpoints and model files."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf
import torch
from conftest import piano_like
from torch import nn

from tdpr.cli import main
from tdpr.train.checkpoint import load_model, save_checkpoint
from tdpr.train.config import TrainConfig, resolve_model_config
from tdpr.train.loop import fit
from tdpr.train.losses import TDCNNLoss
from tdpr.train.run import build_datasets, train_model
from tdpr.train.steps import RegressionTask

RATE = 16_000
TINY_SEANET = {"base_channels": 4, "strides": [2, 4], "latent_dim": 8}
# 4 clips, batches of 2: 2 steps per epoch; 0.25-s crops; 2 validation items.
QUICK = {"epochs": 3, "batch_size": 2, "crop_seconds": 0.25, "valid_items": 2, "seed": 7}


def write_manifest(folder: Path, name: str, n: int, seed: int) -> Path:
    (folder / name).mkdir(parents=True)
    rows = []
    for i in range(n):
        path = f"{name}/{i}.wav"
        audio = piano_like(0.75, RATE, 1, seed=seed + i)[:, 0]
        sf.write(folder / path, audio, RATE, subtype="PCM_16")
        rows.append({"clip_id": f"{name}_{i}", "path": path})
    pd.DataFrame(rows).to_csv(folder / f"{name}.csv", index=False)
    return folder / f"{name}.csv"


@pytest.fixture(scope="module")
def manifests(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("clips")
    return write_manifest(root, "train", 4, 0), write_manifest(root, "validation", 2, 10)


class DropoutNet(nn.Module):
    """A tiny model that draws from the global torch RNG (dropout) in every training step."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(1, 4, 9, padding=4), nn.Tanh(), nn.Dropout(0.2), nn.Conv1d(4, 1, 9, padding=4)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


def run_fit(manifests, work_dir: Path, init_seed=0, on_epoch_end=None, num_workers=0, **overrides):
    cfg = TrainConfig.from_dict({**QUICK, **overrides})
    train_set, valid_set = build_datasets(cfg, *manifests)
    torch.manual_seed(init_seed)
    model = DropoutNet()
    task = RegressionTask(model, TDCNNLoss(), train_set, valid_set, cfg, "cpu", num_workers)
    history = fit(task, work_dir, on_epoch_end=on_epoch_end)
    return model, history


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


class Killed(Exception):
    pass


def kill_after(epoch: int):
    def callback(row: dict) -> None:
        if row["epoch"] == epoch:
            raise Killed

    return callback


def test_a_killed_run_resumes_to_bit_identical_weights(manifests, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tdpr")
    straight, history = run_fit(manifests, tmp_path / "straight")
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert [row["step"] for row in history] == [2, 4, 6]
    initial = DropoutNet()
    with pytest.raises(AssertionError):
        assert_same_weights(straight, initial)

    # killed by an exception after epoch 2; the restart starts from other random weights and
    # loads data in 2 worker processes instead of in the main process
    with pytest.raises(Killed):
        run_fit(manifests, tmp_path / "killed", on_epoch_end=kill_after(2))
    caplog.clear()
    resumed, resumed_history = run_fit(manifests, tmp_path / "killed", 99, num_workers=2)
    assert "resuming from epoch 2" in caplog.text
    assert_same_weights(straight, resumed)
    for a, b in zip(history, resumed_history, strict=True):
        assert {k: v for k, v in a.items() if k != "seconds"} == {
            k: v for k, v in b.items() if k != "seconds"
        }

    # stopped after 1 epoch by the config, then extended to 3
    run_fit(manifests, tmp_path / "extended", epochs=1)
    extended, _ = run_fit(manifests, tmp_path / "extended", init_seed=5)
    assert_same_weights(straight, extended)


def test_checkpoint_history_and_logs(manifests, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tdpr")
    work = tmp_path / "work"
    _, history = run_fit(manifests, work, epochs=2)
    state = torch.load(work / "checkpoint.pt", weights_only=True)
    assert state["kind"] == "tdpr-training-state"
    assert (state["epoch"], state["step"]) == (2, 4)
    assert state["config"]["epochs"] == 2 and state["torch_rng"].dtype == torch.uint8
    assert state["history"] == history
    with open(work / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert list(rows[0]) == [
        "epoch",
        "step",
        "train_loss",
        "valid_loss",
        "valid_lsd",
        "seconds",
        "valid_input_lsd",
    ]
    assert 0 < float(rows[-1]["valid_lsd"]) < 10
    assert 0 < float(rows[-1]["valid_input_lsd"]) < 10
    assert len({r["valid_input_lsd"] for r in rows}) == 1  # the same fixed inputs every epoch
    assert list((work / "tb").glob("events.out.tfevents.*"))
    summaries = [r.message for r in caplog.records if "valid_lsd=" in r.message]
    assert len(summaries) == 2 and summaries[0].startswith("train | epoch 1/2 | loss=")
    assert not list(work.glob(".*"))  # no temporary files left behind


def test_max_steps_per_epoch_caps_an_epoch(manifests, tmp_path):
    _, history = run_fit(manifests, tmp_path, epochs=2, batch_size=1, max_steps_per_epoch=3)
    assert [row["step"] for row in history] == [3, 6]


def test_resuming_with_another_config_is_refused(manifests, tmp_path):
    run_fit(manifests, tmp_path, epochs=1)
    with pytest.raises(ValueError, match=r"another training config \(lr: 0.0001 -> 0.001\)"):
        run_fit(manifests, tmp_path, lr=1e-3)


def test_train_model_writes_a_loadable_model_file(manifests, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tdpr")
    arch, train_cfg = resolve_model_config(
        {"models": {"seanet": {"arch": TINY_SEANET}}, "train": {**QUICK, "epochs": 1}}, "seanet"
    )
    out = train_model(
        "seanet", arch, train_cfg, *manifests, tmp_path / "m.pt", tmp_path / "h.csv", tmp_path / "w"
    )
    saved = torch.load(out, weights_only=True)
    assert saved["kind"] == "tdpr-model" and saved["model"] == "seanet"
    assert saved["kwargs"] == TINY_SEANET and saved["train_cfg"] == train_cfg
    assert set(saved["versions"]) == {"tdpr", "torch"}
    model = load_model(out)
    assert not model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved["state"][key])
    x = torch.randn(1, 1, 3001)
    assert model(x).shape == x.shape
    assert len(pd.read_csv(tmp_path / "h.csv")) == 1
    if not torch.cuda.is_available():
        assert "no CUDA device: training on CPU" in caplog.text


def test_load_model_rejects_other_files(manifests, tmp_path):
    run_fit(manifests, tmp_path, epochs=1)
    with pytest.raises(ValueError, match="not a 'tdpr-model' file.*training state"):
        load_model(tmp_path / "checkpoint.pt")
    save_checkpoint({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="its kind is None"):
        load_model(tmp_path / "other.pt")
    (tmp_path / "text.pt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="cannot read"):
        load_model(tmp_path / "text.pt")


def test_checkpoints_refuse_objects_weights_only_cannot_load(tmp_path):
    with pytest.raises(TypeError, match="Path"):
        save_checkpoint({"kind": "x", "where": tmp_path}, tmp_path / "bad.pt")
    assert not (tmp_path / "bad.pt").exists()


def test_train_config_defaults_and_merging():
    assert TrainConfig().to_dict() == {
        "epochs": 200, "batch_size": 12, "lr": 1e-4, "crop_seconds": 5.0,
        "cutoff_range": [2500.0, 4000.0],
        "filters": ["butter", "cheby1", "cheby2", "ellip", "bessel", "subsampling", "stft"],
        "order": {"min": 6, "max": 10}, "seed": 0, "valid_items": 64, "wave_weight": 1000.0,
        "lsd_weight": 0.0,
        "max_steps_per_epoch": None, "bf16": False, "compile": False, "crops_per_clip": 1,
        "pcm16_inputs": True,
    }  # fmt: skip
    config = {
        "train": {"epochs": 10, "order": {"min": 7, "max": 9}},
        "models": {"demucs": {"arch": {"channels": 8}, "train": {"lr": 3e-4, "order": {"max": 8}}}},
    }
    arch, cfg = resolve_model_config(config, "demucs")
    assert arch == {"channels": 8}
    assert (cfg["epochs"], cfg["lr"], cfg["order"]) == (10, 3e-4, {"min": 7, "max": 8})
    assert resolve_model_config({}, "seanet") == ({}, TrainConfig().to_dict())
    with pytest.raises(ValueError, match="not configured"):
        resolve_model_config(config, "seanet")
    with pytest.raises(ValueError, match=r"unknown train key\(s\) \['epoch'\]"):
        resolve_model_config({"train": {"epoch": 3}}, "seanet")
    with pytest.raises(ValueError, match="unknown arch key"):
        resolve_model_config({"models": {"seanet": {"arch": {"chanels": 3}}}}, "seanet")
    with pytest.raises(ValueError, match="train.batch_size must be a positive integer"):
        TrainConfig.from_dict({"batch_size": 0})


def test_train_command(manifests, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tdpr")
    config = tmp_path / "config.yaml"
    config.write_text(
        "models:\n  seanet:\n    arch: {base_channels: 4, strides: [2, 4], latent_dim: 8}\n"
        "    train: {epochs: 1}\n"
        "train: {batch_size: 2, crop_seconds: 0.25, valid_items: 2, max_steps_per_epoch: 1}\n"
    )
    train, valid = (str(m) for m in manifests)
    argv = ["train", "--config", str(config), "--model", "seanet", "--out", str(tmp_path / "o")]
    argv += ["--train-manifest", train, "--valid-manifest", valid, "--device", "cpu"]
    assert main(argv) == 0
    assert load_model(tmp_path / "o" / "model.pt").training is False
    assert (tmp_path / "o" / "work" / "checkpoint.pt").is_file()
    assert len(pd.read_csv(tmp_path / "o" / "history.csv")) == 1
    caplog.clear()
    assert main(argv) == 0  # a rerun finds the finished checkpoint and only rewrites the outputs
    assert "train | already finished: epoch 1, step 1" in caplog.text
    argv[argv.index("seanet")] = "demucs"
    assert main(argv) == 2  # not configured


def test_each_step_of_a_rank_scales_its_loss_to_the_global_batch(tmp_path, monkeypatch):
    """Rank 0 of 2, faked in one process (DDP's wrapper left out): 7 items in global batches
    of 4 give this rank items [0, 2] then [4, 6]; the global batches hold 4 then 3 items, so its
    two steps weigh 4 and 3 and scale their mean loss by 2*2/4 = 1 and 2*2/3 (the factor DDP's
    gradient mean needs to give the global batch's mean)."""
    from tdpr.train import steps

    monkeypatch.setattr(steps.distributed, "rank", lambda: 0)
    monkeypatch.setattr(steps.distributed, "world_size", lambda: 2)
    monkeypatch.setattr(steps, "DistributedDataParallel", lambda model, device_ids: model)
    train = write_manifest(tmp_path, "train", 7, 0)
    valid = write_manifest(tmp_path, "validation", 2, 10)
    cfg = TrainConfig.from_dict({**QUICK, "batch_size": 4})
    train_set, valid_set = build_datasets(cfg, train, valid)
    torch.manual_seed(0)
    model, loss_fn = nn.Conv1d(1, 1, 9, padding=4), TDCNNLoss()
    task = RegressionTask(model, loss_fn, train_set, valid_set, cfg, "cpu")

    batches = list(task.batches(1, 0))
    assert [len(clean) for _, clean in batches] == [2, 2]
    first = train_set[0][1]
    assert torch.equal(batches[0][1][0], first)  # item 0 comes first, as the sampler orders
    for (degraded, clean), weight, scale in zip(batches, (4, 3), (1.0, 4 / 3), strict=True):
        before = {k: v.clone() for k, v in model.state_dict().items()}
        probe = nn.Conv1d(1, 1, 9, padding=4)
        probe.load_state_dict(before)
        loss, _ = loss_fn(probe(degraded), clean)
        (loss * scale).backward()
        result = task.step((degraded, clean), 0)
        assert result.weight == weight
        for p, q in zip(model.parameters(), probe.parameters(), strict=True):
            torch.testing.assert_close(p.grad, q.grad)
    assert task._global_sizes == []  # every global batch's size used once, in order


def test_the_epoch_summaries_read_as_documented(manifests):
    """The line each epoch logs (what a user watches in a long training), both tasks."""
    from tdpr.train.config import VocoderConfig
    from tdpr.train.steps import GANTask

    cfg = TrainConfig.from_dict({**QUICK, "epochs": 3})
    train_set, valid_set = build_datasets(cfg, *manifests)
    task = RegressionTask(DropoutNet(), TDCNNLoss(), train_set, valid_set, cfg, "cpu")
    row = {"epoch": 2, "train_loss": 0.123456, "valid_loss": 0.2, "valid_lsd": 1.23456,
           "valid_input_lsd": 1.5, "seconds": 1.46}  # fmt: skip
    assert task.summary(row) == (
        "train | epoch 2/3 | loss=0.1235 | valid_loss=0.2000 | valid_lsd=1.235 (input 1.500) "
        "| 1.5 s"
    )
    gan = GANTask.__new__(GANTask)  # the summary reads the config only
    gan.cfg = VocoderConfig.from_dict({"steps": 300})
    row = {"epoch": 4, "step": 120, "gen_total": 2.5, "disc_total": 0.75, "valid_stft": 1.0,
           "valid_lsd": 0.98765, "seconds": 10.04}  # fmt: skip
    assert gan.summary(row) == (
        "vocoder | epoch 4 | step 120/300 | gen=2.5000 | disc=0.7500 | valid_stft=1.0000 | "
        "valid_lsd=0.988 | 10.0 s"
    )
