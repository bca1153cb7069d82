"""Table 1 under each LSD convention of the field: the same outputs scored as each paper would.

Built from the tidy metrics CSV, whose ``lsd@<convention>`` rows the workflow's compute_metrics
rule writes per clip (:mod:`tdpr.evaluate`). One row per system (Input, the no-learning
baselines, then every model and variant, in the order of the other tables), one column per
convention: the mean over the cutoffs of the mean over clips at each cutoff, where each mean over
clips is taken as that convention's own evaluation takes it
(:func:`tdpr.metrics.conventions.file_mean`: AERO's leaves out files that score exactly 0).
Column titles carry the STFT sizes at the clips' rate; the caption (the CSV's leading ``#``
lines, the paragraphs under the Markdown table) states each convention in full with its
citation.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence

import pandas as pd

from tdpr.fsio import write_text_atomic
from tdpr.registry import (
    CONVENTION_SEP,
    CONVENTIONS,
    convention_entry,
    convention_metric,
    order_systems,
    system_key,
    system_label,
)
from tdpr.report.tables import TableInputError, cutoff_title

logger = logging.getLogger(__name__)

DECIMALS = 2


def column_title(name: str, sample_rate: int) -> str:
    """``"AP-BWE 2048/512"``: the convention's title and its STFT sizes at ``sample_rate``."""
    entry = convention_entry(name)
    return "{} {}/{}".format(entry.title, *entry.sizes(sample_rate))


def _file_mean(name: str, values: pd.Series) -> float:
    # the registry's rule, on a pandas group: NaN left out; "nonzero": exact zeros left out too
    kept = values.dropna()
    if convention_entry(name).file_mean == "nonzero":
        kept = kept[kept != 0.0]
    return float(kept.mean()) if len(kept) else math.nan


def conventions_table(
    metrics: pd.DataFrame,
    names: Sequence[str],
    cutoffs: Sequence[int],
    sample_rate: int,
    models: Sequence[str] = (),
) -> pd.DataFrame:
    """Mean LSD of every system (rows) under every convention (columns).

    Args:
        metrics: tidy metrics (columns ``model, variant, cutoff, clip, metric, value``).
        names: registered conventions, in column order.
        cutoffs: the cutoffs averaged over (each must be present for every system).
        sample_rate: the clips' rate (the STFT sizes of the column titles).
        models: configured model order (rows of a model follow it, then registry order).

    Returns:
        Float table indexed by system label (index name ``System``); ``attrs["n_clips"]`` is
        the number of clips per cutoff.

    Raises:
        TableInputError: a convention, system or cutoff is missing.
    """
    keys = [system_key(m, v) for m, v in zip(metrics["model"], metrics["variant"], strict=True)]
    metrics = metrics.assign(system=keys, cutoff=metrics["cutoff"].astype(float).round())
    wanted = {convention_metric("lsd", name): name for name in names}
    rows = metrics[metrics["metric"].isin(wanted) & metrics["cutoff"].isin(cutoffs)]
    absent = [m for m in wanted if m not in set(rows["metric"])]
    if absent:
        raise TableInputError(
            f"the metrics lack {', '.join(absent)} (computed by compute_metrics for the "
            "conventions of metrics.conventions)"
        )
    systems = order_systems(rows["system"], models)
    cells = {}
    for (system, cutoff, metric), group in rows.groupby(["system", "cutoff", "metric"]):
        cells[system, cutoff, metric] = _file_mean(wanted[metric], group["value"])
    missing = [
        f"{s} @ {c:g} Hz under {n}"
        for s in systems
        for c in cutoffs
        for m, n in wanted.items()
        if (s, c, m) not in cells
    ]
    if missing:
        raise TableInputError(f"the metrics lack {len(missing)} cells: {', '.join(missing[:5])}")
    table = pd.DataFrame(
        {
            column_title(n, sample_rate): [
                sum(cells[s, c, m] for c in cutoffs) / len(cutoffs) for s in systems
            ]
            for m, n in wanted.items()
        },
        index=pd.Index([system_label(s) for s in systems], name="System"),
    )
    table.attrs["n_clips"] = int(rows.groupby(["system", "cutoff", "metric"]).size().max())
    return table


def caption(names: Sequence[str], cutoffs: Sequence[int], sample_rate: int, n_clips: int) -> str:
    """The table's caption: what a cell is, then one line per convention (parameters, citation)."""
    bands = ", ".join(cutoff_title(c) for c in cutoffs)
    lines = [
        "LSD of the same outputs under each paper's convention (lower is better): the mean over "
        f"the cutoffs ({bands}) of the mean over {n_clips} test clips, each mean over clips "
        "taken as that paper's evaluation takes it; 16-bit stored audio at "
        f"{sample_rate} Hz. Each column is comparable only with the papers it names."
    ]
    for name in names:
        entry = CONVENTIONS[name]
        lines.append(
            f"{column_title(name, sample_rate)} ({name}): {entry.summary(sample_rate)}. "
            f"{entry.citation}."
        )
    return "\n".join(lines)


def write_conventions_table(
    table: pd.DataFrame, csv: str | os.PathLike, md: str | os.PathLike, caption_text: str
) -> None:
    """Write the table as CSV (caption as leading ``#`` lines) and Markdown (caption below)."""
    header = ["System", *table.columns]
    lines = ["| " + " | ".join(header) + " |", "|:---|" + "---:|" * len(table.columns)]
    for label, values in table.iterrows():
        cells = ["-" if math.isnan(v) else f"{v:.{DECIMALS}f}" for v in values]
        lines.append("| " + " | ".join([str(label), *cells]) + " |")
    paragraphs = "\n\n".join(caption_text.splitlines())
    comment = "".join(f"# {line}\n" for line in caption_text.splitlines())
    write_text_atomic(csv, comment + table.to_csv(lineterminator="\n"))
    write_text_atomic(md, "\n".join(lines) + f"\n\n{paragraphs}\n")
    logger.info("wrote %s and %s", csv, md)


def build_conventions_table(
    metrics_csv: str | os.PathLike,
    names: Sequence[str],
    cutoffs: Sequence[int],
    sample_rate: int,
    out_csv: str | os.PathLike,
    out_md: str | os.PathLike,
    models: Sequence[str] = (),
) -> pd.DataFrame:
    """Read the tidy metrics and write ``table1_conventions`` (CSV and Markdown).

    Returns:
        The table written (see :func:`conventions_table`).
    """
    metrics = pd.read_csv(metrics_csv, dtype={"clip": str, "model": str, "variant": str})
    metrics = metrics[metrics["metric"].str.contains(CONVENTION_SEP, regex=False)]
    table = conventions_table(metrics, names, cutoffs, sample_rate, models)
    text = caption(names, cutoffs, sample_rate, table.attrs["n_clips"])
    write_conventions_table(table, out_csv, out_md, text)
    return table
