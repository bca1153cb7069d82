"""Table 1 of the paper (LSD per input bandwidth) and an extended metrics table.

Both tables are built from the tidy metrics CSV (columns ``model, variant, cutoff, clip, metric,
value``, one row per clip) and written as CSV, Markdown and LaTeX (booktabs) by
:func:`write_table1` and :func:`write_extended_table`. Every format states the metric convention
it was given; the best value of each column is bold in Markdown and LaTeX.

Rows of Table 1 follow the paper: Input, then per model the TD-CNN and the TD-CNN with TD-PR, then
Ground truth (LSD 0 by definition, so it needs no rows in the CSV). Cell values are means over
clips; ``AVG`` is the mean of the per-cutoff means. Systems are identified by their keys
(:mod:`tdpr.registry`: ``seanet``, ``seanet_tdpr``); labels ("SEANet+TD-PR"), column titles,
decimals and directions come from the registries when a table is drawn.
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
    REFERENCE,
    VARIANTS,
    is_oracle,
    order_systems,
    split_system,
    system_key,
    system_label,
)

logger = logging.getLogger(__name__)

BOLD_LOWER, BOLD_UPPER = LOWER, HIGHER
GROUND_TRUTH = system_label(REFERENCE)
TDPR = "tdpr"  # the paper's variant: the TD-CNN's phase replaced by the vocoder's
ALL_CUTOFFS = "all"
TIDY_COLUMNS = ("model", "variant", "cutoff", "clip", "metric", "value")


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


def table1_systems(models: Sequence[str]) -> list[str]:
    """System keys of the Table 1 rows that need data: Input, then each model and model+TD-PR."""
    rows = [INPUT]
    for model in models:
        rows += [model, system_key(model, TDPR)]
    return rows


def table1(
    metrics: pd.DataFrame,
    params: Mapping[str, int],
    models: Sequence[str],
    cutoffs: Iterable[float],
    *,
    vocoder: str = "tfgan",
) -> pd.DataFrame:
    """Table 1: mean LSD per system and input bandwidth, their average, and parameter counts.

    Args:
        metrics: tidy metrics (:data:`TIDY_COLUMNS`), one row per clip.
        params: parameter counts by registry name, e.g. ``{"seanet": 10964898, "tfgan": ...}``.
        models: registry names of the TD-CNNs, in table order (``["seanet", "audiounet", ...]``).
        cutoffs: input bandwidths in Hz, in column order.
        vocoder: registry name of the vocoder whose parameters the +TD-PR rows add.

    Returns:
        DataFrame indexed by ``System`` with one float column per cutoff (``"2.5 kHz"``...),
        ``AVG`` and ``Params`` (strings). ``attrs["n_clips"]`` holds the clips per cell.

    Raises:
        TableInputError: a system/cutoff cell, a parameter count or the LSD metric is missing, or
            systems were evaluated on different clips.
    """
    cutoffs = [int(round(float(c))) for c in cutoffs]
    systems = table1_systems(models)
    metrics = _tidy(metrics)
    _check_present(metrics[metrics["metric"] == "lsd"], systems, cutoffs)
    lacking = [name for name in [*models, vocoder] if name not in params]
    if lacking:
        raise TableInputError(f"no parameter count for {', '.join(lacking)}")
    _check_same_clips(metrics, systems, "lsd")
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
    return grid


def _params_cell(key: str, params: Mapping[str, int], vocoder: str) -> str:
    """``11.0 M`` for a TD-CNN, ``11.0 + 5.9 M`` where a vocoder makes the phase, else ``-``."""
    model, variant = split_system(key)
    if model not in params:
        return "-"
    if VARIANTS[variant].phase == "vocoder":
        return format_params(params[model], params[vocoder])
    return format_params(params[model]) if VARIANTS[variant].phase is None else "-"


def system_order(systems: Iterable[str]) -> list[str]:
    """Input, then each model followed by its variants in registry order; Ground truth last.

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
    """Every metric for every system (GT-phase oracles included), overall and per cutoff.

    Args:
        metrics: tidy metrics (:data:`TIDY_COLUMNS`).
        cutoffs: cutoffs to show, in order (default: all in ``metrics``, ascending).
        metric_names: metrics to show (default: every registered metric present, in registry
            order).

    Returns:
        DataFrame with a ``(Cutoff, System)`` index (Cutoff ``"all"`` first: the mean of the
        per-cutoff means; then ``"2.5 kHz"``...) and one float column per metric, titled as in
        :data:`tdpr.registry.METRICS`. NaN values (masked phase bins) are left out of the means.
        ``attrs``: ``n_clips`` (most clips per cell), ``oracles`` (labels of oracle rows).

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
    table.attrs["oracles"] = [system_label(s) for s in systems if is_oracle(s)]
    return table


def write_table1(
    table: pd.DataFrame,
    csv: str | os.PathLike,
    md: str | os.PathLike,
    tex: str | os.PathLike,
    convention: str,
) -> None:
    """Write Table 1 as CSV, Markdown and LaTeX, each captioned with the LSD ``convention``.

    ``{n_clips}`` in ``convention`` is replaced by ``table.attrs["n_clips"]``. The lowest LSD of
    each cutoff column and of AVG is bold, Ground truth (0 by definition) excluded.
    """
    title = (
        "Table 1. LSD per input bandwidth, and parameter counts (+TD-PR rows: TD-CNN + vocoder). "
        "Ground truth is 0 by definition. Bold: lowest LSD per column."
    )
    caption = _caption(title, convention, table)
    numeric = [c for c in table.columns if c != "Params"]
    best = {c: BOLD_LOWER for c in numeric}
    decimals = dict.fromkeys(numeric, 2)
    write_formats(table, csv, md, tex, caption, best, decimals, exclude_rows=[GROUND_TRUTH])


def write_extended_table(
    table: pd.DataFrame,
    csv: str | os.PathLike,
    md: str | os.PathLike,
    tex: str | os.PathLike,
    convention: str,
) -> None:
    """Write the extended table (see :func:`extended_table`) as CSV, Markdown and LaTeX.

    The best value per metric column is bold within each cutoff block (lowest for distances,
    highest for SI-SDR and ViSQOL).
    """
    title = (
        "Extended metrics: means over test clips; 'all' is the mean over cutoffs. Phase errors "
        "in radians over bins at and above the cutoff (random phase scores about π/2). Bold: "
        "best per column and cutoff among realisable systems (the +GT-phase oracles excluded)."
    )
    caption = _caption(title, convention, table)
    best, decimals = _metric_formats(table.columns)
    exclude = [*table.attrs.get("oracles", []), GROUND_TRUTH]
    write_formats(table, csv, md, tex, caption, best, decimals, exclude, group_level="Cutoff")


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
    best, decimals = _metric_formats(table.columns)
    write_formats(table, csv, md, tex, caption, best, decimals, group_level="Cutoff")


def _caption(title: str, convention: str, table: pd.DataFrame) -> str:
    n_clips = table.attrs.get("n_clips")
    if n_clips is not None:
        convention = convention.replace("{n_clips}", str(n_clips))
    return f"{title} {convention.strip()}"


# ---- output formats ----------------------------------------------------------------------------


def _bold_mask(
    table: pd.DataFrame,
    best: Mapping[str, str],
    decimals: Mapping[str, int],
    exclude_rows: Sequence[str] = (),
    group_level: str | None = None,
) -> pd.DataFrame:
    """True where a cell holds the best value of its column (within its group), as displayed."""
    mask = pd.DataFrame(False, index=table.index, columns=table.columns)
    groups = table.groupby(level=group_level, sort=False) if group_level else [(None, table)]
    for _, block in groups:
        eligible = block.loc[~block.index.get_level_values(-1).isin(exclude_rows)]
        for column, direction in best.items():
            shown = pd.to_numeric(eligible[column], errors="coerce").round(decimals[column])
            if shown.notna().any():
                target = shown.min() if direction == BOLD_LOWER else shown.max()
                mask.loc[shown.index[shown == target], column] = True
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


def _markdown(table, rows, bold, caption: str) -> str:
    n_index = table.index.nlevels
    header = [str(n or "") for n in table.index.names] + [str(c) for c in table.columns]
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join([":---"] * n_index + ["---:"] * len(table.columns)) + "|")
    for row, flags in zip(rows, bold.to_numpy(), strict=True):
        cells = row[:n_index] + [
            f"**{c}**" if flag else c for c, flag in zip(row[n_index:], flags, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n{caption}\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "|": r"\textbar{}", "²": r"\textsuperscript{2}", "−": "--", "–": "--", "×": r"$\times$",
    "≈": r"$\approx$", "π": r"$\pi$",
}  # fmt: skip


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters and a few common non-ASCII symbols."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _latex(table, rows, bold, caption: str, group_level: str | None) -> str:
    n_index = table.index.nlevels
    header = [str(n or "") for n in table.index.names] + [str(c) for c in table.columns]
    lines = [
        r"% needs \usepackage{booktabs}",
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{latex_escape(caption)}}}",
        r"\begin{tabular}{" + "l" * n_index + "r" * len(table.columns) + "}",
        r"\toprule",
        " & ".join(latex_escape(h) for h in header) + r" \\",
        r"\midrule",
    ]
    for i, (row, flags) in enumerate(zip(rows, bold.to_numpy(), strict=True)):
        if group_level and i > 0 and row[0]:
            lines.append(r"\midrule")
        cells = [latex_escape(c) for c in row[:n_index]]
        for text, flag in zip(row[n_index:], flags, strict=True):
            text = "--" if text == "-" else latex_escape(text)
            cells.append(rf"\textbf{{{text}}}" if flag else text)
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
) -> None:
    """Write ``table`` as CSV (caption as a leading ``#`` comment), Markdown and LaTeX.

    Args:
        table: the table; its index levels become the leading columns.
        csv, md, tex: output paths, each written atomically.
        caption: caption text (stated in every format).
        best: column -> :data:`BOLD_LOWER` or :data:`BOLD_UPPER`; those columns get bold maxima
            or minima (as rounded for display; ties are all bold).
        decimals: column -> decimals shown in Markdown and LaTeX (the CSV keeps full precision).
        exclude_rows: row labels (innermost index level) never made bold.
        group_level: index level whose groups are compared separately and ruled off in LaTeX.
    """
    bold = _bold_mask(table, best, decimals, exclude_rows, group_level)
    rows = _text_rows(table, decimals)
    comment = "".join(f"# {line}\n" for line in caption.splitlines())
    write_text_atomic(csv, comment + table.to_csv(lineterminator="\n"))
    write_text_atomic(md, _markdown(table, rows, bold, caption))
    write_text_atomic(tex, _latex(table, rows, bold, caption, group_level))
    logger.info("wrote %s, %s and %s", csv, md, tex)
