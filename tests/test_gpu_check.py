"""``bench/gpu_check.sh --dry-run``: every stage of the GPU check, on the CPU with tiny sizes."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = (
    "cuda test tier",
    "training steps/s: seanet",
    "training steps/s: tfgan",
    "loader vs training",
    "tdpr enhance RTF",
    "DDP: tdpr train --nproc 2",
)


@pytest.mark.slow
def test_dry_run_takes_every_stage_and_appends_its_figures(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n")
    env = {**os.environ, "PYTHON": os.environ.get("PYTHON", "python3")}
    done = subprocess.run(
        ["bash", str(ROOT / "bench/gpu_check.sh"), "--dry-run", "--results", str(results)],
        capture_output=True, text=True, timeout=1500, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    text = results.read_text()
    assert text.startswith("# Benchmark results\n")  # appended, not overwritten
    assert "## GPU check (`bench/gpu_check.sh --dry-run`)" in text
    assert re.search(r"torch \S+; CUDA", text)
    for stage in STAGES:
        assert re.search(rf"### {re.escape(stage)} \(\d+ s, exit 0\)", text), (stage, text[-3000:])
    assert re.search(r"\| seanet \| [\d.]+ M \| [\d.]+ steps/s", text)  # figures, not errors
    assert "| fp32 | bf16 |" in text and "ratio seanet" in text and "bfloat16" in text
    assert "| bf16+compile |" not in text  # the dry run leaves compiling out (see gpu_check.py)
