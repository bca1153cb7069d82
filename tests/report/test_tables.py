"""Table 1 and the extended table: rows, columns, numbers, errors, and the three output formats."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tdpr.metrics import ALL_METRICS
from tdpr.registry import split_system, system_label
from tdpr.report.tables import (
    ALTERS_BAND_COLUMN,
    ALTERS_BAND_MARK,
    ALTERS_BAND_NOTE,
    TableInputError,
    extended_table,
    latex_escape,
    system_order,
    table1,
    table1_systems,
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


# ---- baselines, the bold rule and the band mark -------------------------------------------------

SMALL_CUTOFFS = [2500, 3000]
SMALL_PARAMS = {"seanet": 10964898, "tfgan": 5912706}
#: per-cutoff means (2.5 kHz, 3 kHz): no learned system beats Noise fill's LSD, and none touches
#: the band it was given (LSD-LF and SI-SDR equal to the Input's)
SMALL = {
    "input": {"lsd": (2.0, 1.8)},
    "noisefill": {"lsd": (1.2, 1.1)},
    "replicate": {"lsd": (1.3, 1.2)},
    "seanet": {"lsd": (1.25, 1.15)},
    "seanet_tdpr": {"lsd": (1.3, 1.25)},
}
BAND = {"lsd_lf": (0.5, 0.5), "si_sdr": (15.0, 16.0)}


def small_metrics(changes=None, drop=()) -> pd.DataFrame:
    """Tidy metrics of two clips whose per-cutoff means are exactly ``SMALL`` (+ ``BAND``),
    ``changes`` (system -> metric -> two means) applied and metrics ``drop`` left out."""
    rows = []
    for system, means in SMALL.items():
        means = {**BAND, **means, **(changes or {}).get(system, {})}
        for metric, values in means.items():
            if metric in drop:
                continue
            for cutoff, value in zip(SMALL_CUTOFFS, values, strict=True):
                rows += [(*split_system(system), cutoff, clip, metric, value) for clip in "ab"]
    return pd.DataFrame(rows, columns=["model", "variant", "cutoff", "clip", "metric", "value"])


def written_table1(tmp_path, metrics, baselines=("noisefill", "replicate")):
    """Table 1 of ``metrics`` written in the three formats: ``(table, csv, md, tex)`` texts."""
    table = table1(metrics, SMALL_PARAMS, ["seanet"], SMALL_CUTOFFS, baselines=list(baselines))
    paths = [tmp_path / f"table1.{ext}" for ext in ("csv", "md", "tex")]
    write_table1(table, *paths, convention=CONVENTION)
    return (table, *(p.read_text(encoding="utf-8") for p in paths))


def md_cells(md: str, n_index: int = 1) -> dict[tuple, str]:
    """``{(*row key, column): cell text}`` of a Markdown table (a blank outer key repeats)."""
    lines = [line for line in md.splitlines() if line.startswith("|")]
    split = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    header, cells, previous = split[0], {}, None
    for row in split[2:]:
        key = tuple(row[:n_index])
        if n_index > 1 and not key[0]:
            key = (previous, *key[1:])
        previous = key[0]
        pairs = zip(header[n_index:], row[n_index:], strict=True)
        cells.update({(*key, column): text for column, text in pairs})
    return cells


def bold_cells(md: str, n_index: int = 1) -> set[tuple]:
    return {k for k, text in md_cells(md, n_index).items() if text.startswith("**")}


def marked_cells(md: str, n_index: int = 1) -> set[tuple]:
    return {k for k, text in md_cells(md, n_index).items() if text.endswith(ALTERS_BAND_MARK)}


def test_table1_places_baselines_after_input_with_no_params():
    params = {**SMALL_PARAMS, "noisefill": 1000}  # a count for a baseline is still not shown
    table = table1(small_metrics(), params, ["seanet"], SMALL_CUTOFFS, baselines=["replicate"])
    assert list(table.index) == ["Input", "Replication", "SEANet", "SEANet+TD-PR", "Ground truth"]
    both = ["replicate", "noisefill"]
    assert table1_systems(["seanet"], both) == ["input", *both, "seanet", "seanet_tdpr"]
    table = table1(small_metrics(), params, ["seanet"], SMALL_CUTOFFS, baselines=both)
    assert list(table.index[1:3]) == ["Replication", "Noise fill"]
    assert (table.loc[["Replication", "Noise fill"], "Params"] == "-").all()
    assert table.loc["Replication", "3 kHz"] == pytest.approx(1.2)
    assert table.loc["SEANet", "Params"] == "11.0 M"
    with pytest.raises(TableInputError, match="not a no-learning baseline: seanet"):
        table1(small_metrics(), params, ["seanet"], SMALL_CUTOFFS, baselines=["seanet"])


def test_table1_bolds_nothing_where_no_model_beats_the_baselines(tmp_path):
    _, csv, md, tex = written_table1(tmp_path, small_metrics())
    assert "**" not in md and "\\textbf" not in tex
    note = "No learned system beats the best no-learning baseline in 2.5 kHz, 3 kHz, AVG"
    assert note in md and note in tex and note in csv
    assert "Bold: the best learned system of a column, where it beats every no-learning" in md
    assert ALTERS_BAND_MARK not in md and "dagger" not in tex


def test_table1_bolds_a_model_only_where_it_beats_the_baselines_as_displayed(tmp_path):
    # 2.5 kHz: 1.00 < 1.20; 3 kHz: 1.196 shows as 1.20, a tie with Noise fill: not better.
    changes = {
        "noisefill": {"lsd": (1.2, 1.2)},
        "seanet": {"lsd": (1.0, 1.196)},
        "seanet_tdpr": {"lsd": (1.1, 1.3)},
    }
    _, _, md, tex = written_table1(tmp_path, small_metrics(changes))
    assert bold_cells(md) == {("SEANet", "2.5 kHz"), ("SEANet", "AVG")}
    assert tex.count("\\textbf{") == 2
    assert "baseline in 3 kHz: nothing is bold there" in md


def test_table1_bolds_the_best_model_when_there_are_no_baselines(tmp_path):
    metrics = small_metrics()
    metrics = metrics[~metrics.model.isin(["noisefill", "replicate"])]
    _, _, md, _ = written_table1(tmp_path, metrics, baselines=())
    columns = ["2.5 kHz", "3 kHz", "AVG"]
    assert bold_cells(md) == {("SEANet", c) for c in columns}
    assert "nothing is bold" not in md


def test_table1_marks_systems_whose_band_lsd_rises(tmp_path):
    # SEANet: LSD-LF +0.1 at 2.5 kHz, -0.05 at 3 kHz: +0.025 on the means, so AVG is unmarked.
    changes = {
        "seanet": {"lsd": (1.0, 1.15), "lsd_lf": (0.6, 0.45)},
        "replicate": {"lsd_lf": (0.7, 0.7)},  # baselines are judged alike
    }
    table, csv, md, tex = written_table1(tmp_path, small_metrics(changes))
    assert marked_cells(md) == {("SEANet", "2.5 kHz")} | {
        ("Replication", c) for c in ("2.5 kHz", "3 kHz", "AVG")
    }
    assert md_cells(md)[("SEANet", "2.5 kHz")] == "**1.00**†"
    assert "\\textbf{1.00}$^\\dagger$" in tex and tex.count("$^\\dagger$") == 4 + 1  # + caption
    for text in (md, csv):
        assert ALTERS_BAND_NOTE in text
    assert "$^\\dagger$: alters the band it was given (LSD-LF more than 0.05 above" in tex
    back = pd.read_csv(tmp_path / "table1.csv", comment="#", index_col=0)
    assert back.loc["SEANet", ALTERS_BAND_COLUMN] == "2.5 kHz"
    assert back.loc["Replication", ALTERS_BAND_COLUMN] == "2.5 kHz; 3 kHz; AVG"
    assert back[ALTERS_BAND_COLUMN].drop(["SEANet", "Replication"]).isna().all()  # "" in the file
    assert back.loc["SEANet", "2.5 kHz"] == pytest.approx(1.0)  # numbers stay numbers
    assert table.attrs["alters_band"]["SEANet"] == ["2.5 kHz"]


def test_table1_marks_a_system_whose_si_sdr_drops_2_db(tmp_path):
    _, _, md, _ = written_table1(tmp_path, small_metrics({"seanet": {"si_sdr": (13.0, 14.0)}}))
    assert marked_cells(md) == {("SEANet", c) for c in ("2.5 kHz", "3 kHz", "AVG")}
    assert ALTERS_BAND_NOTE in md


def test_table1_does_not_mark_changes_within_the_tolerances(tmp_path):
    changes = {"seanet": {"si_sdr": (14.5, 15.5), "lsd_lf": (0.53, 0.53)}}
    table, csv, md, _ = written_table1(tmp_path, small_metrics(changes))
    assert ALTERS_BAND_MARK not in md and ALTERS_BAND_MARK not in csv
    assert table.attrs["alters_band"] == {}
    back = pd.read_csv(tmp_path / "table1.csv", comment="#", index_col=0)
    assert back[ALTERS_BAND_COLUMN].isna().all()


def test_without_band_metrics_nothing_is_marked_and_a_warning_says_why(tmp_path, caplog):
    changes = {"seanet": {"si_sdr": (5.0, 5.0)}}
    with caplog.at_level("WARNING", logger="tdpr.report.tables"):
        table, csv, md, _ = written_table1(tmp_path, small_metrics(changes, drop=["lsd_lf"]))
    assert table.attrs["alters_band"] is None and ALTERS_BAND_MARK not in md
    assert ALTERS_BAND_COLUMN not in csv  # not judged, rather than judged clean
    assert any("lack lsd_lf" in r.getMessage() for r in caplog.records)


EXTENDED_CHANGES = {
    "replicate": {"lsd_lf": (0.7, 0.7)},
    "seanet": {"lsd": (1.0, 1.15), "lsd_lf": (0.6, 0.45), "si_sdr": (15.5, 14.0)},
    "seanet_tdpr": {"lsd": (1.1, 1.3)},
}


def test_extended_table_bolds_models_only_where_they_beat_the_baselines(tmp_path):
    table = extended_table(small_metrics(EXTENDED_CHANGES))
    labels = ["Input", "Noise fill", "Replication", "SEANet", "SEANet+TD-PR"]
    assert list(table.loc["all"].index) == labels
    assert list(table.columns) == ["LSD", "LSD-LF", "SI-SDR (dB)"]
    paths = [tmp_path / f"extended.{ext}" for ext in ("csv", "md", "tex")]
    write_extended_table(table, *paths, convention=CONVENTION)
    md = paths[1].read_text(encoding="utf-8")
    # LSD-LF and SI-SDR tie with Noise fill (which equals the Input) except where SEANet wins.
    assert bold_cells(md, 2) == {
        ("all", "SEANet", "LSD"),
        ("2.5 kHz", "SEANet", "LSD"),
        ("2.5 kHz", "SEANet", "SI-SDR (dB)"),
        ("3 kHz", "SEANet", "LSD-LF"),
    }
    assert "LSD-LF (all, 2.5 kHz); SI-SDR (dB) (all, 3 kHz); LSD (3 kHz): nothing is bold" in md
    assert "nothing is bold" in paths[2].read_text(encoding="utf-8")


def test_extended_table_marks_the_lsd_cell_per_block(tmp_path):
    # SEANet: LSD-LF +0.1 at 2.5 kHz, SI-SDR -2 dB at 3 kHz, neither on the means over cutoffs.
    table = extended_table(small_metrics(EXTENDED_CHANGES))
    paths = [tmp_path / f"extended.{ext}" for ext in ("csv", "md", "tex")]
    write_extended_table(table, *paths, convention=CONVENTION)
    csv, md, tex = (p.read_text(encoding="utf-8") for p in paths)
    replication = {(block, "Replication", "LSD") for block in ("all", "2.5 kHz", "3 kHz")}
    seanet = {(block, "SEANet", "LSD") for block in ("2.5 kHz", "3 kHz")}
    assert marked_cells(md, 2) == replication | seanet
    assert ALTERS_BAND_NOTE in md and ALTERS_BAND_NOTE in csv and "$^\\dagger$: alters" in tex
    back = pd.read_csv(paths[0], comment="#", index_col=[0, 1])
    flagged = set(back.index[back[ALTERS_BAND_COLUMN]])
    assert flagged == {(block, label) for block, label, _ in replication | seanet}
    assert back.loc[("all", "SEANet"), "LSD"] == pytest.approx(1.075)


def test_extended_table_never_bolds_input_even_when_it_is_best(tmp_path):
    # No baselines: SEANet's SI-SDR is best among learned systems, the Input's is higher.
    metrics = small_metrics({"seanet": {"si_sdr": (14.0, 15.0)}, "seanet_tdpr": BAND})
    metrics = metrics[~metrics.model.isin(["noisefill", "replicate"])]
    paths = [tmp_path / f"extended.{ext}" for ext in ("csv", "md", "tex")]
    write_extended_table(extended_table(metrics), *paths, convention=CONVENTION)
    bold = bold_cells(paths[1].read_text(encoding="utf-8"), 2)
    assert ("all", "SEANet+TD-PR", "SI-SDR (dB)") in bold
    assert not {cell for cell in bold if cell[1] == "Input"}


def test_build_tables_passes_the_baselines_to_table1(tmp_path):
    from tdpr.report.build import build_tables

    small_metrics().to_csv(tmp_path / "metrics.csv", index=False)
    (tmp_path / "params.json").write_text(json.dumps(SMALL_PARAMS))
    build_tables(
        tmp_path / "metrics.csv", tmp_path / "params.json", ["seanet"], SMALL_CUTOFFS,
        tmp_path / "tables", {"n_fft": 1024, "hop": 256, "floor": 1e-8}, baselines=["noisefill"],
    )  # fmt: skip
    rows = [key[0] for key in md_cells((tmp_path / "tables" / "table1.md").read_text())]
    assert list(dict.fromkeys(rows))[:2] == ["Input", "Noise fill"]


def test_table1_shows_the_variants_it_is_given(metrics):
    """report.table1_variants: each model's rows are those variants, with their own numbers."""
    kept = {"seanet_kb": 0.5, "seanet_tdpr_kb": 0.55}
    rows = []
    for key, base in kept.items():
        for cutoff in CUTOFFS:
            for clip in ("c1", "c2", "c3"):
                rows.append((*split_system(key), float(cutoff), clip, "lsd", base))
    both = pd.concat([metrics, pd.DataFrame(rows, columns=metrics.columns)], ignore_index=True)
    table = table1(both, PARAMS, ["seanet"], CUTOFFS, variants=["kb", "tdpr_kb"])
    assert list(table.index) == [
        "Input", "SEANet+band kept", "SEANet+TD-PR+band kept", "Ground truth"
    ]  # fmt: skip
    assert table.loc["SEANet+band kept", "3 kHz"] == pytest.approx(0.5)  # not the plain 0.97
    assert table.loc["SEANet+TD-PR+band kept", "AVG"] == pytest.approx(0.55)
    assert table.loc["SEANet+band kept", "Params"] == "11.0 M"
    assert table.loc["SEANet+TD-PR+band kept", "Params"] == "11.0 + 5.9 M"
    assert list(table1(both, PARAMS, ["seanet"], CUTOFFS).index[1:3]) == ["SEANet", "SEANet+TD-PR"]
    for wrong in (["gtphase"], ["nothing"], []):
        with pytest.raises(TableInputError, match="Table 1 variants"):
            table1(both, PARAMS, ["seanet"], CUTOFFS, variants=wrong)


