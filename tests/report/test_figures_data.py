"""The CSV written beside each figure holds the data drawn, and the picture is drawn from it.

Each check recomputes the expected numbers from the inputs here (an STFT bin, a group mean),
not through the figure module, and compares them with the CSV and with the drawn artists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tdpr.dsp.stft import stft
from tdpr.registry import system_label
from tdpr.report import figures
from tdpr.report.figures import (
    CURVE_COLUMNS,
    plot_lsd_vs_cutoff,
    plot_phase_bin,
    plot_phase_metrics,
    plot_spectrograms,
    plot_training_curves,
)

RATE, N_FFT, HOP = 16_000, 1024, 256
COLUMNS = ["model", "variant", "cutoff", "clip", "metric", "value"]


@pytest.fixture
def signals() -> dict[str, np.ndarray]:
    """Half a second of harmonics; each system adds its own noise, the input lacks 4400 Hz."""
    rng = np.random.default_rng(5)
    t = np.arange(RATE // 2) / RATE
    partials = [np.sin(2 * np.pi * f * t + f) / k for k, f in enumerate((220, 1100, 4400), 1)]
    truth = (0.3 * sum(partials)).astype(np.float32)
    out = {"input": (0.3 * sum(partials[:2])).astype(np.float32), "reference": truth}
    for key, noise in (("seanet", 0.05), ("seanet_tdpr", 0.02), ("demucs", 0.03)):
        out[key] = truth + noise * rng.standard_normal(t.size).astype(np.float32)
    return out


@pytest.fixture
def drawn(monkeypatch) -> list:
    """The figures the module would save (nothing but the CSV is written)."""
    figs: list = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, out: figs.append(fig) or [])
    return figs


def _panel(fig, key: str):
    """The axes whose title names system ``key`` ("(b-1) SEANet")."""
    label = system_label(key)
    return next(ax for ax in fig.axes if ax.get_title(loc="left").endswith(f") {label}"))


def test_fig4_data_holds_the_bin_it_names_and_the_panels_draw_it(signals, tmp_path, drawn):
    bin_index, n_frames = 282, 30  # 4406.25 Hz, beside the 4400 Hz partial
    written = plot_phase_bin(signals, bin_index, n_frames, out=tmp_path / "phase_bin.png",
                             n_fft=N_FFT, hop=HOP, sample_rate=RATE)  # fmt: skip
    assert written == [tmp_path / "phase_bin.csv"]
    data = pd.read_csv(written[0])
    assert list(data.columns) == ["system", "frame", "time_s", "bin", "freq_hz", "phase"]
    assert set(data["bin"]) == {bin_index}
    assert set(data["freq_hz"]) == {bin_index * RATE / N_FFT}
    assert f"bin {bin_index} ({bin_index * RATE / N_FFT:.0f} Hz)" in drawn[0].get_suptitle()
    assert set(data["system"]) == set(signals)
    for key, signal in signals.items():
        rows = data[data["system"] == key].sort_values("frame")
        assert rows["frame"].tolist() == list(range(n_frames))
        np.testing.assert_allclose(rows["time_s"], np.arange(n_frames) * HOP / RATE)
        expected = np.angle(stft(torch.from_numpy(signal), n_fft=N_FFT, hop=HOP).numpy())
        np.testing.assert_allclose(rows["phase"], expected[bin_index, :n_frames], atol=1e-6)
        line = _panel(drawn[0], key).lines[-1]  # the system's own line, over ground truth's
        np.testing.assert_allclose(line.get_ydata(), expected[bin_index, :n_frames], atol=1e-6)


def test_fig5_summary_states_the_shape_axes_and_scale_drawn(signals, tmp_path, drawn):
    written = plot_spectrograms(signals, tmp_path / "spectrograms.png", RATE, cutoff_hz=3000,
                                n_fft=N_FFT, hop=HOP, dynamic_range_db=70)  # fmt: skip
    data = pd.read_csv(written[0]).set_index("system")
    assert written[0].stat().st_size < 5000 and set(data.index) == set(signals)
    frames = 1 + (RATE // 2) // HOP
    assert (data["n_bins"] == N_FFT // 2 + 1).all() and (data["n_frames"] == frames).all()
    assert (data["freq_max_hz"] == RATE / 2).all()
    assert (data["time_max_s"] == frames * HOP / RATE).all()
    assert (data["db_min"] == -70).all() and data["peak_db"].max() == pytest.approx(0, abs=1e-6)
    # the input lacks the 4400 Hz partial: far darker above the cutoff than the ground truth
    truth, given = data.loc["reference"], data.loc["input"]
    assert given.above_cutoff_peak_db < truth.above_cutoff_peak_db - 30
    assert given.above_cutoff_db < truth.above_cutoff_db < truth.below_cutoff_db
    for key in signals:
        image = _panel(drawn[0], key).images[0]
        row = data.loc[key]
        assert image.get_array().shape == (row.n_bins, row.n_frames)
        assert image.get_clim() == (row.db_min, row.db_max)
        assert list(image.get_extent()) == [0, row.time_max_s, 0, row.freq_max_hz / 1000]


def _metrics(rng: np.random.Generator, names=("lsd",)) -> pd.DataFrame:
    """Five clips per system and cutoff, each system at its own level; the baselines build no
    spectrogram, so their consistency is NaN (as in the pipeline)."""
    systems = (("input", "plain", 2.0), ("noisefill", "plain", 1.4), ("seanet", "plain", 0.8),
               ("seanet", "tdpr", 0.9), ("demucs", "plain", 1.0))  # fmt: skip
    rows = [
        (model, variant, cutoff, f"c{i}", name, base + cutoff / 1e4 + rng.normal(0, 0.1))
        for model, variant, base in systems
        for cutoff in (2500, 3000, 4000)
        for i in range(5)
        for name in names
    ]
    metrics = pd.DataFrame(rows, columns=COLUMNS)
    nan = (metrics["metric"] == "consistency") & (metrics["model"] == "noisefill")
    return metrics.assign(value=metrics["value"].mask(nan))


def test_lsd_cutoff_data_are_the_metrics_means_and_the_lines_draw_them(tmp_path, drawn):
    metrics = _metrics(np.random.default_rng(7))
    written = plot_lsd_vs_cutoff(metrics, tmp_path / "lsd_vs_cutoff.png")
    data = pd.read_csv(written[0])
    expected = metrics.groupby(["model", "variant", "cutoff"])["value"].agg(["mean", "size"])
    assert len(data) == len(expected) == 15
    for row in data.itertuples():
        model, _, variant = row.system.partition("_")
        mean, size = expected.loc[(model, variant or "plain", row.cutoff)]
        assert row.mean == pytest.approx(mean, rel=1e-12) and row.n == size
        assert row.ci_low < row.mean < row.ci_high
        assert row.label == system_label(row.system) and row.metric == "lsd"
    assert list(dict.fromkeys(data["system"])) == [
        "input",
        "noisefill",
        "seanet",
        "seanet_tdpr",
        "demucs",
    ]
    ax = drawn[0].axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2.5 kHz", "3 kHz", "4 kHz"]
    for bars in ax.containers:
        key = next(k for k in data["system"] if system_label(k) == bars.get_label())
        rows = data[data["system"] == key].sort_values("cutoff")
        np.testing.assert_allclose(bars.lines[0].get_ydata(), rows["mean"])
    again = pd.read_csv(plot_lsd_vs_cutoff(metrics, tmp_path / "again.png")[0])
    pd.testing.assert_frame_equal(again, data)  # a seeded bootstrap: the same intervals


def test_phase_metrics_data_leave_out_what_is_not_finite(tmp_path, drawn):
    metrics = _metrics(np.random.default_rng(8), names=("apd_ip", "consistency"))
    data = pd.read_csv(plot_phase_metrics(metrics, tmp_path / "phase_metrics.png")[0])
    finite = metrics.dropna(subset=["value"])
    expected = finite.groupby(["metric", "model", "variant"])["value"].agg(["mean", "size"])
    assert len(data) == len(expected) == 9  # no consistency row for the noise fill
    assert "noisefill" not in set(data.loc[data["metric"] == "consistency", "system"])
    for row in data.itertuples():
        model, _, variant = row.system.partition("_")
        mean, size = expected.loc[(row.metric, model, variant or "plain")]
        assert row.mean == pytest.approx(mean, rel=1e-12) and row.n == size == 15
    for ax, name in zip(drawn[0].axes, ("apd_ip", "consistency"), strict=False):
        rows = data[data["metric"] == name]
        assert [t.get_text() for t in ax.get_yticklabels()] == rows["label"].tolist()
        points = [bars.lines[0].get_xdata()[0] for bars in ax.containers]
        np.testing.assert_allclose(points, rows["mean"])


def test_training_curve_data_are_the_histories_per_epoch_and_the_levels(tmp_path, drawn):
    """Two rows per epoch (a mid-epoch log without validation, then the validated end)."""
    histories = {}
    for model, scale in (("seanet", 5.0), ("audiounet", 3.0)):
        rows = []
        for epoch in range(1, 6):
            loss = scale * np.exp(-epoch / 4) + 1
            rows += [(epoch, 100 * epoch - 50, loss + 0.1, np.nan, np.nan),
                     (epoch, 100 * epoch, loss, loss + 0.2, 1 + scale / (10 * epoch))]  # fmt: skip
        histories[model] = pd.DataFrame(
            rows, columns=["epoch", "step", "train_loss", "valid_loss", "valid_lsd"]
        ).assign(seconds=1.0)
    levels = {"input": 1.8, "noisefill": 1.36}
    data = pd.read_csv(plot_training_curves(histories, tmp_path / "training_curves.png", levels)[0])
    assert list(data.columns) == list(CURVE_COLUMNS)
    for model, history in histories.items():
        rows = data[(data["system"] == model) & (data["kind"] == "model")]
        epochs = history.groupby("epoch").mean()
        assert rows["epoch"].tolist() == [1, 2, 3, 4, 5]
        np.testing.assert_allclose(rows["train_loss"], epochs["train_loss"])
        np.testing.assert_allclose(rows["valid_lsd"], epochs["valid_lsd"])
        assert rows["step"].tolist() == [100, 200, 300, 400, 500]  # where validation ran
    lines = data[data["kind"] == "level"].set_index("system")["valid_lsd"]
    assert lines.to_dict() == levels
    lsd_ax = drawn[0].axes[1]
    curves = {line.get_label(): line for line in lsd_ax.lines if line.get_label()[0] != "_"}
    for model in histories:
        rows = data[(data["system"] == model) & (data["kind"] == "model")]
        np.testing.assert_allclose(curves[system_label(model)].get_xdata(), rows["step"])
        np.testing.assert_allclose(curves[system_label(model)].get_ydata(), rows["valid_lsd"])
    flat = sorted(line.get_ydata()[0] for line in lsd_ax.lines if line.get_label()[0] == "_")
    assert flat == sorted(levels.values())
