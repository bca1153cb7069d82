"""Figures 4 and 5 of the paper, LSD against cutoff, and training curves.

Plotting reads small tidy products (metrics CSV, histories, a handful of WAVs) and never computes
anything expensive. Every function builds a :class:`matplotlib.figure.Figure` directly (no pyplot,
so no GUI backend and no global figure state; PNG is rendered by Agg) and writes PNG and PDF
atomically next to each other via :func:`save_figure`. Colours are fixed per system: one hue per
model, shared by its +TD-PR (darker, dashed) and +GT-phase (lighter, dotted) variants; Input grey,
Ground truth black (all from :mod:`tdpr.registry`); no-learning baselines keep their registry
colour with a dash-dot-dot line and square markers, so they read as a bar, not a contender.
Systems are given by their keys (``input``, ``reference``, ``seanet``, ``seanet_tdpr``); labels
are applied here, when a figure is drawn.
"""

from __future__ import annotations

import colorsys
import logging
import os
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
from tdpr.data.manifest import read_manifest
from tdpr.dsp.stft import stft
from tdpr.fsio import atomic_path
from tdpr.registry import (
    FIXED_SYSTEMS,
    INPUT,
    METRICS,
    MODELS,
    PHASE_METRICS,
    REFERENCE,
    TDCNN,
    VARIANTS,
    is_baseline,
    split_system,
    system_key,
    system_label,
)
from tdpr.report.tables import system_order

logger = logging.getLogger(__name__)

#: Curves of the no-learning baselines: dash-dot-dot, unlike every variant's line style.
BASELINE_LINESTYLE = (0, (3, 1, 1, 1, 1, 1))
BASELINE_ROW = "baselines"  # the one grid row shared by every baseline system


def system_color(key: str) -> str:
    """Hex colour of a system: the model's hue, shaded per variant (darker for +TD-PR...)."""
    model, variant = split_system(key)
    if model in FIXED_SYSTEMS:
        return FIXED_SYSTEMS[model][1]
    hue, light, sat = colorsys.rgb_to_hls(*to_rgb(MODELS[model].colour))
    return to_hex(colorsys.hls_to_rgb(hue, min(0.85, light * VARIANTS[variant].shade), sat))


def system_linestyle(key: str) -> str | tuple[int, tuple[int, ...]]:
    """Line style of a system: solid, ``--`` for +TD-PR, ``:`` for +GT-phase;
    :data:`BASELINE_LINESTYLE` for a baseline and its variants."""
    if is_baseline(key):
        return BASELINE_LINESTYLE
    return VARIANTS[split_system(key)[1]].linestyle


def _marker(key: str) -> str:
    return "s" if is_baseline(key) else "o"


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


#: Height of one legend entry at the paper context's font size, in inches.
LEGEND_LINE_INCHES = 0.19


def new_figure(width: float, height: float) -> Figure:
    """A constrained-layout figure, detached from pyplot (make its axes inside :func:`styled`)."""
    return Figure(figsize=(width, height), layout="constrained")


def styled(style: str = "whitegrid"):
    """Context manager applying a seaborn axes style and the paper context to new axes."""
    return mpl.rc_context({**sns.axes_style(style), **sns.plotting_context("paper")})


def panel_rows(keys: Iterable[str]) -> list[list[str]]:
    """Grid of systems as in Figs. 4-5: ``[input, reference]``, then every baseline system in one
    row (they are the bar, not a model each), then one row per model."""
    keys = system_order(keys)
    first = [key for key in (INPUT, REFERENCE) if key in keys]
    rest = [key for key in keys if key not in first]
    row_of = {key: BASELINE_ROW if is_baseline(key) else split_system(key)[0] for key in rest}
    names = dict.fromkeys(row_of.values())
    rows = [[key for key in rest if row_of[key] == name] for name in names]
    return [first, *rows] if first else rows


def _panel_title(row: int, col: int, key: str, first_row_fixed: bool) -> str:
    label = system_label(key)
    if first_row_fixed and row == 0:
        return f"({chr(ord('a') + col)}) {label}"
    letter = chr(ord("a") + row + (1 if first_row_fixed else 0))
    return f"({letter}-{col + 1}) {label}"


