"""AP-BWE's metrics: exact zeros, chance level for random phase, and the published axis order."""

import math

import numpy as np
import pytest
import torch

from tdpr.metrics import apbwe

pytestmark = pytest.mark.usefixtures("one_thread")
FS = 16000


def noise(seed: int, n: int = FS) -> torch.Tensor:
    return 0.1 * torch.randn(n, generator=torch.Generator().manual_seed(seed))


def test_identical_signals_give_exactly_zero():
    x = noise(0)
    assert apbwe.lsd(x, x).item() == 0.0
    assert all(v.item() == 0.0 for v in apbwe.phase_distances(x, x).values())
    batch = torch.stack([x, noise(1)])
    assert torch.equal(apbwe.lsd(batch, batch), torch.zeros(2))
    for value in apbwe.phase_distances(batch, batch).values():
        assert value.shape == (2,) and torch.equal(value, torch.zeros(2))


def test_unrelated_phase_scores_at_chance_level():
    # Independent noises: the wrapped phase difference is uniform, whose RMS is π/√3. (The
    # differences along time and frequency are not uniform: overlapping frames correlate them.)
    d = apbwe.phase_distances(noise(0, 4 * FS), noise(1, 4 * FS))
    assert d["apd_ip"].item() == pytest.approx(math.pi / math.sqrt(3), abs=0.02)
    assert 1.0 < d["apd_iaf"].item() < d["apd_ip"].item()
    assert 1.0 < d["apd_gd"].item() < d["apd_ip"].item()


