"""The ``tdpr metrics`` command: output formats, pairing of folders, and one-line errors."""

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from scipy.signal import butter, sosfiltfilt

from tdpr.audio import write_pcm16
from tdpr.cli import main
from tdpr.metrics import ALL_METRICS as REGISTERED
from tdpr.registry import CONVENTIONS, METRICS

#: what the command prints with a cutoff: every metric computable from two files
ALL_METRICS = [n for n in REGISTERED if not METRICS[n].recorded]

FS = 16000


def signal(seed: int, seconds: float = 1.0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(int(seconds * FS))
    return 0.2 * x / np.abs(x).max()


def degraded(x: np.ndarray) -> np.ndarray:
    return sosfiltfilt(butter(8, 3000, fs=FS, output="sos"), x)


@pytest.fixture
def pair(tmp_path):
    x = signal(0)
    write_pcm16(tmp_path / "ref.wav", x, FS)
    write_pcm16(tmp_path / "est.wav", degraded(x), FS)
    return tmp_path / "ref.wav", tmp_path / "est.wav"


def run_json(capsys, *argv) -> dict:
    assert main(["metrics", *map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_exactly_the_documented_keys(pair, capsys):
    out = run_json(capsys, *pair, "--cutoff", 3000)
    assert list(out) == ["per_file", "mean"]
    assert [list(row) for row in out["per_file"]] == [["file", *ALL_METRICS]]
    assert list(out["mean"]) == list(ALL_METRICS)
    assert out["per_file"][0]["file"] == "est.wav"
    assert out["mean"]["lsd"] == out["per_file"][0]["lsd"] > 0.5


def test_without_cutoff_no_band_metrics(pair, capsys):
    out = run_json(capsys, *pair)
    assert list(out["mean"]) == ["lsd", "si_sdr", "lsd_apbwe", "apd_ip", "apd_iaf", "apd_gd"]


def test_folders_are_paired_by_name_and_averaged(tmp_path, capsys):
    for name, seed in (("a.wav", 1), ("b.wav", 2)):
        x = signal(seed)
        write_pcm16(tmp_path / "ref" / name, x, FS)
        write_pcm16(tmp_path / "est" / name, degraded(x), FS)
    out = run_json(capsys, tmp_path / "ref", tmp_path / "est", "--cutoff", 3000)
    assert [row["file"] for row in out["per_file"]] == ["a.wav", "b.wav"]
    lsds = [row["lsd"] for row in out["per_file"]]
    assert out["mean"]["lsd"] == pytest.approx(sum(lsds) / 2)


def test_table_is_aligned_with_a_mean_row(pair, capsys):
    assert main(["metrics", *map(str, pair), "--cutoff", "3000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["file", *ALL_METRICS]
    assert [line.split()[0] for line in lines[1:]] == ["est.wav", "mean"]
    assert len({len(line) for line in lines}) == 1


def test_undefined_phase_distance_is_json_null(tmp_path, capsys):
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(FS) / FS) * np.hanning(FS)
    write_pcm16(tmp_path / "ref.wav", tone, FS)
    write_pcm16(tmp_path / "est.wav", 0.5 * tone, FS)
    out = run_json(capsys, tmp_path / "ref.wav", tmp_path / "est.wav", "--cutoff", 3000)
    assert out["per_file"][0]["phase_ip_hf"] is None and out["mean"]["phase_if_hf"] is None


def expect_error(capsys, argv, message):
    assert main(["metrics", *map(str, argv)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert message in err


def test_unmatched_folder_names_are_named(tmp_path, capsys):
    write_pcm16(tmp_path / "ref" / "a.wav", signal(0), FS)
    write_pcm16(tmp_path / "ref" / "b.wav", signal(1), FS)
    write_pcm16(tmp_path / "est" / "a.wav", signal(0), FS)
    expect_error(capsys, [tmp_path / "ref", tmp_path / "est"], "b.wav")


def test_mismatched_sample_rates(tmp_path, capsys):
    write_pcm16(tmp_path / "ref.wav", signal(0), FS)
    write_pcm16(tmp_path / "est.wav", signal(0), 22050)
    expect_error(capsys, [tmp_path / "ref.wav", tmp_path / "est.wav"], "sample rates differ")


def test_length_mismatch_beyond_tolerance(tmp_path, capsys):
    x = signal(0)
    write_pcm16(tmp_path / "ref.wav", x, FS)
    write_pcm16(tmp_path / "est.wav", x[:-100], FS)
    expect_error(capsys, [tmp_path / "ref.wav", tmp_path / "est.wav"], "differ by 100 samples")


def test_unreadable_file(pair, capsys):
    pair[1].write_bytes(b"not audio at all")
    expect_error(capsys, pair, "cannot read audio file")


def test_nan_input(pair, capsys):
    x = signal(0)
    x[100] = np.nan
    sf.write(pair[1], x, FS, subtype="FLOAT")
    expect_error(capsys, pair, "NaN")


def test_silent_input(pair, capsys):
    write_pcm16(pair[1], np.zeros(FS), FS)
    expect_error(capsys, [*pair, "--cutoff", 3000], "estimate is digital silence")


def test_missing_path(pair, capsys):
    expect_error(capsys, [pair[0], pair[0].parent / "nope.wav"], "no such file")


# ---- --convention --------------------------------------------------------------------------


def test_every_convention_with_its_parameters(pair, capsys, tmp_path):
    out = run_json(capsys, *pair, "--cutoff", 3000, "--convention", "all")
    assert list(out) == ["conventions"]
    assert list(out["conventions"]) == list(CONVENTIONS)
    for name, result in out["conventions"].items():
        params = result["parameters"]
        assert params["citation"] == CONVENTIONS[name].citation and params["sample_rate"] == FS
        bands = ["lsd", "lsd_hf", "lsd_lf"] if CONVENTIONS[name].split else ["lsd"]
        assert list(result["mean"]) == bands
        assert result["mean"]["lsd"] == result["per_file"][0]["lsd"] > 0.1
    assert out["conventions"]["ssr_eval"]["parameters"]["n_fft"] == 743
    assert out["conventions"]["apbwe"]["parameters"]["hop"] == 512
    assert out["conventions"]["tdpr"]["mean"]["lsd"] == pytest.approx(
        run_json(capsys, *pair)["mean"]["lsd"], rel=1e-6
    )


def test_repeated_convention_and_csv_beside_parameters(pair, capsys, tmp_path):
    target = tmp_path / "lsd.csv"
    argv = [*pair, "--convention", "mdctgan", "--convention", "apbwe", "--csv", target]
    assert main(["metrics", *map(str, argv)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split() == ["file", "lsd@apbwe", "lsd@mdctgan"]
    assert "mdctgan: STFT 1024/512 (KBD β=12π" in text
    table = pd.read_csv(target)
    assert list(table["convention"].unique()) == ["apbwe", "mdctgan"]
    assert list(table["file"].unique()) == ["est.wav", "mean"]
    row = table[table["convention"] == "mdctgan"].iloc[0]
    assert (row["n_fft"], row["hop"], row["floor"], row["floor_mode"]) == (
        1024, 512, 1e-6, "additive"
    )  # fmt: skip


def test_list_of_conventions_names_each_with_its_citation(capsys):
    assert main(["metrics", "--list-conventions"]) == 0
    out = capsys.readouterr().out
    for name, entry in CONVENTIONS.items():
        assert f"{name}: {entry.citation}" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--convention", "nuwave"], "unknown LSD convention 'nuwave'; registered: tdpr"),
        (["--convention", "apbwe", "--n-fft", "512"], "--n-fft set(s) the default metrics"),
        (["--convention", "tdpr", "--cutoff", "9000"], "cutoff 9000.0 Hz is not inside"),
        (["--csv", "{t}/out.csv"], "give --convention NAME or all"),
    ],
)
def test_convention_errors_leave_nothing_behind(pair, capsys, tmp_path, extra, message):
    extra = [a.replace("{t}", str(tmp_path)) for a in extra]
    argv = [*pair, *extra]
    if "--csv" not in extra:
        argv += ["--csv", tmp_path / "out.csv"]
    expect_error(capsys, argv, message)
    assert not (tmp_path / "out.csv").exists()


def test_too_short_for_a_conventions_stft(tmp_path, capsys):
    write_pcm16(tmp_path / "ref.wav", signal(0, seconds=0.1), FS)
    write_pcm16(tmp_path / "est.wav", signal(1, seconds=0.1), FS)
    argv = [tmp_path / "ref.wav", tmp_path / "est.wav", "--convention", "apbwe"]
    expect_error(capsys, argv, "shorter than n_fft=2048")


def test_ref_and_est_are_needed_without_the_listing(capsys):
    expect_error(capsys, [], "give REF and EST (or --list-conventions)")
