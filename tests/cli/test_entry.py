"""The two ways in: the `tdpr` console script's --version, and `python -m tdpr`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tdpr import __version__
from tdpr.cli import main


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"tdpr {__version__}"


def test_python_dash_m_tdpr_is_the_same_command():
    done = subprocess.run(
        [sys.executable, "-m", "tdpr", "--version"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == f"tdpr {__version__}"
    done = subprocess.run(
        [sys.executable, "-m", "tdpr", "degrade", "missing.wav", "out.wav", "--cutoff", "3000"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "tdpr degrade: error: " in done.stderr
