"""Table 1 and the extended table: rows, columns, numbers, errors, and the three output formats."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tdpr.metrics import ALL_METRICS
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
    "Input": 2.1,
    "SEANet": 0.77,
    "SEANet+TD-PR": 0.86,
    "SEANet+GT-phase": 0.74,
    "AudioUNet": 0.73,
    "AudioUNet+TD-PR": 0.82,
    "Demucs": 0.60,
    "Demucs+TD-PR": 0.81,
}
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
                    rows.append((system, float(cutoff), clip, metric, value))
    return pd.DataFrame(rows, columns=["system", "cutoff", "clip", "metric", "value"])


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
    rows = metrics[(metrics.system == "AudioUNet") & (metrics.cutoff == 3000)]
    expected = rows[rows.metric == "lsd"]["value"].mean()
    assert table.loc["AudioUNet", "3 kHz"] == pytest.approx(expected)
    assert table["AVG"].to_numpy() == pytest.approx(numbers[:, :4].mean(axis=1))
    assert table.loc["SEANet", "Params"] == "11.0 M"
    assert table.loc["SEANet+TD-PR", "Params"] == "11.0 + 5.9 M"
    assert table.loc["Input", "Params"] == table.loc["Ground truth", "Params"] == "-"
    assert table.attrs["n_clips"] == 3


def test_table1_error_names_missing_systems_and_cutoffs(metrics):
    gone = (metrics.system == "Demucs+TD-PR") & (metrics.cutoff == 3000)
    with pytest.raises(TableInputError, match=r"Demucs\+TD-PR @ 3000 Hz"):
        table1(metrics[~gone], PARAMS, MODELS, CUTOFFS)
    with pytest.raises(TableInputError, match="Input @ 5000 Hz"):
        table1(metrics, PARAMS, MODELS, [*CUTOFFS, 5000])
    with pytest.raises(TableInputError, match="no parameter count for tfgan"):
        table1(metrics, {k: v for k, v in PARAMS.items() if k != "tfgan"}, MODELS, CUTOFFS)


def test_table1_refuses_systems_evaluated_on_different_clips(metrics):
    gone = (metrics.system == "SEANet") & (metrics["clip"] == "c3") & (metrics.cutoff == 2500)
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
    assert set(table.loc["all"].index) == set(BASE)
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
    systems = ["Demucs+TD-PR", "Ground truth", "SEANet+GT-phase", "Input", "SEANet", "Demucs"]
    systems += ["SEANet+TD-PR"]
    assert system_order(systems) == [
        "Input", "Demucs", "Demucs+TD-PR", "SEANet", "SEANet+TD-PR", "SEANet+GT-phase",
        "Ground truth",
    ]  # fmt: skip
