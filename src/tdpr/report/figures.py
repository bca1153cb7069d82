"""Figures 4 and 5 of the paper, LSD against cutoff, and training curves.

Plotting reads small tidy products (metrics CSV, histories, a handful of WAVs) and never computes
anything expensive. Every function builds a :class:`matplotlib.figure.Figure` directly (no pyplot,
so no GUI backend and no global figure state; PNG is rendered by Agg) and writes PNG and PDF
atomically next to each other via :func:`save_figure`, and beside them, under the same stem, the
data it draws as a small tidy CSV (:func:`write_figure_data`); the figures with curves are drawn
from that very frame, so the CSV cannot drift from the picture. Colours are fixed per system: one
hue per model, shared by its +TD-PR (darker, dashed) and +GT-phase (lighter, dotted) variants;
Input grey, Ground truth black (all from :mod:`tdpr.registry`); no-learning baselines keep their
registry colour with a dash-dot-dot line and square markers, so they read as a bar, not a
contender. Systems are given by their keys (``input``, ``reference``, ``seanet``,
``seanet_tdpr``); labels are applied here, when a figure is drawn.
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


def write_figure_data(data: pd.DataFrame, out: str | os.PathLike) -> Path:
    """Write the data a figure draws as ``out`` with suffix ``.csv`` (atomically); return it."""
    path = Path(out).with_suffix(".csv")
    with atomic_path(path) as tmp:
        data.to_csv(tmp, index=False)
    logger.info("wrote %s", path)
    return path


def mean_ci(values: Iterable[float], seed: int, n_boot: int = 1000) -> tuple[float, float, float]:
    """Mean of ``values`` and the 95 % percentile interval of ``n_boot`` bootstrapped means;
    seeded, so a rerun draws the same interval."""
    values = np.asarray(list(values), dtype=float)
    rng = np.random.default_rng(seed)
    boots = values[rng.integers(0, len(values), (n_boot, len(values)))].mean(axis=1)
    low, high = np.percentile(boots, [2.5, 97.5])
    return float(values.mean()), float(low), float(high)


def _summarise(rows: pd.DataFrame, by: list[str], seed: int) -> pd.DataFrame:
    """``by`` columns + ``n, mean, ci_low, ci_high`` of ``rows["value"]`` per group."""
    records = [
        (*(keys if isinstance(keys, tuple) else (keys,)), len(group), *mean_ci(group, seed))
        for keys, group in rows.groupby(by, sort=False)["value"]
    ]
    return pd.DataFrame(records, columns=[*by, "n", "mean", "ci_low", "ci_high"])


def _with_system(metrics: pd.DataFrame) -> pd.DataFrame:
    pairs = zip(metrics["model"], metrics["variant"], strict=True)
    return metrics.assign(
        system=[system_key(m, v) for m, v in pairs], value=metrics["value"].astype(float)
    )


def _ranks(keys: Iterable[str]) -> dict[str, int]:
    return {key: i for i, key in enumerate(keys)}


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


def phase_bin_data(
    signals: Mapping[str, np.ndarray],
    bin_index: int,
    n_frames: int = 40,
    *,
    n_fft: int = 1024,
    hop: int = 256,
    sample_rate: int | None = None,
) -> pd.DataFrame:
    """What Fig. 4 draws: one row per system and frame.

    Columns ``system, frame, time_s, bin, freq_hz, phase``: the wrapped phase (rad) of STFT bin
    ``bin_index`` (centre frequency ``bin_index * sample_rate / n_fft``) in the frame centred at
    ``time_s``; the times and frequency are empty without ``sample_rate``.
    """
    if not 0 <= bin_index <= n_fft // 2:
        raise ValueError(f"bin_index {bin_index} is outside 0..{n_fft // 2}")
    rate = float(sample_rate) if sample_rate else np.nan
    frames = []
    for key, signal in signals.items():
        phase = np.angle(_spectrum(signal, n_fft, hop)[bin_index, :n_frames]).astype(float)
        frame = np.arange(phase.size)
        frames.append(pd.DataFrame({
            "system": key, "frame": frame, "time_s": frame * hop / rate, "bin": bin_index,
            "freq_hz": bin_index * rate / n_fft, "phase": phase,
        }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


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
        out: output path; ``.png``, ``.pdf`` and the drawn data (:func:`phase_bin_data`) as
            ``.csv`` are written.
        n_fft, hop: STFT settings (those of phase repair by default).
        sample_rate: if given, the bin's centre frequency is stated in the title.

    Returns:
        The written paths. Ground truth's phase is drawn in grey in every other panel.
    """
    data = phase_bin_data(
        signals, bin_index, n_frames, n_fft=n_fft, hop=hop, sample_rate=sample_rate
    )
    written = write_figure_data(data, out)
    # everything drawn, the title's bin and frequency included, is read from the written frame
    phases = {key: block.set_index("frame")["phase"] for key, block in data.groupby("system")}
    with styled():
        fig, axes, placed = _grid(phases, (3.2, 1.9))
        for key, ax in placed.items():
            if REFERENCE in phases and key != REFERENCE:
                truth = phases[REFERENCE]
                ax.plot(truth.index, truth, color="0.75", lw=1.0, label=system_label(REFERENCE))
            phase = phases[key]
            ax.plot(phase.index, phase, color=system_color(key), marker="o", ms=2.5, lw=1.0)
            ax.set_ylim(-np.pi - 0.3, np.pi + 0.3)
            ax.set_yticks([-np.pi, 0, np.pi], ["$-\\pi$", "0", "$\\pi$"])
        for ax in axes[-1]:
            ax.set_xlabel("frame")
        shown, hz = int(data["bin"].iloc[0]), float(data["freq_hz"].iloc[0])
        hz = f" ({hz:.0f} Hz)" if np.isfinite(hz) else ""
        fig.suptitle(f"Phase of STFT bin {shown}{hz}, first {data['frame'].nunique()} frames")
        return [*save_figure(fig, out), written]


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
        out: output path; ``.png``, ``.pdf`` and a summary of each panel as ``.csv`` are written
            (the images themselves would be megabytes): one row per system with the array's
            ``n_bins, n_frames``, the axes' ``freq_min_hz, freq_max_hz, time_min_s, time_max_s``,
            the colour scale ``db_min, db_max``, the panel's ``peak_db``, the ``cutoff_hz`` line,
            the mean dB shown below and above that line (``below_cutoff_db``,
            ``above_cutoff_db``) and the loudest shown above it (``above_cutoff_peak_db``).
        sample_rate: rate of the signals in Hz.
        cutoff_hz: input bandwidth, drawn as a dashed line.
        n_fft, hop: STFT settings.
        dynamic_range_db: the colour scale spans this many dB below the loudest bin of all panels.

    Returns:
        The written paths.
    """
    power = {k: np.abs(_spectrum(v, n_fft, hop)) ** 2 for k, v in signals.items()}
    top = 10 * np.log10(max(float(p.max()) for p in power.values()) + 1e-20)
    db = {k: 10 * np.log10(np.maximum(power.pop(k), 1e-20)) - top for k in list(power)}
    above = np.arange(n_fft // 2 + 1) * sample_rate / n_fft > cutoff_hz
    rows = []
    for key, image in db.items():
        shown = np.clip(image, -dynamic_range_db, 0.0)
        rows.append({
            "system": key, "n_bins": image.shape[0], "n_frames": image.shape[1],
            "freq_min_hz": 0.0, "freq_max_hz": sample_rate / 2, "time_min_s": 0.0,
            "time_max_s": image.shape[1] * hop / sample_rate, "db_min": -dynamic_range_db,
            "db_max": 0.0, "peak_db": float(image.max()), "cutoff_hz": float(cutoff_hz),
            "below_cutoff_db": float(shown[~above].mean()),
            "above_cutoff_db": float(shown[above].mean()) if above.any() else np.nan,
            "above_cutoff_peak_db": float(shown[above].max()) if above.any() else np.nan,
        })  # fmt: skip
    data = pd.DataFrame(rows)
    written = write_figure_data(data, out)
    panels = data.set_index("system")
    with styled("white"):
        fig, axes, placed = _grid(db, (3.2, 2.0))
        for key, ax in placed.items():
            row = panels.loc[key]
            extent = (row.time_min_s, row.time_max_s, row.freq_min_hz / 1e3, row.freq_max_hz / 1e3)
            image = ax.imshow(db[key], origin="lower", aspect="auto", extent=extent, cmap="magma")
            image.set_clim(row.db_min, row.db_max)
            ax.axhline(row.cutoff_hz / 1000, color="cyan", ls="--", lw=0.9)
        for ax in axes[-1]:
            ax.set_xlabel("time (s)")
        for ax in axes[:, 0]:
            ax.set_ylabel("kHz")
        fig.colorbar(image, ax=axes, label="dB re loudest bin", shrink=0.8)
        return [*save_figure(fig, out), written]


def lsd_cutoff_data(
    metrics: pd.DataFrame,
    metric: str = "lsd",
    systems: Iterable[str] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """What :func:`plot_lsd_vs_cutoff` draws: one row per system and cutoff, in table order.

    Columns ``system, label, cutoff, metric, n, mean, ci_low, ci_high``: the mean of ``metric``
    over the ``n`` clips and its bootstrapped 95 % interval (:func:`mean_ci`).
    """
    rows = _with_system(metrics[metrics["metric"] == metric])
    if rows.empty:
        raise ValueError(f"no rows for metric {metric!r} in the metrics table")
    order = system_order(rows["system"] if systems is None else systems)
    rows = rows[rows["system"].isin(order) & rows["value"].notna()]
    rows = rows.assign(cutoff=pd.to_numeric(rows["cutoff"]))
    data = _summarise(rows, ["system", "cutoff"], seed)
    data = data.sort_values(
        ["system", "cutoff"], key=lambda c: c.map(_ranks(order)) if c.name == "system" else c
    ).reset_index(drop=True)
    data.insert(1, "label", data["system"].map(system_label))
    data.insert(3, "metric", metric)
    return data


def plot_lsd_vs_cutoff(
    metrics: pd.DataFrame,
    out: str | os.PathLike,
    *,
    metric: str = "lsd",
    systems: Iterable[str] | None = None,
    seed: int = 0,
    dodge: float = 0.35,
) -> list[Path]:
    """Mean ``metric`` against input bandwidth per system, with bootstrapped 95 % CIs over clips.

    Args:
        metrics: tidy metrics (``model, variant, cutoff, clip, metric, value``).
        out: output path; ``.png``, ``.pdf`` and the drawn data (:func:`lsd_cutoff_data`) as
            ``.csv`` are written.
        metric: metric to plot.
        systems: system keys to show (default: all present, in table order).
        seed: seed of the bootstrap, so reruns draw the same intervals.
        dodge: spread of the systems' points around each cutoff, in units of the cutoffs' gap.
    """
    data = lsd_cutoff_data(metrics, metric, systems, seed)
    written = write_figure_data(data, out)
    order = list(dict.fromkeys(data["system"]))
    cutoffs = sorted(data["cutoff"].unique())
    shifts = (np.arange(len(order)) - (len(order) - 1) / 2) * dodge / len(order)  # as seaborn
    with styled():
        # the legend (one line per system, beside the axes) sets the height: a fixed height
        # cut off the systems that did not fit
        fig = new_figure(6.5, max(3.6, 0.6 + LEGEND_LINE_INCHES * len(order)))
        ax = fig.subplots()
        for key, shift in zip(order, shifts, strict=True):
            block = data[data["system"] == key]
            x = block["cutoff"].map(cutoffs.index).to_numpy(float) + shift
            mean, low, high = (block[c].to_numpy(float) for c in ("mean", "ci_low", "ci_high"))
            ax.errorbar(
                x, mean, yerr=[mean - low, high - mean], color=system_color(key),
                marker=_marker(key), ls=system_linestyle(key), ms=4, lw=1.2,
                label=system_label(key),
            )  # fmt: skip
        ax.set_xticks(range(len(cutoffs)), [f"{c / 1000:g} kHz" for c in cutoffs])
        ax.set_xlim(-0.5, len(cutoffs) - 0.5)  # a categorical axis, as seaborn draws one
        ax.xaxis.grid(False)
        ax.set_xlabel("input bandwidth")
        title = METRICS[metric].title if metric in METRICS else metric
        ax.set_ylabel(f"{title} (mean, 95 % CI over clips)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        return [*save_figure(fig, out), written]


def phase_metrics_data(
    metrics: pd.DataFrame, names: Iterable[str] = PHASE_METRICS, seed: int = 0
) -> pd.DataFrame:
    """What :func:`plot_phase_metrics` draws: one row per phase metric and system.

    Columns ``metric, system, label, n, mean, ci_low, ci_high`` over every (clip, cutoff) pair
    with a finite value; systems in table order within each metric.
    """
    names = [n for n in names if n in set(metrics["metric"])]
    if not names:
        raise ValueError("the metrics table holds none of the phase metrics")
    rows = _with_system(metrics[metrics["metric"].isin(names)])
    rows = rows[np.isfinite(rows["value"])]
    order = system_order(rows["system"])
    ranks = {"metric": _ranks(names), "system": _ranks(order)}
    data = _summarise(rows, ["metric", "system"], seed)
    data = data.sort_values(["metric", "system"], key=lambda c: c.map(ranks[c.name]))
    data = data.reset_index(drop=True)
    data.insert(2, "label", data["system"].map(system_label))
    return data


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
        out: output path; ``.png``, ``.pdf`` and the drawn data (:func:`phase_metrics_data`) as
            ``.csv`` are written.
        names: metrics to show, those present (default :data:`tdpr.registry.PHASE_METRICS`).
        seed: seed of the bootstrap.
    """
    data = phase_metrics_data(metrics, names, seed)
    written = write_figure_data(data, out)
    names = list(dict.fromkeys(data["metric"]))
    with styled():
        n_cols = min(3, len(names))
        n_rows = -(-len(names) // n_cols)
        fig = new_figure(4.2 * n_cols, 0.9 + 0.22 * data["system"].nunique() * n_rows)
        axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
        for ax, name in zip(axes, names, strict=False):
            block = data[data["metric"] == name].reset_index(drop=True)
            for y, row in enumerate(block.itertuples()):
                spread = [[row.mean - row.ci_low], [row.ci_high - row.mean]]
                ax.errorbar(row.mean, y, xerr=spread, color=system_color(row.system),
                            marker="o", ms=4, ls="none", elinewidth=2.2)  # fmt: skip
            ax.set_yticks(range(len(block)), block["label"])
            ax.set_ylim(len(block) - 0.5, -0.5)  # the first system on top
            ax.yaxis.grid(False)
            ax.set(xlabel=METRICS[name].title, ylabel="")
        for ax in axes[len(names) :]:
            ax.set_visible(False)
        fig.suptitle("Phase metrics per system (mean and 95 % CI over clips and cutoffs)")
        return [*save_figure(fig, out), written]


HISTORY_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_lsd")


def _per_epoch(label: str, history: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history of {label} lacks column(s) {', '.join(missing)}")
    epochs = history.groupby("epoch")[list(HISTORY_COLUMNS[1:])].mean()
    # the step of an epoch's validation (its last validated row), else the epoch's last step
    validated = history.dropna(subset=["valid_lsd"]).groupby("epoch")["step"].max()
    last = history.groupby("epoch")["step"].max()
    return epochs.assign(step=validated.reindex(epochs.index).fillna(last)).reset_index()


#: Columns of the training curves' data, in order.
CURVE_COLUMNS = ("system", "kind", "epoch", "step", "train_loss", "valid_loss", "valid_lsd")


def training_curve_data(
    histories: Mapping[str, pd.DataFrame], levels: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """What :func:`plot_training_curves` draws (:data:`CURVE_COLUMNS`).

    One ``kind="model"`` row per model and epoch (the epoch's mean losses and validation LSD, at
    the optimiser step of its validation), then one ``kind="level"`` row per no-learning system
    with its validation LSD as ``valid_lsd`` (epoch and step empty).

    Raises:
        ValueError: no histories, a history lacks a column, or a name is not a TD-CNN (a
            baseline learns nothing, so it has no curve).
    """
    if not histories:
        raise ValueError("no training histories to plot")
    untrained = [name for name in histories if MODELS.get(name) and MODELS[name].kind != TDCNN]
    if untrained:
        raise ValueError(f"no training curves for {', '.join(untrained)}: not a TD-CNN")
    curves = [
        _per_epoch(system_label(model), history).assign(system=model, kind="model")
        for model, history in histories.items()
    ]
    lines = pd.DataFrame(
        {"system": list(levels or {}), "kind": "level", "valid_lsd": list((levels or {}).values())}
    )
    frames = [frame for frame in (*curves, lines) if not frame.empty]
    return pd.concat(frames, ignore_index=True).reindex(columns=list(CURVE_COLUMNS))


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
        out: output path; ``.png``, ``.pdf`` and the drawn data (:func:`training_curve_data`)
            as ``.csv`` are written.
        levels: system key (``input``, a baseline) -> its mean LSD on the validation items
            (:func:`tdpr.baselines.levels.validation_levels`); None draws no lines.

    Raises:
        ValueError: as :func:`training_curve_data`.
    """
    data = training_curve_data(histories, levels)
    written = write_figure_data(data, out)
    with styled():
        fig = new_figure(8.0, 3.2)
        loss_ax, lsd_ax = fig.subplots(1, 2)
        for model, epochs in data[data["kind"] == "model"].groupby("system", sort=False):
            label, color = system_label(model), system_color(model)
            train = epochs.dropna(subset=["train_loss"])
            valid = epochs.dropna(subset=["valid_loss"])
            loss_ax.plot(train["epoch"], train["train_loss"], color=color, label=f"{label} train")
            loss_ax.plot(valid["epoch"], valid["valid_loss"], color=color, ls="--",
                         label=f"{label} valid")  # fmt: skip
            lsd = epochs.dropna(subset=["valid_lsd"])
            lsd_ax.plot(lsd["step"], lsd["valid_lsd"], color=color, marker="o", ms=2.5, label=label)
        for row in data[data["kind"] == "level"].itertuples():
            color = system_color(row.system)
            lsd_ax.axhline(row.valid_lsd, color=color, ls=":", lw=1.2)
            lsd_ax.annotate(
                f"{system_label(row.system)} {row.valid_lsd:.2f}",
                (1.0, row.valid_lsd),
                xycoords=("axes fraction", "data"),
                ha="right",
                va="bottom",
                fontsize="x-small",
                color=color,
            )
        loss_ax.set(xlabel="epoch", ylabel="training loss", yscale="log")
        lsd_ax.set(xlabel="optimiser step", ylabel="validation LSD")
        loss_ax.legend(fontsize="small", frameon=False)
        lsd_ax.legend(fontsize="small", frameon=False)
        return [*save_figure(fig, out), written]


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
