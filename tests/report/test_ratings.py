"""Figs. 2 and 3 write the tallies they draw: counts, shares, medians and quartiles of the ratings.

Every rating here is synthetic, made up by this test to exercise the code; none is a result.
The expected tallies are counted here from the ratings fed in, not through the module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tdpr.report import ratings as ratings_module
from tdpr.report.ratings import (
    MOS_TALLY_COLUMNS,
    plot_ab_preference,
    plot_mos,
    read_ratings,
)


@pytest.fixture
def drawn(monkeypatch) -> list:
    """The figures the module would save (nothing but the CSV is written)."""
    figs: list = []
    monkeypatch.setattr(ratings_module, "save_figure", lambda fig, out: figs.append(fig) or [])
    return figs


def _write(tmp_path: Path) -> tuple[list[Path], pd.DataFrame, pd.DataFrame]:
    """Simple-format MOS and AB files, a practice trial (dropped on reading) in each.

    SEANet's reference is rated 5 by all but one listener, who gives 1: an outlier beyond the
    whiskers. Demucs' test has no noise-fill condition.
    """
    rng = np.random.default_rng(11)
    mos = [
        (f"L{i}", test, trial, condition, int(rng.integers(1, 6)))
        for i in range(6)
        for test in ("SEANet", "Demucs")
        for trial in ("practice_p01", "p02", "p03")
        for condition in ("input", "noisefill", "tdcnn", "tdpr", "reference")
        if not (test == "Demucs" and condition == "noisefill")
    ]
    mos = pd.DataFrame(mos, columns=["listener", "test", "trial", "condition", "rating"])
    outlier = (mos["test"] == "SEANet") & (mos["condition"] == "reference")
    mos.loc[outlier, "rating"] = np.where(mos.loc[outlier, "listener"] == "L3", 1, 5)
    ab = pd.DataFrame(
        [(f"L{i}", test, trial, ("gtphase", "tdcnn")[int(rng.random() < share)])
         for i in range(5) for test, share in (("SEANet", 0.25), ("Demucs", 0.6))
         for trial in ("practice_p01", "p02", "p03", "p04")],
        columns=["listener", "test", "trial", "choice"],
    )  # fmt: skip
    mos.to_csv(tmp_path / "mos_ratings.csv", index=False)
    ab.to_csv(tmp_path / "ab_choices.csv", index=False)
    kept = [frame[~frame["trial"].str.startswith("practice")] for frame in (mos, ab)]
    return [tmp_path / "mos_ratings.csv", tmp_path / "ab_choices.csv"], *kept


def test_fig2_tallies_are_the_votes_given_and_the_bars_draw_them(tmp_path, drawn):
    files, _, ab = _write(tmp_path)
    written = plot_ab_preference(read_ratings(files), tmp_path / "ab_preference.png")
    assert written == [tmp_path / "ab_preference.csv"]
    data = pd.read_csv(written[0])
    assert data["test"].tolist() == ["SEANet", "Demucs"]
    for row in data.itertuples():
        votes = ab[ab["test"] == row.test]
        assert row.votes == len(votes) == 15 and row.listeners == 5
        assert row.gtphase == (votes["choice"] == "gtphase").sum()
        assert row.tdcnn == (votes["choice"] == "tdcnn").sum()
        assert row.gtphase_pct == pytest.approx(100 * row.gtphase / row.votes)
        assert row.gtphase_ci_low_pct < row.gtphase_pct < row.gtphase_ci_high_pct
    assert data["gtphase"].nunique() == 2  # a swap of the two tests would show
    widths = [patch.get_width() for patch in drawn[0].axes[0].patches]
    np.testing.assert_allclose(widths, data[["gtphase_pct", "tdcnn_pct"]].to_numpy().ravel())


def test_fig3_tallies_are_the_ratings_given_and_the_boxes_draw_them(tmp_path, drawn):
    files, mos, _ = _write(tmp_path)
    written = plot_mos(read_ratings(files), tmp_path / "mos.png")
    data = pd.read_csv(written[0], keep_default_na=False)
    assert list(data.columns) == list(MOS_TALLY_COLUMNS)
    order = ["input", "noisefill", "tdcnn", "tdpr", "reference"]
    assert data["condition"].tolist() == order + [c for c in order if c != "noisefill"]
    for row in data.itertuples():
        given = mos.loc[(mos["test"] == row.test) & (mos["condition"] == row.condition), "rating"]
        assert row.n == len(given) == 12 and row.test_listeners == 6
        assert row.mean == pytest.approx(given.mean())
        assert row.median == np.median(given)
        assert (row.q1, row.q3) == tuple(np.percentile(given, [25, 75]))
        assert (row.min, row.max) == (given.min(), given.max())
        assert row.whisker_low >= row.min and row.whisker_high <= row.max
    reference = data[(data["test"] == "SEANet") & (data["condition"] == "reference")].iloc[0]
    assert reference[["median", "whisker_low", "fliers"]].tolist() == [5, 5, "1 1"]
    for ax, test in zip(drawn[0].axes, ("SEANet", "Demucs"), strict=True):
        rows = data[data["test"] == test]
        medians = [line.get_ydata()[0] for line in ax.lines if line.get_color() == "white"]
        np.testing.assert_allclose(medians, rows["median"])
        assert ax.get_title().startswith(f"{test} (6 listeners)")
