"""Shared fixtures: small MAESTRO-shaped datasets made of synthetic recordings."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

SHARED = Path(__file__).resolve().parents[2] / "shared"
#: Test tiers beyond the fast one; plain ``python -m pytest`` leaves them out, ``--all`` runs them.
TIERS = ("slow", "slurm", "browser", "cuda")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--all",
        action="store_true",
        help=f"run every tier ({', '.join(TIERS)}), not only the fast one",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the slow, slurm, browser and cuda tiers unless ``--all`` or ``-m`` is given."""
    if config.getoption("--all") or config.getoption("markexpr"):
        return
    keep, drop = [], []
    for item in items:
        (drop if any(item.get_closest_marker(t) for t in TIERS) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config: pytest.Config) -> str:
    if config.getoption("--all") or config.getoption("markexpr"):
        return "test tiers: as selected"
    return f"test tiers: fast only ({', '.join(TIERS)} deselected; --all runs every tier)"


def piano_like(seconds: float, rate: int, channels: int = 2, seed: int = 0) -> np.ndarray:
    """Decaying harmonic notes with partials up to Nyquist: ``(T, channels)`` float32."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    out = np.zeros(n)
    span = min(n, int(1.5 * rate))  # a note rings for 1.5 s (it has decayed by 40 dB by then)
    t = np.arange(span) / rate
    for start in range(0, n, rate):
        f0 = 110.0 * 2 ** (rng.integers(0, 36) / 12)
        length = min(span, n - start)
        note = np.zeros(length)
        for k in range(1, min(24, int(rate / 2 / f0))):
            note += np.sin(2 * np.pi * k * f0 * t[:length] + rng.uniform(0, 6.28)) / k**1.2
        out[start : start + length] += note * np.exp(-3.0 * t[:length])
    out *= 0.5 / np.max(np.abs(out))
    stereo = np.stack([out * (1 - 0.1 * c) for c in range(channels)], axis=1)
    return stereo.astype(np.float32)


def write_dataset(root: Path, recordings: list[dict], rate: int = 44100) -> pd.DataFrame:
    """Write a MAESTRO-shaped tree: metadata CSV + ``<year>/<name>.wav`` per recording.

    Each recording dict has ``name``, ``split``, ``seconds`` and optional ``composer``/``title``.
    """
    rows = []
    for i, rec in enumerate(recordings):
        rel = f"2018/{rec['name']}.wav"
        (root / "2018").mkdir(parents=True, exist_ok=True)
        sf.write(root / rel, piano_like(rec["seconds"], rate, seed=i), rate, subtype="PCM_16")
        rows.append(
            {
                "canonical_composer": rec.get("composer", f"Composer {i}"),
                "canonical_title": rec.get("title", f"Piece {i}"),
                "split": rec["split"],
                "year": 2018,
                "midi_filename": rel.replace(".wav", ".midi"),
                "audio_filename": rel,
                "duration": rec["seconds"],
            }
        )
    frame = pd.DataFrame(rows)
    frame.to_csv(root / "maestro-v3.0.0.csv", index=False)
    return frame


def zip_dataset(root: Path, zip_path: Path, prefix: str = "maestro-v3.0.0/") -> Path:
    """Zip a dataset tree the way the official archive is laid out (under ``prefix``)."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(root).as_posix())
    return zip_path


@pytest.fixture
def small_dataset(tmp_path: Path) -> Path:
    """A directory dataset: train 2 recordings, validation 1, test 1 (16 kHz, a few seconds)."""
    root = tmp_path / "maestro-v3.0.0"
    recordings = [
        {"name": "train_a", "split": "train", "seconds": 9.5},
        {"name": "train_b", "split": "train", "seconds": 7.0},
        {"name": "valid_a", "split": "validation", "seconds": 6.2},
        {"name": "test_a", "split": "test", "seconds": 8.1},
    ]
    write_dataset(root, recordings, rate=44100)
    return root


@pytest.fixture
def one_thread():
    """Run a test on one torch thread: tiny ops only wait on a second one on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
