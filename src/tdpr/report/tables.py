"""Table 1 of the paper (LSD per input bandwidth) and an extended metrics table.

Both tables are built from the tidy metrics CSV (columns ``model, variant, cutoff, clip, metric,
value``, one row per clip) and written as CSV, Markdown and LaTeX (booktabs) by
:func:`write_table1` and :func:`write_extended_table`. Every format states the metric convention
it was given.

Rows of Table 1 follow the paper: Input, then the no-learning baselines (the bar a learned system
must clear), then per model the TD-CNN and the TD-CNN with TD-PR, then Ground truth (LSD 0 by
definition, so it needs no rows in the CSV). Cell values are means over clips; ``AVG`` is the mean
of the per-cutoff means. Systems are identified by their keys (:mod:`tdpr.registry`: ``seanet``,
``seanet_tdpr``); labels ("SEANet+TD-PR"), column titles, decimals and directions come from the
registries when a table is drawn.

Bold marks the best learned system of a column only where it beats every baseline as displayed,
so a model that learned nothing is never called best; a caption note names the columns where
none does. A mark (:data:`ALTERS_BAND_MARK`) flags a system whose LSD-LF or SI-SDR is clearly
worse than the Input's: it alters the band it was given, or (SI-SDR) leaves the waveform further
from the reference than the Input does (:data:`ALTERS_BAND_NOTE`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from tdpr.fsio import write_text_atomic
from tdpr.registry import (
    HIGHER,
    INPUT,
    LOWER,
    METRICS,
    PLAIN,
    REFERENCE,
    VARIANTS,
    is_baseline,
    is_learned,
    order_systems,
    split_system,
    system_from_label,
    system_key,
    system_label,
)

logger = logging.getLogger(__name__)

BOLD_LOWER, BOLD_HIGHER = LOWER, HIGHER
BOLD_UPPER = BOLD_HIGHER  # its former name
GROUND_TRUTH = system_label(REFERENCE)
TDPR = "tdpr"  # the paper's variant: the TD-CNN's phase replaced by the vocoder's
ALL_CUTOFFS = "all"
TIDY_COLUMNS = ("model", "variant", "cutoff", "clip", "metric", "value")
#: A system alters the band it was given when its LSD-LF exceeds the Input's by more than this,
BAND_LSD_TOLERANCE = 0.05
#: or its SI-SDR falls more than this many dB below the Input's.
BAND_SNR_TOLERANCE_DB = 1.0
ALTERS_BAND_MARK = "†"
ALTERS_BAND_COLUMN = "Alters band"
# SI-SDR is a full-band measure: noise added above the cutoff as loud as the band that is
# missing doubles the error however well the given band is kept, so the note says both things.
ALTERS_BAND_NOTE = (
    f"{ALTERS_BAND_MARK}: alters the band it was given (LSD-LF more than {BAND_LSD_TOLERANCE:g} "
    "above the Input's) or leaves the waveform further from the reference than the Input does "
    f"(SI-SDR more than {BAND_SNR_TOLERANCE_DB:g} dB below it); AVG/all: on the means over "
    "bandwidths."
)
BOLD_RULE = "Bold: the best learned system of a column, where it beats every no-learning baseline"


class TableInputError(ValueError):
    """The metrics CSV lacks systems, cutoffs or metrics a table needs, or its clips differ."""


def lsd_convention(n_fft: int, hop: int, floor: float) -> str:
    """The LSD convention stated under every table (``{n_clips}`` is filled in by the writer)."""
    return (
        f"LSD: |STFT|^2 with n_fft {n_fft}, hop {hop}, periodic Hann, centred; log10 with a "
        f"power floor of {floor:g}; mean over frames of the RMS over bins; 16-bit stored audio; "
        "mean over {n_clips} test clips"
    )


def cutoff_title(cutoff: float) -> str:
    """``2500`` -> ``"2.5 kHz"``, ``3000`` -> ``"3 kHz"``."""
    return f"{float(cutoff) / 1000:g} kHz"


def format_params(count: float, extra: float | None = None) -> str:
    """``11.0 M``, or ``11.0 + 5.9 M`` for a model plus the vocoder (the paper writes 11+6M)."""
    if extra is None:
        return f"{count / 1e6:.1f} M"
    return f"{count / 1e6:.1f} + {extra / 1e6:.1f} M"


def _tidy(metrics: pd.DataFrame) -> pd.DataFrame:
    """Check the tidy columns, make cutoffs integers (a CSV may hold 2500.0), add system keys."""
    missing = [c for c in TIDY_COLUMNS if c not in metrics]
    if missing:
        raise TableInputError(f"the metrics table lacks column(s) {', '.join(missing)}")
    keys = [system_key(m, v) for m, v in zip(metrics["model"], metrics["variant"], strict=True)]
    for key in dict.fromkeys(keys):
        try:
            split_system(key)
        except ValueError as err:
            raise TableInputError(f"the metrics table holds an unknown system: {err}") from None
    cutoff = metrics["cutoff"].astype(float).round().astype(int)
    return metrics.assign(cutoff=cutoff, system=keys)


def _cell_means(metrics: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean over clips per (system, cutoff), columns ``mean`` and ``n_clips`` (non-NaN values)."""
    rows = metrics[metrics["metric"] == metric]
    grouped = rows.groupby(["system", "cutoff"])["value"]
    return pd.DataFrame({"mean": grouped.mean(), "n_clips": grouped.count()})


