"""Figures 4 and 5 of the paper, LSD against cutoff, and training curves.

Plotting reads small tidy products (metrics CSV, histories, a handful of WAVs) and never computes
anything expensive. Every function builds a :class:`matplotlib.figure.Figure` directly (no pyplot,
so no GUI backend and no global figure state; PNG is rendered by Agg) and writes PNG and PDF
atomically next to each other via :func:`save_figure`. Colours are fixed per system: one hue per
model, shared by its +TD-PR (darker, dashed) and +GT-phase (lighter, dotted) variants; Input grey,
Ground truth black.
"""

from __future__ import annotations

import colorsys
import logging
import os
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure

from tdpr.audio import AudioError, read_audio, to_mono
from tdpr.dsp.stft import stft
from tdpr.evaluate import read_manifest
from tdpr.fsio import atomic_path
from tdpr.report.tables import GROUND_TRUTH, GT_PHASE, INPUT, TDPR, system_order

logger = logging.getLogger(__name__)

MODEL_COLORS = {"SEANet": "#0173b2", "AudioUNet": "#de8f05", "Demucs": "#029e73"}
FIXED_COLORS = {INPUT: "#7f7f7f", GROUND_TRUTH: "#000000"}
#: variant suffix -> (lightness factor, line style)
VARIANTS = {"": (1.0, "-"), TDPR: (0.6, "--"), GT_PHASE: (1.45, ":")}


def system_color(label: str) -> str:
    """Hex colour of a system label: the model's hue, darker for +TD-PR, lighter for +GT-phase."""
    if label in FIXED_COLORS:
        return FIXED_COLORS[label]
    base, plus, variant = label.partition("+")
    palette = sns.color_palette("colorblind", 10)
    color = MODEL_COLORS.get(base) or palette[3 + zlib.crc32(base.encode()) % 7]
    factor = VARIANTS.get(plus + variant, (0.8, "-"))[0]
    hue, light, sat = colorsys.rgb_to_hls(*to_rgb(color))
    return to_hex(colorsys.hls_to_rgb(hue, min(0.85, light * factor), sat))


def system_linestyle(label: str) -> str:
    """Line style of a system label: solid, ``--`` for +TD-PR, ``:`` for +GT-phase."""
    _, plus, variant = label.partition("+")
    return VARIANTS.get(plus + variant, (1.0, "-."))[1]


def save_figure(fig: Figure, out: str | os.PathLike, dpi: int = 200) -> list[Path]:
    """Write ``fig`` as ``out`` with suffix ``.png`` and ``.pdf`` (atomically); return the paths."""
    out = Path(out)
    paths = [out.with_suffix(".png"), out.with_suffix(".pdf")]
    for path in paths:
        # No creation date in the PDF, so an unchanged figure gives an identical file.
        metadata = {"CreationDate": None} if path.suffix == ".pdf" else None
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix[1:], dpi=dpi, metadata=metadata)
    logger.info("wrote %s", ", ".join(map(str, paths)))
    return paths


def new_figure(width: float, height: float) -> Figure:
    """A constrained-layout figure, detached from pyplot (make its axes inside :func:`styled`)."""
    return Figure(figsize=(width, height), layout="constrained")


def styled(style: str = "whitegrid"):
    """Context manager applying a seaborn axes style and the paper context to new axes."""
    return mpl.rc_context({**sns.axes_style(style), **sns.plotting_context("paper")})


def panel_rows(labels: Iterable[str]) -> list[list[str]]:
    """Grid of systems as in Figs. 4-5: ``[Input, Ground truth]``, then one row per model."""
    labels = system_order(labels)
    first = [label for label in (INPUT, GROUND_TRUTH) if label in labels]
    rest = [label for label in labels if label not in first]
    bases = dict.fromkeys(label.split("+")[0] for label in rest)
    rows = [[label for label in rest if label.split("+")[0] == base] for base in bases]
    return [first, *rows] if first else rows


def _panel_title(row: int, col: int, label: str, first_row_fixed: bool) -> str:
    if first_row_fixed and row == 0:
        return f"({chr(ord('a') + col)}) {label}"
    letter = chr(ord("a") + row + (1 if first_row_fixed else 0))
    return f"({letter}-{col + 1}) {label}"


def _grid(labels: Iterable[str], panel_size: tuple[float, float], sharey: bool = True):
    rows = panel_rows(labels)
    n_cols = max(len(r) for r in rows)
    fig = new_figure(panel_size[0] * n_cols, panel_size[1] * len(rows))
    axes = np.atleast_2d(fig.subplots(len(rows), n_cols, sharex=True, sharey=sharey, squeeze=False))
    fixed = rows[0][0] in (INPUT, GROUND_TRUTH)
    placed = {}
    for r, row in enumerate(rows):
        for c in range(n_cols):
            if c >= len(row):
                axes[r, c].set_visible(False)
                continue
            axes[r, c].set_title(_panel_title(r, c, row[c], fixed), loc="left")
            placed[row[c]] = axes[r, c]
    return fig, axes, placed


