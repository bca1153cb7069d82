"""Table 1 and the extended table: rows, columns, numbers, errors, and the three output formats."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tdpr.metrics import ALL_METRICS
from tdpr.registry import split_system, system_label
from tdpr.report.tables import (
    TableInputError,
    extended_table,
    system_order,
    table1,
    write_extended_table,
    write_table1,
)

PARAMS = {"seanet": 10964898, "audiounet": 56411394, "demucs": 131364811, "tfgan": 5912706}
MODELS = ["seanet", "audiounet", "demucs"]
CUTOFFS = [2500, 3000, 3500, 4000]
#: mean LSD per system; Demucs is best everywhere, by construction
BASE = {
    "input": 2.1,
    "seanet": 0.77,
    "seanet_tdpr": 0.86,
    "seanet_gtphase": 0.74,
    "audiounet": 0.73,
    "audiounet_tdpr": 0.82,
    "demucs": 0.60,
    "demucs_tdpr": 0.81,
}
LABELS = {key: system_label(key) for key in BASE}
CONVENTION = "LSD: |STFT|² n_fft 1024 hop 256, log10, floor 1e-8, 16-bit audio; {n_clips} clips"


@pytest.fixture
def metrics() -> pd.DataFrame:
    """Tidy metrics for 3 clips: LSD falls with the cutoff; SI-SDR is highest for Demucs."""
    rng = np.random.default_rng(0)
    rows = []
    for system, base in BASE.items():
        for cutoff in CUTOFFS:
            for clip in ("c1", "c2", "c3"):
                noise = 0.01 * rng.standard_normal()
                for metric in ALL_METRICS:
                    value = base + (4000 - cutoff) / 5000 + noise
                    value = 30 - 10 * value if metric == "si_sdr" else value
                    rows.append((*split_system(system), float(cutoff), clip, metric, value))
    columns = ["model", "variant", "cutoff", "clip", "metric", "value"]
    return pd.DataFrame(rows, columns=columns)


def rows_of(metrics: pd.DataFrame, key: str) -> pd.Series:
    model, variant = split_system(key)
    return (metrics.model == model) & (metrics.variant == variant)


def test_table1_has_every_row_and_column_with_finite_numbers(metrics):
    table = table1(metrics, PARAMS, MODELS, CUTOFFS)
    assert list(table.index) == [
        "Input", "SEANet", "SEANet+TD-PR", "AudioUNet", "AudioUNet+TD-PR",
        "Demucs", "Demucs+TD-PR", "Ground truth",
    ]  # fmt: skip
    assert list(table.columns) == ["2.5 kHz", "3 kHz", "3.5 kHz", "4 kHz", "AVG", "Params"]
    numbers = table.drop(columns="Params").to_numpy(dtype=float)
    assert np.isfinite(numbers).all()
    assert (table.loc["Ground truth"].drop("Params") == 0).all()
    rows = metrics[rows_of(metrics, "audiounet") & (metrics.cutoff == 3000)]
    expected = rows[rows.metric == "lsd"]["value"].mean()
    assert table.loc["AudioUNet", "3 kHz"] == pytest.approx(expected)
    assert table["AVG"].to_numpy() == pytest.approx(numbers[:, :4].mean(axis=1))
    assert table.loc["SEANet", "Params"] == "11.0 M"
    assert table.loc["SEANet+TD-PR", "Params"] == "11.0 + 5.9 M"
    assert table.loc["Input", "Params"] == table.loc["Ground truth", "Params"] == "-"
    assert table.attrs["n_clips"] == 3


def test_table1_error_names_missing_systems_and_cutoffs(metrics):
    gone = rows_of(metrics, "demucs_tdpr") & (metrics.cutoff == 3000)
    with pytest.raises(TableInputError, match="demucs_tdpr @ 3000 Hz"):
        table1(metrics[~gone], PARAMS, MODELS, CUTOFFS)
    with pytest.raises(TableInputError, match="input @ 5000 Hz"):
        table1(metrics, PARAMS, MODELS, [*CUTOFFS, 5000])
    with pytest.raises(TableInputError, match="no parameter count for tfgan"):
        table1(metrics, {k: v for k, v in PARAMS.items() if k != "tfgan"}, MODELS, CUTOFFS)


def test_table1_refuses_systems_evaluated_on_different_clips(metrics):
    gone = rows_of(metrics, "seanet") & (metrics["clip"] == "c3") & (metrics.cutoff == 2500)
    with pytest.raises(TableInputError, match="different clips at 2500 Hz"):
        table1(metrics[~gone], PARAMS, MODELS, CUTOFFS)


def test_table1_formats_state_the_convention_and_bold_the_best(metrics, tmp_path):
    table = table1(metrics, PARAMS, MODELS, CUTOFFS)
    paths = [tmp_path / f"table1.{ext}" for ext in ("csv", "md", "tex")]
    write_table1(table, *paths, convention=CONVENTION)
    csv, md, tex = (p.read_text(encoding="utf-8") for p in paths)
    assert "|STFT|² n_fft 1024 hop 256, log10, floor 1e-8, 16-bit audio; 3 clips" in md
    assert "n\\_fft 1024 hop 256, log10, floor 1e-8, 16-bit audio; 3 clips" in tex
    assert csv.startswith("# ") and "floor 1e-8" in csv.splitlines()[0]
    assert "\\toprule" in tex and "\\bottomrule" in tex
    demucs = next(line for line in md.splitlines() if line.startswith("| Demucs |"))
    assert demucs.count("**") == 2 * 5  # every cutoff and AVG
    assert "**" not in next(line for line in md.splitlines() if "Ground truth" in line)
    assert "**" not in next(line for line in md.splitlines() if line.startswith("| SEANet |"))
    assert tex.count("\\textbf{") == 5
    back = pd.read_csv(paths[0], comment="#", index_col=0)
    assert back.loc["Demucs", "AVG"] == pytest.approx(table.loc["Demucs", "AVG"])


def test_extended_table_covers_every_system_metric_and_cutoff(metrics, tmp_path):
    table = extended_table(metrics)
    assert list(table.index.get_level_values("Cutoff").unique()) == [
        "all", "2.5 kHz", "3 kHz", "3.5 kHz", "4 kHz",
    ]  # fmt: skip
    assert set(table.loc["all"].index) == set(LABELS.values())
    for column in ("LSD-HF", "LSD-LF", "SI-SDR (dB)", "IP-HF (rad)", "GD-HF (rad)", "IF-HF (rad)"):
        assert column in table.columns
    assert np.isfinite(table.to_numpy(dtype=float)).all()
    per_cutoff = [table.loc[(f"{c / 1000:g} kHz", "SEANet+GT-phase"), "LSD"] for c in CUTOFFS]
    assert table.loc[("all", "SEANet+GT-phase"), "LSD"] == pytest.approx(np.mean(per_cutoff))
    paths = [tmp_path / f"extended.{ext}" for ext in ("csv", "md", "tex")]
    write_extended_table(table, *paths, convention=CONVENTION)
    md = paths[1].read_text(encoding="utf-8")
    assert "floor 1e-8" in md and "floor 1e-8" in paths[2].read_text(encoding="utf-8")
    lines = md.splitlines()
    # Demucs has the lowest distances and highest SI-SDR among realisable systems: all bold.
    demucs_all = next(line for line in lines if "| Demucs |" in line)
    assert demucs_all.count("**") == 2 * len(table.columns)
    assert all("**" not in line for line in lines if "GT-phase" in line)


def test_extended_table_names_absent_metrics(metrics):
    with pytest.raises(TableInputError, match="visqol"):
        extended_table(metrics, metric_names=["lsd", "visqol"])


def test_system_order_groups_variants_after_their_model():
    systems = ["demucs_tdpr", "reference", "seanet_gtphase", "input", "seanet", "demucs"]
    systems += ["seanet_tdpr"]
    assert system_order(systems) == [
        "input", "demucs", "demucs_tdpr", "seanet", "seanet_tdpr", "seanet_gtphase",
        "reference",
    ]  # fmt: skip


def test_labels_are_applied_when_drawn_and_the_csv_holds_keys(metrics):
    assert {"model", "variant"} <= set(metrics.columns) and "system" not in metrics.columns
    table = table1(metrics, PARAMS, MODELS, CUTOFFS)
    assert "SEANet+TD-PR" in table.index and "seanet_tdpr" not in table.index
    assert table.loc["SEANet+TD-PR", "Params"] == "11.0 + 5.9 M"
    assert table.loc["SEANet", "Params"] == "11.0 M" and table.loc["Input", "Params"] == "-"


def test_unknown_systems_in_the_metrics_are_named(metrics):
    metrics.loc[metrics.model == "demucs", "model"] = "nosuchnet"
    with pytest.raises(TableInputError, match="nosuchnet"):
        extended_table(metrics)


def test_extended_caption_states_the_clip_count(metrics, tmp_path):
    paths = [tmp_path / f"extended.{ext}" for ext in ("csv", "md", "tex")]
    write_extended_table(extended_table(metrics), *paths, convention=CONVENTION)
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert "3 clips" in text and "n_clips" not in text