def _check_present(metrics: pd.DataFrame, systems: Sequence[str], cutoffs: Sequence[int]) -> None:
    have = set(zip(metrics["system"], metrics["cutoff"], strict=True))
    missing = [f"{s} @ {c} Hz" for s in systems for c in cutoffs if (s, c) not in have]
    if missing:
        known = sorted(metrics["system"].unique())
        raise TableInputError(
            f"the LSD rows lack {len(missing)} system/cutoff cells: {', '.join(missing)} "
            f"(systems present: {', '.join(known) or 'none'})"
        )


def _check_same_clips(metrics: pd.DataFrame, systems: Sequence[str], metric: str) -> None:
    """Every system must be averaged over the same clips at a cutoff, or rows are not comparable."""
    rows = metrics[(metrics["metric"] == metric) & metrics["system"].isin(systems)]
    for cutoff, block in rows.groupby("cutoff"):
        clips = {system: frozenset(group) for system, group in block.groupby("system")["clip"]}
        if len(set(clips.values())) > 1:
            sizes = ", ".join(f"{system}: {len(c)}" for system, c in clips.items())
            raise TableInputError(
                f"systems were evaluated on different clips at {cutoff} Hz ({sizes}); "
                "a table of means would compare different material"
            )


# ---- does a system alter the band it was given? ------------------------------------------------


def _cutoff_means(metrics: pd.DataFrame, metric: str, cutoffs: Sequence[int]) -> pd.DataFrame:
    """Mean over clips per system (rows) and cutoff (columns), then ``all``: the mean of those
    means (NaN where a cutoff is missing, as in the tables)."""
    rows = metrics[(metrics["metric"] == metric) & metrics["cutoff"].isin(cutoffs)]
    means = rows.groupby(["system", "cutoff"])["value"].mean().unstack("cutoff")
    means = means.reindex(columns=list(cutoffs))
    means[ALL_CUTOFFS] = means.mean(axis=1, skipna=False)
    return means


def alters_band(metrics: pd.DataFrame, cutoffs: Iterable[float]) -> pd.DataFrame | None:
    """Which systems alter the band they were given, per cutoff and on the means (``all``).

    A system does where its mean LSD-LF exceeds the Input's by more than
    :data:`BAND_LSD_TOLERANCE`, or its mean SI-SDR is more than :data:`BAND_SNR_TOLERANCE_DB`
    below the Input's: the band below the cutoff was there to keep, so losing it is damage that
    a better high band can hide in the overall LSD.

    Args:
        metrics: tidy metrics (:data:`TIDY_COLUMNS`).
        cutoffs: input bandwidths in Hz.

    Returns:
        Boolean DataFrame indexed by system key (Input and Ground truth left out), one column per
        cutoff (int Hz) then ``"all"``; None where it cannot be judged (no ``lsd_lf`` or
        ``si_sdr`` rows: logged as a warning; no Input rows).
    """
    metrics = metrics if "system" in metrics else _tidy(metrics)
    cutoffs = [int(round(float(c))) for c in cutoffs]
    lacking = [m for m in ("lsd_lf", "si_sdr") if m not in set(metrics["metric"])]
    if lacking:
        logger.warning(
            "no system is marked as altering the band it was given: the metrics lack %s "
            "(band metrics are computed only where the cutoff is known)",
            " and ".join(lacking),
        )
        return None
    lf, snr = (_cutoff_means(metrics, m, cutoffs) for m in ("lsd_lf", "si_sdr"))
    if INPUT not in lf.index or INPUT not in snr.index:
        logger.info("no Input rows: no band of reference to judge systems by")
        return None
    systems = [k for k in lf.index.union(snr.index) if split_system(k)[0] not in (INPUT, REFERENCE)]
    lf_up = lf.reindex(systems) - lf.loc[INPUT] > BAND_LSD_TOLERANCE
    snr_down = snr.loc[INPUT] - snr.reindex(systems) > BAND_SNR_TOLERANCE_DB
    return lf_up | snr_down


