"""The Snakemake workflow: config validation, the full plan, and a tiny end-to-end run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf
import torch

from tdpr.data.maestro import COLUMNS
from tdpr.train.checkpoint import load_model

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]


def snakemake(workdir: Path, *args: str, timeout: float = 1500) -> subprocess.CompletedProcess:
    """Run Snakemake on the project's Snakefile with ``workdir`` as its working directory."""
    return subprocess.run(
        [*SNAKEMAKE, "--directory", str(workdir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=workdir,
    )


def test_full_reproduction_plans_without_network_or_maestro(tmp_path: Path) -> None:
    result = snakemake(
        tmp_path, "-n", "--cores", "all", "--configfile", str(ROOT / "config/config.yaml")
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    for rule, count in [("download_maestro", 1), ("clip_recordings", 40), ("degrade_testset", 4)]:
        assert any(line.split()[:2] == [rule, str(count)] for line in out.splitlines()), rule
    assert not (tmp_path / "resources").exists() and not (tmp_path / "results").exists()


def test_existing_unpacked_maestro_is_used_in_place(tmp_path: Path) -> None:
    maestro = tmp_path / "maestro-v3.0.0"
    maestro.mkdir()
    (maestro / "maestro-v3.0.0.csv").write_text(",".join(COLUMNS) + "\n")
    result = snakemake(
        tmp_path,
        "-n",
        "--cores",
        "1",
        "--configfile",
        str(ROOT / "config/config.yaml"),
        "--config",
        f"data={{'source': 'maestro', 'maestro': {{'directory': '{maestro}'}}}}",
    )
    assert result.returncode == 0, result.stderr
    assert "download_maestro" not in result.stdout


@pytest.mark.parametrize(
    "override, named",
    [
        ("bogus_key=1", "bogus_key"),
        ("data={'shards': {'tran': 2}}", "tran"),
        ("testset={'cutoffs': [9000]}", "testset.cutoffs"),
    ],
)
def test_bad_config_fails_before_any_job_naming_the_key(tmp_path, override, named) -> None:
    result = snakemake(
        tmp_path,
        "-n",
        "--cores",
        "1",
        "--configfile",
        str(ROOT / "config/config.yaml"),
        "--config",
        override,
    )
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert named in out and "invalid configuration" in out
    assert "Job stats" not in out


@pytest.mark.slow
def test_tiny_config_runs_end_to_end(tmp_path: Path) -> None:
    result = snakemake(tmp_path, "--cores", "2", "--configfile", str(ROOT / ".test/config.yaml"))
    assert result.returncode == 0, result.stderr[-4000:]

    clips = {
        s: pd.read_csv(tmp_path / f"results/clips/{s}.csv") for s in ("train", "validation", "test")
    }
    assert all(len(c) > 0 for c in clips.values())
    pieces = {s: set(c["source_file"]) for s, c in clips.items()}
    assert not (pieces["train"] & pieces["test"]) and not (pieces["train"] & pieces["validation"])
    info = sf.info(tmp_path / "results/clips" / clips["test"]["path"][0])
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert info.frames == 4 * 16000

    for cutoff in (2500, 4000):
        testset = pd.read_csv(tmp_path / f"results/testsets/{cutoff}.csv")
        assert sorted(testset["clip_id"]) == sorted(clips["test"]["clip_id"])

    metrics = pd.read_csv(tmp_path / "results/metrics/metrics.csv")
    assert list(metrics.columns) == ["system", "cutoff", "clip", "metric", "value"]
    assert set(metrics["system"]) == {"Input"}
    summary = pd.read_csv(tmp_path / "results/metrics/summary.csv")
    lsd = summary[summary.metric == "lsd"].set_index("cutoff")["mean"]
    assert lsd[2500] > lsd[4000] > 0  # the Input LSD falls as the cutoff rises

    for model in ("seanet", "audiounet", "demucs"):
        loaded = load_model(tmp_path / f"results/models/{model}/model.pt")
        x = torch.zeros(1, 1, 4001)
        assert loaded(x).shape == x.shape
        history = pd.read_csv(tmp_path / f"results/models/{model}/history.csv")
        assert history["epoch"].tolist() == [1, 2]
        assert history["valid_lsd"].notna().all()
        assert (tmp_path / f"results/models/{model}/work/checkpoint.pt").is_file()
        log = (tmp_path / f"logs/train_model/{model}.log").read_text()
        assert "no CUDA device: training on CPU" in log or "cuda" in log

    # A second run has nothing to do: every step is cached.
    again = snakemake(
        tmp_path, "-n", "--cores", "2", "--configfile", str(ROOT / ".test/config.yaml")
    )
    assert "Nothing to be done" in again.stdout + again.stderr