def _spectrum(signal: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Complex STFT ``(n_fft // 2 + 1, frames)`` of a ``(T,)`` signal (the project's convention)."""
    x = torch.from_numpy(np.ascontiguousarray(signal, dtype=np.float32))
    return stft(x, n_fft=n_fft, hop=hop).numpy()


def plot_phase_bin(
    signals: Mapping[str, np.ndarray],
    bin_index: int,
    n_frames: int = 40,
    *,
    out: str | os.PathLike,
    n_fft: int = 1024,
    hop: int = 256,
    sample_rate: int | None = None,
) -> list[Path]:
    """Fig. 4: wrapped phase (rad) of one STFT bin over the first ``n_frames`` frames.

    Args:
        signals: system label -> waveform ``(T,)`` of the same clip (Input, Ground truth, each
            model and model+TD-PR; other variants get their own column).
        bin_index: frequency bin, ``0 <= bin_index <= n_fft // 2``.
        n_frames: frames shown from the start of the clip.
        out: output path; ``.png`` and ``.pdf`` are written.
        n_fft, hop: STFT settings (those of phase repair by default).
        sample_rate: if given, the bin's centre frequency is stated in the title.

    Returns:
        The written paths. Ground truth's phase is drawn in grey in every other panel.
    """
    if not 0 <= bin_index <= n_fft // 2:
        raise ValueError(f"bin_index {bin_index} is outside 0..{n_fft // 2}")
    phases = {
        k: np.angle(_spectrum(v, n_fft, hop)[bin_index, :n_frames]) for k, v in signals.items()
    }
    with styled():
        fig, axes, placed = _grid(phases, (3.2, 1.9))
        for label, ax in placed.items():
            if GROUND_TRUTH in phases and label != GROUND_TRUTH:
                ax.plot(phases[GROUND_TRUTH], color="0.75", lw=1.0, label=GROUND_TRUTH)
            ax.plot(phases[label], color=system_color(label), marker="o", ms=2.5, lw=1.0)
            ax.set_ylim(-np.pi - 0.3, np.pi + 0.3)
            ax.set_yticks([-np.pi, 0, np.pi], ["$-\\pi$", "0", "$\\pi$"])
        for ax in axes[-1]:
            ax.set_xlabel("frame")
        hz = f" ({bin_index * sample_rate / n_fft:.0f} Hz)" if sample_rate else ""
        fig.suptitle(f"Phase of STFT bin {bin_index}{hz}, first {n_frames} frames")
        return save_figure(fig, out)


def plot_spectrograms(
    signals: Mapping[str, np.ndarray],
    out: str | os.PathLike,
    sample_rate: int,
    cutoff_hz: float,
    *,
    n_fft: int = 1024,
    hop: int = 256,
    dynamic_range_db: float = 80.0,
) -> list[Path]:
    """Fig. 5: magnitude spectrograms (dB) on one colour scale, a dashed line at the cutoff.

    Args:
        signals: system label -> waveform ``(T,)`` of the same clip.
        out: output path; ``.png`` and ``.pdf`` are written.
        sample_rate: rate of the signals in Hz.
        cutoff_hz: input bandwidth, drawn as a dashed line.
        n_fft, hop: STFT settings.
        dynamic_range_db: the colour scale spans this many dB below the loudest bin of all panels.

    Returns:
        The written paths.
    """
    power = {k: np.abs(_spectrum(v, n_fft, hop)) ** 2 for k, v in signals.items()}
    top = 10 * np.log10(max(float(p.max()) for p in power.values()) + 1e-20)
    with styled("white"):
        fig, axes, placed = _grid(power, (3.2, 2.0))
        for label, ax in placed.items():
            db = 10 * np.log10(np.maximum(power[label], 1e-20)) - top
            extent = (0, db.shape[1] * hop / sample_rate, 0, sample_rate / 2000)
            image = ax.imshow(db, origin="lower", aspect="auto", extent=extent, cmap="magma")
            image.set_clim(-dynamic_range_db, 0)
            ax.axhline(cutoff_hz / 1000, color="cyan", ls="--", lw=0.9)
        for ax in axes[-1]:
            ax.set_xlabel("time (s)")
        for ax in axes[:, 0]:
            ax.set_ylabel("kHz")
        fig.colorbar(image, ax=axes, label="dB re loudest bin", shrink=0.8)
        return save_figure(fig, out)


def plot_lsd_vs_cutoff(
    metrics: pd.DataFrame,
    out: str | os.PathLike,
    *,
    metric: str = "lsd",
    systems: Iterable[str] | None = None,
    seed: int = 0,
) -> list[Path]:
    """Mean ``metric`` against input bandwidth per system, with bootstrapped 95 % CIs over clips.

    Args:
        metrics: tidy metrics (``system, cutoff, clip, metric, value``).
        out: output path; ``.png`` and ``.pdf`` are written.
        metric: metric to plot.
        systems: systems to show (default: all present, in table order).
        seed: seed of the bootstrap, so reruns draw the same intervals.
    """
    rows = metrics[metrics["metric"] == metric].copy()
    if rows.empty:
        raise ValueError(f"no rows for metric {metric!r} in the metrics table")
    order = system_order(rows["system"] if systems is None else systems)
    rows = rows[rows["system"].isin(order)]
    rows["bandwidth"] = (rows["cutoff"].astype(float) / 1000).map("{:g} kHz".format)
    x_order = [f"{c / 1000:g} kHz" for c in sorted(rows["cutoff"].astype(float).unique())]
    with styled():
        fig = new_figure(6.5, 3.6)
        ax = fig.subplots()
        palette = {s: system_color(s) for s in order}
        sns.pointplot(
            data=rows, x="bandwidth", y="value", hue="system", order=x_order, hue_order=order,
            palette=palette, linestyles=[system_linestyle(s) for s in order],
            errorbar=("ci", 95), seed=seed, dodge=0.35, markersize=4, linewidth=1.2, ax=ax,
        )  # fmt: skip
        ax.set_xlabel("input bandwidth")
        ax.set_ylabel(metric.upper().replace("_", "-") + " (mean, 95 % CI over clips)")
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1.0), title=None, frameon=False)
        return save_figure(fig, out)