def _flagged(flags: pd.DataFrame | None, titles: Mapping[object, str]) -> list[tuple[str, str]]:
    """``(system key, title)`` of every True flag, ``titles`` naming the flag columns."""
    if flags is None:
        return []
    return [(key, titles[c]) for key in flags.index for c in titles if flags.loc[key, c]]


# ---- the tables ---------------------------------------------------------------------------------


#: The variants of each model that the paper's Table 1 shows: the TD-CNN, then with TD-PR.
TABLE1_VARIANTS = (PLAIN, TDPR)


def table1_systems(
    models: Sequence[str], baselines: Sequence[str] = (), variants: Sequence[str] = TABLE1_VARIANTS
) -> list[str]:
    """System keys of the Table 1 rows that need data: Input, the baselines, then each model in
    each of ``variants`` (the paper's: the model, then model+TD-PR)."""
    unknown = [v for v in variants if v not in VARIANTS or VARIANTS[v].oracle]
    if unknown or not variants:
        raise TableInputError(
            f"Table 1 variants {list(variants)}: need at least one, and each a variant of a "
            f"TD-CNN's own output ({', '.join(k for k, v in VARIANTS.items() if not v.oracle)})"
        )
    rows = [INPUT, *baselines]
    for model in models:
        rows += [system_key(model, variant) for variant in variants]
    return rows


def _check_table1_inputs(
    metrics: pd.DataFrame,
    systems: Sequence[str],
    cutoffs: Sequence[int],
    params: Mapping[str, int],
    needs_params: Sequence[str],
) -> None:
    """Raise TableInputError unless every row has LSD at every cutoff, on the same clips, and
    every model its parameter count."""
    _check_present(metrics[metrics["metric"] == "lsd"], systems, cutoffs)
    lacking = [name for name in needs_params if name not in params]
    if lacking:
        raise TableInputError(f"no parameter count for {', '.join(lacking)}")
    _check_same_clips(metrics, systems, "lsd")


