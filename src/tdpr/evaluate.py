"""File-level evaluation: pair reference and estimate files, compute every metric, write tidy CSVs.

The workflow's ``compute_metrics`` rule calls :func:`evaluate_system` once per system and cutoff;
the tables and figures concatenate the long CSVs it writes, one row per
``(model, variant, cutoff, clip, metric)``. Metric names are those of
:data:`tdpr.registry.METRICS`, plus ``lsd@<convention>`` (``lsd_hf@``, ``lsd_lf@``) for each LSD
convention asked for (:data:`tdpr.registry.CONVENTIONS`).

Manifests are CSV files with at least the columns ``clip_id`` and ``path``; a relative path is
relative to the manifest's own directory, so a results folder can move as a whole.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from tdpr.audio import AudioError, check_finite, read_audio, to_mono
from tdpr.data.manifest import read_frame, read_manifest
from tdpr.fsio import atomic_path
from tdpr.metrics import compute_all
from tdpr.metrics.conventions import convention_values
from tdpr.registry import convention_metric, metric_names, split_system

logger = logging.getLogger(__name__)

#: Columns of the tidy metrics table.
COLUMNS = ("model", "variant", "cutoff", "clip", "metric", "value")


def load_pair(
    ref_path: str | os.PathLike, est_path: str | os.PathLike, sample_rate: int | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Read two audio files as mono float32 and check that their rates agree.

    Args:
        ref_path, est_path: audio files.
        sample_rate: if given, both files must have this rate.

    Returns:
        ``(ref, est, rate)`` with ``ref`` and ``est`` of shape ``(T,)`` (lengths may still differ;
        the metrics tolerate a few samples).

    Raises:
        AudioError: unreadable file, NaN samples, or mismatched sample rates.
    """
    (ref, ref_rate), (est, est_rate) = read_audio(ref_path), read_audio(est_path)
    if ref_rate != est_rate:
        raise AudioError(
            f"sample rates differ: {ref_path} is {ref_rate} Hz, {est_path} is {est_rate} Hz"
        )
    if sample_rate is not None and ref_rate != sample_rate:
        raise AudioError(f"{ref_path} is {ref_rate} Hz, expected {sample_rate} Hz")
    ref, est = to_mono(ref), to_mono(est)
    check_finite(ref, str(ref_path))
    check_finite(est, str(est_path))
    return ref, est, ref_rate