def test_every_format_shows_each_cell_with_its_decimals_and_a_dash_where_none(metrics, tmp_path):
    """The extended table as written: a missing value is '-' (LaTeX '--'); each metric keeps its
    own decimals (LSD 2, SI-SDR 1, radians 3); every LaTeX row has one cell per column and ends
    its line; the header takes the index names; the caption is one line."""
    table = extended_table(metrics)
    table.loc[("all", "Demucs"), "LSD-HF"] = np.nan
    paths = [tmp_path / f"extended.{ext}" for ext in ("csv", "md", "tex")]
    write_extended_table(table, *paths, convention=CONVENTION)
    md, tex = (p.read_text(encoding="utf-8") for p in paths[1:])
    cells = md_cells(md, n_index=2)
    assert cells[("all", "Demucs", "LSD-HF")] == "-"
    shown = {k: v.strip("*").rstrip(ALTERS_BAND_MARK) for k, v in cells.items()}
    for column, decimals in (("LSD", 2), ("SI-SDR (dB)", 1), ("IP-HF (rad)", 3)):
        text = shown[("all", "SEANet", column)]
        assert len(text.split(".")[1]) == decimals, (column, text)
        assert float(text) == pytest.approx(table.loc[("all", "SEANet"), column], abs=10**-decimals)
    lines = tex.splitlines()
    assert sum(line.startswith(r"\caption{") for line in lines) == 1
    assert next(line for line in lines if line.startswith(r"\caption{")).endswith("}")
    top, mid = lines.index(r"\toprule"), lines.index(r"\midrule")
    bottom = lines.index(r"\bottomrule")
    header = lines[top + 1 : mid]
    assert header == [" & ".join(["Cutoff", "System", *map(latex_escape, table.columns)]) + r" \\"]
    body = [line for line in lines[mid + 1 : bottom] if line != r"\midrule"]
    assert len(body) == len(table)
    for line in body:
        assert line.endswith(r" \\")
        assert line.replace(r"\&", "").count("&") == 1 + len(table.columns)
    demucs = body[list(table.index).index(("all", "Demucs"))].removesuffix(r" \\").split(" & ")
    assert demucs[1] == "Demucs" and demucs[2 + list(table.columns).index("LSD-HF")] == "--"


def test_latex_caption_is_one_paragraph_with_its_notes(tmp_path):
    """A blank line inside \\caption is a LaTeX error: the caption and the notes under Table 1
    ("nothing is bold there") are one line of the .tex file."""
    *_, tex = written_table1(tmp_path, small_metrics())
    lines = tex.splitlines()
    caption = [line for line in lines if line.startswith(r"\caption{")]
    assert len(caption) == 1 and caption[0].endswith("}")
    assert "nothing is bold there" in caption[0] and "LSD per input bandwidth" in caption[0]
    assert lines[lines.index(caption[0]) + 1].startswith(r"\begin{tabular}")
