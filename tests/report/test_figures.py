"""Figure functions write a valid, non-blank PNG, a PDF and their data as CSV; signals load from
manifests. What the CSVs hold is checked in test_figures_data.py."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from tdpr.audio import write_pcm16
from tdpr.registry import MODELS, VARIANTS
from tdpr.report import figures
from tdpr.report.figures import (
    HISTORY_COLUMNS,
    load_figure_signals,
    panel_rows,
    plot_lsd_vs_cutoff,
    plot_phase_bin,
    plot_phase_metrics,
    plot_spectrograms,
    plot_training_curves,
    system_color,
    system_linestyle,
)

RATE = 16_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_figure_files(paths: list[Path]) -> None:
    """A PNG with its signature and visible content (pixel variance), a PDF, and a non-empty CSV
    of the drawn data under the same stem."""
    assert sorted(p.suffix for p in paths) == [".csv", ".pdf", ".png"]
    assert len({p.with_suffix("") for p in paths}) == 1
    png, pdf, csv = (next(p for p in paths if p.suffix == s) for s in (".png", ".pdf", ".csv"))
    assert len(pd.read_csv(csv)) > 0
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    pixels = matplotlib.image.imread(png)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels[..., :3].var() > 1e-3, "the PNG is blank"
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000


@pytest.fixture
def signals() -> dict[str, np.ndarray]:
    """One second of harmonics; the "models" add noise, the input lacks the upper partials."""
    rng = np.random.default_rng(0)
    t = np.arange(RATE) / RATE
    partials = [np.sin(2 * np.pi * f * t + f) / k for k, f in enumerate((220, 1100, 4400), 1)]
    truth = (0.3 * sum(partials)).astype(np.float32)
    out = {"input": (0.3 * sum(partials[:2])).astype(np.float32), "reference": truth}
    for model in ("seanet", "demucs"):
        out[model] = truth + 0.02 * rng.standard_normal(RATE).astype(np.float32)
        out[model + "_tdpr"] = truth + 0.01 * rng.standard_normal(RATE).astype(np.float32)
    return out


def test_plot_phase_bin_writes_png_and_pdf(signals, tmp_path):
    paths = plot_phase_bin(signals, 282, out=tmp_path / "fig4.png", sample_rate=RATE)
    assert {p.name for p in paths} == {"fig4.png", "fig4.pdf", "fig4.csv"}
    assert_figure_files(paths)
    with pytest.raises(ValueError, match="bin_index"):
        plot_phase_bin(signals, 513, out=tmp_path / "bad.png")


def test_plot_spectrograms_writes_png_and_pdf(signals, tmp_path):
    assert_figure_files(plot_spectrograms(signals, tmp_path / "fig5.pdf", RATE, cutoff_hz=3000))


def test_plot_lsd_vs_cutoff_writes_png_and_pdf(tmp_path):
    rng = np.random.default_rng(1)
    rows = [
        (model, variant, cutoff, f"c{i}", "lsd", base + 0.1 * rng.standard_normal())
        for model, variant, base in (
            ("input", "plain", 2.0), ("seanet", "plain", 0.8), ("seanet", "tdpr", 0.9)
        )
        for cutoff in (2500, 3000, 3500, 4000)
        for i in range(6)
    ]  # fmt: skip
    columns = ["model", "variant", "cutoff", "clip", "metric", "value"]
    metrics = pd.DataFrame(rows, columns=columns)
    assert_figure_files(plot_lsd_vs_cutoff(metrics, tmp_path / "lsd_cutoff"))
    with pytest.raises(ValueError, match="si_sdr"):
        plot_lsd_vs_cutoff(metrics, tmp_path / "none", metric="si_sdr")


def test_plot_training_curves_writes_png_and_pdf(tmp_path):
    epochs = np.arange(1, 11)
    histories = {
        model: pd.DataFrame(
            {
                "epoch": epochs,
                "step": epochs * 100,
                "train_loss": scale * np.exp(-epochs / 4) + 1,
                "valid_loss": scale * np.exp(-epochs / 4) + 1.2,
                "valid_lsd": 1 + np.exp(-epochs / 3),
                "seconds": 60.0,
            }
        )  # fmt: skip
        for model, scale in (("seanet", 5.0), ("audiounet", 3.0))
    }
    assert_figure_files(plot_training_curves(histories, tmp_path / "training.png"))
    levels = {"input": 1.8, "noisefill": 1.36, "replicate": 1.34}
    assert_figure_files(plot_training_curves(histories, tmp_path / "levels.png", levels))
    broken = {"demucs": histories["seanet"].drop(columns="valid_lsd")}
    with pytest.raises(ValueError, match="history of Demucs lacks column.*valid_lsd"):
        plot_training_curves(broken, tmp_path / "x")


def test_colours_come_from_the_registry_shaded_per_variant():
    assert system_color("seanet") == MODELS["seanet"].colour
    variants = {system_color(s) for s in ("seanet", "seanet_tdpr", "seanet_gtphase")}
    assert len(variants) == 3
    assert system_color("seanet") != system_color("demucs")
    assert system_color("input") == "#7f7f7f" and system_color("reference") == "#000000"
    assert system_linestyle("seanet_tdpr") == "--" and system_linestyle("seanet") == "-"
    with pytest.raises(ValueError, match="unknown model 'newnet'"):
        system_color("newnet")


def test_panel_rows_follow_the_paper_layout():
    keys = ["demucs_tdpr", "seanet", "reference", "input", "demucs", "seanet_tdpr"]
    assert panel_rows(keys) == [
        ["input", "reference"], ["demucs", "demucs_tdpr"], ["seanet", "seanet_tdpr"],
    ]  # fmt: skip


def test_load_figure_signals_reads_one_clip_of_each_system(tmp_path, signals):
    manifests = {}
    for key in ("input", "reference"):
        folder = tmp_path / key
        write_pcm16(folder / "clip.wav", signals[key], RATE)
        pd.DataFrame({"clip_id": ["a"], "path": ["clip.wav"]}).to_csv(folder / "m.csv")
        manifests[key] = folder / "m.csv"
    loaded, rate = load_figure_signals(manifests, "a", offset_s=0.25, duration_s=0.5)
    assert rate == RATE and set(loaded) == {"input", "reference"}
    assert loaded["reference"].shape == (RATE // 2,)
    start = RATE // 4
    expected = signals["reference"][start : start + RATE // 2]
    np.testing.assert_allclose(loaded["reference"], expected, atol=1 / 32768)
    with pytest.raises(KeyError, match="clip 'b' is not in the manifest of input"):
        load_figure_signals(manifests, "b")


def baseline_metrics(names=("lsd",)) -> pd.DataFrame:
    """Tidy metrics of Input, both baselines and SEANet; baselines build no spectrogram, so
    their consistency is NaN (as in the pipeline)."""
    rng = np.random.default_rng(2)
    systems = (("input", 2.0), ("noisefill", 1.4), ("replicate", 1.5), ("seanet", 0.8))
    rows = [
        (model, "plain", cutoff, f"c{i}", name, value)
        for model, base in systems
        for cutoff in (2500, 3000, 3500)
        for i in range(4)
        for name in names
        for value in [np.nan if name == "consistency" and model != "seanet" else base]
    ]
    metrics = pd.DataFrame(rows, columns=["model", "variant", "cutoff", "clip", "metric", "value"])
    return metrics.assign(value=metrics["value"] + 0.05 * rng.standard_normal(len(metrics)))


def test_baselines_draw_in_their_colour_with_their_own_line_and_marker(tmp_path, monkeypatch):
    assert system_linestyle("noisefill") == system_linestyle("replicate_tdpr")
    assert system_linestyle("noisefill") not in {v.linestyle for v in VARIANTS.values()}
    assert system_color("noisefill") == MODELS["noisefill"].colour
    drawn = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, out: drawn.append(fig) or [])
    plot_lsd_vs_cutoff(baseline_metrics(), tmp_path / "lsd_cutoff")
    lines = [line for line in drawn[0].axes[0].lines if line.get_marker() not in ("None", "")]
    markers = {to_hex(line.get_color()): line.get_marker() for line in lines}
    assert markers[MODELS["noisefill"].colour] == markers[MODELS["replicate"].colour] == "s"
    assert markers[MODELS["seanet"].colour] == "o"


def test_metric_figures_take_baseline_systems(tmp_path):
    assert_figure_files(plot_lsd_vs_cutoff(baseline_metrics(), tmp_path / "lsd_cutoff"))
    metrics = baseline_metrics(("apd_ip", "consistency"))
    assert_figure_files(plot_phase_metrics(metrics, tmp_path / "phase_metrics"))


def test_training_curves_refuse_a_baseline():
    history = pd.DataFrame({c: [1, 2] for c in HISTORY_COLUMNS})
    with pytest.raises(ValueError, match="no training curves for noisefill: not a TD-CNN"):
        plot_training_curves({"seanet": history, "noisefill": history}, "unused")


def test_panel_rows_put_every_baseline_in_one_row():
    keys = ["seanet", "replicate", "reference", "input", "noisefill_tdpr", "seanet_tdpr"]
    keys += ["noisefill", "demucs"]
    assert panel_rows(keys) == [
        ["input", "reference"], ["replicate", "noisefill", "noisefill_tdpr"],
        ["seanet", "seanet_tdpr"], ["demucs"],
    ]  # fmt: skip
    assert panel_rows(["noisefill", "seanet"]) == [["noisefill"], ["seanet"]]


def test_the_lsd_figure_is_tall_enough_for_every_legend_entry(tmp_path, monkeypatch):
    """The demo draws 27 systems: each legend entry lies inside the figure, not cut off."""
    from tdpr.registry import system_key

    variants = [v for v in VARIANTS if not VARIANTS[v].oracle][:7]
    keys = ["input"] + [system_key(m, v) for m in ("seanet", "audiounet", "demucs")
                        for v in variants] + ["noisefill", "replicate"]  # fmt: skip
    rows = [
        (*(k.partition("_")[0], k.partition("_")[2] or "plain"), cutoff, f"c{i}", "lsd", 1.0 + i)
        for k in keys for cutoff in (2500, 4000) for i in range(2)
    ]  # fmt: skip
    metrics = pd.DataFrame(rows, columns=["model", "variant", "cutoff", "clip", "metric", "value"])
    drawn = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, out: drawn.append(fig) or [])
    plot_lsd_vs_cutoff(metrics, tmp_path / "lsd_cutoff")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = drawn[0]
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    legend = fig.axes[0].get_legend()
    assert len(legend.get_texts()) == len(keys)
    box, page = legend.get_window_extent(renderer), fig.bbox
    assert box.y0 >= page.y0 - 1 and box.y1 <= page.y1 + 1, (box, page)
