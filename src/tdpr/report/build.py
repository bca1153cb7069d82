"""Workflow-facing builders: one call per report rule, from files in to files out.

Each function reads the small tidy products of the pipeline (metrics CSV, manifests, histories,
parameter counts) and calls the table, figure and listening-kit modules; nothing here trains or
enhances, so restyling a figure never reruns a model.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from tdpr.data.manifest import read_manifest
from tdpr.fsio import write_text_atomic
from tdpr.models import build_model, count_parameters
from tdpr.registry import REFERENCE, system_label
from tdpr.report import figures, listening, ratings, tables

logger = logging.getLogger(__name__)


def write_param_counts(
    models: Mapping[str, Mapping[str, Any]],
    vocoder_arch: Mapping[str, Any],
    out_json: str | os.PathLike,
) -> dict[str, int]:
    """Parameter counts of the configured models and the vocoder, built on the meta device."""
    counts = {}
    with torch.device("meta"):
        for name, arch in {**models, "tfgan": vocoder_arch}.items():
            counts[name] = count_parameters(build_model(name, **dict(arch)))
    write_text_atomic(out_json, json.dumps(counts, indent=2) + "\n")
    return counts


def build_tables(
    metrics_csv: str | os.PathLike,
    params_json: str | os.PathLike,
    models: Sequence[str],
    cutoffs: Sequence[int],
    out_dir: str | os.PathLike,
    convention: Mapping[str, Any],
    baselines: Sequence[str] = (),
    table1_variants: Sequence[str] = tables.TABLE1_VARIANTS,
) -> None:
    """Table 1 and the extended table, each as CSV, Markdown and LaTeX, into ``out_dir``.

    ``convention``: ``n_fft``, ``hop`` and ``floor`` of the metrics, stated under each table.
    ``baselines``: system keys of the no-learning baselines, Table 1's rows after Input (the
    extended table shows every system of the metrics). ``table1_variants``: each model's rows
    in Table 1 (the paper's ``plain`` and ``tdpr`` by default).
    """
    metrics = pd.read_csv(metrics_csv, dtype={"clip": str, "model": str, "variant": str})
    convention = tables.lsd_convention(**convention)
    params = json.loads(Path(params_json).read_text())
    out = Path(out_dir)
    table = tables.table1(
        metrics,
        params,
        list(models),
        list(cutoffs),
        baselines=list(baselines),
        variants=list(table1_variants),
    )
    tables.write_table1(
        table, out / "table1.csv", out / "table1.md", out / "table1.tex", convention
    )
    extended = tables.extended_table(metrics, cutoffs=list(cutoffs))
    tables.write_extended_table(
        extended,
        out / "table_extended.csv",
        out / "table_extended.md",
        out / "table_extended.tex",
        convention,
    )


def build_phase_study_table(
    study_csvs: Sequence[str | os.PathLike],
    cutoffs: Sequence[int],
    out_dir: str | os.PathLike,
    convention: Mapping[str, Any],
) -> None:
    """The phase-source study's table (CSV, Markdown, LaTeX) from its per-cutoff CSVs."""
    frames = [pd.read_csv(p, dtype={"clip": str, "model": str, "variant": str}) for p in study_csvs]
    study = pd.concat(frames, ignore_index=True)
    table = tables.extended_table(study, cutoffs=list(cutoffs))
    out = Path(out_dir)
    tables.write_phase_study_table(
        table,
        out / "phase_study.csv",
        out / "phase_study.md",
        out / "phase_study.tex",
        tables.lsd_convention(**convention),
    )


def figure_clip(manifest: str | os.PathLike, clip_id: str | None) -> str:
    """``clip_id`` if the manifest has it (error otherwise), else its first clip."""
    clips = sorted(read_manifest(manifest))
    if clip_id is None:
        return clips[0]
    if clip_id not in clips:
        raise ValueError(f"report.figure_clip {clip_id!r} is not a test clip of {manifest}")
    return clip_id


def build_signal_figures(
    manifests: Mapping[str, str | os.PathLike],
    clip_id: str | None,
    cutoff_hz: float,
    phase_bin: int,
    phase_frames: int,
    out_phase: str | os.PathLike,
    out_spectrograms: str | os.PathLike,
) -> None:
    """Figs. 4 and 5 for one test clip: phase of one bin, and magnitude spectrograms.

    Args:
        manifests: system key -> manifest at the figure's cutoff (``reference`` included).
    """
    clip = figure_clip(manifests[REFERENCE], clip_id)
    signals, rate = figures.load_figure_signals(manifests, clip)
    figures.plot_phase_bin(signals, phase_bin, phase_frames, out=out_phase, sample_rate=rate)
    figures.plot_spectrograms(signals, out_spectrograms, rate, cutoff_hz)
    logger.info("figures of clip %s at %s Hz", clip, cutoff_hz)


def build_metric_figures(
    metrics_csv: str | os.PathLike,
    histories: Mapping[str, str | os.PathLike],
    out_lsd: str | os.PathLike,
    out_training: str | os.PathLike,
    out_phase: str | os.PathLike,
    levels: Mapping[str, Any] | None = None,
) -> None:
    """LSD against cutoff per system, the phase metrics per system, the training curves.

    ``levels``: keyword arguments of :func:`tdpr.baselines.levels.validation_levels`; the
    input's and the baselines' LSD on the models' validation items become lines on the curves.
    """
    metrics = pd.read_csv(metrics_csv, dtype={"clip": str, "model": str, "variant": str})
    figures.plot_lsd_vs_cutoff(metrics, out_lsd)
    figures.plot_phase_metrics(metrics, out_phase)
    curves = {model: pd.read_csv(path) for model, path in histories.items()}
    lines = None
    if levels:
        from tdpr.baselines.levels import validation_levels

        lines = validation_levels(**levels)
        logger.info("validation LSD of the systems that learn nothing: %s", lines)
    figures.plot_training_curves(curves, out_training, lines)


def build_listening_kit(
    clips_manifest: str | os.PathLike,
    manifests: Mapping[str, str | os.PathLike],
    out_dir: str | os.PathLike,
    models: Sequence[str],
    ab_model: str,
    n_pieces: int,
    offset_s: float,
    duration_s: float,
    target_lufs: float,
    seed: int,
    baselines: Sequence[str] = (),
) -> pd.DataFrame:
    """Choose the pieces and write the AB and MOS tests (WAVs + webMUSHRA configurations).

    Args:
        manifests: system key -> manifest at the listening test's cutoff.
        models, ab_model: model names (registry keys).
        baselines: baselines (registry keys) rated in every MOS test too.
    """
    pieces = listening.choose_pieces(clips_manifest, n=n_pieces, seed=seed)
    return listening.export_listening_test(
        pieces,
        {system_label(key): path for key, path in manifests.items()},
        out_dir,
        [system_label(m) for m in models],
        ab_model=system_label(ab_model),
        offset_s=offset_s,
        duration_s=duration_s,
        target_lufs=target_lufs,
        seed=seed,
        baselines=baselines,
    )


def build_rating_figures(
    rating_files: Sequence[str | os.PathLike], out_ab: str | os.PathLike, out_mos: str | os.PathLike
) -> None:
    """Figs. 2 and 3 from real listening-test results."""
    results = ratings.read_ratings(list(rating_files))
    ratings.plot_ab_preference(results, out_ab)
    ratings.plot_mos(results, out_mos)
