"""envs/tdpr.yaml mirrors pyproject's dependencies: same packages, same lower bounds."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
#: PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"torch": "pytorch", "soundfile": "pysoundfile"}
SPEC = re.compile(r"^([A-Za-z0-9_.\-]+)\s*(.*)$")


def _parse(requirements: list[str]) -> dict[str, str]:
    out = {}
    for req in requirements:
        name, spec = SPEC.match(req.strip()).groups()
        out[name.lower()] = spec.replace(" ", "")
    return out


def test_conda_env_mirrors_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pypi = _parse(project["dependencies"])
    env = yaml.safe_load((ROOT / "envs" / "tdpr.yaml").read_text())
    conda: list[str] = []
    for dep in env["dependencies"]:
        conda += dep["pip"] if isinstance(dep, dict) else [dep]
    listed = _parse(conda)
    for name, spec in pypi.items():
        key = CONDA_NAMES.get(name, name)
        assert key in listed, f"{name} is in pyproject.toml but not in envs/tdpr.yaml"
        assert listed[key] == spec, f"{name}: pyproject says {spec!r}, envs says {listed[key]!r}"
    extra = set(listed) - {CONDA_NAMES.get(n, n) for n in pypi} - {"python", "pip", "fluidsynth"}
    assert not extra, f"envs/tdpr.yaml lists packages pyproject.toml lacks: {sorted(extra)}"


def test_workflow_jobs_import_no_more_than_they_use():
    """Every TD-CNN inference, phase repair and metrics job starts a Python process: those
    modules leave scipy.signal (with scipy.stats, about a second) and matplotlib unimported."""
    import subprocess
    import sys

    code = (
        "import sys, tdpr.inference, tdpr.evaluate, tdpr.phase.repair; "
        "print(' '.join(m for m in ('scipy.signal', 'scipy.stats', 'matplotlib') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
