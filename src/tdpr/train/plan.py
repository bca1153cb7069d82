"""The cost of a configured training, from measured steps/s: steps, epochs and GPU-hours.

An epoch is ``clips × crops_per_clip`` items (:class:`tdpr.train.config.TrainConfig`), so a
model trains for ``epochs × ceil(items / batch_size)`` optimiser steps (capped by
``max_steps_per_epoch``); the vocoder for ``vocoder.train.steps``. Divided by a steps/s measured
on a GPU (``bench/gpu_check.sh`` writes ``bench/gpu_figures.json``), that is the projected time
on one GPU. Nothing here imports torch.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: MAESTRO v3's training split: 962 recordings, 159.2 h. Cut into 30-s clips with each
#: recording's shorter tail dropped (about 15 s on average), about this many clips.
MAESTRO_TRAIN_HOURS, MAESTRO_TRAIN_RECORDINGS = 159.2, 962
#: Preferred mode of the measured figures, fastest first.
MODES = ("bf16+compile", "bf16", "fp32")


def estimated_clips(clip_seconds: float) -> int:
    """Training clips of MAESTRO v3 at ``clip_seconds`` (an estimate; tails dropped)."""
    seconds = MAESTRO_TRAIN_HOURS * 3600 - MAESTRO_TRAIN_RECORDINGS * clip_seconds / 2
    return int(seconds // clip_seconds)


@dataclass(frozen=True)
class PlanRow:
    """One training's cost: ``steps / steps_per_second`` seconds on one device."""

    name: str
    items_per_epoch: int | None
    steps_per_epoch: int | None
    epochs: int | None
    steps: int
    steps_per_second: float | None
    source: str

    @property
    def gpu_hours(self) -> float | None:
        if not self.steps_per_second:
            return None
        return self.steps / self.steps_per_second / 3600


def model_row(name: str, train: dict[str, Any], clips: int, rate: float | None, source: str):
    """The :class:`PlanRow` of a TD-CNN with merged training settings ``train``."""
    items = clips * int(train.get("crops_per_clip", 1))
    per_epoch = math.ceil(items / int(train["batch_size"]))
    if train.get("max_steps_per_epoch"):
        per_epoch = min(per_epoch, int(train["max_steps_per_epoch"]))
    epochs = int(train["epochs"])
    return PlanRow(name, items, per_epoch, epochs, per_epoch * epochs, rate, source)


def load_figures(path: str | os.PathLike) -> tuple[dict[str, float], str]:
    """``{model: steps/s}`` in the fastest measured mode, and a line saying where from.

    Reads the JSON of ``bench/bench_train.py --json`` (``bench/gpu_figures.json``).
    """
    data = json.loads(Path(path).read_text())
    rates = {}
    for name, modes in data.get("steps_per_second", {}).items():
        mode = next((m for m in MODES if m in modes), None)
        if mode is not None:
            rates[name] = float(modes[mode])
    meta = data.get("meta", {})
    where = f"{path}: {meta.get('device', '?')}, torch {meta.get('torch', '?')}"
    return rates, where


def format_table(rows: list[PlanRow]) -> str:
    """A Markdown table of the rows, with a total."""
    lines = [
        "| training | items / epoch | steps / epoch | epochs | steps | steps/s | GPU-hours |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    total = 0.0
    for r in rows:
        cells = [
            r.name,
            "-" if r.items_per_epoch is None else f"{r.items_per_epoch:,}",
            "-" if r.steps_per_epoch is None else f"{r.steps_per_epoch:,}",
            "-" if r.epochs is None else str(r.epochs),
            f"{r.steps:,}",
            "not measured" if r.steps_per_second is None else f"{r.steps_per_second:.2f}",
            "-" if r.gpu_hours is None else f"{r.gpu_hours:,.1f}",
        ]
        total += r.gpu_hours or 0.0
        lines.append("| " + " | ".join(cells) + " |")
    known = all(r.gpu_hours is not None for r in rows)
    lines.append(f"| total | | | | | | {total:,.1f}{'' if known else ' (measured rows only)'} |")
    return "\n".join(lines)