def table1(
    metrics: pd.DataFrame,
    params: Mapping[str, int],
    models: Sequence[str],
    cutoffs: Iterable[float],
    *,
    baselines: Sequence[str] = (),
    vocoder: str = "tfgan",
    variants: Sequence[str] = TABLE1_VARIANTS,
) -> pd.DataFrame:
    """Table 1: mean LSD per system and input bandwidth, their average, and parameter counts.

    Args:
        metrics: tidy metrics (:data:`TIDY_COLUMNS`), one row per clip.
        params: parameter counts by registry name, e.g. ``{"seanet": 10964898, "tfgan": ...}``.
        models: registry names of the TD-CNNs, in table order (``["seanet", "audiounet", ...]``).
        cutoffs: input bandwidths in Hz, in column order.
        baselines: system keys of no-learning baselines (``noisefill``, ``replicate``), in row
            order; their rows follow Input, with Params ``-``.
        vocoder: registry name of the vocoder whose parameters the +TD-PR rows add.
        variants: each model's rows (variant keys); the paper's ``plain`` and ``tdpr`` by
            default, e.g. ``kb`` and ``tdpr_kb`` for the same with the given band kept.

    Returns:
        DataFrame indexed by ``System`` with one float column per cutoff (``"2.5 kHz"``...),
        ``AVG`` and ``Params`` (strings). ``attrs``: ``n_clips`` (clips per cell) and
        ``alters_band`` (row label -> titles of the columns where that system alters the band it
        was given, see :func:`alters_band`; None where that cannot be judged).

    Raises:
        TableInputError: a system/cutoff cell, a parameter count or the LSD metric is missing,
            systems were evaluated on different clips, or a baseline key names no baseline.
    """
    cutoffs = [int(round(float(c))) for c in cutoffs]
    wrong = [key for key in baselines if not is_baseline(key)]
    if wrong:
        raise TableInputError(f"not a no-learning baseline: {', '.join(wrong)}")
    systems = table1_systems(models, baselines, variants)
    metrics = _tidy(metrics)
    _check_table1_inputs(metrics, systems, cutoffs, params, [*models, vocoder])
    means = _cell_means(metrics, "lsd")
    grid = pd.DataFrame(
        [[means.loc[(s, c), "mean"] for c in cutoffs] for s in systems],
        index=pd.Index(systems, name="System"),
        columns=[cutoff_title(c) for c in cutoffs],
    )
    grid.loc[REFERENCE] = 0.0
    grid["AVG"] = grid.mean(axis=1)
    grid["Params"] = [_params_cell(key, params, vocoder) for key in grid.index]
    cells = [(s, c) for s in systems for c in cutoffs]
    grid = grid.rename(index=system_label)
    grid.attrs["n_clips"] = int(means.loc[cells, "n_clips"].max())
    grid.attrs["alters_band"] = _table1_marks(metrics, systems, cutoffs)
    return grid


def _params_cell(key: str, params: Mapping[str, int], vocoder: str) -> str:
    """``11.0 M`` for a TD-CNN, ``11.0 + 5.9 M`` where a vocoder makes the phase, else ``-``."""
    model, variant = split_system(key)
    if model not in params or is_baseline(key):
        return "-"
    if VARIANTS[variant].phase == "vocoder":
        return format_params(params[model], params[vocoder])
    return format_params(params[model]) if VARIANTS[variant].phase is None else "-"


def _table1_marks(
    metrics: pd.DataFrame, systems: Sequence[str], cutoffs: Sequence[int]
) -> dict[str, list[str]] | None:
    """Row label -> column titles (cutoffs, ``AVG``) where that system alters its band."""
    flags = alters_band(metrics, cutoffs)
    if flags is None:
        return None
    titles = {**{c: cutoff_title(c) for c in cutoffs}, ALL_CUTOFFS: "AVG"}
    marks: dict[str, list[str]] = {}
    for key, title in _flagged(flags.reindex([s for s in systems if s in flags.index]), titles):
        marks.setdefault(system_label(key), []).append(title)
    return marks


def system_order(systems: Iterable[str]) -> list[str]:
    """Input, the baselines, then each model followed by its variants in registry order; Ground
    truth last.

    Models keep their first-seen order.
    """
    systems = list(systems)
    models = dict.fromkeys(split_system(s)[0] for s in systems)
    return order_systems(systems, models)


