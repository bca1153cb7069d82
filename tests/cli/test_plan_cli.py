"""``tdpr plan``: steps, epochs and GPU-hours from the config and measured steps/s."""

from __future__ import annotations

import json
from pathlib import Path

from tdpr.cli import main
from tdpr.train.plan import estimated_clips

ROOT = Path(__file__).resolve().parents[2]


def test_full_config_gives_the_two_readings_of_an_epoch(tmp_path, capsys):
    config = ROOT / "config/config.yaml"
    assert 18_000 < estimated_clips(30) < 19_200  # 159.2 h of MAESTRO v3 in 30-s clips
    figures = tmp_path / "none.json"
    assert (
        main(["plan", "--config", str(config), "--clips", "1200", "--figures", str(figures)]) == 0
    )
    out = capsys.readouterr().out
    assert "| seanet | 1,200 | 100 | 200 | 20,000 | not measured | - |" in out
    assert "| tfgan (vocoder) | - | - | - | 1,000,000 | not measured | - |" in out

    six = tmp_path / "six.yaml"
    six.write_text(config.read_text() + "\ntrain: {crops_per_clip: 6}\n")
    rates = ["--steps-per-second", "seanet=10", "tfgan=100"]
    assert (
        main(["plan", "--config", str(six), "--clips", "1200", *rates, "--figures", str(figures)])
        == 0
    )
    out = capsys.readouterr().out
    # 7200 items / 12 = 600 steps per epoch, 120,000 steps at 10 steps/s = 3.3 h
    assert "| seanet | 7,200 | 600 | 200 | 120,000 | 10.00 | 3.3 |" in out
    assert "| tfgan (vocoder) | - | - | - | 1,000,000 | 100.00 | 2.8 |" in out


def test_figures_file_and_bad_rates(tmp_path, capsys):
    figures = tmp_path / "gpu.json"
    data = {"meta": {"device": "NVIDIA H200", "torch": "2.11"}, "steps_per_second": {
        "seanet": {"fp32": 5.0, "bf16+compile": 20.0}, "tfgan": {"fp32": 50.0}}}  # fmt: skip
    figures.write_text(json.dumps(data))
    argv = ["plan", "--config", str(ROOT / "config/config.yaml"), "--clips", "1200"]
    assert main([*argv, "--figures", str(figures)]) == 0
    out = capsys.readouterr().out
    assert "NVIDIA H200" in out and "| seanet | 1,200 | 100 | 200 | 20,000 | 20.00 | 0.3 |" in out
    assert main([*argv, "--steps-per-second", "seanet=fast"]) == 2
