"""LSD conventions: each entry against its peer's own code, on real degraded and enhanced piano.

The peers' files are loaded by path from ``../shared/vendor/peer-metrics`` (:mod:`peer_metrics`)
and ``ssr_eval`` 0.0.7 from PyPI; every comparison feeds the peer what its own evaluation feeds
it (float32 ``(1, T)`` tensors for the torch peers, ``(T,)`` arrays for ssr_eval) and asks our
one code path for the same numbers within 1e-4 relative.
"""

from __future__ import annotations

import dataclasses
import math
from functools import cache

import numpy as np
import pytest
import torch
from peer_metrics import VENDOR, aero, apbwe, mdctgan, needs_vendor, nuwave2_cal_lsd, torch1_stft
from rendered import RATE, needs_fluidsynth, piano
from scipy.signal.windows import kaiser_bessel_derived

from tdpr import pretrained
from tdpr.audio import quantize_pcm16
from tdpr.dsp.filters import FILTER_TYPES, lowpass
from tdpr.enhance import Enhancer
from tdpr.metrics import MetricInputError, lsd, lsd_hf_lf
from tdpr.metrics import apbwe as tdpr_apbwe
from tdpr.metrics.conventions import convention_lsd, file_mean, split_bin, window
from tdpr.registry import CONVENTIONS, LSDConvention, convention_names
from tdpr.train.checkpoint import load_model

pytestmark = pytest.mark.usefixtures("one_thread")
CUTOFFS = (2500, 3000, 3500, 4000)
RTOL = 1e-4


@cache
def clean() -> np.ndarray:
    """3 s of a real piano render, 16-bit quantised like the workflow's clips."""
    return piano()[: 3 * RATE]


@cache
def degraded(ftype: str, cutoff: int) -> np.ndarray:
    """The clean clip low-passed by one of the seven filters (order 8), stored as 16 bits."""
    return quantize_pcm16(lowpass(clean(), RATE, ftype, cutoff, 8)).astype(np.float64)


@cache
def enhanced() -> dict[tuple[str, int, str], np.ndarray]:
    """Outputs of the shipped SEANet, plain and with TD-PR (the shipped vocoder), 16 bits."""
    model = load_model(pretrained.shipped_file("seanet"))
    vocoder = load_model(pretrained.shipped_file("tfgan"))
    out = {}
    for ftype, cutoff in (
        ("butter", 2500),
        ("cheby2", 3000),
        ("subsampling", 3500),
        ("stft", 4000),
    ):
        x = degraded(ftype, cutoff).astype(np.float32)
        for name, voc in (("seanet", None), ("seanet_tdpr", vocoder)):
            y = Enhancer(model, voc, chunk_seconds=4.0).enhance(x)
            out[ftype, cutoff, name] = quantize_pcm16(y).astype(np.float64)
    return out


def as_peer(x: np.ndarray) -> torch.Tensor:
    """What the torch peers are given: float32 ``(1, T)``, as torchaudio.load returns."""
    return torch.from_numpy(x).float()[None]


def ours(ref: np.ndarray, est: np.ndarray, name: str, cutoff: float | None = None) -> dict:
    values = convention_lsd(as_peer(ref), as_peer(est), name, RATE, cutoff)
    return {k: v.item() for k, v in values.items()}


def check_torch_peers(ref: np.ndarray, est: np.ndarray, cutoff: int) -> None:
    """AP-BWE's cal_lsd, NU-Wave 2's cal_lsd (LSD, HF, LF) and AERO's get_lsd against ours."""
    r, e = as_peer(ref), as_peer(est)
    got = ours(ref, est, "apbwe", cutoff)
    hf = int(1025 * ((2 * cutoff) / RATE))  # NU-Wave 2: int(1025 * (sr / sampling_rate))
    with torch1_stft():
        nu = [v.item() for v in nuwave2_cal_lsd()(e, r, hf)]
        aero_lsd = aero().get_lsd(r, e).item()
    assert got["lsd"] == pytest.approx(apbwe().cal_lsd(e, r).item(), rel=RTOL)
    # the metric lsd_apbwe of tdpr.metrics.apbwe, written from AP-BWE's description, agrees too
    assert tdpr_apbwe.lsd(r, e).item() == pytest.approx(got["lsd"], rel=RTOL)
    assert [got["lsd"], got["lsd_hf"], got["lsd_lf"]] == pytest.approx(nu, rel=RTOL)
    assert ours(ref, est, "aero")["lsd"] == pytest.approx(aero_lsd, rel=RTOL)