def extended_table(
    metrics: pd.DataFrame,
    cutoffs: Iterable[float] | None = None,
    metric_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every metric for every system (baselines and GT-phase oracles included), overall and per
    cutoff.

    Args:
        metrics: tidy metrics (:data:`TIDY_COLUMNS`).
        cutoffs: cutoffs to show, in order (default: all in ``metrics``, ascending).
        metric_names: metrics to show (default: every registered metric present, in registry
            order).

    Returns:
        DataFrame with a ``(Cutoff, System)`` index (Cutoff ``"all"`` first: the mean of the
        per-cutoff means; then ``"2.5 kHz"``...) and one float column per metric, titled as in
        :data:`tdpr.registry.METRICS`. NaN values (masked phase bins) are left out of the means.
        ``attrs``: ``n_clips`` (most clips per cell), ``alters_band`` (block title -> labels of
        the systems that alter the band they were given there, see :func:`alters_band`; None
        where that cannot be judged).

    Raises:
        TableInputError: a requested metric or cutoff is absent.
    """
    metrics = _tidy(metrics)
    present = list(dict.fromkeys(metrics["metric"]))
    names = [m for m in METRICS if m in present] if metric_names is None else metric_names
    have = sorted(set(metrics["cutoff"]))
    cutoffs = have if cutoffs is None else [int(round(float(c))) for c in cutoffs]
    absent = [m for m in names if m not in present] + [f"{c} Hz" for c in cutoffs if c not in have]
    if absent or not names:
        raise TableInputError(f"the metrics lack {', '.join(absent) or 'every known metric'}")
    rows = metrics[metrics["cutoff"].isin(cutoffs) & metrics["metric"].isin(names)]
    grouped = rows.groupby(["cutoff", "system", "metric"])["value"]
    wide = grouped.mean().unstack("metric")
    systems = system_order(rows["system"])
    per_cutoff = [wide.xs(c, level="cutoff").reindex(index=systems, columns=names) for c in cutoffs]
    # A system missing at some cutoff gets NaN in "all": a mean over other cutoffs would mislead.
    blocks = {ALL_CUTOFFS: sum(per_cutoff) / len(per_cutoff)}
    blocks.update({cutoff_title(c): frame for c, frame in zip(cutoffs, per_cutoff, strict=True)})
    table = pd.concat(blocks, names=["Cutoff", "System"])
    table.columns.name = None
    table = table.rename(index=system_label, level="System")
    table = table.rename(columns={m: METRICS[m].title if m in METRICS else m for m in names})
    table.attrs = {}
    table.attrs["n_clips"] = int(grouped.count().max())
    table.attrs["alters_band"] = _extended_marks(metrics, systems, cutoffs)
    return table


def _extended_marks(
    metrics: pd.DataFrame, systems: Sequence[str], cutoffs: Sequence[int]
) -> dict[str, list[str]] | None:
    """Block title (``all``, cutoffs) -> labels of the systems that alter their band there."""
    flags = alters_band(metrics, cutoffs)
    if flags is None:
        return None
    titles = {ALL_CUTOFFS: ALL_CUTOFFS, **{c: cutoff_title(c) for c in cutoffs}}
    marks: dict[str, list[str]] = {title: [] for title in titles.values()}
    for key, title in _flagged(flags.reindex([s for s in systems if s in flags.index]), titles):
        marks[title].append(system_label(key))
    return marks


# ---- writers of the tables ----------------------------------------------------------------------


def write_table1(
    table: pd.DataFrame,
    csv: str | os.PathLike,
    md: str | os.PathLike,
    tex: str | os.PathLike,
    convention: str,
) -> None:
    """Write Table 1 as CSV, Markdown and LaTeX, each captioned with the LSD ``convention``.

    ``{n_clips}`` in ``convention`` is replaced by ``table.attrs["n_clips"]``. In each cutoff
    column and AVG, the lowest LSD of a learned system is bold where it is below every baseline's
    as displayed; cells of ``table.attrs["alters_band"]`` carry :data:`ALTERS_BAND_MARK`, and the
    CSV lists them in a column :data:`ALTERS_BAND_COLUMN` (where they were judged).
    """
    title = (
        "Table 1. LSD per input bandwidth, and parameter counts (+TD-PR rows: TD-CNN + vocoder). "
        f"Ground truth is 0 by definition. {BOLD_RULE} (lowest LSD; Input, baselines and Ground "
        "truth are never bold)."
    )
    numeric = [c for c in table.columns if c != "Params"]
    decimals = dict.fromkeys(numeric, 2)
    best = dict.fromkeys(numeric, BOLD_LOWER)
    bold, unbeaten = _bold_mask(table, best, decimals, *_roles(table.index))
    alters = table.attrs.get("alters_band")
    cells = [(label, column) for label, columns in (alters or {}).items() for column in columns]
    marks = _mark_mask(table, cells)
    caption = _caption(title, convention, table, _notes(unbeaten, marks))
    extra = None
    if alters is not None:
        extra = {ALTERS_BAND_COLUMN: ["; ".join(alters.get(label, [])) for label in table.index]}
    write_formats(
        table, csv, md, tex, caption, best, decimals, bold=bold, marks=marks, csv_columns=extra
    )


def write_extended_table(
    table: pd.DataFrame,
    csv: str | os.PathLike,
    md: str | os.PathLike,
    tex: str | os.PathLike,
    convention: str,
) -> None:
    """Write the extended table (see :func:`extended_table`) as CSV, Markdown and LaTeX.

    Within each cutoff block, the best value of a learned system per metric column (lowest for
    distances, highest for SI-SDR and ViSQOL) is bold where it beats every baseline's as
    displayed. The LSD cell of a system that alters its band there carries
    :data:`ALTERS_BAND_MARK`; the CSV says so per row in a column :data:`ALTERS_BAND_COLUMN`.
    """
    title = (
        "Extended metrics: means over test clips; 'all' is the mean over cutoffs. Phase errors "
        f"in radians over bins at and above the cutoff (random phase scores about π/2). {BOLD_RULE}"
        ", per cutoff block (Input, baselines, the +GT-phase oracles and Ground truth are never "
        "bold)."
    )
    best, decimals = _metric_formats(table.columns)
    roles = _roles(table.index.get_level_values(-1))
    bold, unbeaten = _bold_mask(table, best, decimals, *roles, group_level="Cutoff")
    alters = table.attrs.get("alters_band")
    marked = {(block, label) for block, labels in (alters or {}).items() for label in labels}
    lsd = METRICS["lsd"].title if METRICS["lsd"].title in table.columns else table.columns[0]
    marks = _mark_mask(table, [(row, lsd) for row in marked])
    caption = _caption(title, convention, table, _notes(unbeaten, marks))
    extra = None if alters is None else {ALTERS_BAND_COLUMN: [r in marked for r in table.index]}
    write_formats(
        table, csv, md, tex, caption, best, decimals, group_level="Cutoff",
        bold=bold, marks=marks, csv_columns=extra,
    )  # fmt: skip


def _metric_formats(columns: Iterable[str]) -> tuple[dict[str, str], dict[str, int]]:
    """Direction and decimals of each metric column (by its title; unknown: lower, 2)."""
    spec = {m.title: (m.decimals, m.better) for m in METRICS.values()}
    columns = list(columns)
    best = {c: spec.get(c, (2, BOLD_LOWER))[1] for c in columns}
    decimals = {c: spec.get(c, (2, BOLD_LOWER))[0] for c in columns}
    return best, decimals


def write_phase_study_table(
    table: pd.DataFrame,
    csv: str | os.PathLike,
    md: str | os.PathLike,
    tex: str | os.PathLike,
    convention: str,
) -> None:
    """Write the phase-source study (an :func:`extended_table` of the study's rows)."""
    title = (
        "Phase sources on perfect magnitudes: the ground truth's own magnitude with each "
        "source's phase, in the full band or above the cutoff only (HF: the band below keeps "
        "the true phase); random phase is the floor, the true phase scores 0 (SI-SDR 100). "
        "Means over test clips; 'all' is the mean over cutoffs. Bold: best per column and cutoff."
    )
    caption = _caption(title, convention, table)
    # Every row is a phase source on the same magnitude: all compete, none sets a bar.
    best, decimals = _metric_formats(table.columns)
    write_formats(table, csv, md, tex, caption, best, decimals, group_level="Cutoff")


def _caption(title: str, convention: str, table: pd.DataFrame, notes: Sequence[str] = ()) -> str:
    """Title and convention on the first line, then one line per note."""
    n_clips = table.attrs.get("n_clips")
    if n_clips is not None:
        convention = convention.replace("{n_clips}", str(n_clips))
    convention = convention.strip()
    # The caption is one paragraph in LaTeX: close the convention's sentence before the notes.
    end = "" if convention.endswith((".", "!", "?")) else "."
    return "\n".join([f"{title} {convention}{end}", *notes])


def _roles(labels: Iterable[str]) -> tuple[list[str], list[str]]:
    """Row labels of the learned systems (may be bold) and of the baselines (the bar to beat)."""
    keys = {label: system_from_label(label) for label in dict.fromkeys(labels)}
    learned = [label for label, key in keys.items() if key is not None and is_learned(key)]
    baselines = [label for label, key in keys.items() if key is not None and is_baseline(key)]
    return learned, baselines


def _notes(unbeaten: Sequence[tuple[str | None, str]], marks: pd.DataFrame) -> list[str]:
    """Caption notes: where no learned system beats the baselines, and what the mark means
    (only where some cell carries it)."""
    notes = []
    if unbeaten:
        blocks = list(marks.index.get_level_values(0).unique())
        notes.append(
            f"No learned system beats the best no-learning baseline in {_where(unbeaten, blocks)}: "
            "nothing is bold there."
        )
    if marks.to_numpy().any():
        notes.append(ALTERS_BAND_NOTE)
    return notes


def _where(unbeaten: Sequence[tuple[str | None, str]], every: Sequence[object]) -> str:
    """``2.5 kHz, AVG`` (no blocks), or columns sharing blocks named once: ``LSD, SI-SDR (dB)
    (every cutoff block); LSD-HF (3.5 kHz, 4 kHz)``; ``every``: the table's blocks."""
    blocks: dict[str, list[str]] = {}
    for block, column in unbeaten:
        blocks.setdefault(column, []).append(block)
    if all(b == [None] for b in blocks.values()):
        return ", ".join(blocks)
    columns: dict[tuple[str, ...], list[str]] = {}
    for column, where in blocks.items():
        columns.setdefault(tuple(where), []).append(column)
    parts = [
        f"{', '.join(cs)} ({'every cutoff block' if list(b) == list(every) else ', '.join(b)})"
        for b, cs in columns.items()
    ]
    return "; ".join(parts)


# ---- output formats ----------------------------------------------------------------------------


def _bold_mask(
    table: pd.DataFrame,
    best: Mapping[str, str],
    decimals: Mapping[str, int],
    contenders: Sequence[str],
    bar: Sequence[str] = (),
    group_level: str | None = None,
) -> tuple[pd.DataFrame, list[tuple[str | None, str]]]:
    """Where a contender holds the best value of its column (within its group) as displayed and
    beats every row of ``bar`` there, strictly; ties are all bold.

    Args:
        table: the table; rows are matched by the innermost index level.
        best: column -> :data:`BOLD_LOWER` or :data:`BOLD_HIGHER`.
        decimals: column -> decimals shown (comparisons are made on the rounded values).
        contenders: row labels that may be bold.
        bar: row labels that are never bold but must be beaten (NaN values set no bar).
        group_level: index level whose groups are compared separately.

    Returns:
        The boolean mask, and ``(group, column)`` of every column where a contender has a value
        but none beats the bar (group None without ``group_level``).
    """
    mask = pd.DataFrame(False, index=table.index, columns=table.columns)
    unbeaten = []
    groups = table.groupby(level=group_level, sort=False) if group_level else [(None, table)]
    for group, block in groups:
        labels = block.index.get_level_values(-1)
        for column, direction in best.items():
            shown = block[column].astype(float).round(decimals[column])
            score = shown if direction == BOLD_LOWER else -shown  # lower is better from here
            top = score[labels.isin(contenders)].dropna()
            if top.empty:
                continue
            if top.min() >= score[labels.isin(bar)].min():  # False where no bar (NaN)
                unbeaten.append((group, column))
                continue
            mask.loc[top.index[top == top.min()], column] = True
    return mask, unbeaten


def _mark_mask(table: pd.DataFrame, cells: Iterable[tuple[object, str]]) -> pd.DataFrame:
    """True at each ``(row, column)`` of ``cells`` (rows as ``table.loc`` takes them)."""
    mask = pd.DataFrame(False, index=table.index, columns=table.columns)
    for row, column in cells:
        mask.loc[row, column] = True
    return mask


def _cell(value: object, decimals: int | None) -> str:
    if isinstance(value, str):
        return value
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:.{decimals if decimals is not None else 2}f}"


def _text_rows(table: pd.DataFrame, decimals: Mapping[str, int]) -> list[list[str]]:
    """Index levels then cells as text; a repeated outer index value is shown once per group."""
    rows, previous = [], None
    for key, values in table.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        shown = [str(k) for k in key]
        if len(key) > 1 and key[0] == previous:
            shown[0] = ""
        previous = key[0]
        rows.append(shown + [_cell(values[c], decimals.get(c)) for c in table.columns])
    return rows


def _markdown(table, rows, bold, marks, caption: str) -> str:
    n_index = table.index.nlevels
    header = [str(n or "") for n in table.index.names] + [str(c) for c in table.columns]
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join([":---"] * n_index + ["---:"] * len(table.columns)) + "|")
    for row, flags, marked in zip(rows, bold.to_numpy(), marks.to_numpy(), strict=True):
        cells = row[:n_index] + [
            (f"**{c}**" if flag else c) + (ALTERS_BAND_MARK if mark else "")
            for c, flag, mark in zip(row[n_index:], flags, marked, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    paragraphs = "\n\n".join(caption.splitlines())
    return "\n".join(lines) + f"\n\n{paragraphs}\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "|": r"\textbar{}", "²": r"\textsuperscript{2}", "−": "--", "–": "--", "×": r"$\times$",
    "≈": r"$\approx$", "π": r"$\pi$", ALTERS_BAND_MARK: r"$^\dagger$",
}  # fmt: skip


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters and a few common non-ASCII symbols."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _latex(table, rows, bold, marks, caption: str, group_level: str | None) -> str:
    n_index = table.index.nlevels
    header = [str(n or "") for n in table.index.names] + [str(c) for c in table.columns]
    lines = [
        r"% needs \usepackage{booktabs}",
        r"\begin{table}[t]",
        r"\centering",
        # One paragraph: a blank line inside \caption is an error.
        rf"\caption{{{latex_escape(' '.join(caption.splitlines()))}}}",
        r"\begin{tabular}{" + "l" * n_index + "r" * len(table.columns) + "}",
        r"\toprule",
        " & ".join(latex_escape(h) for h in header) + r" \\",
        r"\midrule",
    ]
    for i, (row, flags, marked) in enumerate(
        zip(rows, bold.to_numpy(), marks.to_numpy(), strict=True)
    ):
        if group_level and i > 0 and row[0]:
            lines.append(r"\midrule")
        cells = [latex_escape(c) for c in row[:n_index]]
        for text, flag, mark in zip(row[n_index:], flags, marked, strict=True):
            text = "--" if text == "-" else latex_escape(text)
            text = rf"\textbf{{{text}}}" if flag else text
            cells.append(text + (latex_escape(ALTERS_BAND_MARK) if mark else ""))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_formats(
    table: pd.DataFrame,
    csv: str | os.PathLike,
    md: str | os.PathLike,
    tex: str | os.PathLike,
    caption: str,
    best: Mapping[str, str],
    decimals: Mapping[str, int],
    exclude_rows: Sequence[str] = (),
    group_level: str | None = None,
    *,
    bold: pd.DataFrame | None = None,
    marks: pd.DataFrame | None = None,
    csv_columns: Mapping[str, Sequence[object]] | None = None,
) -> None:
    """Write ``table`` as CSV (caption as leading ``#`` comment lines), Markdown and LaTeX.

    Args:
        table: the table; its index levels become the leading columns.
        csv, md, tex: output paths, each written atomically.
        caption: caption text (stated in every format; each line a paragraph in Markdown).
        best: column -> :data:`BOLD_LOWER` or :data:`BOLD_HIGHER`; without ``bold``, the best
            value of those columns is bold (as rounded for display; ties are all bold).
        decimals: column -> decimals shown in Markdown and LaTeX (the CSV keeps full precision).
        exclude_rows: row labels (innermost index level) never made bold (without ``bold``).
        group_level: index level whose groups are compared separately and ruled off in LaTeX.
        bold: boolean mask like ``table``: the cells shown bold, in place of ``best``'s rule
            (Table 1 and the extended table compare learned systems with baselines).
        marks: boolean mask like ``table``: cells followed by :data:`ALTERS_BAND_MARK`.
        csv_columns: title -> one value per row: columns the CSV adds after the table's (the
            Markdown and LaTeX say it with marks instead).
    """
    if bold is None:
        labels = table.index.get_level_values(-1)
        contenders = list(dict.fromkeys(labels[~labels.isin(exclude_rows)]))
        bold, _ = _bold_mask(table, best, decimals, contenders, group_level=group_level)
    if marks is None:
        marks = pd.DataFrame(False, index=table.index, columns=table.columns)
    rows = _text_rows(table, decimals)
    comment = "".join(f"# {line}\n" for line in caption.splitlines())
    frame = table.assign(**dict(csv_columns)) if csv_columns else table
    write_text_atomic(csv, comment + frame.to_csv(lineterminator="\n"))
    write_text_atomic(md, _markdown(table, rows, bold, marks, caption))
    write_text_atomic(tex, _latex(table, rows, bold, marks, caption, group_level))
    logger.info("wrote %s, %s and %s", csv, md, tex)
