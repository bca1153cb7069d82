"""`tdpr models`: parameter counts of the configured models, built on the meta device."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tdpr.cli import main

ROOT = Path(__file__).resolve().parents[2]

TINY_CONFIG = """
models:
  seanet:
    arch: {base_channels: 4, strides: [2, 4], latent_dim: 8}
  demucs:
    arch: {channels: 4, depth: 3, lstm_layers: 1}
"""


def run_json(capsys, *args: str) -> dict:
    assert main(["models", "--json", *args]) == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1  # exactly one JSON object
    return json.loads(out)


def test_without_config_the_paper_size_models_are_counted(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no config/config.yaml here
    counts = run_json(capsys)
    assert list(counts) == ["seanet", "audiounet", "demucs", "tfgan"]
    assert counts["tfgan"] == 5_912_706
    assert 10.4e6 <= counts["seanet"] <= 11.5e6
    assert counts["audiounet"] == 56_411_394
    assert abs(counts["demucs"] / 134e6 - 1) < 0.05


def test_a_config_with_tiny_models(tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_CONFIG)
    counts = run_json(capsys, "--config", str(config))
    assert counts == {"seanet": 9_046, "demucs": 10_345, "tfgan": 5_912_706}
    assert main(["models", "--config", str(config)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["model", "parameters", "millions"]
    assert table[1].split() == ["seanet", "9,046", "0.01"]


def test_the_default_config_is_read_from_the_working_directory(tmp_path, monkeypatch, capsys):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(TINY_CONFIG)
    monkeypatch.chdir(tmp_path)
    assert run_json(capsys) == {"seanet": 9_046, "demucs": 10_345, "tfgan": 5_912_706}


def test_the_repository_config_lists_every_model_and_the_vocoder(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    counts = run_json(capsys, "--config", "config/config.yaml")
    assert list(counts) == ["seanet", "audiounet", "demucs", "tfgan"]
    demo = run_json(capsys, "--config", "config/demo.yaml")
    assert demo["tfgan"] < counts["tfgan"]  # the demo's small vocoder


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "no such config file"),
        ("models:\n  seanet: {arch: {chanels: 4}}\n", "chanels"),
        ("models:\n  wavenet: {}\n", "wavenet"),
    ],
)
def test_bad_configs_end_with_one_line(tmp_path, capsys, text, message):
    config = tmp_path / "c.yaml"
    if text is not None:
        config.write_text(text)
    assert main(["models", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