def numpy_reference(ref: np.ndarray, est: np.ndarray, n_fft: int = 2048, hop: int = 512) -> dict:
    """The definitions written out with AP-BWE's difference matrices, on frames × bins."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)

    def spec(x):  # (frames, bins)
        padded = np.pad(x, n_fft // 2, mode="reflect")
        frames = [padded[i * hop : i * hop + n_fft] * window for i in range(1 + len(x) // hop)]
        return np.fft.rfft(frames, axis=1)

    def wrap(x):
        return x - 2 * np.pi * np.round(x / (2 * np.pi))

    def diff_matrix(n):  # column j: φ[j-1] - φ[j]
        return np.triu(np.ones((n, n)), 1) - np.triu(np.ones((n, n)), 2) - np.eye(n)

    s_ref, s_est = spec(ref), spec(est)
    p_ref, p_est = np.angle(s_ref), np.angle(s_est)  # (N, F)
    n_frames, n_bins = p_ref.shape
    ip = np.sqrt(np.mean(wrap(p_ref - p_est) ** 2, axis=1)).mean()
    gd_m = diff_matrix(n_bins)
    gd = np.sqrt(np.mean(wrap(p_ref @ gd_m - p_est @ gd_m) ** 2, axis=0)).mean()  # over time
    iaf_m = diff_matrix(n_frames)
    iaf = np.sqrt(np.mean(wrap(iaf_m.T @ p_ref - iaf_m.T @ p_est) ** 2, axis=1)).mean()
    log_ref, log_est = (np.log10(np.maximum(np.abs(s) ** 2, 1e-8)) for s in (s_ref, s_est))
    lsd = np.sqrt(np.mean((log_ref - log_est) ** 2, axis=1)).mean()
    return {"apd_ip": ip, "apd_gd": gd, "apd_iaf": iaf, "lsd": lsd}


def test_matches_the_definitions_written_out_by_hand():
    x = noise(2, 20000).double()
    y = (x + 0.05 * noise(3, 20000).double()).roll(3)
    expected = numpy_reference(x.numpy(), y.numpy())
    got = apbwe.phase_distances(x, y)
    for name in ("apd_ip", "apd_gd", "apd_iaf"):
        assert got[name].item() == pytest.approx(expected[name], rel=1e-9), name
    assert apbwe.lsd(x, y).item() == pytest.approx(expected["lsd"], rel=1e-9)


def test_lengths_are_cut_to_the_shorter_and_bad_input_is_refused():
    x = noise(5)
    assert apbwe.lsd(x, x[:-7]).item() == pytest.approx(0.0, abs=1e-5)
    with pytest.raises(ValueError, match="shapes do not match"):
        apbwe.lsd(torch.stack([x, x]), x)
    with pytest.raises(ValueError, match="float tensor"):
        apbwe.lsd(x.numpy(), x)
    with pytest.raises(ValueError, match="too short"):
        apbwe.apd_ip(x[:1000], x[:1000])
    with pytest.raises(ValueError, match="NaN"):
        apbwe.apd_gd(x, torch.full_like(x, math.nan))
    with pytest.raises(ValueError, match=r"\(T,\) or \(B, T\)"):
        apbwe.apd_iaf(x[None, None], x[None, None])


def test_each_function_at_other_stft_settings_and_on_a_batch_matches_the_definitions():
    """The plain functions pass n_fft and hop on and keep the items of a batch apart; mixed
    dtypes are compared in the wider."""
    x = torch.stack([noise(6, 9000), noise(7, 9000)]).double()
    y = torch.stack([(x[0] + 0.05 * noise(8, 9000).double()).roll(5), x[1].roll(40)])
    functions = {"apd_ip": apbwe.apd_ip, "apd_iaf": apbwe.apd_iaf, "apd_gd": apbwe.apd_gd}
    functions["lsd"] = apbwe.lsd
    for n_fft, hop in ((1024, 256), (512, 200)):
        pairs = zip(x, y, strict=True)
        expected = [numpy_reference(a.numpy(), b.numpy(), n_fft, hop) for a, b in pairs]
        together = apbwe.phase_distances(x, y, n_fft, hop)
        for name, function in functions.items():
            got = function(x, y, n_fft, hop)
            assert got.shape == (2,), name
            for i in range(2):
                assert got[i].item() == pytest.approx(expected[i][name], rel=1e-9), (name, i)
                if name != "lsd":
                    assert together[name][i].item() == got[i].item()
    mixed = apbwe.phase_distances(x[0].float(), y[0], 1024, 256)
    wide = apbwe.phase_distances(x[0].float().double(), y[0], 1024, 256)
    for name in ("apd_ip", "apd_iaf", "apd_gd"):
        assert mixed[name].dtype == torch.float64 and torch.equal(mixed[name], wide[name])
    assert torch.equal(apbwe.lsd(x[0].float(), y[0]), apbwe.lsd(x[0].float().double(), y[0]))
    assert torch.equal(apbwe.lsd(y[0], x[0].float()), apbwe.lsd(y[0], x[0].float().double()))


def test_the_phase_metrics_share_one_pair_of_stfts(monkeypatch):
    """APD-IP, -IAF and -GD of one context come from one call of phase_distances."""
    from tdpr.metrics import compute_all

    calls = []
    real = apbwe.phase_distances
    monkeypatch.setattr(apbwe, "phase_distances", lambda *a: calls.append(1) or real(*a))
    x, y = noise(9), noise(9) + 0.1 * noise(10)
    values = compute_all(x, y, 3000, FS, names=["apd_ip", "apd_iaf", "apd_gd"])
    assert len(calls) == 1
    expected = real(x[None], y[None])
    assert values == {k: pytest.approx(v.item(), rel=1e-6) for k, v in expected.items()}


def test_errors_name_the_side_and_the_boundary_of_too_short():
    x = noise(11)
    with pytest.raises(ValueError, match="^reference holds NaN"):
        apbwe.lsd(torch.full_like(x, math.nan), x)
    with pytest.raises(ValueError, match="^estimate holds NaN"):
        apbwe.lsd(x, torch.full_like(x, math.nan))
    with pytest.raises(ValueError, match="^reference must be a float tensor"):
        apbwe.lsd(torch.ones(4000, dtype=torch.int32), x)
    with pytest.raises(ValueError, match="^estimate must be a float tensor"):
        apbwe.lsd(x, torch.ones(4000, dtype=torch.int32))
    with pytest.raises(ValueError, match="shapes do not match"):  # same rank, other batch
        apbwe.lsd(torch.stack([x, x]), torch.stack([x, x, x]))
    with pytest.raises(ValueError, match="too short"):
        apbwe.lsd(x[:512], x[:512], 1024, 256)
    assert apbwe.lsd(x[:513], x[:513], 1024, 256).item() == 0.0
