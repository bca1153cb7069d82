"""Phase repair with every registered source, in both bands; the study on true magnitudes."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from rendered import RATE, needs_fluidsynth, piano

from tdpr.audio import write_pcm16
from tdpr.dsp.phase import oracle_phase, td_pr
from tdpr.dsp.stft import stft
from tdpr.inference import repair_testset
from tdpr.models import build_model
from tdpr.phase.repair import cut_bin, repair, uniform_phase
from tdpr.phase.study import phase_study, study_clip, study_clip_at
from tdpr.registry import PHASE_METRICS, PHASE_SOURCES

TINY_VOCODER = {"mult": 8, "n_residual_layers": 1}
FAST = {"griffinlim": {"iterations": 8}}


@pytest.fixture(scope="module")
def clip() -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    t = torch.arange(2 * RATE) / RATE
    tones = sum(torch.sin(2 * torch.pi * f * t) / k for k, f in enumerate((330, 990, 3630), 1))
    return (0.2 * tones + 0.01 * torch.randn(t.shape, generator=gen)).float()


@pytest.fixture(scope="module")
def vocoder() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("tfgan", **TINY_VOCODER).eval()


def test_full_band_vocoder_and_gt_are_the_papers_td_pr_and_oracle(clip, vocoder):
    with torch.inference_mode():
        z, _ = repair(clip, "vocoder", vocoder=vocoder)
        assert torch.equal(z, td_pr(clip, vocoder))
    reference = clip + 0.01 * torch.randn(clip.shape, generator=torch.Generator().manual_seed(1))
    z, consistency = repair(clip, "gt", reference=reference)
    assert torch.equal(z, oracle_phase(clip, reference))
    z, consistency = repair(clip, "gt", reference=clip)
    torch.testing.assert_close(z, clip, atol=1e-5, rtol=0)
    assert consistency < -60  # a real STFT is consistent


@pytest.mark.parametrize("source", [s for s in PHASE_SOURCES if s != "gt"])
def test_hf_band_keeps_the_phase_below_the_cutoff(clip, vocoder, source):
    z, consistency = repair(
        clip, source, "hf", 3000, RATE, vocoder=vocoder, settings=FAST.get(source)
    )
    assert z.shape == clip.shape and torch.isfinite(z).all() and torch.isfinite(consistency)
    k = cut_bin(3000, RATE)
    ref = stft(clip)[:k]
    error = (stft(z)[:k] - ref).abs().square().sum() / ref.abs().square().sum()
    assert error < 0.02  # below the cutoff the clip comes back (the tones at 330 and 990 Hz)


def test_sources_name_what_they_need(clip):
    with pytest.raises(ValueError, match="needs a vocoder"):
        repair(clip, "vocoder")
    with pytest.raises(ValueError, match="needs a reference"):
        repair(clip, "gt")
    with pytest.raises(ValueError, match="band 'hf' needs the cutoff"):
        repair(clip, "random", "hf")
    with pytest.raises(ValueError, match="unknown phase source 'nope'"):
        repair(clip, "nope")
    with pytest.raises(ValueError, match="unknown band"):
        repair(clip, "random", "mid", 3000)


def test_repair_testset_writes_clips_and_their_consistency(tmp_path, clip):
    write_pcm16(tmp_path / "in" / "c1.wav", clip.numpy(), RATE)
    pd.DataFrame({"clip_id": ["c1"], "path": ["in/c1.wav"]}).to_csv(tmp_path / "m.csv")
    out = repair_testset(
        tmp_path / "m.csv", tmp_path / "out.csv", tmp_path / "out", "griffinlim", "hf", 3000,
        settings={"iterations": 4}, device="cpu",
    )  # fmt: skip
    assert list(out.columns) == ["clip_id", "path", "consistency_db"]
    assert out["consistency_db"].iloc[0] < 0 and (tmp_path / "out" / "c1.wav").is_file()
    with pytest.raises(ValueError, match="needs the reference clips"):
        repair_testset(tmp_path / "m.csv", tmp_path / "o2.csv", tmp_path / "o2", "gt")
    assert not (tmp_path / "o2.csv").exists()


@pytest.mark.slow
@needs_fluidsynth
def test_study_ranks_random_below_every_estimator_on_clean_piano(vocoder):
    x = torch.from_numpy(piano(4.0)).float()
    rows = study_clip(x, 3000, ["griffinlim", "pghi", "random"], ["full", "hf"], settings=FAST)
    values = {(s, b): v for s, b, v in rows}
    for band in ("full", "hf"):
        for source in ("griffinlim", "pghi"):
            for metric in ("apd_iaf", "apd_gd", "ifd_w1_hf", "consistency"):
                better = values[(source, band)][metric]
                assert better < values[("random", band)][metric], (source, band, metric)
    # the hf band keeps the true phase below the cutoff: closer to the truth than full
    assert values[("pghi", "hf")]["apd_ip"] < values[("pghi", "full")]["apd_ip"]
    assert set(PHASE_METRICS) <= set(values[("pghi", "hf")])


def test_phase_study_writes_tidy_rows_for_every_source_and_band(tmp_path, clip, vocoder):
    write_pcm16(tmp_path / "clips" / "c1.wav", clip.numpy(), RATE)
    pd.DataFrame({"clip_id": ["c1"], "path": ["clips/c1.wav"]}).to_csv(tmp_path / "ref.csv")
    model = tmp_path / "voc.pt"
    from tdpr.train.checkpoint import save_model

    save_model(model, "tfgan", TINY_VOCODER, vocoder, {})
    outputs = {3000: tmp_path / "3000.csv", 4000.0: tmp_path / "4000.csv"}
    table = phase_study(
        tmp_path / "ref.csv", outputs, ["vocoder", "griffinlim"], ["full", "hf"],
        vocoder_path=model, settings=FAST, device="cpu",
    )  # fmt: skip
    assert set(table["model"]) == {"reference"}
    assert set(table["variant"]) == {
        "tdpr", "griffinlim_full", "random_full", "vocoder_hf", "griffinlim_hf", "random_hf",
    }  # fmt: skip
    for cutoff, path in outputs.items():
        written = pd.read_csv(path)
        assert set(written["cutoff"]) == {cutoff}
        expected = table[table["cutoff"] == cutoff].reset_index(drop=True)
        pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    assert len(table) == 2 * len(pd.read_csv(outputs[3000]))
    with pytest.raises(ValueError, match="would be exact"):
        phase_study(tmp_path / "ref.csv", {3000: tmp_path / "s2.csv"}, ["gt"], ["full"])
    with pytest.raises(ValueError, match="at least one cutoff"):
        phase_study(tmp_path / "ref.csv", {}, ["griffinlim"], ["full"])
    assert not (tmp_path / "s2.csv").exists()


def test_a_study_at_several_cutoffs_equals_one_study_per_cutoff(clip, vocoder):
    """Full-band reconstructions are built once and scored at every cutoff; hf ones per cutoff:
    the numbers are those of a study run at each cutoff alone."""
    sources, bands = ["vocoder", "griffinlim"], ["full", "hf"]
    kwargs = {"vocoder": vocoder, "settings": FAST, "seed": 3}
    with torch.inference_mode():  # as the study runs (the vocoder builds no graph)
        together = study_clip_at(clip, [2500, 4000], sources, bands, **kwargs)
    assert list(together) == [2500.0, 4000.0]
    for cutoff, rows in together.items():
        with torch.inference_mode():
            alone = study_clip(clip, cutoff, sources, bands, **kwargs)
        assert [(s, b) for s, b, _ in rows] == [(s, b) for s, b, _ in alone]
        for (source, band, values), (_, _, single) in zip(rows, alone, strict=True):
            assert values == pytest.approx(single, rel=1e-6, abs=1e-9), (cutoff, source, band)
    # the cutoff matters where it should: hf keeps more true phase at 4 kHz than at 2.5 kHz,
    # and every band-limited metric is measured above its own cutoff
    hf = {
        c: dict(((s, b), v) for s, b, v in rows)[("griffinlim", "hf")]
        for c, rows in together.items()
    }
    assert hf[4000.0]["apd_ip"] < hf[2500.0]["apd_ip"]
    full = {
        c: dict(((s, b), v) for s, b, v in rows)[("griffinlim", "full")]
        for c, rows in together.items()
    }
    assert full[4000.0]["apd_ip"] == full[2500.0]["apd_ip"]  # a full-band metric: one build
    assert full[4000.0]["lsd_hf"] != full[2500.0]["lsd_hf"]


def test_griffinlim_from_its_own_consistent_phase_barely_moves_but_random_init_does(clip):
    own, c_own = repair(clip, "griffinlim", "hf", 3000, RATE, settings={"iterations": 8})
    rand, c_rand = repair(
        clip, "griffinlim", "hf", 3000, RATE, settings={"iterations": 8, "init": "random"}
    )
    assert (own - clip).abs().max() < 1e-3  # the output's own phase is already a fixed point
    assert (rand - clip).abs().max() > 1e-2 and c_rand > c_own
    with pytest.raises(ValueError, match="init must be"):
        repair(clip, "griffinlim", settings={"init": "zeros"})


def test_other_stft_settings_and_a_batch_come_back_with_their_own_phase(clip):
    batch = torch.stack([clip, 0.5 * clip])
    z, consistency = repair(batch, "gt", reference=batch, n_fft=512, hop=128)
    torch.testing.assert_close(z, batch, atol=1e-5, rtol=0)
    assert consistency.shape == (2,) and (consistency < -60).all()


def test_hf_band_keeps_the_phase_below_the_cutoff_at_another_fft_size(clip):
    z, _ = repair(clip, "random", "hf", 3000, RATE, n_fft=2048, hop=512)
    k = cut_bin(3000, RATE, 2048)
    band = slice(k // 2, k - 16)  # above the tones and below the cutoff: the clip's noise
    ref = stft(clip, 2048, 512)[band]
    error = (stft(z, 2048, 512)[band] - ref).abs().square().sum() / ref.abs().square().sum()
    assert error < 0.1


def test_a_signal_of_half_an_fft_is_refused(clip):
    with pytest.raises(ValueError, match="more than 512 samples"):
        repair(clip[:512], "random")


def test_uniform_phase_is_seeded():
    phase = uniform_phase((3, 4), 5)
    assert torch.equal(phase, uniform_phase((3, 4), 5))
    assert not torch.equal(phase, uniform_phase((3, 4), 6))


def test_cut_bin_at_the_edges_of_the_band():
    assert cut_bin(0.5, 16000, 1024) == 1  # bin 0 is never the whole known band
    assert cut_bin(6000, 16000, 1024) == 384
    assert cut_bin(7999, 16000, 1024) == 511
    for bad in (0.0, -1.0, 8000.0, 9000.0, 40000.0):
        with pytest.raises(ValueError, match=r"not inside \(0, 8000.0\) Hz"):
            cut_bin(bad, 16000, 1024)


def test_uniform_phase_spans_minus_pi_to_pi_in_float64():
    phase = uniform_phase((64, 500), seed=4)
    assert phase.dtype == torch.float64
    assert -torch.pi <= phase.min() < -3.1 and 3.1 < phase.max() < torch.pi
    assert abs(phase.mean().item()) < 0.05  # centred on 0
    assert abs(phase.std().item() - torch.pi / 3**0.5) < 0.02  # uniform: π/√3


def test_gt_phase_rebuilds_the_signal_at_other_settings_and_any_length(clip):
    """The true phase on the true magnitude gives the signal back, whatever the STFT and
    however many samples past the last hop: every setting reaches both transforms."""
    y = torch.stack([clip[:7001], 0.5 * clip[1000:8001]]).double()  # 7001: not whole hops
    for n_fft, hop in ((512, 128), (1024, 200)):
        z, consistency = repair(y, "gt", n_fft=n_fft, hop=hop, reference=y)
        assert z.shape == y.shape and z.dtype == y.dtype
        torch.testing.assert_close(z[..., n_fft:-n_fft], y[..., n_fft:-n_fft], atol=1e-9, rtol=0)
        assert consistency.shape == (2,)


def test_repairs_defaults_and_what_reaches_the_phase_source(clip):
    """16 kHz and seed 0 by default; the seed and the starting phase given reach the source."""
    y = clip[:8000]
    torch.testing.assert_close(repair(y, "random")[0], repair(y, "random", seed=0)[0])
    assert not torch.equal(repair(y, "random", seed=1)[0], repair(y, "random")[0])
    hf = repair(y, "random", "hf", 3000)[0]
    torch.testing.assert_close(hf, repair(y, "random", "hf", 3000, 16000)[0])
    assert not torch.equal(hf, repair(y, "random", "hf", 3000, 22050)[0])
    # Griffin-Lim starts from y's own phase unless given another start
    one = {"iterations": 1}
    own_start = repair(y, "griffinlim", settings=one)[0]
    noise_start = repair(y, "griffinlim", settings=one, init_phase=uniform_phase(stft(y).shape, 3))
    assert (own_start - y).abs().max() < 1e-3 < (noise_start[0] - y).abs().max()


def test_an_unknown_source_lists_the_registered_ones():
    with pytest.raises(ValueError, match="registered: " + ", ".join(PHASE_SOURCES) + "$"):
        repair(torch.ones(4096), "magic")


def test_a_float32_signal_is_repaired_in_float32(clip):
    """The random start is drawn in float64 (the same on every device); the spectrogram and
    the output keep the signal's own precision."""
    z, consistency = repair(clip[:8000].float(), "random")
    assert z.dtype == consistency.dtype == torch.float32