def check_ssr_eval(ref: np.ndarray, est: np.ndarray) -> None:
    """ssr_eval's own spectrogram and lsd (AudioMetrics at the clips' rate) against ours."""
    metrics = pytest.importorskip("ssr_eval.metrics").AudioMetrics(RATE)
    r, e = (x.astype(np.float32) for x in (ref, est))  # librosa.load gives float32
    theirs = metrics.lsd(metrics.wav_to_spectrogram(e), metrics.wav_to_spectrogram(r)).item()
    assert ours(r, e, "ssr_eval")["lsd"] == pytest.approx(theirs, rel=RTOL)


@needs_vendor
@needs_fluidsynth
@pytest.mark.parametrize("ftype", FILTER_TYPES)
def test_torch_peers_on_real_degraded_clips(ftype):
    for cutoff in CUTOFFS:
        check_torch_peers(clean(), degraded(ftype, cutoff), cutoff)


@needs_fluidsynth
@pytest.mark.parametrize("ftype", FILTER_TYPES)
def test_ssr_eval_on_real_degraded_clips(ftype):
    for cutoff in CUTOFFS:
        check_ssr_eval(clean(), degraded(ftype, cutoff))


@needs_vendor
@needs_fluidsynth
def test_every_peer_on_a_trained_systems_outputs():
    for (ftype, cutoff, system), est in enhanced().items():
        ref = clean()
        check_torch_peers(ref, est, cutoff)
        check_ssr_eval(ref, est)
        assert np.abs(est - degraded(ftype, cutoff)).max() > 1e-3, (ftype, cutoff, system)


@needs_fluidsynth
def test_ssr_eval_whole_evaluation_path():
    """ssr_eval's evaluation() (its length check, crop and lsd) on one pair of clips."""
    metrics = pytest.importorskip("ssr_eval.metrics").AudioMetrics(RATE)
    ref, est = clean().astype(np.float32), degraded("ellip", 3000).astype(np.float32)
    theirs = metrics.evaluation(est, ref, None)["lsd"]
    assert ours(ref, est, "ssr_eval")["lsd"] == pytest.approx(theirs, rel=RTOL)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_ssr_eval_stft_sizes_follow_the_rate(rate):
    metrics = pytest.importorskip("ssr_eval.metrics").AudioMetrics(rate)
    assert CONVENTIONS["ssr_eval"].sizes(rate) == (metrics.n_fft, metrics.hop_length)


@needs_vendor
@needs_fluidsynth
def test_mdctgan_against_its_code_and_its_published_parameters():
    """mdctGAN cannot run here: its util.py needs torchaudio, and no torchaudio build matches
    the installed torch (the project does not depend on torchaudio). So its compute_matrics runs
    with a stand-in for torchaudio's spectrogram written from torchaudio's documentation
    (peer_metrics.torchaudio_spectrogram): its KBD window, floor, log and averaging are its own.
    The entry is also checked against the published parameters: n_fft 1024 and hop 512 (twice
    opt.n_fft 512 and opt.hop_length 256), center=True as its scripts pass, a Kaiser-Bessel-
    derived window with Kaiser beta 12*pi, and 1e-6 added to the power."""
    entry = CONVENTIONS["mdctgan"]
    assert (entry.n_fft, entry.hop, entry.center, entry.pad_mode) == (1024, 512, True, "reflect")
    assert (entry.floor, entry.floor_mode, entry.window) == (1e-6, "additive", "kbd")
    np.testing.assert_allclose(window(entry, 1024), kaiser_bessel_derived(1024, 12 * math.pi))
    np.testing.assert_allclose(window(entry, 1024), mdctgan().kbdwin(1024), atol=1e-6)
    opt = __import__("types").SimpleNamespace(
        n_fft=512, hop_length=256, win_length=512, center=True
    )
    for ftype, cutoff in (("cheby1", 2500), ("bessel", 4000), ("stft", 3000)):
        ref, est = as_peer(clean()), as_peer(degraded(ftype, cutoff))
        theirs = mdctgan().compute_matrics(ref, ref, est, opt)[-1]
        assert ours(clean(), degraded(ftype, cutoff), "mdctgan")["lsd"] == pytest.approx(
            theirs, rel=RTOL
        )


