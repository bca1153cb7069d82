"""docs/extending.md, applied verbatim: a model, a degradation and a metric, each one module plus
one registry entry, run through the tiny workflow to Table 1 and the extended table."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "extending.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def guide_examples() -> list[tuple[str, str, str, str]]:
    """``(module path, module code, registry dict, entry line)`` of each section of the guide."""
    out = []
    for section in GUIDE.read_text().split("\n## ")[1:]:
        module = re.search(r"^`(src/tdpr/[\w/]+\.py)`:$", section, re.M)
        registry = re.search(r"^Entry in `(\w+)`", section, re.M)
        code, entry = BLOCK.findall(section)[:2]
        assert module and registry, section[:60]
        out.append((module.group(1), code, registry.group(1), entry.rstrip("\n")))
    return out


def copy_project(dest: Path) -> None:
    """The working tree's files that git knows or would track, copied to ``dest``."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for rel in files:
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@localhost"}
    result = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, env=env
    )
    return result.stdout


def add_entry(registry_py: Path, name: str, entry: str) -> None:
    """Insert ``entry`` as the last item of the dict ``name`` in the registry module."""
    text = registry_py.read_text()
    start = text.index(f"\n{name}: dict[")
    end = text.index("\n}\n", start)
    registry_py.write_text(text[:end] + "\n" + entry + text[end:])


def test_the_guide_has_three_examples():
    kinds = [registry for _, _, registry, _ in guide_examples()]
    assert kinds == ["MODELS", "DEGRADATIONS", "METRICS"]


TOY_CONFIG = """
data:
  source: demo
  demo: {max_seconds: 12}
  clip_seconds: 4
  shards: {train: 1, validation: 1, test: 1}
testset:
  cutoffs: [2500, 4000]
  filters: [movingaverage]
models:
  toynet:
    arch: {channels: 4, layers: 2}
train:
  epochs: 1
  batch_size: 2
  crop_seconds: 1.0
  max_steps_per_epoch: 2
  valid_items: 2
  filters: [movingaverage, stft]
vocoder:
  arch: {mult: 8, n_residual_layers: 1}
  discriminator:
    msd: {num_scales: 2, channels: [4, 4, 4, 4]}
    fd: {channels: [4, 4, 4, 4]}
  train: {steps: 2, batch_size: 2, segment_seconds: 0.25, adv_start_step: 1, valid_items: 2}
enhance:
  chunk_seconds: 2.0
  context_seconds: 0.25
  crossfade_seconds: 0.1
phase_repair:
  oracle_models: [toynet]
baselines: {names: [noisefill]}
report:
  figure_cutoff: 2500
  phase_bin: 100
  listening: {pieces: 2, cutoff: 2500, offset_seconds: 0.5, duration_seconds: 2.0,
              ab_model: toynet}
"""


@pytest.mark.slow
def test_a_toy_model_degradation_and_metric_run_through_the_workflow(tmp_path):
    project = tmp_path / "project"
    copy_project(project)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "base")

    for module, code, registry, entry in guide_examples():
        (project / module).write_text(code)
        add_entry(project / "src/tdpr/registry.py", registry, entry)
    changed = git(project, "status", "--porcelain").splitlines()
    assert sorted(line[3:] for line in changed) == sorted(
        ["src/tdpr/registry.py", *(module for module, *_ in guide_examples())]
    )
    assert sum(1 for line in changed if line.startswith(" M")) == 1  # only the registry edited

    config = tmp_path / "toy.yaml"
    config.write_text(TOY_CONFIG)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(project / "Snakefile")]
        + ["--directory", str(work), "--cores", "2", "--configfile", str(config)],
        capture_output=True,
        text=True,
        timeout=1500,
        cwd=work,
        env=env,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]

    table = pd.read_csv(work / "results/tables/table1.csv", comment="#", index_col=0)
    # a new model takes its place among the built-in systems: after the baselines
    assert list(table.index) == ["Input", "Noise fill", "ToyNet", "ToyNet+TD-PR", "Ground truth"]
    assert table.loc["ToyNet", "Params"].endswith(" M")
    extended = pd.read_csv(work / "results/tables/table_extended.csv", comment="#")
    assert "Energy error (dB)" in extended.columns
    assert "ToyNet+GT-phase" in set(extended["System"])
    metrics = pd.read_csv(work / "results/metrics/metrics.csv")
    energy = metrics[metrics["metric"] == "energy"]
    assert len(energy) and (energy["value"] >= 0).all()
    testset = pd.read_csv(work / "results/testsets/2500.csv")
    assert set(testset["ftype"]) == {"movingaverage"}
