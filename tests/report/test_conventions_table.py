"""Table 1 under every LSD convention: rows, columns, each convention's mean, caption, files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tdpr.registry import CONVENTIONS, convention_metric, split_system
from tdpr.report.conventions import build_conventions_table, conventions_table
from tdpr.report.readme import leading_table, parse_table
from tdpr.report.tables import TableInputError

CUTOFFS = [2500, 4000]
NAMES = list(CONVENTIONS)
SYSTEMS = ["seanet_tdpr", "input", "replicate", "seanet", "noisefill", "demucs"]
COLUMNS = ["model", "variant", "cutoff", "clip", "metric", "value"]


@pytest.fixture
def metrics() -> pd.DataFrame:
    """Per clip values: convention k scores system s at cutoff c as k + s/10 + clip/100 + c/1e4;
    the seanet clip c1 scores exactly 0 under every convention."""
    rows = []
    for s, system in enumerate(SYSTEMS):
        for cutoff in CUTOFFS:
            for c, clip in enumerate(("c1", "c2", "c3")):
                for k, name in enumerate(NAMES):
                    value = k + s / 10 + c / 100 + cutoff / 1e4
                    if system == "seanet" and clip == "c1":
                        value = 0.0
                    metric = convention_metric("lsd", name)
                    rows.append((*split_system(system), float(cutoff), clip, metric, value))
                    rows.append((*split_system(system), float(cutoff), clip, "lsd", 9.0))
    return pd.DataFrame(rows, columns=COLUMNS)


def test_rows_in_table_order_and_each_conventions_own_mean(metrics):
    table = conventions_table(metrics, NAMES, CUTOFFS, 16000, models=["seanet", "demucs"])
    assert list(table.index) == [
        "Input", "Noise fill", "Replication", "SEANet", "SEANet+TD-PR", "Demucs",
    ]  # fmt: skip
    assert list(table.columns) == [
        "tdpr 1024/256", "dB 1024/256", "AP-BWE 2048/512", "AERO 2048/512",
        "ssr_eval 743/160", "mdctGAN 1024/512",
    ]  # fmt: skip
    k, s = NAMES.index("apbwe"), SYSTEMS.index("demucs")
    expected = np.mean([k + s / 10 + c / 100 + cut / 1e4 for c in range(3) for cut in CUTOFFS])
    assert table.loc["Demucs", "AP-BWE 2048/512"] == pytest.approx(expected)
    # SEANet's clip at exactly 0: AP-BWE's mean keeps it, AERO's leaves it out
    k, s = NAMES.index("apbwe"), SYSTEMS.index("seanet")
    kept = [[0.0, *(k + s / 10 + c / 100 + cut / 1e4 for c in (1, 2))] for cut in CUTOFFS]
    assert table.loc["SEANet", "AP-BWE 2048/512"] == pytest.approx(np.mean(kept))
    k = NAMES.index("aero")
    skipped = np.mean([k + s / 10 + c / 100 + cut / 1e4 for c in (1, 2) for cut in CUTOFFS])
    assert table.loc["SEANet", "AERO 2048/512"] == pytest.approx(skipped)
    assert table.attrs["n_clips"] == 3


def test_files_state_every_conventions_parameters(metrics, tmp_path):
    path = tmp_path / "metrics.csv"
    metrics.to_csv(path, index=False)
    csv, md = tmp_path / "t.csv", tmp_path / "t.md"
    build_conventions_table(path, ["tdpr", "ssr_eval"], CUTOFFS, 16000, csv, md)
    text = md.read_text()
    table = parse_table(leading_table(text.splitlines()), str(md))
    assert table.header == ("System", "tdpr 1024/256", "ssr_eval 743/160")
    assert [row[0] for row in table.rows][:2] == ["Input", "Noise fill"]
    assert "ssr_eval 743/160 (ssr_eval): STFT 743/160 (Hann, centred, zero pad)" in text
    assert "ε 1e-12 inside the ratio" in text and CONVENTIONS["ssr_eval"].citation in text
    comments = [line for line in csv.read_text().splitlines() if line.startswith("#")]
    assert any("tdpr 1024/256 (tdpr): STFT 1024/256" in line for line in comments)
    frame = pd.read_csv(csv, comment="#", index_col=0)
    assert list(frame.columns) == ["tdpr 1024/256", "ssr_eval 743/160"]


def test_missing_convention_or_cell_is_named(metrics):
    with pytest.raises(TableInputError, match=r"lack lsd@mdctgan"):
        conventions_table(metrics[metrics.metric != "lsd@mdctgan"], NAMES, CUTOFFS, 16000)
    gap = (metrics.model == "demucs") & (metrics.cutoff == 4000) & (metrics.metric == "lsd@db")
    with pytest.raises(TableInputError, match=r"demucs @ 4000 Hz under db"):
        conventions_table(metrics[~gap], NAMES, CUTOFFS, 16000)
