"""File-level evaluation: manifests paired by clip_id, tidy long CSV, errors that name clips."""

import re

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


@pytest.mark.parametrize("missing", ["estimate", "reference"])
def test_a_clip_missing_on_one_side_only_is_an_error(tmp_path, missing):
    """Either side lacking a clip is enough (not only both)."""
    full = write_clips(tmp_path / "full", ["c0", "c1"], degrade=False)
    short = write_clips(tmp_path / "short", ["c0"], degrade=True)
    ref, est = (full, short) if missing == "estimate" else (short, full)
    side = "no estimate for ['c1']" if missing == "estimate" else "no reference for ['c1']"
    with pytest.raises(ValueError, match=re.escape(side)):
        evaluate_system(ref, est, "input", 2500, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_an_estimate_with_nan_samples_is_named(tmp_path):
    """NaN in the estimate (a float file) is refused, naming that file, not the reference."""
    import soundfile as sf

    write_pcm16(tmp_path / "ref.wav", np.full(FS, 0.1), FS)
    bad = np.full(FS, 0.1, dtype=np.float32)
    bad[100] = np.nan
    sf.write(tmp_path / "est.wav", bad, FS, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"est\.wav"):
        load_pair(tmp_path / "ref.wav", tmp_path / "est.wav")


def test_the_rate_asked_is_checked_when_metrics_are_computed(tmp_path):
    write_pcm16(tmp_path / "ref.wav", np.random.default_rng(0).standard_normal(8000) * 0.1, 8000)
    pairs = [("c0", tmp_path / "ref.wav", tmp_path / "ref.wav")]
    with pytest.raises(AudioError, match="expected 16000"):
        compute_metrics_table(pairs, "input", 2500, sample_rate=16000)


def test_gather_tables_concatenates_and_means_per_system_cutoff_and_metric(tmp_path):
    """The summary the tables read: mean, std and count over clips, NaN left out; cutoffs that
    are whole numbers become integers; rows sorted by system, cutoff, metric and clip."""
    from tdpr.evaluate import gather_tables

    a = pd.DataFrame(
        {
            "model": "seanet", "variant": "plain", "cutoff": 2500.0, "clip": ["c1", "c0", "c2"],
            "metric": "lsd", "value": [1.0, 3.0, np.nan],
        }
    )  # fmt: skip
    b = pd.DataFrame(
        {
            "model": "input", "variant": "plain", "cutoff": 4000.0, "clip": ["007", "010"],
            "metric": ["lsd", "lsd"], "value": [2.0, 4.0],
        }
    )  # fmt: skip
    a.to_csv(tmp_path / "a.csv", index=False)
    b.to_csv(tmp_path / "b.csv", index=False)
    summary = gather_tables(
        [tmp_path / "a.csv", tmp_path / "b.csv"], tmp_path / "m.csv", tmp_path / "s.csv"
    )
    assert summary.equals(pd.read_csv(tmp_path / "s.csv"))
    rows = summary.set_index(["model", "cutoff"])
    assert rows.loc[("seanet", 2500), ["mean", "n_clips"]].tolist() == [2.0, 2]
    assert rows.loc[("seanet", 2500), "std"] == pytest.approx(np.sqrt(2.0))
    assert rows.loc[("input", 4000), ["mean", "n_clips"]].tolist() == [3.0, 2]
    long = pd.read_csv(tmp_path / "m.csv", dtype={"clip": str})
    assert long["cutoff"].dtype.kind == "i" and len(long) == 5
    # clip ids stay text: "007" is not the number 7
    assert list(zip(long["model"], long["clip"], strict=True)) == [
        ("input", "007"), ("input", "010"), ("seanet", "c0"), ("seanet", "c1"), ("seanet", "c2"),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="no metric tables"):
        gather_tables([], tmp_path / "m2.csv", tmp_path / "s2.csv")


def test_gathered_files_hold_the_columns_only_and_keep_model_and_variant_text(tmp_path):
    """Model and variant names that look like numbers stay text ("2", "007"), and neither CSV
    gets an index column."""
    from tdpr.evaluate import gather_tables

    frame = pd.DataFrame(
        {
            "model": ["2", "2"], "variant": ["007", "007"], "cutoff": 2500.0, "clip": ["a", "b"],
            "metric": "lsd", "value": [1.0, 2.0],
        }
    )  # fmt: skip
    frame.to_csv(tmp_path / "t.csv", index=False)
    summary = gather_tables([tmp_path / "t.csv"], tmp_path / "m.csv", tmp_path / "s.csv")
    assert summary[["model", "variant"]].values.tolist() == [["2", "007"]]
    assert pd.read_csv(tmp_path / "m.csv").columns.tolist() == list(COLUMNS)
    assert pd.read_csv(tmp_path / "s.csv").columns.tolist() == [
        "model", "variant", "cutoff", "metric", "mean", "std", "n_clips",
    ]  # fmt: skip


def test_a_reference_with_nan_samples_is_named(tmp_path):
    import soundfile as sf

    bad = np.full(FS, 0.1, dtype=np.float32)
    bad[7] = np.nan
    sf.write(tmp_path / "ref.wav", bad, FS, subtype="FLOAT")
    write_pcm16(tmp_path / "est.wav", np.full(FS, 0.1), FS)
    with pytest.raises(AudioError, match=r"ref\.wav"):
        load_pair(tmp_path / "ref.wav", tmp_path / "est.wav")


def test_recorded_values_settings_and_rate_reach_every_clips_metrics(tmp_path, monkeypatch):
    """A manifest's consistency_db column becomes each clip's consistency metric; the STFT
    settings and the files' own rate (22.05 kHz here) reach the metrics; ViSQOL only when
    asked (its package replaced by a recorder: the real one runs in the slow tier)."""
    import sys
    import types

    from tdpr.metrics import compute_all

    rate = 22050
    rows = []
    for side in ("ref", "est"):
        for i, clip in enumerate(("c0", "c1")):
            x = np.random.default_rng(i).standard_normal(rate) * 0.05
            if side == "est":
                x = sosfiltfilt(butter(8, 3000, fs=rate, output="sos"), x)
            write_pcm16(tmp_path / side / f"{clip}.wav", x, rate)
            rows.append({"side": side, "clip_id": clip, "path": f"{side}/{clip}.wav"})
    frame = pd.DataFrame(rows)
    frame[frame.side == "ref"].drop(columns="side").to_csv(tmp_path / "ref.csv", index=False)
    est = frame[frame.side == "est"].drop(columns="side").assign(consistency_db=[-12.5, -30.0])
    est.to_csv(tmp_path / "est.csv", index=False)

    class VisqolApi:
        def create(self, mode: str) -> None:
            pass

        def measure_from_arrays(self, ref, est, sample_rate):
            return types.SimpleNamespace(moslqo=4.2)

    api = types.ModuleType("visqol")
    api.VisqolApi = VisqolApi
    monkeypatch.setitem(sys.modules, "visqol", api)

    kwargs = {"n_fft": 512, "hop": 128}
    table = evaluate_system(
        tmp_path / "ref.csv", tmp_path / "est.csv", "seanet_tdpr", 3000, tmp_path / "o.csv",
        visqol=True, **kwargs,
    )  # fmt: skip
    values = table.set_index(["clip", "metric"])["value"]
    assert values[("c0", "consistency")] == -12.5 and values[("c1", "consistency")] == -30.0
    assert values[("c0", "visqol")] == 4.2
    import soundfile as sf

    for clip in ("c0", "c1"):
        ref, est_audio = (sf.read(tmp_path / side / f"{clip}.wav")[0] for side in ("ref", "est"))
        expected = compute_all(ref, est_audio, 3000, rate, **kwargs)
        for name in ("lsd", "lsd_hf", "lsd_lf", "ifd_w1_hf", "phase_ip_hf"):
            assert values[(clip, name)] == pytest.approx(expected[name], rel=1e-5), (clip, name)
    plain = evaluate_system(
        tmp_path / "ref.csv", tmp_path / "est.csv", "seanet_tdpr", 3000, tmp_path / "p.csv"
    )
    assert "visqol" not in set(plain["metric"]) and "lsd_hf" in set(plain["metric"])
