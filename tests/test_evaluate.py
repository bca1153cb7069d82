"""File-level evaluation: manifests paired by clip_id, tidy long CSV, errors that name clips."""

import numpy as np
import pandas as pd
import pytest
from scipy.signal import butter, sosfiltfilt

from tdpr.audio import AudioError, write_pcm16
from tdpr.evaluate import COLUMNS, compute_metrics_table, evaluate_system, load_pair
from tdpr.metrics import ALL_METRICS

FS = 16000


def write_clips(folder, clips, degrade):
    rows = []
    for i, clip in enumerate(clips):
        x = np.random.default_rng(i).standard_normal(FS) * 0.05
        if degrade:
            x = sosfiltfilt(butter(8, 2500, fs=FS, output="sos"), x)
        write_pcm16(folder / "audio" / f"{clip}.wav", x, FS)
        rows.append({"clip_id": clip, "path": f"audio/{clip}.wav"})
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    return folder / "manifest.csv"


def test_evaluate_system_writes_a_tidy_long_csv(tmp_path):
    ref = write_clips(tmp_path / "ref", ["c1", "c0"], degrade=False)
    est = write_clips(tmp_path / "est", ["c0", "c1"], degrade=True)
    out = tmp_path / "metrics" / "input_2500.csv"
    table = evaluate_system(ref, est, "input", 2500, out, sample_rate=FS)
    written = pd.read_csv(out)
    assert list(written.columns) == list(COLUMNS)
    assert len(written) == 2 * len(ALL_METRICS)
    assert set(written["metric"]) == set(ALL_METRICS)
    assert set(written["clip"]) == {"c0", "c1"}
    assert (written["model"] == "input").all() and (written["variant"] == "plain").all()
    assert (written["cutoff"] == 2500).all()
    np.testing.assert_allclose(written["value"], table["value"], rtol=1e-12)
    lsd = written.query("metric == 'lsd'")["value"]
    assert (lsd > 0.5).all()


def test_manifests_that_do_not_pair_name_the_clips(tmp_path):
    ref = write_clips(tmp_path / "ref", ["c0", "c1", "c2"], degrade=False)
    est = write_clips(tmp_path / "est", ["c0", "c1", "c9"], degrade=True)
    with pytest.raises(ValueError, match=r"'c2'.*'c9'"):
        evaluate_system(ref, est, "input", 2500, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_metric_errors_name_the_clip(tmp_path):
    write_pcm16(tmp_path / "ref.wav", np.full(FS, 0.1), FS)
    write_pcm16(tmp_path / "est.wav", np.zeros(FS), FS)
    with pytest.raises(ValueError, match="clip x7.*silence"):
        compute_metrics_table([("x7", tmp_path / "ref.wav", tmp_path / "est.wav")], "input", 2500)


def test_system_keys_become_model_and_variant_columns(tmp_path):
    ref = write_clips(tmp_path / "ref", ["c0"], degrade=False)
    est = write_clips(tmp_path / "est", ["c0"], degrade=True)
    table = evaluate_system(ref, est, "seanet_tdpr", 3000, tmp_path / "t.csv", sample_rate=FS)
    assert set(table["model"]) == {"seanet"} and set(table["variant"]) == {"tdpr"}
    with pytest.raises(ValueError, match="unknown model 'nosuchnet'"):
        evaluate_system(ref, est, "nosuchnet", 3000, tmp_path / "u.csv")
    assert not (tmp_path / "u.csv").exists()


def test_load_pair_checks_rates(tmp_path):
    write_pcm16(tmp_path / "a.wav", np.zeros((FS, 2)) + 0.1, FS)
    write_pcm16(tmp_path / "b.wav", np.zeros(FS) + 0.1, 8000)
    ref, est, rate = load_pair(tmp_path / "a.wav", tmp_path / "a.wav")
    assert ref.shape == (FS,) and rate == FS
    with pytest.raises(AudioError, match="sample rates differ"):
        load_pair(tmp_path / "a.wav", tmp_path / "b.wav")
    with pytest.raises(AudioError, match="expected 22050"):
        load_pair(tmp_path / "a.wav", tmp_path / "a.wav", sample_rate=22050)


def test_conventions_become_metrics_of_their_own(tmp_path):
    ref = write_clips(tmp_path / "ref", ["c0", "c1"], degrade=False)
    est = write_clips(tmp_path / "est", ["c0", "c1"], degrade=True)
    out = tmp_path / "t.csv"
    table = evaluate_system(ref, est, "input", 2500, out, conventions=["ssr_eval", "tdpr"])
    extra = sorted(set(table["metric"]) - set(ALL_METRICS))
    assert extra == ["lsd@ssr_eval", "lsd@tdpr", "lsd_hf@tdpr", "lsd_lf@tdpr"]
    values = table.set_index(["clip", "metric"])["value"]
    for clip in ("c0", "c1"):
        assert values[clip, "lsd@tdpr"] == pytest.approx(values[clip, "lsd"], rel=1e-6)
        assert values[clip, "lsd_lf@tdpr"] == pytest.approx(values[clip, "lsd_lf"], rel=1e-6)
    assert len(pd.read_csv(out)) == 2 * (len(ALL_METRICS) + 4)