def _grid(keys: Iterable[str], panel_size: tuple[float, float], sharey: bool = True):
    rows = panel_rows(keys)
    n_cols = max(len(r) for r in rows)
    fig = new_figure(panel_size[0] * n_cols, panel_size[1] * len(rows))
    axes = np.atleast_2d(fig.subplots(len(rows), n_cols, sharex=True, sharey=sharey, squeeze=False))
    fixed = rows[0][0] in (INPUT, REFERENCE)
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
        signals: system key -> waveform ``(T,)`` of the same clip (input, reference, each
            model and its variants, one row per model).
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
        for key, ax in placed.items():
            if REFERENCE in phases and key != REFERENCE:
                ax.plot(phases[REFERENCE], color="0.75", lw=1.0, label=system_label(REFERENCE))
            ax.plot(phases[key], color=system_color(key), marker="o", ms=2.5, lw=1.0)
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
        signals: system key -> waveform ``(T,)`` of the same clip.
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
        for key, ax in placed.items():
            db = 10 * np.log10(np.maximum(power[key], 1e-20)) - top
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
        metrics: tidy metrics (``model, variant, cutoff, clip, metric, value``).
        out: output path; ``.png`` and ``.pdf`` are written.
        metric: metric to plot.
        systems: system keys to show (default: all present, in table order).
        seed: seed of the bootstrap, so reruns draw the same intervals.
    """
    rows = metrics[metrics["metric"] == metric].copy()
    if rows.empty:
        raise ValueError(f"no rows for metric {metric!r} in the metrics table")
    pairs = zip(rows["model"], rows["variant"], strict=True)
    rows["system"] = [system_key(m, v) for m, v in pairs]
    order = system_order(rows["system"] if systems is None else systems)
    rows = rows[rows["system"].isin(order)]
    labels = {key: system_label(key) for key in order}
    rows["system"] = rows["system"].map(labels)
    rows["bandwidth"] = (rows["cutoff"].astype(float) / 1000).map("{:g} kHz".format)
    x_order = [f"{c / 1000:g} kHz" for c in sorted(rows["cutoff"].astype(float).unique())]
    with styled():
        # the legend (one line per system, beside the axes) sets the height: a fixed height
        # cut off the systems that did not fit
        fig = new_figure(6.5, max(3.6, 0.6 + LEGEND_LINE_INCHES * len(order)))
        ax = fig.subplots()
        palette = {labels[s]: system_color(s) for s in order}
        sns.pointplot(
            data=rows, x="bandwidth", y="value", hue="system", order=x_order,
            hue_order=[labels[s] for s in order],
            palette=palette, linestyles=[system_linestyle(s) for s in order],
            markers=[_marker(s) for s in order],
            errorbar=("ci", 95), seed=seed, dodge=0.35, markersize=4, linewidth=1.2, ax=ax,
        )  # fmt: skip
        ax.set_xlabel("input bandwidth")
        title = METRICS[metric].title if metric in METRICS else metric
        ax.set_ylabel(f"{title} (mean, 95 % CI over clips)")
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1.0), title=None, frameon=False)
        return save_figure(fig, out)


def plot_phase_metrics(
    metrics: pd.DataFrame,
    out: str | os.PathLike,
    *,
    names: Iterable[str] = PHASE_METRICS,
    seed: int = 0,
) -> list[Path]:
    """One panel per phase metric: its mean per system, with a bootstrapped 95 % CI.

    Every (clip, cutoff) pair of a system is one sample; metrics with no finite value (the
    consistency error of systems that build no spectrogram) leave those systems out of their
    panel. Systems in table order, coloured as everywhere.

    Args:
        metrics: tidy metrics (``model, variant, cutoff, clip, metric, value``).
        out: output path; ``.png`` and ``.pdf`` are written.
        names: metrics to show, those present (default :data:`tdpr.registry.PHASE_METRICS`).
        seed: seed of the bootstrap.
    """
    names = [n for n in names if n in set(metrics["metric"])]
    if not names:
        raise ValueError("the metrics table holds none of the phase metrics")
    rows = metrics[metrics["metric"].isin(names)].copy()
    pairs = zip(rows["model"], rows["variant"], strict=True)
    rows["system"] = [system_key(m, v) for m, v in pairs]
    rows = rows[np.isfinite(rows["value"].astype(float))]
    order = system_order(rows["system"])
    labels = {key: system_label(key) for key in order}
    with styled():
        n_cols = min(3, len(names))
        n_rows = -(-len(names) // n_cols)
        fig = new_figure(4.2 * n_cols, 0.9 + 0.22 * len(order) * n_rows)
        axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
        for ax, name in zip(axes, names, strict=False):
            block = rows[rows["metric"] == name]
            shown = [s for s in order if s in set(block["system"])]
            sns.pointplot(
                data=block, x="value", y="system", order=shown, hue="system",
                hue_order=shown, palette={s: system_color(s) for s in shown},
                errorbar=("ci", 95), seed=seed, linestyle="none", markersize=4, ax=ax,
            )  # fmt: skip
            ax.set_yticks(range(len(shown)), [labels[s] for s in shown])
            ax.set(xlabel=METRICS[name].title, ylabel="")
            if ax.get_legend() is not None:
                ax.get_legend().remove()
        for ax in axes[len(names) :]:
            ax.set_visible(False)
        fig.suptitle("Phase metrics per system (mean and 95 % CI over clips and cutoffs)")
        return save_figure(fig, out)


HISTORY_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_lsd")


def _per_epoch(label: str, history: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history of {label} lacks column(s) {', '.join(missing)}")
    return history.groupby("epoch")[list(HISTORY_COLUMNS[1:])].mean()


def plot_training_curves(
    histories: Mapping[str, pd.DataFrame],
    out: str | os.PathLike,
    levels: Mapping[str, float] | None = None,
) -> list[Path]:
    """Training and validation loss (log scale) per epoch, and validation LSD over optimiser
    steps, one colour per model; the no-learning systems' LSD on the same validation items as
    horizontal lines.

    Args:
        histories: TD-CNN name -> history (``epoch, step, train_loss, valid_loss, valid_lsd,
            seconds``); several rows per epoch are averaged.
        out: output path; ``.png`` and ``.pdf`` are written.
        levels: system key (``input``, a baseline) -> its mean LSD on the validation items
            (:func:`tdpr.baselines.levels.validation_levels`); None draws no lines.

    Raises:
        ValueError: no histories, a history lacks a column, or a name is not a TD-CNN (a
            baseline learns nothing, so it has no curve).
    """
    if not histories:
        raise ValueError("no training histories to plot")
    untrained = [name for name in histories if MODELS.get(name) and MODELS[name].kind != TDCNN]
    if untrained:
        raise ValueError(f"no training curves for {', '.join(untrained)}: not a TD-CNN")
    with styled():
        fig = new_figure(8.0, 3.2)
        loss_ax, lsd_ax = fig.subplots(1, 2)
        for model, history in histories.items():
            label = system_label(model)
            epochs, color = _per_epoch(label, history), system_color(model)
            train, valid = epochs["train_loss"].dropna(), epochs["valid_loss"].dropna()
            loss_ax.plot(train.index, train, color=color, label=f"{label} train")
            loss_ax.plot(valid.index, valid, color=color, ls="--", label=f"{label} valid")
            steps = history.dropna(subset=["valid_lsd"]).groupby("epoch")["step"].max()
            lsd = epochs["valid_lsd"].dropna()
            lsd_ax.plot(steps.loc[lsd.index], lsd, color=color, marker="o", ms=2.5, label=label)
        for key, value in (levels or {}).items():
            lsd_ax.axhline(value, color=system_color(key), ls=":", lw=1.2)
            lsd_ax.annotate(
                f"{system_label(key)} {value:.2f}",
                (1.0, value),
                xycoords=("axes fraction", "data"),
                ha="right",
                va="bottom",
                fontsize="x-small",
                color=system_color(key),
            )
        loss_ax.set(xlabel="epoch", ylabel="training loss", yscale="log")
        lsd_ax.set(xlabel="optimiser step", ylabel="validation LSD")
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
        manifests: system key -> manifest CSV (``clip_id, path``, path relative to the CSV).
        clip_id: the clip to read.
        offset_s, duration_s: excerpt to keep (default: the whole clip).

    Returns:
        ``({key: (T,) float32 mono}, sample_rate)``.

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