def compute_metrics_table(
    pairs: Iterable[tuple[str, str | os.PathLike, str | os.PathLike]],
    system: str,
    cutoff_hz: float,
    sample_rate: int | None = None,
    visqol: bool = False,
    extra: Mapping[str, Mapping[str, float]] | None = None,
    conventions: Iterable[str] = (),
    **metric_kwargs,
) -> pd.DataFrame:
    """Every metric for every ``(clip_id, ref_path, est_path)`` triple, as a long table.

    Args:
        pairs: triples naming a clip and its reference and estimate files.
        system: system key of the estimates (``input``, ``seanet``, ``seanet_tdpr``; see
            :mod:`tdpr.registry`); stored as its ``model`` and ``variant`` columns.
        cutoff_hz: the degradation's cutoff, for the band split and the ``cutoff`` column.
        sample_rate: if given, every file must have this rate.
        visqol: also compute the optional metric ``visqol`` (audio mode; slow).
        extra: per clip id, values recorded with the estimate (``consistency_db``).
        conventions: LSD conventions (:data:`tdpr.registry.CONVENTIONS`, or ``all``) whose
            values are added as metrics ``lsd@<name>`` (and ``lsd_hf@``/``lsd_lf@`` where the
            convention splits the band).
        **metric_kwargs: ``n_fft``, ``hop``, ``floor``, ``phase_range_db`` of
            :func:`tdpr.metrics.compute_all`.

    Returns:
        DataFrame with columns :data:`COLUMNS`.
    """
    model, variant = split_system(system)
    names = metric_names(with_cutoff=True, optional=["visqol"] if visqol else [])
    rows = []
    for clip, ref_path, est_path in pairs:
        ref, est, rate = load_pair(ref_path, est_path, sample_rate)
        try:
            recorded = (extra or {}).get(clip)
            values = compute_all(
                ref, est, cutoff_hz, rate, names=names, extra=recorded, **metric_kwargs
            )
            for convention, lsds in convention_values(
                ref, est, conventions, rate, cutoff_hz
            ).items():
                values.update({convention_metric(m, convention): v for m, v in lsds.items()})
        except ValueError as err:
            raise ValueError(f"clip {clip} ({ref_path} vs {est_path}): {err}") from err
        rows.extend(
            (model, variant, cutoff_hz, clip, name, value) for name, value in values.items()
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


#: Manifest columns that a stage records per clip and that metrics read (tdpr.metrics.context).
RECORDED = ("consistency_db",)


def recorded_values(manifest: str | os.PathLike) -> dict[str, dict[str, float]]:
    """``{clip_id: {name: value}}`` of the :data:`RECORDED` columns a manifest has."""
    frame = read_frame(manifest)
    columns = [c for c in RECORDED if c in frame.columns]
    return {row["clip_id"]: {c: float(row[c]) for c in columns} for _, row in frame.iterrows()}


def evaluate_system(
    ref_manifest: str | os.PathLike,
    est_manifest: str | os.PathLike,
    system: str,
    cutoff_hz: float,
    out_csv: str | os.PathLike,
    **metric_kwargs,
) -> pd.DataFrame:
    """Pair two manifests by ``clip_id``, compute all metrics, write the long CSV atomically.

    Both manifests must list the same clips; the error names the ones that do not pair.
    ``metric_kwargs`` go to :func:`compute_metrics_table` (``sample_rate``, ``n_fft``, ...).

    Returns:
        The table written (columns :data:`COLUMNS`).
    """
    refs, ests = read_manifest(ref_manifest), read_manifest(est_manifest)
    no_est, no_ref = sorted(set(refs) - set(ests)), sorted(set(ests) - set(refs))
    if no_est or no_ref:
        raise ValueError(
            f"manifests do not pair: no estimate for {no_est[:10]} in {est_manifest}; "
            f"no reference for {no_ref[:10]} in {ref_manifest}"
        )
    pairs = [(clip, refs[clip], ests[clip]) for clip in sorted(refs)]
    table = compute_metrics_table(
        pairs, system, cutoff_hz, extra=recorded_values(est_manifest), **metric_kwargs
    )
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    logger.info("%s @ %s Hz: %d clips -> %s", system, cutoff_hz, len(pairs), out_csv)
    return table


def gather_tables(
    tables: Iterable[str | os.PathLike],
    metrics_csv: str | os.PathLike,
    summary_csv: str | os.PathLike,
) -> pd.DataFrame:
    """Concatenate per-system long tables; also write the mean over clips per system/cutoff/metric.

    NaN values (a phase distance with no qualifying bin) are left out of the means.

    Returns:
        The summary table (columns ``model, variant, cutoff, metric, mean, std, n_clips``).
    """
    frames = [pd.read_csv(t, dtype={"clip": str, "model": str, "variant": str}) for t in tables]
    if not frames:
        raise ValueError("no metric tables to gather")
    long = pd.concat(frames, ignore_index=True)
    if (long["cutoff"] == long["cutoff"].round()).all():
        long["cutoff"] = long["cutoff"].astype(int)
    keys = ["model", "variant", "cutoff", "metric"]
    long = long.sort_values([*keys, "clip"]).reset_index(drop=True)
    grouped = long.groupby(keys, sort=True)["value"]
    summary = grouped.agg(mean="mean", std="std", n_clips="count").reset_index()
    with atomic_path(metrics_csv) as tmp:
        long.to_csv(tmp, index=False)
    with atomic_path(summary_csv) as tmp:
        summary.to_csv(tmp, index=False)
    logger.info("gathered %d rows from %d tables", len(long), len(frames))
    return summary