HISTORY_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_lsd")


def _per_epoch(label: str, history: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history of {label} lacks column(s) {', '.join(missing)}")
    return history.groupby("epoch")[list(HISTORY_COLUMNS[1:])].mean()


def plot_training_curves(
    histories: Mapping[str, pd.DataFrame], out: str | os.PathLike
) -> list[Path]:
    """Training and validation loss (log scale) and validation LSD per epoch, one colour per model.

    Args:
        histories: model label -> history (``epoch, step, train_loss, valid_loss, valid_lsd,
            seconds``); several rows per epoch are averaged.
        out: output path; ``.png`` and ``.pdf`` are written.
    """
    if not histories:
        raise ValueError("no training histories to plot")
    with styled():
        fig = new_figure(8.0, 3.2)
        loss_ax, lsd_ax = fig.subplots(1, 2)
        for label, history in histories.items():
            epochs, color = _per_epoch(label, history), system_color(label)
            train, valid = epochs["train_loss"].dropna(), epochs["valid_loss"].dropna()
            loss_ax.plot(train.index, train, color=color, label=f"{label} train")
            loss_ax.plot(valid.index, valid, color=color, ls="--", label=f"{label} valid")
            lsd = epochs["valid_lsd"].dropna()
            lsd_ax.plot(lsd.index, lsd, color=color, marker="o", ms=2.5, label=label)
        loss_ax.set(xlabel="epoch", ylabel="loss (MR-STFT + 1000 MR-wave)", yscale="log")
        lsd_ax.set(xlabel="epoch", ylabel="validation LSD")
        loss_ax.legend(fontsize="small", frameon=False)
        lsd_ax.legend(fontsize="small", frameon=False)
        return save_figure(fig, out)


def load_figure_signals(
    manifests: Mapping[str, str | os.PathLike],
    clip_id: str,
    *,
    offset_s: float = 0.0,
    duration_s: float | None = None,
) -> tuple[dict[str, np.ndarray], int]:
    """Read one clip of several systems for Figs. 4 and 5.

    Args:
        manifests: system label -> manifest CSV (``clip_id, path``, path relative to the CSV).
        clip_id: the clip to read.
        offset_s, duration_s: excerpt to keep (default: the whole clip).

    Returns:
        ``({label: (T,) float32 mono}, sample_rate)``.

    Raises:
        KeyError: a manifest lacks the clip. AudioError: sample rates differ.
    """
    signals, rates = {}, {}
    for label, manifest in manifests.items():
        paths = read_manifest(manifest)
        if clip_id not in paths:
            raise KeyError(f"clip {clip_id!r} is not in the manifest of {label} ({manifest})")
        audio, rates[label] = read_audio(paths[clip_id])
        start = int(round(offset_s * rates[label]))
        stop = None if duration_s is None else start + int(round(duration_s * rates[label]))
        signals[label] = to_mono(audio)[start:stop]
    if len(set(rates.values())) != 1:
        raise AudioError(f"sample rates differ between systems: {rates}")
    return signals, next(iter(rates.values()))
