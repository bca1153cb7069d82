"""The two training tasks piece by piece (tdpr.train.steps), on tiny models and clips: what each
setting reaches, which items the validation LSD counts, the bf16/compile/DDP wrappers."""

from __future__ import annotations

import logging
import math

import pytest
import torch
from torch import nn

from tdpr.train import steps
from tdpr.train.config import TrainConfig, VocoderConfig
from tdpr.train.losses import TDCNNLoss
from tdpr.train.run import build_datasets
from tdpr.train.steps import GANTask, RegressionTask, lsd_sum

TINY_G = {"mult": 8, "n_residual_layers": 1}
TINY_D = {"msd": {"num_scales": 2, "channels": [4, 4, 4, 4]}, "fd": {"channels": [4, 4, 4, 4]}}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    from test_loop import QUICK, write_manifest  # tests/train/test_loop.py

    root = tmp_path_factory.mktemp("clips")
    manifests = write_manifest(root, "train", 4, 0), write_manifest(root, "validation", 2, 10)
    cfg = TrainConfig.from_dict(QUICK)
    return cfg, build_datasets(cfg, *manifests)


def test_lsd_sum_counts_only_items_with_signal_on_both_sides_and_finite():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 1, 4096, generator=g)
    y = x + 0.1 * torch.randn(4, 1, 4096, generator=g)
    one = lsd_sum(x[:1], y[:1])
    assert one[1] == 1 and one[0] > 0
    y_bad = y.clone()
    y_bad[2] = 0  # a silent estimate
    y_bad[3, 0, 7] = math.nan  # a non-finite estimate
    x_bad = x.clone()
    x_bad[1] = 0  # a silent reference
    total, counted = lsd_sum(x_bad, y_bad)
    assert counted == 1 and total == pytest.approx(one[0], rel=1e-6)
    assert lsd_sum(torch.zeros(2, 1, 4096), y[:2]) == (0.0, 0)


def test_regression_task_settings_and_wrappers(datasets, monkeypatch, caplog):
    cfg, (train_set, valid_set) = datasets
    model = nn.Conv1d(1, 1, 9, padding=4)
    task = RegressionTask(model, TDCNNLoss(), train_set, valid_set, cfg, "cpu")
    assert task.num_workers == 0  # loads in this process unless told otherwise
    assert task.optimizer.param_groups[0]["lr"] == cfg.lr
    assert task.modules() == {"model": model} and task.optimizers() == {"model": task.optimizer}
    assert task.forward is model and task.eval_forward is model

    compiled = []
    monkeypatch.setattr(steps.torch, "compile", lambda m: compiled.append(m) or nn.Sequential(m))
    caplog.set_level(logging.INFO, logger="tdpr")
    both = TrainConfig.from_dict({**cfg.to_dict(), "bf16": True, "compile": True})
    task = RegressionTask(model, TDCNNLoss(), train_set, valid_set, both, "cpu")
    assert compiled == [model] and isinstance(task.forward, nn.Sequential)
    assert task.eval_forward is model  # validation: the plain module
    assert "bf16=True compile=True on cpu" in caplog.text

    caplog.clear()
    bf16 = TrainConfig.from_dict({**cfg.to_dict(), "bf16": True})
    task = RegressionTask(model, TDCNNLoss(), train_set, valid_set, bf16, "cpu")
    assert "bf16=True compile=False on cpu" in caplog.text
    seen = []
    model.register_forward_hook(lambda mod, args, out: seen.append(out.dtype))
    degraded, _ = next(iter(task.batches(1, 0)))
    task._estimate(degraded)
    assert seen == [torch.bfloat16]  # the forward ran under bfloat16 autocast
    RegressionTask(model, TDCNNLoss(), train_set, valid_set, cfg, "cpu")._estimate(degraded)
    assert seen[-1] == torch.float32


def test_ddp_wraps_the_model_on_more_than_one_process_only(datasets, monkeypatch):
    cfg, (train_set, valid_set) = datasets
    wrapped = []

    def fake_ddp(model, device_ids):
        wrapped.append(device_ids)
        return model

    monkeypatch.setattr(steps, "DistributedDataParallel", fake_ddp)
    model = nn.Conv1d(1, 1, 9, padding=4)
    for world in (1, 2):
        monkeypatch.setattr(steps.distributed, "world_size", lambda world=world: world)
        RegressionTask(model, TDCNNLoss(), train_set, valid_set, cfg, "cpu")
    assert wrapped == [None]  # once, for two processes, with no device ids on a CPU