# ---- properties of the entries and of the one code path ----------------------------------------


@needs_fluidsynth
def test_tdpr_is_the_projects_default_lsd_and_db_is_ten_times_it():
    ref, est = clean(), degraded("cheby1", 3000)
    got = convention_lsd(ref, est, "tdpr", RATE, 3000)
    hf, lf = lsd_hf_lf(ref, est, 3000, RATE)
    torch.testing.assert_close(got["lsd"], lsd(ref, est), rtol=1e-12, atol=0)
    torch.testing.assert_close((got["lsd_hf"], got["lsd_lf"]), (hf, lf), rtol=1e-12, atol=0)
    db = convention_lsd(ref, est, "db", RATE, 3000)
    for name in got:
        torch.testing.assert_close(db[name], 10 * got[name], rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", list(CONVENTIONS))
def test_identical_clips_score_zero(name):
    x = np.random.default_rng(0).standard_normal(RATE) * 0.1
    batch = np.stack([x, x[::-1].copy()])
    values = convention_lsd(batch, batch, name, RATE, 3000)
    for value in values.values():
        assert value.shape == (2,)
        # ssr_eval's epsilon inside the ratio leaves log10(1 + ~1e-12) per bin
        assert value.abs().max().item() < 1e-9


def test_nuwave2_split_is_its_own_formula():
    # NU-Wave 2's hf = int(1025 * sr_in / 48000) at 48 kHz for inputs of 8, 12, 16 and 24 kHz
    entry = CONVENTIONS["apbwe"]
    assert [split_bin(entry, sr_in / 2, 48000) for sr_in in (8000, 12000, 16000, 24000)] == [
        170,
        256,
        341,
        512,
    ]
    # where the two rules part: NU-Wave 2 counts 1025 bins of 2048 points, int(cutoff·n_fft/sr) 1024
    assert split_bin(entry, 7900, RATE) == int(1025 * (15800 / RATE)) == 1012
    assert split_bin(CONVENTIONS["tdpr"], 7900, RATE) == 505
    assert split_bin(CONVENTIONS["tdpr"], 2500, RATE) == 160
    with pytest.raises(MetricInputError, match="not inside"):
        split_bin(entry, RATE / 2, RATE)


@needs_fluidsynth
def test_ssr_eval_does_not_floor_a_band_the_estimate_lacks():
    """The STFT cut leaves next to nothing above the cutoff (before 16-bit storage fills it
    with quantisation noise): a clamp at 1e-8 bounds the log there, ssr_eval's epsilon inside
    the ratio does not. Where the floor matters, ssr_eval's own function (given float64, it
    computes in float64) and the torch peers still agree with the entries."""
    ref, cut = clean(), lowpass(clean(), RATE, "stft", 3000).astype(np.float64)
    stored = degraded("stft", 3000)
    got = convention_lsd(ref, cut, "ssr_eval", RATE)["lsd"].item()
    metrics = pytest.importorskip("ssr_eval.metrics").AudioMetrics(RATE)
    assert got == pytest.approx(metrics.evaluation(cut, ref, None)["lsd"], rel=RTOL)
    if VENDOR.is_dir():
        check_torch_peers(ref, cut, 3000)
    assert got > 2 * ours(ref, stored, "ssr_eval")["lsd"]
    assert ours(ref, cut, "apbwe")["lsd"] < 1.5 * ours(ref, stored, "apbwe")["lsd"]


def test_aero_leaves_files_at_exactly_zero_out_of_its_mean():
    assert file_mean("aero", [0.0, 2.0, 4.0]) == 3.0
    assert file_mean("apbwe", [0.0, 2.0, 4.0]) == 2.0
    assert file_mean("apbwe", [1.0, math.nan]) == 1.0
    assert math.isnan(file_mean("aero", [0.0]))


@needs_vendor
@needs_fluidsynth
def test_bins_order_is_what_the_peers_compute_from_one_dimensional_input():
    """AP-BWE's and AERO's code averages over the wrong axis when given a (T,) tensor: the
    entry 'average' names that order, and the shared code path follows it."""
    ref, est = clean(), degraded("butter", 3500)
    r, e = torch.from_numpy(ref).float(), torch.from_numpy(est).float()
    quirk = dataclasses.replace(CONVENTIONS["apbwe"], average="bins")
    got = convention_lsd(r, e, quirk, RATE)["lsd"].item()
    assert got == pytest.approx(apbwe().cal_lsd(e, r).item(), rel=RTOL)
    assert got != pytest.approx(ours(ref, est, "apbwe")["lsd"], rel=0.01)


def test_registering_a_convention_is_one_entry(monkeypatch, tmp_path, capsys):
    """A natural-log LSD of magnitudes (as some papers report it) is one entry; it then runs
    through the code path, the listing and the command line like every other one."""
    entry = LSDConvention(
        "ln |X|", "a paper that reports ln of magnitudes", 2048, 512, pad_mode="reflect",
        quantity="magnitude", log_base=math.e, floor=1e-4,
    )  # fmt: skip
    monkeypatch.setitem(CONVENTIONS, "lnmag", entry)
    assert convention_names(["all"])[-1] == "lnmag"
    x = np.random.default_rng(1).standard_normal(RATE) * 0.1
    y = lowpass(x, RATE, "butter", 3000).astype(np.float64)
    # ln max(|X|, 1e-4) is ln(10)/2 times log10 max(|X|², 1e-8)
    expected = convention_lsd(x, y, "apbwe", RATE)["lsd"] * math.log(10) / 2
    torch.testing.assert_close(convention_lsd(x, y, "lnmag", RATE)["lsd"], expected)

    import soundfile as sf

    from tdpr.cli import main

    sf.write(tmp_path / "ref.wav", x, RATE, subtype="FLOAT")
    sf.write(tmp_path / "est.wav", y, RATE, subtype="FLOAT")
    assert main(["metrics", "--list-conventions"]) == 0
    assert "lnmag" in capsys.readouterr().out
    argv = ["metrics", str(tmp_path / "ref.wav"), str(tmp_path / "est.wav")]
    assert main([*argv, "--convention", "lnmag", "--json"]) == 0
    out = __import__("json").loads(capsys.readouterr().out)["conventions"]["lnmag"]
    assert out["parameters"]["log_base"] == math.e
    assert out["mean"]["lsd"] == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"floor_mode": "epsilon"}, "floor_mode 'epsilon' is not one of clamp, additive, ratio"),
        ({"window": "kbd"}, "window_beta goes with window kbd"),
        ({"hop": 0}, "need n_fft >= 2 and hop >= 1"),
        ({"log_base": 1.0}, "log_base > 1"),
        ({"split": "half"}, "split 'half'"),
    ],
)
def test_impossible_entries_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(CONVENTIONS["apbwe"], **change)


