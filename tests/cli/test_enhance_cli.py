"""``tdpr enhance``: files and folders, phase repair on and off, wrong checkpoints, bad inputs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import piano_like
from rendered import needs_fluidsynth, piano

from tdpr.cli import main
from tdpr.enhance import Enhancer
from tdpr.models import build_model
from tdpr.train.checkpoint import save_model

SEANET = {"base_channels": 4, "strides": [2, 4], "latent_dim": 8}
TFGAN = {"mult": 8, "n_residual_layers": 2}
PCM_STEP = 1.01 / 32768


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def checkpoints(tmp_path: Path) -> dict[str, Path]:
    torch.manual_seed(0)
    paths = {}
    for name, kwargs in (("seanet", SEANET), ("tfgan", TFGAN)):
        paths[name] = save_model(
            tmp_path / f"{name}.pt", name, kwargs, build_model(name, **kwargs), {}
        )
    return paths


def write(path: Path, seconds: float = 1.2, rate: int = 16_000, channels: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, piano_like(seconds, rate, channels=channels), rate, subtype="PCM_16")
    return path


def expected(path: Path, vocoder: bool) -> np.ndarray:
    torch.manual_seed(0)
    model = build_model("seanet", **SEANET)
    voc = build_model("tfgan", **TFGAN) if vocoder else None
    audio, _ = sf.read(path, dtype="float32")
    return Enhancer(model, voc).enhance(audio)


def test_file_with_phase_repair(tmp_path, checkpoints):
    src = write(tmp_path / "in.wav")
    out = tmp_path / "out" / "enhanced.wav"
    args = ["enhance", str(src), str(out), "--model", str(checkpoints["seanet"])]
    assert main([*args, "--vocoder", str(checkpoints["tfgan"])]) == 0
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype) == (16_000, 1, "PCM_16")
    got, _ = sf.read(out, dtype="float32")
    np.testing.assert_allclose(got, np.clip(expected(src, True), -1, 1), atol=PCM_STEP)


def test_bfloat16_output_is_close_to_float32(tmp_path, checkpoints):
    src = write(tmp_path / "in.wav", seconds=2.0)
    base = ["enhance", str(src), "--model", str(checkpoints["seanet"])]
    outs = {}
    for dtype in ("float32", "bfloat16"):
        out = tmp_path / f"{dtype}.wav"
        assert main([*base[:2], str(out), *base[2:], "--no-phase-repair", "--dtype", dtype]) == 0
        outs[dtype] = torch.from_numpy(sf.read(out, dtype="float32")[0])
    a, b = outs["float32"], outs["bfloat16"]
    assert not torch.equal(a, b)  # bf16 did run
    # bf16 keeps about 3 significant digits: the TD-CNN's waveforms agree to a few percent
    # (their LSD does not: bf16 rounding fills near-empty bins; bench/bench_enhance.py)
    assert float((a - b).norm() / a.norm()) < 0.05
    out = tmp_path / "tdpr.wav"
    voc = ["--vocoder", str(checkpoints["tfgan"]), "--dtype", "bfloat16"]
    assert main([*base[:2], str(out), *base[2:], *voc]) == 0
    assert sf.info(out).frames == len(a)
    with pytest.raises(SystemExit):  # argparse: an unknown --dtype
        main([*base[:2], str(tmp_path / "x.wav"), *base[2:], *voc[:2], "--dtype", "half"])


def test_folder_without_phase_repair(tmp_path, checkpoints, caplog):
    write(tmp_path / "in" / "a.wav")
    write(tmp_path / "in" / "b.flac", rate=44_100, channels=2)
    (tmp_path / "in" / "notes.txt").write_text("not audio")
    out = tmp_path / "out"
    args = ["enhance", str(tmp_path / "in"), str(out), "--model", str(checkpoints["seanet"])]
    assert main([*args, "--no-phase-repair", "--chunk-seconds", "0.5"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.wav", "b.wav"]
    got, _ = sf.read(out / "a.wav", dtype="float32")
    np.testing.assert_allclose(got, expected(tmp_path / "in" / "a.wav", False), atol=PCM_STEP)
    assert sf.info(out / "b.wav").channels == 2 and sf.info(out / "b.wav").samplerate == 16_000


def run_failing(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize(
    "model, vocoder, message",
    [
        ("seanet", None, "needs --vocoder"),
        ("tfgan", "tfgan", "pass it as --vocoder"),
        ("seanet", "seanet", "not a vocoder"),
        ("text", "tfgan", "cannot read .* as a tdpr checkpoint"),
        ("pickle_key", "tfgan", "cannot read .* as a tdpr checkpoint"),
        ("missing", "tfgan", "not found"),
    ],
)
def test_wrong_checkpoints_stop_before_any_output(
    tmp_path, checkpoints, capsys, model, vocoder, message
):
    checkpoints["text"] = tmp_path / "text.pt"
    checkpoints["text"].write_text("not a checkpoint")
    checkpoints["pickle_key"] = tmp_path / "hello.pt"
    checkpoints["pickle_key"].write_text("hello")  # 'h' is a pickle opcode: a KeyError in torch
    checkpoints["missing"] = tmp_path / "missing.pt"
    src = write(tmp_path / "in.wav")
    out = tmp_path / "out.wav"
    argv = ["enhance", str(src), str(out), "--model", str(checkpoints[model])]
    if vocoder:
        argv += ["--vocoder", str(checkpoints[vocoder])]
    assert re.search(message, run_failing(argv, capsys))
    assert not out.exists()


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda p: sf.write(p / "in.wav", np.zeros(1), 16_000), "at least 513 samples"),
        (lambda p: (p / "in.wav").write_text("text"), "not a supported audio format"),
        (lambda p: None, "not found"),
    ],
)
def test_bad_inputs_exit_2_without_output(tmp_path, checkpoints, capsys, setup, message):
    setup(tmp_path)
    out = tmp_path / "out.wav"
    argv = ["enhance", str(tmp_path / "in.wav"), str(out)]
    argv += ["--model", str(checkpoints["seanet"]), "--no-phase-repair"]
    assert message in run_failing(argv, capsys)
    assert not out.exists()


def test_output_must_be_a_wav_file(tmp_path, checkpoints, capsys):
    src = write(tmp_path / "in.wav")
    argv = ["enhance", str(src), str(tmp_path / "out.flac")]
    argv += ["--model", str(checkpoints["seanet"]), "--no-phase-repair"]
    assert ".wav" in run_failing(argv, capsys)


def lowpassed(path: Path, cutoff: float, seconds: float = 3.0) -> tuple[Path, np.ndarray]:
    """Rendered piano low-passed at ``cutoff`` (written to ``path``) and the clean original."""
    from tdpr.audio import quantize_pcm16
    from tdpr.dsp.filters import lowpass

    clean = piano(8.0)[-int(seconds * 16_000) :]
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, quantize_pcm16(lowpass(clean, 16_000, "cheby1", cutoff)), 16_000,
             subtype="PCM_16")  # fmt: skip
    return path, clean


def lsd(clean: np.ndarray, path: Path, cutoff: float) -> dict[str, float]:
    from tdpr.metrics import compute_all

    est, _ = sf.read(path, dtype="float64")
    return compute_all(torch.from_numpy(clean), torch.from_numpy(est), cutoff,
                       names=["lsd", "lsd_lf"])  # fmt: skip


@needs_fluidsynth
@pytest.mark.parametrize("baseline", ["noisefill", "replicate"])
def test_a_baseline_needs_no_checkpoint(tmp_path, baseline):
    src, clean = lowpassed(tmp_path / "in.wav", 3000)
    out = tmp_path / "out.wav"
    assert main(["enhance", str(src), str(out), "--model", baseline, "--cutoff", "3000"]) == 0
    given, filled = lsd(clean, src, 3000), lsd(clean, out, 3000)
    assert filled["lsd"] < given["lsd"] - 0.5
    assert filled["lsd_lf"] < given["lsd_lf"] + 0.05
    again = tmp_path / "again.wav"
    assert main(["enhance", str(src), str(again), "--model", baseline, "--cutoff", "3000"]) == 0
    assert again.read_bytes() == out.read_bytes()  # seeded: the same bytes


@needs_fluidsynth
def test_a_baseline_estimates_the_bandwidth_and_takes_folders_seeds_and_spectra(tmp_path, caplog):
    lowpassed(tmp_path / "in" / "a.wav", 3000)
    lowpassed(tmp_path / "in" / "b.wav", 3500, seconds=2.0)
    with caplog.at_level("INFO"):
        assert main(["enhance", str(tmp_path / "in"), str(tmp_path / "out"),
                     "--model", "noisefill"]) == 0  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.wav", "b.wav"]
    assert "estimated bandwidth" in caplog.text
    from tdpr.baselines.spectrum import MeanSpectrum, write_spectrum

    flat = write_spectrum(MeanSpectrum(np.ones(513)), tmp_path / "flat.json")
    runs = {}
    for name, extra in (("seed1", ["--seed", "1"]), ("flat", ["--spectrum", str(flat)])):
        runs[name] = tmp_path / f"{name}.wav"
        argv = ["enhance", str(tmp_path / "in" / "a.wav"), str(runs[name]), "--model", "noisefill"]
        assert main([*argv, *extra]) == 0
    shipped = (tmp_path / "out" / "a.wav").read_bytes()
    assert runs["seed1"].read_bytes() != shipped and runs["flat"].read_bytes() != shipped


def test_a_doubtful_bandwidth_estimate_warns_and_names_cutoff(tmp_path, caplog):
    """An edge only 40 dB above the floor: the cutoff is estimated with low confidence, and the
    warning says which option sets it; given with --cutoff, nothing is estimated or warned."""
    from tdpr.dsp.filters import lowpass

    rng = np.random.default_rng(0)
    x = lowpass(0.1 * rng.standard_normal(32_000), 16_000, "butter", 3000, 8)
    x = x + 1e-3 * rng.standard_normal(len(x))
    sf.write(tmp_path / "in.wav", x, 16_000, subtype="PCM_16")
    argv = ["enhance", str(tmp_path / "in.wav"), str(tmp_path / "out.wav"), "--model", "noisefill"]
    with caplog.at_level("INFO", logger="tdpr"):
        assert main(argv) == 0
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("low confidence" in m and "--cutoff" in m for m in warned), warned
    caplog.clear()
    with caplog.at_level("INFO", logger="tdpr"):
        assert main([*argv, "--cutoff", "3000"]) == 0
    assert "estimated bandwidth" not in caplog.text and "low confidence" not in caplog.text


def test_no_cutoff_found_warns_and_takes_the_input_as_full_band(tmp_path, checkpoints, caplog):
    sf.write(tmp_path / "in.wav", 0.1 * np.random.default_rng(1).standard_normal(24_000),
             16_000, subtype="PCM_16")  # fmt: skip
    argv = ["enhance", str(tmp_path / "in.wav"), str(tmp_path / "out.wav"), "--model",
            str(checkpoints["seanet"]), "--no-phase-repair", "--keep-band"]  # fmt: skip
    with caplog.at_level("INFO", logger="tdpr"):
        assert main(argv) == 0
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("no cutoff found" in m and "--cutoff" in m for m in warned), warned
    given, _ = sf.read(tmp_path / "in.wav", dtype="float64")
    kept, _ = sf.read(tmp_path / "out.wav", dtype="float64")
    band = slice(0, int(7000 * len(given) / 16_000))  # the band below 7 kHz is given back
    A, B = np.fft.rfft(given)[band], np.fft.rfft(kept)[band]
    assert np.linalg.norm(B - A) < 0.05 * np.linalg.norm(A)


@needs_fluidsynth
def test_a_baseline_with_a_vocoder_gets_td_pr(tmp_path, checkpoints):
    src, _ = lowpassed(tmp_path / "in.wav", 3000, seconds=1.5)
    out = tmp_path / "out.wav"
    argv = ["enhance", str(src), str(out), "--model", "replicate", "--cutoff", "3000"]
    assert main([*argv, "--vocoder", str(checkpoints["tfgan"])]) == 0
    plain = tmp_path / "plain.wav"
    assert main(["enhance", str(src), str(plain), "--model", "replicate", "--cutoff", "3000"]) == 0
    assert out.read_bytes() != plain.read_bytes()


@needs_fluidsynth
@pytest.mark.parametrize(
    "extra, message",
    [
        (["--model", "noisefill", "--spectrum", "{bad}"], "--spectrum: cannot read"),
        (["--model", "noisefill", "--spectrum", "{missing}"], "--spectrum: spectrum file not"),
        (["--model", "{seanet}", "--spectrum", "{bad}", "--no-phase-repair"], "for the baselines"),
        (["--model", "noisefill", "--cutoff", "1000"], "outside the 2000-7500 Hz"),
        (["--model", "noisfill"], "not found, and not a baseline"),
    ],
)
def test_baseline_mistakes_exit_2_without_output(tmp_path, checkpoints, capsys, extra, message):
    src, _ = lowpassed(tmp_path / "in.wav", 3000, seconds=1.0)
    (tmp_path / "bad.json").write_text("{")
    paths = {"bad": tmp_path / "bad.json", "missing": tmp_path / "no.json", **checkpoints}
    out = tmp_path / "out.wav"
    argv = ["enhance", str(src), str(out), *(a.format(**paths) for a in extra)]
    assert message in run_failing(argv, capsys)
    assert not out.exists()


@needs_fluidsynth
@pytest.mark.parametrize("phase", [["--vocoder", "VOC"], ["--phase", "griffinlim"]])
def test_keep_band_gives_back_the_input_below_its_bandwidth(tmp_path, checkpoints, phase):
    """An untrained SEANet ruins the band it is given; --keep-band takes the input back there,
    after TD-PR (chunk by chunk) and after a whole-signal phase source alike."""
    src, clean = lowpassed(tmp_path / "in.wav", 3000)
    phase = [str(checkpoints["tfgan"]) if a == "VOC" else a for a in phase]
    args = ["enhance", str(src), "--model", str(checkpoints["seanet"]), "--cutoff", "3000",
            "--chunk-seconds", "1", *phase]  # fmt: skip
    assert main([*args[:2], str(tmp_path / "plain.wav"), *args[2:]]) == 0
    assert main([*args[:2], str(tmp_path / "kept.wav"), *args[2:], "--keep-band"]) == 0
    given, plain, kept = (lsd(clean, tmp_path / f"{n}.wav", 3000) for n in ("in", "plain", "kept"))
    assert plain["lsd_lf"] > given["lsd_lf"] + 0.3  # the model alters the band it was given
    assert abs(kept["lsd_lf"] - given["lsd_lf"]) < 0.03
    x, _ = sf.read(src, dtype="float64")
    y, _ = sf.read(tmp_path / "kept.wav", dtype="float64")
    low = np.fft.rfftfreq(len(x), 1 / 16_000) < 2800
    X, Y = np.fft.rfft(x)[low], np.fft.rfft(y)[low]
    assert np.linalg.norm(Y - X) < 0.01 * np.linalg.norm(X)  # the input's own band, near exact


@pytest.mark.parametrize(("rate", "channels"), [(44_100, 2), (22_050, 1), (16_000, 1)])
def test_keep_rate_writes_at_the_input_rate(tmp_path, checkpoints, rate, channels):
    src = write(tmp_path / "in.wav", seconds=1.5, rate=rate, channels=channels)
    model = ["--model", str(checkpoints["seanet"]), "--no-phase-repair"]
    assert main(["enhance", str(src), str(tmp_path / "kept.wav"), *model, "--keep-rate"]) == 0
    assert main(["enhance", str(src), str(tmp_path / "16k.wav"), *model]) == 0
    info = sf.info(tmp_path / "kept.wav")
    assert (info.samplerate, info.channels, info.frames) == (rate, channels, round(1.5 * rate))
    kept, _ = sf.read(tmp_path / "kept.wav", dtype="float64", always_2d=True)
    base, _ = sf.read(tmp_path / "16k.wav", dtype="float64", always_2d=True)
    from tdpr.audio import resample

    back = resample(kept.astype(np.float32), rate, 16_000)  # the same signal at the other rate
    n = min(len(back), len(base))
    band = np.fft.rfftfreq(n, 1 / 16_000) < 7000  # resampling's anti-alias filter starts there
    A, B = np.fft.rfft(base[:n], axis=0)[band], np.fft.rfft(back[:n], axis=0)[band]
    assert np.linalg.norm(B - A) < 0.01 * np.linalg.norm(A)


@needs_fluidsynth
def test_the_shipped_weights_restore_any_file_and_folder_with_no_other_argument(tmp_path, caplog):
    """What a fresh install gives: `tdpr enhance IN OUT` alone, on a 44.1-kHz stereo file, a
    22.05-kHz mono one and a folder of both, with the weights inside the package. On a real
    piano render low-passed at 3 kHz the output is closer to the clean piano than the input
    (LSD), and the log names the weights."""
    from tdpr.audio import resample
    from tdpr.dsp.filters import Degradation, apply_degradation
    from tdpr.metrics import lsd
    from tdpr.pretrained import shipped_default

    default = shipped_default()  # the package holds weights: no skip, a failure if not
    clean = piano(6.0)
    low = apply_degradation(clean, Degradation("cheby1", 3000.0, 8), 16_000)
    folder = tmp_path / "in"
    folder.mkdir()
    stereo = resample(low, 16_000, 44_100)
    sf.write(folder / "a.wav", np.stack([stereo, 0.5 * stereo], axis=1), 44_100, subtype="PCM_16")
    sf.write(folder / "b.flac", resample(low, 16_000, 22_050), 22_050)
    with caplog.at_level("INFO", logger="tdpr"):
        assert main(["enhance", str(folder / "a.wav"), str(tmp_path / "a.wav")]) == 0
    assert f"using the shipped weights: {default.label}" in caplog.text
    out, rate = sf.read(tmp_path / "a.wav", dtype="float64")
    assert rate == 16_000 and out.shape == (len(low), 2)
    ref = torch.from_numpy(clean)
    assert float(lsd(ref, torch.from_numpy(out[:, 0]))) < float(lsd(ref, torch.from_numpy(low)))
    assert main(["enhance", str(folder), str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.wav", "b.wav"]
    assert sf.info(tmp_path / "out" / "b.wav").channels == 1