def test_validation_runs_on_rank_0_only_and_an_input_lsd_without_items_is_nan(
    datasets, monkeypatch
):
    cfg, (train_set, valid_set) = datasets
    model = nn.Conv1d(1, 1, 9, padding=4)
    monkeypatch.setattr(steps.distributed, "rank", lambda: 1)
    assert RegressionTask(model, TDCNNLoss(), train_set, valid_set, cfg, "cpu").validate() == {}
    monkeypatch.setattr(steps.distributed, "rank", lambda: 0)
    silent = [(torch.zeros(1, 4000), torch.zeros(1, 4000))]
    task = RegressionTask(model, TDCNNLoss(), train_set, silent, cfg, "cpu")
    assert math.isnan(task._input_lsd())


def test_gan_task_builds_what_it_is_given_and_resumes_its_data(datasets):
    cfg, (train_set, valid_set) = datasets
    voc = VocoderConfig.from_dict(
        {"steps": 6, "batch_size": 2, "segment_seconds": 0.25, "lr": 3e-4, "betas": [0.7, 0.95]}
    )
    disc = {"msd": {"num_scales": 2, "channels": [4, 4, 4, 4]}, "fd": {"channels": [3, 3, 3, 3]}}
    task = GANTask(TINY_G, disc, voc, train_set, valid_set, "cpu")
    assert task.num_workers == 0
    assert len(task.msd.scales) == 2  # not the default three scales
    fd_widths = {m.out_channels for m in task.fd.modules() if isinstance(m, nn.Conv1d)}
    assert 3 in fd_widths and 64 not in fd_widths
    for opt in (task.opt_g, task.opt_d):
        assert opt.param_groups[0]["lr"] == 3e-4 and opt.param_groups[0]["betas"] == (0.7, 0.95)
    # resumed after 2 of 6 steps: the epoch holds the items of the 4 steps left (of 4 clips)
    assert len(task.batches(1, 2).dataset) == min(len(train_set), 4 * 2)
    assert len(task.batches(1, 5).dataset) == 2
    # stopped by a budget of 3 inside epoch 2 (2 steps an epoch): it goes on with item 2 of it
    assert task.cut_short(2, 3) and not task.cut_short(2, 2) and not task.cut_short(2, 4)
    assert list(task.batches(2, 3).dataset.indices) == [2, 3]
    result = task.step(next(iter(task.batches(1, 0))), 0)
    assert "disc_total" in result.values and not any("/" in k for k in result.values)


def test_every_loader_takes_the_workers_pinning_and_seed_given(datasets):
    cfg, (train_set, valid_set) = datasets
    seeded = TrainConfig.from_dict({**cfg.to_dict(), "seed": 7})
    task = RegressionTask(nn.Conv1d(1, 1, 3), TDCNNLoss(), train_set, valid_set, seeded, "cpu", 2)
    voc = VocoderConfig.from_dict({"steps": 4, "batch_size": 2, "segment_seconds": 0.25, "seed": 7})
    gan = GANTask(TINY_G, TINY_D, voc, train_set, valid_set, "cpu", num_workers=2)
    for loader in (task._loader(valid_set), task.batches(1, 0), gan.batches(1, 0)):
        assert loader.num_workers == 2 and loader.pin_memory is False  # pinning is for CUDA
        assert loader.generator.initial_seed() == 7


def test_the_vocoder_discriminators_default_to_the_papers(datasets):
    cfg, (train_set, valid_set) = datasets
    voc = VocoderConfig.from_dict({"steps": 2, "batch_size": 2, "segment_seconds": 0.25})
    task = GANTask(TINY_G, {}, voc, train_set, valid_set, "cpu")
    assert len(task.msd.scales) == 3
    widths = {m.out_channels for m in task.fd.modules() if isinstance(m, nn.Conv1d)}
    assert {64, 128, 256, 512} <= widths