def test_impossible_settings_are_clear_errors():
    x = np.random.default_rng(2).standard_normal(RATE) * 0.1
    with pytest.raises(ValueError, match="too low a rate"):
        convention_lsd(x, x, "ssr_eval", 40)
    with pytest.raises(MetricInputError, match="shorter than n_fft=2048"):
        convention_lsd(x[:2000], x[:2000], "apbwe", RATE)
    with pytest.raises(ValueError, match="unknown LSD convention 'nuwave'"):
        convention_lsd(x, x, "nuwave", RATE)


def test_a_shared_cache_gives_each_convention_its_own_numbers():
    """convention_values computes a shared STFT once; entries that differ from AP-BWE's only in
    padding, window or centring must still get their own spectra."""
    rng = np.random.default_rng(3)
    ref = rng.standard_normal(RATE).astype(np.float32)
    est = (ref + 0.3 * rng.standard_normal(RATE)).astype(np.float32)
    apbwe_entry = CONVENTIONS["apbwe"]
    entries = [CONVENTIONS[name] for name in CONVENTIONS] + [
        dataclasses.replace(apbwe_entry, pad_mode="constant"),
        dataclasses.replace(apbwe_entry, window="kbd", window_beta=4 * math.pi),
        dataclasses.replace(apbwe_entry, center=False),
    ]
    cache: dict = {}
    for entry in entries:
        alone = convention_lsd(ref, est, entry, RATE, 3000.0)
        shared = convention_lsd(ref, est, entry, RATE, 3000.0, cache)
        assert {k: float(v) for k, v in shared.items()} == {k: float(v) for k, v in alone.items()}
    assert len(cache) == len(entries) - 2  # AP-BWE and AERO share one STFT; tdpr and dB another
